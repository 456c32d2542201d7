// `podnet bench`: checks the flags, runs each mode at each frame size with a
// progress display on stderr, then prints the table and writes --json.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_MODES, MODES, findMode, relate } from '../../bench/index.js';
import { buildReport, formatTable, machineInfo } from '../../bench/report.js';
import { renderHtml } from '../../bench/html.js';
import type { BenchMode, BenchResult } from '../../bench/types.js';
import { timeTasks, statsOf, ceilingTask, type Timed } from '../../bench/harness.js';
import { UsageError, packageVersion, type FlagSpec, type ParsedArgs, type Verb } from './podnet.js';

const MIN_FRAME = 64; // the smallest Ethernet frame, FCS excluded
const MAX_FRAME = 1514; // a 1500-byte MTU plus the Ethernet header
const MAX_WORKERS = 64;

export interface BenchPlan {
  modes: BenchMode[];
  /** Frame sizes for every mode; absent: each mode's own defaults. */
  sizes?: number[];
  /** 0: each mode's default. */
  flows: number;
  /** Worker counts, each mode run at each (a list, or one). */
  workers: number[];
  quick: boolean;
  /** Where --json writes the report (absolute). */
  json?: string;
  /** Where --html writes the page with charts (absolute). */
  html?: string;
}

const FLAGS: FlagSpec[] = [
  { name: 'mode', value: 'M[,M...]', help: `modes to run (default: ${DEFAULT_MODES.join(',')})` },
  { name: 'size', value: 'BYTES[,BYTES...]', help: `Ethernet frame sizes, ${MIN_FRAME}..${MAX_FRAME} (default: per mode)` },
  { name: 'flows', value: 'N', help: 'flows, table entries, MACs or nodes: what and how many per mode (see Modes)' },
  { name: 'workers', value: 'N[,N...]', help: 'worker threads, 1..64, a list runs each mode at each count (default: 1)' },
  { name: 'json', value: 'FILE', help: 'also write the results as JSON to FILE' },
  { name: 'html', value: 'FILE', help: 'also write a page with charts of the results (IPIP against native) to FILE' },
  { name: 'quick', help: 'short runs with small tables, for smoke tests' },
];

export const benchVerb: Verb = {
  usage: 'podnet bench [--mode M[,M...]] [--size BYTES[,BYTES...]] [--flows N] [--workers N[,N...]] [--json FILE] [--html FILE] [--quick]',
  description: 'Measures the data plane in million packets per second, next to the baselines each mode brings.',
  flags: FLAGS,
  notes: () => {
    const width = Math.max(...MODES.map((m) => m.name.length));
    const modes = MODES.flatMap((m) => [
      `  ${m.name.padEnd(width)}  ${m.description}`,
      `  ${''.padEnd(width)}  --flows: ${m.flows.what}, ${count(m.flows.min)}..${count(m.flows.max)}${m.sizes ? `; --size ${m.sizes.min}..${m.sizes.max}` : ''}`,
    ]);
    return ['Modes:', ...modes].join('\n');
  },
  async run(args) {
    const plan = planFromArgs(args);
    const results = await runBench(plan, progressDisplay(process.stderr));
    process.stdout.write(formatTable(results));
    const report = buildReport(results, packageVersion(), machineInfo(), new Date());
    if (plan.json) {
      writeFileSync(plan.json, JSON.stringify(report, null, 2) + '\n');
      process.stderr.write(`bench: wrote ${plan.json}\n`);
    }
    if (plan.html) {
      writeFileSync(plan.html, renderHtml(report));
      process.stderr.write(`bench: wrote ${plan.html}\n`);
    }
    return 0;
  },
};

