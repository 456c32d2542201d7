// The fuzzer: what it sends (rendered in the data plane, shaped by the
// scenario), what it checks (every frame in the data plane, the books and the
// buffers between batches), that a run is the same at any worker count, and
// that a bug planted in a variant build is found, shrunk, written down and
// replayed by `podnet fuzz` within its default budget.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as L from '../src/engine/layout.gen.js';
import { builtinScenario } from '../src/scenarios/builtin.js';
import { fuzz } from '../src/fuzz/fuzz.js';
import { FuzzLane } from '../src/fuzz/lane.js';
import { WORDS } from '../src/fuzz/recipes.js';
import { decode, readPcap } from '../src/packet/index.js';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'podnet-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function podnet(args: string[], cwd = tmp) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, PODNET_DEBUG: '' }, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('what the fuzzer sends', () => {
  it("goes into every wired link, from the scenario's own addresses and ports, with every checksum right unless mutated", () => {
    const lane = new FuzzLane(builtinScenario('docker')!);
    const names = lane.templates.map((t) => t.name);
    for (const at of ['docker-host:eth0', 'docker-host:veth0', 'web:eth0', 'router:eth1', 'server:eth0']) {
      expect(names).toEqual(expect.arrayContaining([`udp into ${at}`, `tcp into ${at}`, `icmp error into ${at}`]));
    }
    expect(names).toContain('arp from router into docker-host:eth0');
    const words = lane.drawWords(7, 2000, 2000, () => 0);
    for (let i = 0; i < 2000; i++) words[i * WORDS + L.FW_MUTATION] = 0;
    const frames = lane.render(words);
    let checked = 0;
    const seen = { published: 0, containers: 0, ttl1: 0, fragments: 0, big: 0 };
    for (const f of frames) {
      const d = decode(f.frame);
      if (!d.ip) continue;
      expect(d.ip.checksumOk, f.at).toBe(true);
      const l4 = d.udp ?? d.tcp ?? (d.icmp && d.ip.proto === 1 ? d.icmp : undefined);
      if (l4 && !d.ip.mf && d.ip.fragOffset === 0) {
        expect(l4.checksumOk, `${f.at} ${JSON.stringify(d.ip)}`).toBe(true);
        checked++;
      }
      if (d.tcp?.dport === 8080 && d.ip.dst === '192.168.0.11') seen.published++;
      if (d.ip.dst.startsWith('172.17.0.')) seen.containers++;
      if (d.ip.ttl === 1) seen.ttl1++;
      if (d.ip.mf || d.ip.fragOffset) seen.fragments++;
      if (f.frame.length > 1400) seen.big++;
    }
    expect(checked).toBeGreaterThan(800);
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
    void lane.close();
  });
});

describe('what the fuzzer checks', () => {
  it('finds nothing wrong with the engine in each built-in scenario, and checks every frame', async () => {
    for (const [scenario, frames] of [['docker', 40_000], ['calico', 20_000], ['router', 20_000]] as const) {
      const r = await fuzz({ scenario, frames, seed: 5 });
      expect(r.violations, scenario).toEqual([]);
      expect(r.frames).toBe(frames);
      expect(r.verified, scenario).toBeGreaterThan(frames / 20);
    }
  });

  it('catches a host whose books do not balance, and a buffer that never comes back', () => {
    const books = new FuzzLane(builtinScenario('docker')!);
    const counters = books.engine.dv.getUint32(books.net.get('router').ptr + L.H_COUNTERS, true);
    books.engine.dv.setUint32(counters + L.CNT_IN * 8, 1, true); // a frame counted in that went nowhere
    expect(books.sendDrawn(1, 100, 100, () => 0)).toMatchObject({ kind: 'conservation', host: 'router' });
    const pools = new FuzzLane(builtinScenario('docker')!);
    pools.engine.dp.pool_alloc(pools.net.contextPointers[0], 100); // taken, never given back
    expect(pools.sendDrawn(1, 100, 100, () => 0)).toMatchObject({ kind: 'buffers' });
  });

  it('is the same run for the same seed, at any worker count (epochs are fresh copies of the scenario)', async () => {
    const opts = { scenario: 'docker', frames: 12_000, epochFrames: 4_000 };
    const one = await fuzz({ ...opts, seed: 3 });
    const two = await fuzz({ ...opts, seed: 3, workers: 2 });
    expect([two.frames, two.verified, two.violations]).toEqual([one.frames, one.verified, one.violations]);
    expect((await fuzz({ ...opts, seed: 4 })).verified).not.toBe(one.verified);
  });

  it('agrees with the reference model, host by host', async () => {
    const r = await fuzz({ scenario: 'docker', frames: 10_000, seed: 2, model: true });
    expect(r.model).toMatchObject({ status: 'agreed', frames: 10_000 });
    expect(r.model!.hosts.sort()).toEqual(['db', 'docker-host', 'router', 'server', 'web']);
  });
});

