// The README's code as a newcomer copies it: every TypeScript block runs as
// written against the built package and type-checks against its
// declarations; every command it names is a command podnet has; the examples
// run and type-check too.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks, examples, readme, root, sandbox, toJs, typeErrors } from './helpers/snippets.js';

const dir = sandbox();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const blocks = codeBlocks(readme());
const tsBlocks = blocks.filter((b) => b.lang === 'ts');

function node(file: string) {
  const r = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('README', () => {
  it('has TypeScript examples', () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(tsBlocks.map((b) => [b.line, b] as const))('the block at line %i runs as written', (_, block) => {
    const file = join(dir, `readme-${block.line}.mjs`);
    writeFileSync(file, toJs(block.code));
    const r = node(file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('its blocks and the examples type-check against the package (every name they use is exported, with types)', () => {
    const files = tsBlocks.map((b) => {
      const file = join(dir, `readme-${b.line}.ts`);
      writeFileSync(file, b.code);
      return file;
    });
    expect(typeErrors([...files, ...examples(), join(root, 'examples', 'browser', 'serve.mjs')])).toEqual([]);
  });

  it('its scenario (YAML) holds under podnet run', () => {
    const yaml = blocks.filter((b) => b.lang === 'yaml');
    expect(yaml.length).toBeGreaterThanOrEqual(1);
    for (const b of yaml) {
      const file = join(dir, `readme-${b.line}.yaml`);
      writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), 'run', file], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });

  it('names only commands and options podnet has', () => {
    const commands = blocks.filter((b) => b.lang === 'text' || b.lang === 'sh').flatMap((b) => b.code.split('\n')).filter((l) => /^(podnet|node bin\/podnet\.js) /.test(l));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const line of commands) {
      const [verb, ...rest] = line.replace(/^node bin\/podnet\.js /, 'podnet ').split(/\s+/).slice(1);
      const help = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), verb, '--help'], { encoding: 'utf8' });
      expect(help.status, line).toBe(0);
      for (const flag of rest.filter((w) => w.startsWith('--')).map((w) => w.replace(/[[\]]/g, ''))) expect(help.stdout, line).toContain(flag);
    }
  });

  it('its sh commands run (the podnet ones)', () => {
    const sh = blocks.filter((b) => b.lang === 'sh').flatMap((b) => b.code.split('\n')).filter((l) => l.startsWith('node bin/podnet.js '));
    expect(sh.length).toBeGreaterThanOrEqual(3);
    for (const line of sh) {
      const r = spawnSync('sh', ['-c', line], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
  });
});

describe('examples/', () => {
  const expected: Record<string, RegExp> = {
    'docker.mjs': /web got: 203\.0\.113\.10 > 172\.17\.0\.2 ICMP echo reply[\s\S]*DNAT|web got: 203\.0\.113\.10\.40000 > 172\.17\.0\.2\.80 TCP/,
    'calico.mjs': /IPIP ttl 63: 10\.244\.0\.1 > 10\.244\.0\.65 ICMP echo request[\s\S]*pod got: 10\.244\.0\.65 > 10\.244\.0\.1 ICMP echo reply/,
    'scenario.mjs': /ok {3}every reply is translated back/,
    'embedding.mjs': /22 ms b: #102 delivered 10\.0\.0\.1\.1002 > 10\.0\.0\.2\.9 UDP[\s\S]*buffers in use at the end: 0/,
    'fuzz.mjs': /^50000 frames checked, \d+ hops verified, 0 violations\n[\s\S]*ipt_do_table +nat PREROUTING: DNAT by -A DOCKER/,
  };

  it('holds the Docker, Calico, scenario, embedding and fuzz examples', () => {
    expect(examples().map((f) => f.slice(f.lastIndexOf('/') + 1)).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.keys(expected))('%s runs', (name) => {
    const r = node(join(root, 'examples', name));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(expected[name]);
  });

  it('examples/scenarios/ all hold (podnet run)', () => {
    for (const file of ['docker-published-port.yaml', 'calico-nat-outgoing.json']) {
      const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), 'run', join('examples', 'scenarios', file)], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });
});
