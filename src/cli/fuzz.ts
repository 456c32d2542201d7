// `podnet fuzz`: random and mutated frames shaped by a scenario, every frame
// checked; a violation is shrunk, written down (the frames as JSON and pcap,
// the scenario beside them) with a trace of its last batch, and the command
// that replays it is printed. `podnet fuzz --replay FILE` is that command.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { loadScenario } from '../scenarios/file.js';
import { BUILTIN_SCENARIOS } from '../scenarios/builtin.js';
import { fuzz, resolveScenario, type FuzzProgress, type FuzzReport } from '../fuzz/fuzz.js';
import { readCounterexample, writeCounterexample } from '../fuzz/counterexample.js';
import { replayFrames, traceFrames, type CounterexampleTrace } from '../fuzz/replay.js';
import { FuzzLane, type FuzzFrame } from '../fuzz/lane.js';
import { compareWithModel, referenceModel } from '../fuzz/model.js';
import type { Violation } from '../fuzz/checks.js';
import { formatTrace } from '../trace/trace.js';
import { describe } from '../packet/craft.js';
import { ScenarioError } from '../scenarios/spec.js';
import { UsageError, type Verb } from './podnet.js';
import { jsonPath, lastFlag, scenarioMistake } from './scenario-arg.js';

const DEFAULT_OUT = 'podnet-fuzz-counterexample';

