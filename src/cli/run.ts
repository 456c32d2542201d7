// `podnet run SCENARIO`: builds the scenario, sends its traffic, prints what
// happened and checks its properties (exit 1 when one fails).
import { writeFileSync } from 'node:fs';
import { runScenario, describeFate, type ScenarioReport } from '../scenarios/check.js';
import { BUILTIN_SCENARIOS } from '../scenarios/builtin.js';
import { UsageError, type Verb } from './podnet.js';
import { build, jsonPath, lastFlag, openScenario, pcapDir, scenarioMistake, writePcaps } from './scenario-arg.js';

export const runVerb: Verb = {
  usage: 'podnet run SCENARIO [--pcap DIR] [--json FILE]',
  description:
    'Builds a scenario (a JSON or YAML file, or a built-in name), sends the traffic it lists and one probe per\n' +
    'property, prints the fate of each packet, drops by reason and per-link counters, and checks the properties.\n' +
    'Exit status: 0 when every property holds, 1 when one fails, 2 for a mistake in the command or the scenario.',
  flags: [
    { name: 'pcap', value: 'DIR', help: 'write every link that carried frames to DIR/HOST.LINK.pcap' },
    { name: 'json', value: 'FILE', help: 'also write the report as JSON to FILE' },
  ],
  notes: () =>
    [
      `Built-in scenarios: ${Object.keys(BUILTIN_SCENARIOS).join(', ')}.`,
      'A scenario file: see examples/scenarios/ and the README (Scenario files).',
    ].join('\n'),
  async run(args) {
    if (args.positionals.length !== 1) {
      throw new UsageError(args.positionals.length === 0 ? 'which scenario? (podnet run SCENARIO)' : `one scenario at a time, got ${args.positionals.length}`);
    }
    const pcap = lastFlag(args.flags, 'pcap');
    const json = lastFlag(args.flags, 'json');
    const dir = pcap === undefined ? undefined : pcapDir(pcap);
    const out = json === undefined ? undefined : jsonPath(json);
    const { scenario, label } = openScenario(args.positionals[0]);
    const built = build(scenario, label);
    let result;
    try {
      result = runScenario(built);
    } catch (err) {
      throw scenarioMistake(label, err);
    }
    process.stdout.write(formatReport(result.report, scenario.description));
    if (dir) {
      const files = new Map<string, Uint8Array>();
      for (const [link, c] of result.captures) if (c.frames.length > 0) files.set(link, c.pcap());
      const n = writePcaps(dir, files);
      process.stderr.write(`run: wrote ${n} pcap files to ${dir}\n`);
    }
    if (out) {
      writeFileSync(out, JSON.stringify(result.report, null, 2) + '\n');
      process.stderr.write(`run: wrote ${out}\n`);
    }
    return result.report.ok ? 0 : 1;
  },
};

/** The report as a person reads it. */
export function formatReport(r: ScenarioReport, description?: string): string {
  const out: string[] = [`scenario ${r.scenario}: ${r.hosts} hosts`];
  if (description) out.push(`  ${description}`);
  const traffic = r.probes.filter((p) => p.from === 'traffic');
  if (traffic.length) {
    out.push('', 'traffic');
    const width = Math.max(...traffic.map((p) => p.text.length));
    for (const p of traffic) {
      p.packets.forEach((f, i) => out.push(`  ${(i === 0 ? p.text : '').padEnd(width)}  ${describeFate(f)}`));
    }
  }
  if (r.properties.length) {
    out.push('', 'properties');
    for (const p of r.properties) out.push(`  ${p.holds ? 'ok  ' : 'FAIL'}  ${p.text}`, `        ${p.detail}`);
  }
  if (r.unsettled) out.push('', `stopped: ${r.unsettled}`);
  const delivered = Object.entries(r.deliveries);
  out.push('', `delivered to sockets: ${delivered.length ? delivered.map(([h, n]) => `${h} ${n}`).join(', ') : 'none'}`);
  const drops = Object.entries(r.drops).sort((a, b) => b[1].count - a[1].count);
  out.push('', drops.length ? 'drops by reason' : 'drops: none');
  if (drops.length) {
    const width = Math.max(...drops.map(([reason]) => reason.length));
    for (const [reason, d] of drops) {
      const where = Object.entries(d.hosts).map(([h, n]) => `${h} ${n}`).join(', ');
      out.push(`  ${reason.padEnd(width)}  ${String(d.count).padStart(5)}  (${where})`);
    }
  }
  if (r.links.length) {
    out.push('', 'links');
    const rows = [['link', 'rx packets', 'rx bytes', 'tx packets', 'tx bytes'], ...r.links.map((l) => [l.link, l.rxPackets, l.rxBytes, l.txPackets, l.txBytes].map(String))];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
    for (const row of rows) out.push(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`);
  }
  const holding = r.properties.filter((p) => p.holds).length;
  out.push('', r.properties.length ? `${holding} of ${r.properties.length} properties hold` : 'no properties to check');
  return out.join('\n') + '\n';
}
