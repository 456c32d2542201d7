// The `podnet` command as a user runs it (the built CLI in a child process),
// plus the bench report's formatting and the bench runner with a stand-in mode.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, formatBaselines, formatExtras, formatNumber, formatSpeedup, formatTable } from '../bench/report.js';
import type { BenchMode, BenchResult } from '../bench/types.js';
import { benchVerb, planFromArgs, runBench, type ProgressDisplay } from '../src/cli/bench.js';
import { ceilingTask } from '../bench/harness.js';
import { parseArgs, UsageError } from '../src/cli/podnet.js';
import { DEFAULT_MODES, MODES } from '../bench/index.js';

const root = join(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function podnet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PODNET_DEBUG: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'podnet.js'))) {
    throw new Error('dist/ is missing: run `npm run build:ts` first');
  }
  tmp = mkdtempSync(join(tmpdir(), 'podnet-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('podnet (built CLI)', () => {
  it('--help lists the commands and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const r = podnet(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: podnet/);
      expect(r.stdout).toMatch(/\bbench\b/);
      expect(r.stderr).toBe('');
    }
  });

  it('bench --help shows its flags and modes', () => {
    for (const args of [['bench', '--help'], ['help', 'bench'], ['bench', '--frob', '-h']]) {
      const r = podnet(...args);
      expect(r.status).toBe(0);
      for (const flag of ['--mode', '--size', '--flows', '--workers', '--json', '--quick']) expect(r.stdout).toContain(flag);
      expect(r.stdout).toMatch(/Modes:\n/);
      for (const m of MODES) expect(r.stdout).toContain(m.name);
    }
  });

  it('--version prints the package version', () => {
    const r = podnet('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`podnet ${version}`);
  });

  const mistakes: [string[], RegExp][] = [
    [['frobnicate'], /^podnet: unknown command "frobnicate" \(commands: .*bench/],
    [['help', 'frobnicate'], /^podnet: unknown command "frobnicate"/],
    [['--frob'], /^podnet: unknown option --frob/],
    [['bench', '--frob'], /^podnet bench: unknown option --frob/],
    [['bench', '-x'], /^podnet bench: unknown option -x/],
    [['bench', 'extra'], /^podnet bench: unexpected argument "extra"/],
    [['bench', '--mode', 'nope'], /^podnet bench: unknown mode "nope" \(modes: .*lpm/],
    [['bench', '--mode=lpm,nope'], /^podnet bench: unknown mode "nope"/],
    [['bench', '--mode', 'lpm,'], /^podnet bench: --mode "lpm,": empty item/],
    [['bench', '--mode'], /^podnet bench: --mode needs a value/],
    [['bench', '--mode', '--quick'], /^podnet bench: --mode needs a value/],
    [['bench', '--size', '20'], /^podnet bench: --size 20: a frame is 64\.\.1514 bytes/],
    [['bench', '--size=1515'], /^podnet bench: --size 1515: a frame is 64\.\.1514 bytes/],
    [['bench', '--size', '64,abc'], /^podnet bench: --size abc: not a whole number \(a frame is 64\.\.1514 bytes\)/],
    [['bench', '--mode', 'calico-ipip', '--size', '1514'], /^podnet bench: --size 1514: calico-ipip takes 64\.\.1498 bytes \(an IPIP frame's packet must fit tunl0's MTU of 1480\)/],
    [['bench', '--flows', '0'], /^podnet bench: --flows 0: calico-ipip takes 1\.\.65,536 UDP flows between the pods$/],
    [['bench', '--flows', '-3'], /^podnet bench: --flows -3: not a whole number \(calico-ipip takes 1\.\.65,536/],
    [['bench', '--mode', 'lpm', '--flows', '1e6'], /^podnet bench: --flows 1e6: not a whole number \(lpm takes 1\.\.2,000,000 prefixes in the large table\)/],
    [['bench', '--mode', 'calico-ipip,scale', '--flows', '5000'], /^podnet bench: --flows 5000: scale takes 2\.\.1,024 nodes \(10 pods each\)$/],
    [['bench', '--mode', 'bridge', '--flows', '1'], /^podnet bench: --flows 1: bridge takes 2\.\.262,144 learned MACs$/],
    [['bench', '--workers', '0'], /^podnet bench: --workers 0: a worker count is 1\.\.64$/],
    [['bench', '--workers', '1,many'], /^podnet bench: --workers many: a worker count is 1\.\.64$/],
    [['bench', '--workers', '65'], /^podnet bench: --workers 65: a worker count is 1\.\.64$/],
    [['bench', '--quick=yes'], /^podnet bench: --quick takes no value/],
    [['bench', '--json', '/no/such/dir/out.json'], /^podnet bench: --json \/no\/such\/dir\/out\.json: no directory/],
  ];
  it.each(mistakes)('%j is a one-line user error with exit 2', (args, message) => {
    const r = podnet(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('bench --mode lpm --quick --json writes the contract fields', () => {
    const file = join(tmp, 'out.json');
    const r = podnet('bench', '--mode', 'lpm', '--quick', '--json', file);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).toBe(0);
    // stderr is not a terminal here: one plain line per mode instead of a bar.
    expect(r.stderr).toContain('bench: lpm ...');
    expect(r.stdout).toMatch(/^mode\b.*\bMpps\b.*\bGbit\/s\b.*\bns\/packet\b/);
    expect(r.stdout).toMatch(/^lpm\b/m);

    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.podnet).toBe(version);
    expect(new Date(doc.date).toISOString()).toBe(doc.date);
    expect(doc.machine).toMatchObject({ cores: expect.any(Number), memoryGiB: expect.any(Number), node: process.version });
    expect(typeof doc.machine.cpu).toBe('string');
    expect(typeof doc.machine.platform).toBe('string');
    expect(doc.results.length).toBeGreaterThan(0);
    for (const result of doc.results) {
      expect(result.mode).toBe('lpm');
      expect(result.size).toBeGreaterThanOrEqual(64);
      expect(result.size).toBeLessThanOrEqual(1514);
      expect(Number.isInteger(result.flows)).toBe(true);
      expect(result.workers).toBe(1);
      expect(result.mpps).toBeGreaterThan(0);
      expect(result.gbps).toBeGreaterThan(0);
    }
  });

  it('says so when dist/ is missing', () => {
    const bin = join(tmp, 'unbuilt', 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(join(root, 'bin', 'podnet.js'), join(bin, 'podnet.js'));
    const r = spawnSync(process.execPath, [join(bin, 'podnet.js'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('podnet: not built; run `npm run build`\n');
  });
});

describe('argument parsing', () => {
  const specs = [{ name: 'size', value: 'BYTES', help: '' }, { name: 'quick', help: '' }];

  it('takes --flag value, --flag=value, switches and --', () => {
    const a = parseArgs(['--size', '64', '--quick', '--size=128', '--', '--size'], specs);
    expect(a.flags.get('size')).toEqual(['64', '128']);
    expect(a.flags.get('quick')).toEqual(['']);
    expect(a.positionals).toEqual(['--size']);
    expect(a.help).toBe(false);
  });

  it('rejects what it does not know', () => {
    expect(() => parseArgs(['--sise', '64'], specs)).toThrow(UsageError);
    expect(() => parseArgs(['--size'], specs)).toThrow(/needs a value/);
    expect(() => parseArgs(['--size='], specs)).toThrow(/needs a value/);
  });

  it('repeated and comma-separated lists add up; sizes are de-duplicated', () => {
    const plan = planFromArgs(parseArgs(['--size', '64,128', '--size', '64', '--flows', '10'], benchVerb.flags));
    expect(plan.sizes).toEqual([64, 128]);
    expect(plan.flows).toBe(10);
    expect(plan.workers).toEqual([1]);
    expect(plan.modes.map((m) => m.name)).toEqual(DEFAULT_MODES);
    expect(planFromArgs(parseArgs(['--workers', '2,1', '--workers', '2'], benchVerb.flags)).workers).toEqual([1, 2]);
  });
});

describe('bench runner', () => {
  // A stand-in for a real mode: instant, and reports what it was asked.
  const fake: BenchMode = {
    name: 'fake',
    description: 'test stand-in',
    defaultSizes: [64, 1514],
    flows: { what: 'things', min: 1, max: 10 },
    async run(opts) {
      opts.progress(0.5, 'half');
      opts.progress(Number.NaN);
      return [{ mode: 'fake', size: opts.size, flows: opts.flows || 7, workers: opts.workers, mpps: 2, nsPerPacket: 500 } as BenchResult];
    },
  };

  function recorder() {
    const events: string[] = [];
    const display: ProgressDisplay = {
      mode: (name) => events.push(`mode ${name}`),
      update: (f, text) => events.push(`${f.toFixed(2)} ${text}`),
      done: () => events.push('done'),
    };
    return { events, display };
  }

  it('runs each default size, reports overall progress and fills gbps', async () => {
    const { events, display } = recorder();
    const results = await runBench({ modes: [fake], flows: 0, workers: [1], quick: true }, display);
    expect(results.map((r) => r.size)).toEqual([64, 1514]);
    expect(results[0].gbps).toBeCloseTo((2e6 * 64 * 8) / 1e9);
    expect(results[1].flows).toBe(7);
    expect(events).toEqual([
      'mode fake',
      '0.00 fake 64 B',
      '0.25 fake 64 B: half',
      '0.00 fake 64 B',
      '0.50 fake 1514 B',
      '0.75 fake 1514 B: half',
      '0.50 fake 1514 B',
      'done',
    ]);
  });

  it('times tasks at each worker count in alternating rounds: scaling, ceiling, efficiency and identical beside each rate', async () => {
    // A stand-in whose sample spins on every worker's lane, and whose state says how often it ran.
    let samples = 0;
    const timed: BenchMode = {
      name: 'timed',
      description: 'test stand-in timed by the harness',
      flows: { what: 'things', min: 1, max: 10 },
      async task(opts) {
        const t = await ceilingTask(opts.workers);
        let runs = 0;
        return { ...t, sample: () => { t.sample(); runs++; samples++; }, digest: () => `ran ${runs}`, extras: () => ({ label: 'spins' }) };
      },
    };
    const { display } = recorder();
    const results = await runBench({ modes: [timed], sizes: [64], flows: 0, workers: [1, 2], quick: true }, display);
    expect(results.map((r) => r.workers)).toEqual([1, 2]);
    for (const r of results) {
      expect(r).toMatchObject({ mode: 'timed', label: 'spins', identical: true });
      for (const f of ['mpps', 'mppsP99', 'rmePercent', 'scaling', 'ceiling', 'efficiency']) expect(typeof r[f]).toBe('number');
    }
    expect(results[0].scaling).toBe(1);
    // Two warm-up samples, then 3 rounds of one, for each worker count.
    expect(samples).toBe(2 * (2 + 3));
  });

  it('uses --size over the mode defaults, and clears the display on failure', async () => {
    const { events, display } = recorder();
    const results = await runBench({ modes: [fake], sizes: [128], flows: 3, workers: [1], quick: true }, display);
    expect(results).toMatchObject([{ size: 128, flows: 3 }]);

    const broken: BenchMode = { ...fake, run: async () => Promise.reject(new Error('boom')) };
    await expect(runBench({ modes: [broken], flows: 0, workers: [1], quick: true }, display)).rejects.toThrow('boom');
    expect(events.at(-1)).toBe('done');
  });
});

describe('bench modes take every --flows in their range', () => {
  // The smallest value is the hard case: less than a batch of flows, repeated to fill it.
  it.each(MODES.map((m) => [m.name, m.flows.min] as const))('%s --flows %i --quick', async (name, flows) => {
    const mode = MODES.find((m) => m.name === name)!;
    const display: ProgressDisplay = { mode: () => {}, update: () => {}, done: () => {} };
    const results = await runBench({ modes: [mode], sizes: [mode.sizes?.max ?? 64], flows, workers: [1], quick: true }, display);
    expect(results.length).toBeGreaterThan(0);
    expect(results[0].mpps).toBeGreaterThan(0);
  });
});

describe('bench report', () => {
  const results: BenchResult[] = [
    { mode: 'lpm', size: 64, flows: 1_000_000, workers: 1, mpps: 31.25, gbps: 16, nsPerPacket: 32.0, baselines: { model: 0.9, 'longest-prefix-match': 0.31 }, tableBytes: 4.5 * 2 ** 20, routes: 1000 },
    { mode: 'bridge', size: 1514, flows: 64, workers: 1, mpps: 0.5, gbps: 6.056, nsPerPacket: 2000, label: 'fdb hit' },
  ];

  it('formats a readable table with baselines, speedups and notes', () => {
    const lines = formatTable(results).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0].split(/\s{2,}/)).toEqual(['mode', 'measures', 'frame', 'flows', 'Mpps', 'Gbit/s', 'ns/packet', 'baselines', 'notes']);
    expect(lines[1]).toMatch(/^lpm\s+64 B\s+1000000\s+31\.3\s+16\s+32\s+model 0\.90 Mpps \(x35\), longest-prefix-match 0\.31 Mpps \(x101\)\s+table 4\.50 MiB, routes 1000$/);
    expect(lines[2]).toMatch(/^bridge\s+fdb hit\s+1514 B\s+64\s+0\.50\s+6\.06\s+2000$/);
    // Numbers are right-aligned: every row's Mpps column ends at the same place.
    const end = (line: string, cell: string) => line.indexOf(cell) + cell.length;
    expect(end(lines[1], '31.3')).toBe(end(lines[0], 'Mpps'));
    expect(end(lines[2], '0.50')).toBe(end(lines[0], 'Mpps'));
  });

  it('leaves out empty columns and shows workers only when they vary', () => {
    const plain = formatTable([{ mode: 'lpm', size: 64, flows: 10, workers: 1, mpps: 1, gbps: 0.512, nsPerPacket: 1000 }]);
    expect(plain.split('\n')[0].split(/\s{2,}/)).toEqual(['mode', 'frame', 'flows', 'Mpps', 'Gbit/s', 'ns/packet']);
    const multi = formatTable([{ mode: 'lpm', size: 64, flows: 10, workers: 4, mpps: 4, gbps: 2.048, nsPerPacket: 1000 }]);
    expect(multi.split('\n')[0]).toContain('workers');
    expect(formatTable([])).toBe('no results\n');
  });

  it('formats numbers, speedups and extras', () => {
    expect([formatNumber(1234.5), formatNumber(123.4), formatNumber(12.34), formatNumber(1.234), formatNumber(0.01234), formatNumber(64)]).toEqual(['1235', '123', '12.3', '1.23', '0.012', '64']);
    expect(formatNumber(Number.NaN)).toBe('-');
    expect([formatSpeedup(31.5, 0.9), formatSpeedup(3, 2), formatSpeedup(1, 2), formatSpeedup(1, 0)]).toEqual(['x35', 'x1.5', 'x0.5', 'x?']);
    expect(formatBaselines(results[0])).toBe('model 0.90 Mpps (x35), longest-prefix-match 0.31 Mpps (x101)');
    expect(formatBaselines({ ...results[0], baselines: { model: null, npm: 2 } })).toBe('model absent, npm 2 Mpps (x16)');
    expect(formatExtras({ ...results[1], memoryBytes: 2 ** 20, buildMs: 12.5, ok: true, hist: [1, 2], notes: { a: 1 } })).toBe('memory 1 MiB, build 12.5 ms, ok true');
  });

  it('builds the JSON document of the contract', () => {
    const machine = { cpu: 'Test CPU', cores: 4, memoryGiB: 16, node: 'v20.0.0', platform: 'linux-x64' };
    const doc = buildReport(results, '0.1.0', machine, new Date(Date.UTC(2025, 0, 2, 3, 4, 5)));
    expect(doc).toEqual({ podnet: '0.1.0', date: '2025-01-02T03:04:05.000Z', machine, results });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
