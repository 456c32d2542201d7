// `podnet replay FILE.pcap --scenario S --into HOST:LINK`: feeds a capture
// into one link of a scenario on the capture's own clock, prints each frame's
// fate, and with --pcap writes what every link sent.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readPcap } from '../packet/pcap.js';
import { replay, formatFate } from '../scenarios/replay.js';
import { UsageError, type Verb } from './podnet.js';
import { build, jsonPath, lastFlag, openScenario, pcapDir, writePcaps } from './scenario-arg.js';

export const replayVerb: Verb = {
  usage: 'podnet replay FILE.pcap --scenario S --into HOST:LINK [--pcap DIR] [--json FILE]',
  description:
    "Feeds the frames of a pcap file into one link of a scenario, each at its own time in the capture (on the\n" +
    "network's virtual clock), and prints each frame's fate: where it was delivered or dropped, and which links\n" +
    'sent frames because of it.',
  flags: [
    { name: 'scenario', value: 'S', help: 'a scenario file (JSON or YAML) or a built-in name (docker, calico, router)' },
    { name: 'into', value: 'HOST:LINK', help: 'the link the frames arrive on' },
    { name: 'pcap', value: 'DIR', help: 'write what each link sent to DIR/HOST.LINK.pcap (on the capture\'s clock)' },
    { name: 'json', value: 'FILE', help: 'also write the fates as JSON to FILE' },
  ],
  async run(args) {
    if (args.positionals.length !== 1) {
      throw new UsageError(args.positionals.length === 0 ? 'which capture? (podnet replay FILE.pcap --scenario S --into HOST:LINK)' : `one capture at a time, got ${args.positionals.length}`);
    }
    const file = args.positionals[0];
    const scenarioArg = lastFlag(args.flags, 'scenario');
    const into = lastFlag(args.flags, 'into');
    if (scenarioArg === undefined) throw new UsageError('--scenario is required (a file, or docker, calico, router)');
    if (into === undefined) throw new UsageError('--into HOST:LINK is required: the link the frames arrive on');
    if (!/^[^:]+:[^:]+$/.test(into)) throw new UsageError(`--into ${into}: expected HOST:LINK`);
    const pcap = lastFlag(args.flags, 'pcap');
    const dir = pcap === undefined ? undefined : pcapDir(pcap);
    const json = lastFlag(args.flags, 'json');
    const out = json === undefined ? undefined : jsonPath(json);
    if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`no capture file "${file}"`);
    let frames;
    try {
      frames = readPcap(new Uint8Array(readFileSync(file)));
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    const { scenario, label } = openScenario(scenarioArg);
    const { net } = build(scenario, label);
    const [host, link] = into.split(':');
    const h = net.hosts.find((x) => x.name === host);
    if (!h) throw new UsageError(`--into ${into}: no host "${host}" in ${label} (hosts: ${net.hosts.map((x) => x.name).join(', ')})`);
    if (!h.link.list().some((l) => l.name === link)) throw new UsageError(`--into ${into}: ${host} has no link "${link}" (links: ${h.link.list().map((l) => l.name).join(', ')})`);

    const result = replay(net, into, frames);
    const lines = [`replay ${file}: ${frames.length} frames into ${into} of ${scenario.name}`, ...result.fates.map(formatFate)];
    const totals = { delivered: 0, dropped: 0 };
    for (const f of result.fates) {
      if (f.delivered.length) totals.delivered++;
      if (f.dropped.length) totals.dropped++;
    }
    lines.push('', `${frames.length} frames: ${totals.delivered} led to a delivery, ${totals.dropped} to a drop`);
    process.stdout.write(lines.join('\n') + '\n');
    if (dir) {
      const n = writePcaps(dir, result.emitted());
      process.stderr.write(`replay: wrote ${n} pcap files to ${dir}\n`);
    }
    if (out) {
      writeFileSync(out, JSON.stringify({ scenario: scenario.name, capture: file, into, frames: result.fates }, null, 2) + '\n');
      process.stderr.write(`replay: wrote ${out}\n`);
    }
    return 0;
  },
};