/** Turns the flags into a plan, or throws UsageError before anything runs. */
export function planFromArgs(args: ParsedArgs): BenchPlan {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const last = (name: string) => args.flags.get(name)?.at(-1);

  const modeNames = [...new Set(listOf(args, 'mode') ?? DEFAULT_MODES)];
  const modes = modeNames.map((name) => {
    const mode = findMode(name);
    if (!mode) throw new UsageError(`unknown mode "${name}" (modes: ${MODES.map((m) => m.name).join(', ')})`);
    return mode;
  });

  const sizes = listOf(args, 'size')?.map((text) => {
    const size = integer('size', text);
    if (size < MIN_FRAME || size > MAX_FRAME) {
      throw new UsageError(`--size ${text}: a frame is ${MIN_FRAME}..${MAX_FRAME} bytes`);
    }
    return size;
  });

  for (const size of sizes ?? []) {
    for (const mode of modes) {
      const r = mode.sizes;
      if (r && (size < r.min || size > r.max)) throw new UsageError(`--size ${size}: ${mode.name} takes ${r.min}..${r.max} bytes (${r.why})`);
    }
  }

  // --flows means something different to each mode; each takes any value in its range.
  const flowsText = last('flows');
  let flows = 0;
  if (flowsText !== undefined) {
    const n = /^\d+$/.test(flowsText) ? Number(flowsText) : NaN;
    for (const mode of modes) {
      const r = mode.flows;
      const range = `${mode.name} takes ${count(r.min)}..${count(r.max)} ${r.what}`;
      if (Number.isNaN(n)) throw new UsageError(`--flows ${flowsText}: not a whole number (${range})`);
      if (n < r.min || n > r.max) throw new UsageError(`--flows ${flowsText}: ${range}`);
    }
    flows = n;
  }

  const workers = [...new Set((listOf(args, 'workers') ?? ['1']).map((text) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= 1 && n <= MAX_WORKERS)) throw new UsageError(`--workers ${text}: a worker count is 1..${MAX_WORKERS}`);
    return n;
  }))].sort((a, b) => a - b);

  const jsonText = last('json');
  const json = jsonText === undefined ? undefined : writablePath('json', jsonText);
  const htmlText = last('html');
  const html = htmlText === undefined ? undefined : writablePath('html', htmlText);

  return { modes, sizes: sizes && [...new Set(sizes)], flows, workers, quick: args.flags.has('quick'), json, html };
}

/** Values of a list flag: repeated flags and commas both add items. */
function listOf(args: ParsedArgs, name: string): string[] | undefined {
  const values = args.flags.get(name);
  if (!values) return undefined;
  return values.flatMap((value) =>
    value.split(',').map((item) => {
      const trimmed = item.trim();
      if (trimmed === '') throw new UsageError(`--${name} "${value}": empty item in the list`);
      return trimmed;
    }),
  );
}