export const fuzzVerb: Verb = {
  usage: 'podnet fuzz [--scenario docker|calico|router|FILE] [--frames N] [--seed S] [--time SECONDS] [--workers N] [--model] [--json FILE] [--out DIR] [--wasm FILE] [--replay FILE]',
  description:
    "Sends random and mutated frames into a scenario, shaped by its own addresses, ports and rules (NAT, tunnels,\n" +
    'fragments, ICMP errors), into every wired link of every host, and checks every one: the data plane never\n' +
    'traps; every IPv4 header it writes, every checksum it computes, is valid; TTL never grows; every host accounts\n' +
    'for every packet; no buffer is lost; the scenario\'s properties hold before and after. A violation is shrunk to\n' +
    'the fewest frames that show it (fast-check), written to --out DIR with a pcap, the scenario and a trace, and the\n' +
    'command that replays it is printed. Exit status: 0 when nothing was found, 1 for a violation, 2 for a mistake.',
  flags: [
    { name: 'scenario', value: 'S', help: 'a built-in scenario (docker, calico, router) or a scenario file (default: docker)' },
    { name: 'frames', value: 'N', help: 'frames to send, 1..1,000,000,000 (default: 1,000,000)' },
    { name: 'seed', value: 'S', help: 'the seed, 0..4294967295: the same seed, the same frames (default: 1)' },
    { name: 'time', value: 'SECONDS', help: 'stop sending after this long' },
    { name: 'workers', value: 'N', help: 'worker threads, 1..64, each fuzzing epochs of its own; same results at any N (default: 1)' },
    { name: 'model', help: 'also check the reference model agrees, host by host (it ships with the repository only; with --replay too)' },
    { name: 'json', value: 'FILE', help: 'write { scenario, seed, frames, framesPerSec, violations } to FILE' },
    { name: 'out', value: 'DIR', help: `where a counterexample goes (default: ./${DEFAULT_OUT})` },
    { name: 'wasm', value: 'FILE', help: 'fuzz this build of the data plane instead of the package\'s (a variant)' },
    { name: 'replay', value: 'FILE', help: 'run a counterexample again (its counterexample.json) and trace it' },
  ],
  notes: () => `Built-in scenarios: ${Object.keys(BUILTIN_SCENARIOS).join(', ')}.`,
  async run(args) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    const flag = (name: string) => lastFlag(args.flags, name);
    const module = flag('wasm') === undefined ? undefined : wasmModule(flag('wasm')!);
    const json = flag('json') === undefined ? undefined : jsonPath(flag('json')!);
    const replay = flag('replay');
    if (replay !== undefined) {
      for (const f of ['scenario', 'frames', 'seed', 'time', 'workers', 'out']) {
        if (args.flags.has(f)) throw new UsageError(`--replay runs the counterexample as written: --${f} does not go with it`);
      }
      return replayVerb(replay, module, flag('wasm'), json, args.flags.has('model'));
    }
    const frames = integer('frames', flag('frames'), 1, 1_000_000_000, 1_000_000);
    const seed = integer('seed', flag('seed'), 0, 0xffffffff, 1);
    const workers = integer('workers', flag('workers'), 1, 64, 1);
    const time = flag('time') === undefined ? undefined : seconds(flag('time')!);
    const out = resolve(flag('out') ?? DEFAULT_OUT);
    if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${flag('out')}: is a file, not a directory`);
    const scenarioArg = flag('scenario') ?? 'docker';
    let resolved;
    try {
      resolved = resolveScenario(scenarioArg);
    } catch (err) {
      if (err instanceof ScenarioError) throw scenarioMistake(scenarioArg, err);
      throw new UsageError(`--scenario ${scenarioArg}: no such file, and no built-in scenario of that name (${Object.keys(BUILTIN_SCENARIOS).join(', ')})`);
    }
    const { scenario, source } = resolved;
    const err = process.stderr;
    err.write(`fuzz ${scenario.name}: ${frames.toLocaleString('en-US')} frames from seed ${seed}, ${workers} worker${workers > 1 ? 's' : ''}${module ? `, data plane ${flag('wasm')}` : ''}\n`);
    const bar = progressBar(err);
    let report: FuzzReport;
    try {
      report = await fuzz({ scenario: scenarioArg, frames, seed, workers, timeSeconds: time, model: args.flags.has('model'), module, onProgress: bar.update });
    } catch (e) {
      if (e instanceof ScenarioError) throw scenarioMistake(scenarioArg, e);
      throw e;
    } finally {
      bar.done();
    }
    const lines: string[] = [];
    const rate = report.framesPerSec >= 1e6 ? `${(report.framesPerSec / 1e6).toFixed(2)} M` : `${Math.round(report.framesPerSec / 1e3)} K`;
    lines.push(`${report.frames.toLocaleString('en-US')} frames checked in ${(report.elapsedMs / 1000).toFixed(2)} s: ${rate} frames/s (${report.workers} worker${report.workers > 1 ? 's' : ''}), ${report.verified.toLocaleString('en-US')} hops and deliveries verified in the data plane`);
    lines.push(`checked: no trap, checksums of what the engine writes, TTL never grows, conservation on every host, buffers all returned${report.properties ? `, the scenario's ${report.properties} properties` : ''}`);
    if (report.model) {
      const m = report.model;
      if (m.status === 'absent') lines.push('model: absent (the reference model ships with the repository, not with the package)');
      else lines.push(`model: ${m.status === 'agreed' ? 'agrees' : 'DISAGREES'} on ${m.frames.toLocaleString('en-US')} frames into ${m.hosts.join(', ') || 'no host'}${m.skipped.length ? ` (not modelled: ${m.skipped.join(', ')}, IPIP)` : ''}${m.detail ? `\n  ${m.detail}` : ''}`);
    }
    let replayCommand: string | undefined;
    let trace: CounterexampleTrace | undefined;
    if (report.violations.length === 0) {
      lines.push('no violation');
    } else {
      const first = report.violations[0];
      lines.push('', `VIOLATION (${first.kind}) in epoch ${first.epoch}, after ${first.after.toLocaleString('en-US')} of its frames:`, `  ${first.detail}`);
      if (report.violations.length > 1) lines.push(`  and ${report.violations.length - 1} more in other epochs (in --json)`);
      const s = report.shrunk;
      if (s) {
        lines.push('', `shrunk from ${s.from.toLocaleString('en-US')} frames to ${s.frames.length} in ${s.runs} runs (${(s.elapsedMs / 1000).toFixed(1)} s${s.interrupted ? ', stopped at its time limit' : ''}):`);
        lines.push(...(s.frames.length ? counterexampleLines(s.frames) : ['  no frame at all: the scenario as written']), `  ${s.violation.detail}`);
        const file = writeCounterexample(out, { source: source!, seed: report.seed, epoch: first.epoch, violation: s.violation, frames: s.frames });
        trace = traceFrames(scenario, s.frames, module);
        lines.push('', traceText(trace));
        replayCommand = `podnet fuzz --replay ${shellPath(file)}${flag('wasm') ? ` --wasm ${shellPath(resolve(flag('wasm')!))}` : ''}${s.violation.kind === 'model' ? ' --model' : ''}`;
        lines.push('', `written to ${shellPath(out)}: counterexample.json, frames.pcap, the scenario`, `replay: ${replayCommand}`);
      } else if (first.after === 0) {
        lines.push('  (found before any frame was sent: the scenario as written)');
      }
    }
    process.stdout.write(lines.join('\n') + '\n');
    if (json) {
      const doc = {
        scenario: report.scenario,
        seed: report.seed,
        frames: report.frames,
        framesPerSec: Math.round(report.framesPerSec),
        elapsedMs: Math.round(report.elapsedMs),
        workers: report.workers,
        verified: report.verified,
        violations: report.violations.map((v, i) => ({
          ...v,
          ...(i === 0 && report.shrunk ? { counterexample: { frames: report.shrunk.frames.length, shrunkFrom: report.shrunk.from, runs: report.shrunk.runs, violation: report.shrunk.violation, directory: out, replay: replayCommand, trace: trace?.steps } } : {}),
        })),
        ...(report.model ? { model: report.model } : {}),
      };
      writeFileSync(json, JSON.stringify(doc, null, 2) + '\n');
      err.write(`fuzz: wrote ${json}\n`);
    }
    return report.violations.length ? 1 : report.model?.status === 'disagreed' ? 1 : 0;
  },
};

async function replayVerb(file: string, module: WebAssembly.Module | undefined, wasm: string | undefined, json: string | undefined, model: boolean): Promise<number> {
  if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`--replay ${file}: no such file (podnet fuzz writes counterexample.json)`);
  let c;
  try {
    c = readCounterexample(file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let scenario;
  try {
    scenario = loadScenario(c.scenarioFile);
  } catch (err) {
    throw scenarioMistake(c.scenarioFile, err);
  }
  let v = replayFrames(scenario, c.frames, module);
  if (!v && model) {
    const m = await referenceModel();
    if (!m) throw new UsageError('--model: the reference model ships with the repository, not with the package');
    const lane = new FuzzLane(scenario, { module });
    const r = compareWithModel(m, lane, c.frames);
    if (r.status === 'disagreed') v = { kind: 'model', detail: `the engine and the reference model disagree: ${r.detail}`, host: r.host };
  }
  const trace = traceFrames(scenario, c.frames, module);
  const lines = [`replay ${file}: ${c.frames.length} frame${c.frames.length === 1 ? '' : 's'} into ${scenario.name}${wasm ? `, data plane ${wasm}` : ''}`, ...counterexampleLines(c.frames), ''];
  lines.push(v ? `VIOLATION (${v.kind}): ${v.detail}` : `no violation${c.violation ? ` (the file recorded ${c.violation.kind}: it does not show with this data plane)` : ''}`);
  lines.push('', traceText(trace));
  process.stdout.write(lines.join('\n') + '\n');
  if (json) {
    writeFileSync(json, JSON.stringify({ scenario: scenario.name, frames: c.frames.length, violations: v ? [v] : [], trace: trace.steps }, null, 2) + '\n');
    process.stderr.write(`fuzz: wrote ${json}\n`);
  }
  return v ? 1 : 0;
}

function counterexampleLines(frames: FuzzFrame[]): string[] {
  return frames.map((f, i) => `  #${i + 1}  ${f.timeMs.toFixed(0).padStart(6)} ms  into ${f.at}: ${describe(f.frame)}`);
}

