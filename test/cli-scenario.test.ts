// `podnet run` and `podnet replay` as a user runs them (the built CLI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcap } from '../src/packet/pcap.js';
import { PcapWriter } from '../src/packet/pcap.js';
import { ipFrame, tcpPacket, udpPacket } from '../src/packet/craft.js';

const root = join(import.meta.dirname, '..');

function podnet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, PODNET_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLine(r: { stderr: string; stdout: string }): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(r.stdout).toBe('');
  return lines[0];
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'podnet-run-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('podnet run', () => {
  it('runs an example scenario, prints fates, drops and links, writes pcaps and JSON', () => {
    const dir = join(tmp, 'pcaps');
    const json = join(tmp, 'report.json');
    const r = podnet('run', 'examples/scenarios/docker-published-port.yaml', '--pcap', dir, '--json', json);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^scenario docker-published-port: 6 hosts/);
    expect(r.stdout).toMatch(/^ {2}ok {4}from outside to 192\.168\.0\.11 tcp\/8080: delivered at web$/m);
    expect(r.stdout).toMatch(/^drops by reason\n {2}IP_INNOROUTES/m);
    expect(r.stdout).toMatch(/^ {2}link +rx packets +rx bytes +tx packets +tx bytes$/m);
    expect(r.stdout).toMatch(/7 of 7 properties hold\n$/);
    const files = readdirSync(dir);
    expect(files).toContain('web.eth0.pcap');
    expect(readPcap(readFileSync(join(dir, 'web.eth0.pcap'))).length).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report).toMatchObject({ scenario: 'docker-published-port', ok: true });
    expect(report.properties).toHaveLength(7);
  });

  it('exits 1 when a property fails, and says why', () => {
    const file = join(tmp, 'fails.yaml');
    writeFileSync(file, 'docker: { containers: [{ name: web }] }\nproperties:\n  - "from server to 172.17.0.2: delivered"\n');
    const r = podnet('run', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}from server to 172\.17\.0\.2: delivered\n {8}dropped IP_INNOROUTES at router/);
    expect(r.stdout).toMatch(/0 of 1 properties hold/);
  });

  it('a built-in name runs too', () => {
    const r = podnet('run', 'calico');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^scenario calico: 6 hosts/);
  });

  const mistakes: [() => string[], RegExp][] = [
    [() => ['run'], /^podnet run: which scenario\?/],
    [() => ['run', 'a', 'b'], /^podnet run: one scenario at a time/],
    [() => ['run', 'nosuch.yaml'], /^podnet run: no scenario file "nosuch.yaml" \(or a built-in scenario: docker, calico, router\)/],
    [() => ['run', 'examples'], /^podnet run: examples is a directory/],
    [() => ['run', bad()], /^podnet run: .*bad\.yaml:4: hosts\[0\]\.links\[0\]\.mtu: 99999 is out of range 68\.\./],
    [() => ['run', 'calico', '--json', '/no/such/dir/x.json'], /^podnet run: --json \/no\/such\/dir\/x\.json: no directory/],
    [() => ['run', 'calico', '--pcap', join(root, 'package.json')], /^podnet run: --pcap .*package\.json: is a file/],
    [() => ['run', 'calico', '--frames', '3'], /^podnet run: unknown option --frames/],
  ];
  function bad(): string {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'hosts:\n  - name: a\n    links:\n      - { name: eth0, type: veth, mtu: 99999 }\n');
    return file;
  }
  it.each(mistakes)('%# a mistake is one line and exit 2', (args, message) => {
    const r = podnet(...args());
    expect(r.status).toBe(2);
    expect(oneLine(r)).toMatch(message);
  });

  it('--help shows the usage, the flags and the built-in scenarios', () => {
    const r = podnet('run', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: podnet run SCENARIO \[--pcap DIR\] \[--json FILE\]/);
    expect(r.stdout).toContain('Built-in scenarios: docker, calico, router');
  });
});