function integer(name: string, text: string): number {
  // Plain decimal digits only: "1e3", "0x40" and "64.5" are typos more often than intent.
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} ${text}: not a whole number (a frame is ${MIN_FRAME}..${MAX_FRAME} bytes)`);
  }
  return Number(text);
}

const count = (n: number) => n.toLocaleString('en-US');

/** Checked up front, so a typo in the path does not cost a whole run. */
function writablePath(flag: string, file: string): string {
  const path = resolve(file);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${file}: no directory ${dir}`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--${flag} ${file}: is a directory`);
  return path;
}

/** How a run shows where it is. */
export interface ProgressDisplay {
  /** A mode starts (its sizes follow as jobs). */
  mode(name: string): void;
  /** Overall fraction 0..1 and what is running now. */
  update(fraction: number, text: string): void;
  /** Clears whatever the display left on screen. */
  done(): void;
}

/**
 * Runs every mode at every size and worker count. Modes the harness times
 * are built first, then timed together in alternating rounds (tinybench);
 * modes that time themselves run after, on one worker.
 */
export async function runBench(plan: BenchPlan, display: ProgressDisplay): Promise<BenchResult[]> {
  const jobs = plan.modes.flatMap((mode) => (plan.sizes ?? mode.defaultSizes ?? [MIN_FRAME]).map((size) => ({ mode, size })));
  // A cluster's rate is read against the engine's own per hop, measured in the same run.
  const native = findMode('calico-native')!;
  for (const j of [...jobs]) {
    if (j.mode.name.startsWith('cluster') && !jobs.some((k) => k.mode === native && k.size === j.size)) jobs.unshift({ mode: native, size: j.size });
  }
  const results: BenchResult[] = [];
  const tasks: (Timed & { mode: BenchMode; size: number; flows: number; workers: number })[] = [];
  const ceilings = new Map<number, Timed>();
  try {
    const timed = jobs.filter((j) => j.mode.task);
    const builds = timed.length * plan.workers.length;
    let built = 0;
    for (const { mode, size } of timed) {
      display.mode(mode.name);
      const base = { size, flows: plan.flows, quick: plan.quick, workers: 1, progress: () => {} };
      for (const flows of mode.variants?.(base) ?? [plan.flows]) {
        for (const workers of plan.workers) {
          const what = `${mode.name} ${size} B, ${workers} worker${workers > 1 ? 's' : ''}`;
          display.update(built / (builds + 1) / 2, `${what}: building`);
          const progress = (f: number, label?: string) => display.update((built + f) / (builds + 1) / 2, `${what}: ${label ?? 'building'}`);
          const task = await mode.task!({ size, flows, workers, quick: plan.quick, progress });
          tasks.push({ key: `${mode.name}/${size}/${flows}/${workers}`, task, samples: [], rounds: [], mode, size, flows, workers });
          built++;
        }
      }
    }
    if (tasks.length > 0 && plan.workers.some((w) => w > 1)) {
      for (const w of plan.workers) ceilings.set(w, { key: `ceiling/${w}`, task: await ceilingTask(w), samples: [], rounds: [] });
    }
    if (tasks.length > 0) {
      display.mode('timing');
      timeTasks([...tasks, ...ceilings.values()], {
        rounds: plan.quick ? 3 : 10,
        perRound: plan.quick ? 1 : 4,
        warmup: 2,
        progress: (f, label) => display.update(0.5 + f / 2 * (timed.length / Math.max(1, jobs.length)), `timing: ${label}`),
      });
      results.push(...rowsOf(tasks, ceilings, plan));
    }
    const rest = jobs.filter((j) => !j.mode.task);
    for (const [index, { mode, size }] of rest.entries()) {
      if (index === 0 || rest[index - 1].mode !== mode) display.mode(mode.name);
      const what = `${mode.name} ${size} B`;
      const progress = (fraction: number, label?: string) => {
        const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
        const done = (timed.length + index + f) / jobs.length;
        display.update(done, label ? `${what}: ${label}` : what);
      };
      progress(0);
      const rows = await mode.run!({ size, flows: plan.flows, workers: 1, quick: plan.quick, progress });
      results.push(...rows.map((row) => complete(row, mode.name, size, plan.flows)));
    }
  } finally {
    for (const t of [...tasks, ...ceilings.values()]) await t.task.close();
    display.done();
  }
  return relate(results, tasks);
}

/**
 * Result rows of the timed tasks: the rate from the median sample, the p99
 * sample's rate and the relative margin of error beside it; with several
 * worker counts, scaling against the one-worker row of the same mode and
 * size, the ceiling at that count, and whether the run ended the same.
 */
function rowsOf(tasks: (Timed & { mode: BenchMode; size: number; flows: number; workers: number })[], ceilings: Map<number, Timed>, plan: BenchPlan): BenchResult[] {
  const ceilingRate = new Map([...ceilings].map(([w, t]) => [w, t.task.packets / statsOf(t.samples).median]));
  const rows: BenchResult[] = [];
  const base = new Map<string, { mpps: number; digest: string }>();
  for (const t of tasks) {
    const st = statsOf(t.samples);
    const mpps = t.task.packets / st.median / 1e3;
    const digest = t.task.digest();
    const row: BenchResult = complete({
      mode: t.mode.name, size: t.size, flows: plan.flows, workers: t.workers, mpps, gbps: (mpps * t.size * 8) / 1000,
      nsPerPacket: 1e3 / mpps,
      ...t.task.extras(mpps),
      mppsP99: t.task.packets / st.p99 / 1e3,
      rmePercent: st.rme,
    }, t.mode.name, t.size, plan.flows);
    const key = `${t.mode.name}/${t.size}/${t.flows}`;
    if (t.workers === 1) base.set(key, { mpps, digest });
    const one = base.get(key);
    if (plan.workers.length > 1 && one) {
      const scaling = mpps / one.mpps;
      row.scaling = scaling;
      row.identical = digest === one.digest;
      const c1 = ceilingRate.get(1);
      const cw = ceilingRate.get(t.workers);
      if (c1 && cw) {
        row.ceiling = cw / c1;
        row.efficiency = scaling / (cw / c1);
      }
    }
    rows.push(row);
  }
  return rows;
}

/** Fills the contract's fields a mode left out; what the mode set wins. */
function complete(row: BenchResult, mode: string, size: number, flows: number): BenchResult {
  const full: BenchResult = { ...row, mode: row.mode ?? mode, size: row.size ?? size, flows: row.flows ?? flows, workers: row.workers ?? 1 };
  if (typeof full.gbps !== 'number') full.gbps = (full.mpps * full.size * 8) / 1000;
  return full;
}

/** A redrawn bar on a terminal; one line per mode anywhere else (logs, CI). */
export function progressDisplay(stream: NodeJS.WriteStream): ProgressDisplay {
  if (!stream.isTTY) {
    return { mode: (name) => stream.write(`bench: ${name} ...\n`), update: () => {}, done: () => {} };
  }
  const WIDTH = 30;
  let lastDraw = 0;
  let shown = false;
  return {
    mode: () => {},
    update(fraction, text) {
      const now = Date.now();
      // Modes may report often; the terminal needs no more than ~10 frames a second.
      if (now - lastDraw < 100 && fraction < 1) return;
      lastDraw = now;
      const filled = Math.round(fraction * WIDTH);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${text}`;
      const columns = stream.columns || 80;
      stream.write(`\r\x1b[2K${bar.slice(0, columns - 1)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
