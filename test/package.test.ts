// The package as a user gets it: `npm pack`, installed into an empty project,
// its command and its library used from there. The tarball has what users
// need (the built code with its types, the wasm, the examples, README,
// LICENSE) and no test-only file and no .wat.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES, DEFAULT_MODES } from '../bench/index.js';

const root = join(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;
let files: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'podnet-pkg-'));
  // dist/ and build/ are fresh: `npm test` builds before the tests.
  const packed = JSON.parse(execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }));
  files = packed[0].files.map((f: { path: string }) => f.path);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', private: true, type: 'module' }));
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, packed[0].filename)], { cwd: dir, encoding: 'utf8' });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm pack', () => {
  it('holds the built code with its types, the wasm, the examples, README and LICENSE', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/podnet.js', 'build/podnet.wasm', 'build/podnet.debug.wasm', 'build/podnet.trace.wasm', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/browser.js', 'dist/src/browser.d.ts', 'dist/src/cli/podnet.js', 'dist/bench/index.js', 'examples/docker.mjs', 'examples/browser/index.html', 'examples/scenarios/docker-published-port.yaml']) {
      expect(files).toContain(f);
    }
  });

  it('holds no test-only file and no .wat', () => {
    expect(files.filter((f) => f.endsWith('.wat') || /(^|\/)test\//.test(f) || f.endsWith('.test.js'))).toEqual([]);
  });
});

describe('installed', () => {
  it('npx podnet bench --quick runs the headline', () => {
    const r = run('npx', ['podnet', 'bench', '--quick']);
    expect(r.stderr).not.toMatch(/^\s+at |Error/m);
    expect(r.status).toBe(0);
    for (const mode of DEFAULT_MODES) expect(r.stdout).toMatch(new RegExp(`^${mode}\\b`, 'm'));
  });

  it('runs every other bench mode; baselines shipped only with the repository are absent, not a crash', () => {
    const others = MODES.map((m) => m.name).filter((m) => !DEFAULT_MODES.includes(m));
    const r = run('npx', ['podnet', 'bench', '--quick', '--size', '64', '--mode', others.join(',')]);
    expect(r.stderr).not.toMatch(/^\s+at |Error/m);
    expect(r.status).toBe(0);
    for (const mode of others) expect(r.stdout).toMatch(new RegExp(`^${mode}\\b`, 'm'));
    expect(r.stdout).toMatch(/longest-prefix-match \(npm\) absent, model absent/);
  });

  it('the library imports and works, under Node and as the browser entry', () => {
    writeFileSync(join(dir, 'use.mjs'), [
      "import { buildCalico, calicoNetwork, buildDocker, loadScenario, packet } from 'podnet';",
      "import * as browser from 'podnet/browser';",
      'const net = calicoNetwork(buildCalico({ nodes: 2, podsPerNode: 1 }));',
      "net.send('node1-pod1', [packet.echoRequest({ src: '0.0.0.0', dst: '10.244.0.65', id: 1, seq: 1 })]);",
      'net.run();',
      "const d = buildDocker({ containers: [{ name: 'web' }] });",
      "const s = loadScenario('node_modules/podnet/examples/scenarios/calico-nat-outgoing.json');",
      "console.log(net.delivered('node1-pod1').length, d.net.hosts.length, s.name, typeof browser.loadDataPlane, typeof browser.loadScenario);",
    ].join('\n'));
    const r = run(process.execPath, ['use.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1 4 calico-nat-outgoing function undefined');
  });

  it('fuzzes and traces from the installed package; the reference model, not shipped, is reported absent', () => {
    const f = run('npx', ['podnet', 'fuzz', '--frames', '20000', '--model']);
    expect(f.stderr).not.toMatch(/^\s+at |Error/m);
    expect(f.status).toBe(0);
    expect(f.stdout).toMatch(/^20,000 frames checked/m);
    expect(f.stdout).toMatch(/^model: absent/m);
    const t = run('npx', ['podnet', 'trace', '--scenario', 'calico', '--from', 'node1-pod1', 'icmp node1-pod1 > node2-pod1']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/ipip +ip_tunnel_xmit +into tunl0/);
  });

  it('its examples and podnet run work from the installed package', () => {
    const ex = run(process.execPath, ['node_modules/podnet/examples/calico.mjs']);
    expect(ex.status).toBe(0);
    expect(ex.stdout).toMatch(/pod got: 10\.244\.0\.65 > 10\.244\.0\.1 ICMP echo reply/);
    const r = run('npx', ['podnet', 'run', 'node_modules/podnet/examples/scenarios/docker-published-port.yaml']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/7 of 7 properties hold/);
  });
});