function traceText(t: CounterexampleTrace): string {
  if (t.absent) return `no trace: ${t.absent}`;
  return formatTrace({ from: 'the counterexample', packet: 'its last batch', steps: t.steps, lost: 0 }).trimEnd();
}

function wasmModule(file: string): WebAssembly.Module {
  if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`--wasm ${file}: no such file`);
  try {
    return new WebAssembly.Module(readFileSync(file));
  } catch (err) {
    throw new UsageError(`--wasm ${file}: not a WebAssembly module (${(err as Error).message})`);
  }
}

function integer(name: string, text: string | undefined, min: number, max: number, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text.replace(/_/g, ''));
  if (!/^\d[\d_]*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} ${text}: expected a whole number ${min.toLocaleString('en-US')}..${max.toLocaleString('en-US')}`);
  return n;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 86400 * 7) throw new UsageError(`--time ${text}: expected seconds, more than 0`);
  return n;
}

/** A path as short as it can be written from here. */
function shellPath(p: string): string {
  const r = relative(process.cwd(), p);
  return !r || r.startsWith('..') ? p : r;
}

function progressBar(stream: NodeJS.WriteStream): { update: (p: FuzzProgress) => void; done: () => void } {
  let shown = false;
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.frames < p.total) return;
      last = now;
      const rate = p.elapsedMs > 0 ? p.frames / (p.elapsedMs / 1000) : 0;
      const text = `${p.frames.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} frames  ${(rate / 1e6).toFixed(2)} M/s  ${p.violations} violation${p.violations === 1 ? '' : 's'}`;
      if (!stream.isTTY) return;
      const width = 30;
      const filled = Math.min(width, Math.round((p.frames / p.total) * width));
      stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`.slice(0, (stream.columns || 80) - 1));
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