describe('podnet fuzz and a planted bug', () => {
  // A variant of the data plane where a packet forwarded on its last hop (TTL 2) keeps a stale header checksum.
  const planted = join(tmp, 'planted.wasm');
  beforeAll(() => {
    const asc = spawnSync(process.execPath, [join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js'), 'assembly/index.ts', '--target', 'trace',
      '--use', 'PODNET_TRACE=1', '--use', 'PODNET_PLANT_STALE_CHECKSUM=1', '-O1', '-o', planted], { cwd: root, encoding: 'utf8' });
    if (asc.status !== 0) throw new Error(`the planted build failed: ${asc.stderr}`);
  }, 180_000);

  it('finds it, shrinks it to the one frame that shows it, writes it down with a trace, and replays it', () => {
    const json = join(tmp, 'report.json');
    const r = podnet(['fuzz', '--wasm', planted, '--json', json, '--out', 'found']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(report).slice(0, 5)).toEqual(['scenario', 'seed', 'frames', 'framesPerSec', 'elapsedMs']);
    expect(report).toMatchObject({ scenario: 'docker', seed: 1 });
    expect(report.frames).toBeLessThanOrEqual(1_000_000);
    const [v] = report.violations;
    expect(v.kind).toBe('ip-checksum');
    expect(v.counterexample).toMatchObject({ frames: 1 });
    expect(v.counterexample.violation.detail).toMatch(/bad-ip-cksum \(it came in with ttl 2\)/);
    expect(v.counterexample.trace.some((s: { text: string }) => /ttl now 1/.test(s.text))).toBe(true);
    // The frame it shrank to is the rule it breaks: TTL 2, forwarded once.
    const frames = readPcap(readFileSync(join(tmp, 'found', 'frames.pcap')));
    expect(frames).toHaveLength(1);
    expect(decode(frames[0].frame).ip?.ttl).toBe(2);
    expect(existsSync(join(tmp, 'found', 'scenario.json'))).toBe(true);
    const command = /^replay: (podnet fuzz --replay .*)$/m.exec(r.stdout)?.[1];
    expect(command).toBe('podnet fuzz --replay found/counterexample.json --wasm planted.wasm');
    const again = podnet(command!.split(' ').slice(1));
    expect(again.status).toBe(1);
    expect(again.stdout).toMatch(/VIOLATION \(ip-checksum\): an IPv4 header checksum is wrong/);
    expect(again.stdout).toMatch(/dev_queue_xmit +\S+: .* ttl 1 bad-ip-cksum/);
    // The package's own data plane does not have the bug.
    const fixed = podnet(['fuzz', '--replay', 'found/counterexample.json']);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toMatch(/no violation \(the file recorded ip-checksum: it does not show with this data plane\)/);
  }, 240_000);
});

describe('podnet fuzz, the command', () => {
  it('shows its flags in --help', () => {
    const r = podnet(['fuzz', '--help']);
    expect(r.status).toBe(0);
    for (const f of ['--scenario', '--frames', '--seed', '--time', '--workers', '--model', '--json', '--out', '--wasm', '--replay']) expect(r.stdout).toContain(f);
  });

  const mistakes: [string[], RegExp][] = [
    [['fuzz', '--frames', '0'], /^podnet fuzz: --frames 0: expected a whole number 1\.\.1,000,000,000/],
    [['fuzz', '--workers', '65'], /^podnet fuzz: --workers 65: expected a whole number 1\.\.64/],
    [['fuzz', '--seed', '-1'], /^podnet fuzz: --seed -1 needs|^podnet fuzz: --seed -1: expected/],
    [['fuzz', '--time', 'soon'], /^podnet fuzz: --time soon: expected seconds/],
    [['fuzz', '--scenario', 'nope'], /^podnet fuzz: --scenario nope: no such file, and no built-in scenario of that name/],
    [['fuzz', '--replay', 'missing.json'], /^podnet fuzz: --replay missing\.json: no such file/],
    [['fuzz', '--replay', 'x.json', '--frames', '5'], /^podnet fuzz: --replay runs the counterexample as written: --frames does not go with it/],
    [['fuzz', '--replay', 'x.json', '--seed', '5'], /^podnet fuzz: --replay runs the counterexample as written: --seed does not go with it/],
    [['fuzz', '--wasm', 'missing.wasm'], /^podnet fuzz: --wasm missing\.wasm: no such file/],
    [['fuzz', 'extra'], /^podnet fuzz: unexpected argument "extra"/],
  ];
  it.each(mistakes.map(([args, re]) => [args.join(' '), args, re] as const))('refuses %s in one line, exit 2', (_, args, re) => {
    const r = podnet(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