describe('podnet replay', () => {
  function capture(): string {
    // A client beyond the Docker host's router: a SYN to the published port, one to a closed port, a stray UDP datagram.
    const w = new PcapWriter();
    const t0 = 1_700_000_000_000;
    const syn = (sport: number, dport: number) => ipFrame('02:00:c0:a8:00:0b', '02:00:c0:a8:00:01', tcpPacket({ src: '203.0.113.10', dst: '192.168.0.11', sport, dport, flags: 'S', ttl: 63 }));
    w.add(t0, syn(40000, 8080));
    w.add(t0 + 250, syn(40001, 9999));
    w.add(t0 + 500, ipFrame('02:00:c0:a8:00:0b', '02:00:c0:a8:00:01', udpPacket({ src: '203.0.113.10', dst: '172.17.0.2', sport: 5000, dport: 53, ttl: 63 })));
    const file = join(tmp, 'in.pcap');
    writeFileSync(file, w.bytes());
    return file;
  }

  it('feeds a capture on its own clock and prints each frame\'s fate; --pcap writes what links sent', () => {
    const dir = join(tmp, 'replayed');
    const json = join(tmp, 'replay.json');
    const r = podnet('replay', capture(), '--scenario', 'docker', '--into', 'docker-host:eth0', '--pcap', dir, '--json', json);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^replay .*in\.pcap: 3 frames into docker-host:eth0 of docker/);
    expect(r.stdout).toMatch(/#1 {2}0\.000 ms {2}203\.0\.113\.10\.40000 > 192\.168\.0\.11\.8080 TCP \[S\].*\n {6}delivered at web; sent on docker-host:veth0/);
    expect(r.stdout).toMatch(/#2 {2}250\.000 ms .*\n {6}dropped NO_SOCKET at docker-host/);
    expect(r.stdout).toMatch(/#3 {2}500\.000 ms .*\n {6}dropped NETFILTER_DROP at docker-host/);
    const out = readPcap(readFileSync(join(dir, 'docker-host.veth0.pcap')));
    // The files keep the capture's clock.
    expect(out[0].timeMs).toBeGreaterThanOrEqual(1_700_000_000_000);
    expect(JSON.parse(readFileSync(json, 'utf8')).frames).toHaveLength(3);
  });

  const mistakes: [() => string[], RegExp][] = [
    [() => ['replay'], /^podnet replay: which capture\?/],
    [() => ['replay', 'x.pcap', '--into', 'a:b'], /^podnet replay: --scenario is required/],
    [() => ['replay', 'x.pcap', '--scenario', 'docker'], /^podnet replay: --into HOST:LINK is required/],
    [() => ['replay', 'x.pcap', '--scenario', 'docker', '--into', 'web'], /^podnet replay: --into web: expected HOST:LINK/],
    [() => ['replay', 'x.pcap', '--scenario', 'docker', '--into', 'web:eth0'], /^podnet replay: no capture file "x\.pcap"/],
    [() => ['replay', join(root, 'package.json'), '--scenario', 'docker', '--into', 'web:eth0'], /^podnet replay: .*package\.json: pcap: bad magic/],
    [() => ['replay', capture(), '--scenario', 'docker', '--into', 'nobody:eth0'], /^podnet replay: --into nobody:eth0: no host "nobody" in docker \(hosts: docker-host, web/],
    [() => ['replay', capture(), '--scenario', 'docker', '--into', 'web:eth7'], /^podnet replay: --into web:eth7: web has no link "eth7" \(links: eth0\)/],
  ];
  it.each(mistakes)('%# a mistake is one line and exit 2', (args, message) => {
    const r = podnet(...args());
    expect(r.status).toBe(2);
    expect(oneLine(r)).toMatch(message);
  });

  it('--help shows the usage', () => {
    const r = podnet('help', 'replay');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: podnet replay FILE\.pcap --scenario S --into HOST:LINK/);
    expect(existsSync(join(root, 'dist', 'src', 'cli', 'replay.js'))).toBe(true);
  });
});
