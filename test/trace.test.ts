// Tracing: one packet through a scenario on the trace build, every stage's
// decision with the Linux function it follows, from the library and from
// `podnet trace`; and the release build has no trace code at all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { builtinScenario } from '../src/scenarios/builtin.js';
import { buildScenario } from '../src/scenarios/build.js';
import { formatTrace, tracePacket, traceScenario, type PacketTrace } from '../src/trace/trace.js';
import { parsePacketSpec } from '../src/trace/packet-spec.js';
import { PcapWriter, ipFrame, tcpPacket } from '../src/packet/index.js';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'podnet-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function podnet(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, PODNET_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The steps of one host, as `stage fn: text` lines. */
const at = (t: PacketTrace, host: string) => t.steps.filter((s) => s.host === host).map((s) => `${s.stage} ${s.fn}: ${s.text}`);

describe('the trace build', () => {
  it('has the trace code, and the release build none of it (its .wat names no trace function; trace points compile to nothing)', () => {
    const wat = readFileSync(join(root, 'build', 'podnet.wat'), 'utf8');
    expect(wat).not.toMatch(/\$assembly\/trace\/trace\/(traceEvent|trace)\b/);
    expect(wat).not.toMatch(/call \$assembly\/trace\//);
    expect(wat).not.toMatch(/call \$assembly\/plant\//);
    expect(new Engine().traces).toBe(false);
    expect(new Engine({ trace: true }).traces).toBe(true);
  });

  it('runs a network exactly as the release build does (nothing records unless a buffer is attached)', () => {
    const run = (engine: Engine) => {
      const { net } = buildScenario(builtinScenario('docker')!, { engine });
      net.send('server', [tcpPacket({ src: '203.0.113.10', dst: '192.168.0.11', sport: 40000, dport: 8080, flags: 'S' })]);
      net.run();
      return JSON.stringify([net.delivered('web').map((d) => [...d.packet]), net.drops(), net.hosts.map((h) => h.stats().fates)]);
    };
    expect(run(new Engine({ trace: true }))).toBe(run(new Engine()));
  });
});

describe('tracePacket', () => {
  it("follows a published port's SYN from the server to the container: routes, the DNAT rule, conntrack, neighbours, the bridge", () => {
    const t = traceScenario(builtinScenario('docker')!, { from: 'server', packet: 'tcp 203.0.113.10:40000 > 192.168.0.11:8080 flags S' });
    expect(t.lost).toBe(0);
    expect(at(t, 'server')).toEqual(expect.arrayContaining([
      'ip4-output ip_route_output_key: 192.168.0.11 via 203.0.113.1 dev eth0 src 203.0.113.10',
      'arp arp_solicit: asks who-has 203.0.113.1 tell 203.0.113.10 on eth0',
    ]));
    expect(at(t, 'router')).toEqual(expect.arrayContaining(['ip4-forward ip_forward: ttl now 63, out eth0 (mtu 1500)']));
    const host = at(t, 'docker-host');
    expect(host).toEqual(expect.arrayContaining([
      'netfilter ipt_do_table: nat PREROUTING: DNAT by -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
      'netfilter nf_nat_packet: DNAT: destination becomes 172.17.0.2:80',
      'ip4-input ip_route_input_noref: 172.17.0.2 dev docker0 src 172.17.0.1',
      'netfilter ipt_do_table: filter FORWARD: ACCEPT by -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
      'bridge br_forward: out of port veth0 (fdb)',
    ]));
    expect(host.find((l) => l.startsWith('netfilter nf_conntrack_in'))).toMatch(/^netfilter nf_conntrack_in: NEW, original direction of connection #0: tcp SYN_SENT src=203\.0\.113\.10 dst=192\.168\.0\.11 sport=40000 dport=8080 src=192\.168\.0\.11 dst=203\.0\.113\.10 sport=8080 dport=40000$/); // before DNAT sets its reply
    expect(at(t, 'web').at(-1)).toBe('ip4-local ip_local_deliver_finish: to a socket: 203.0.113.10.40000 > 172.17.0.2.80 TCP [S] seq 1000 win 65535 len 0 ttl 62');
    // In the order it happened: the server's ARP request before the router answers it.
    expect(t.steps.findIndex((s) => s.host === 'router')).toBeGreaterThan(t.steps.findIndex((s) => s.event === 'arp-request'));
  });

  it('follows a pod to pod packet across Calico nodes: proxy ARP, the tunnel both ways, and what a node drops', () => {
    const engine = new Engine({ trace: true });
    const { net } = buildScenario(builtinScenario('calico')!, { engine });
    const t = tracePacket(net, { from: 'node1-pod1', packet: 'udp node1-pod1:4000 > node2-pod1:53' });
    expect(at(t, 'node1')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^arp arp_send: answers 10\.244\.0\.1: 169\.254\.1\.1 is-at ee:ee:ee:ee:ee:ee \(proxy ARP\)$/),
      expect.stringMatching(/^ip4-input ip_route_input_noref: 10\.244\.0\.65 via 192\.168\.0\.11 dev tunl0( src [\d.]+)?$/),
      'ipip ip_tunnel_xmit: into tunl0: outer 192.168.0.10 > 192.168.0.11 ttl 63, out eth0',
    ]));
    expect(at(t, 'node2')).toEqual(expect.arrayContaining(['ipip ipip_rcv: out of tunl0: outer 192.168.0.10 > 192.168.0.11 removed']));
    // No socket on 53: the pod answers with port unreachable, which goes back through both tunnels.
    expect(at(t, 'node2-pod1')).toEqual(expect.arrayContaining(['drop kfree_skb_reason: dropped: NO_SOCKET', expect.stringMatching(/^icmp-error icmp_send: sends ICMP destination unreachable, port to 10\.244\.0\.1/)]));
    // The network is the same one afterwards: a second trace works and needs no ARP.
    const again = tracePacket(net, { from: 'node1-pod1', packet: 'icmp node1-pod1 > node2-pod1' });
    expect(again.steps.some((s) => s.event === 'arp-request')).toBe(false);
    expect(again.steps.some((s) => s.event === 'echo-reply' && s.host === 'node2-pod1')).toBe(true);
  });

  it('traces frames arriving on a link, and refuses a network that is not on the trace build', () => {
    const { net } = buildScenario(builtinScenario('docker')!, { engine: new Engine({ trace: true }) });
    const t = tracePacket(net, { from: 'docker-host:eth0', packet: 'tcp 203.0.113.10:40000 > 172.17.0.3:5432 flags S' });
    expect(t.steps[0]).toMatchObject({ host: 'docker-host', event: 'rx', fn: 'netif_receive_skb' });
    expect(t.steps[0].text).toMatch(/^eth0: 203\.0\.113\.10\.40000 > 172\.17\.0\.3\.5432 TCP \[S\]/);
    expect([...t.steps[0].bytes!.subarray(0, 12)]).toEqual([2, 0, 0xc0, 0xa8, 0, 0x0b, 2, 0, 0xc0, 0xa8, 0, 1]); // to its MAC, from the router's: its peer
    // An unpublished container port from outside: Docker's chains return, the policy drops.
    expect(at(t, 'docker-host').slice(-2)).toEqual(['netfilter ipt_do_table: filter FORWARD: DROP by the policy of FORWARD', 'drop kfree_skb_reason: dropped: NETFILTER_DROP']);
    expect(formatTrace(t)).toMatch(/docker-host at 0\.000 ms\n {2}ethernet-input +netif_receive_skb +eth0: /);
    const plain = buildScenario(builtinScenario('docker')!).net;
    expect(() => tracePacket(plain, { from: 'server', packet: 'icmp server > web' })).toThrow(/trace build/);
  });

  it('reads packet descriptions as tcpdump writes them, and names what is wrong', () => {
    expect(parsePacketSpec('udp 10.0.0.1:4000 > 10.0.0.2:53 ttl 2 size 100 df')).toMatchObject({ proto: 'udp', src: '10.0.0.1', sport: 4000, dst: '10.0.0.2', dport: 53, ttl: 2, size: 100, df: true });
    expect(parsePacketSpec('tcp a:1 to b:2 flags SA', (n) => (n === 'a' ? '10.0.0.1' : '10.0.0.2'))).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', flags: 'SA' });
    expect(() => parsePacketSpec('udp 10.0.0.1 > 10.0.0.2:53')).toThrow(/ADDRESS:PORT/);
    expect(() => parsePacketSpec('icmp 10.0.0.1:1 > 10.0.0.2')).toThrow(/no ports/);
    expect(() => parsePacketSpec('sctp 10.0.0.1:1 > 10.0.0.2:2')).toThrow(/expected "udp\|tcp/);
    expect(() => parsePacketSpec('tcp 10.0.0.1:1 > 10.0.0.2:2 flags X')).toThrow(/invalid TCP flags/);
    expect(() => parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 ttl 300')).toThrow(/ttl "300"/);
  });
});

describe('podnet trace', () => {
  it('prints each stage on each host, with the rule that decided', () => {
    const r = podnet('trace', '--scenario', 'docker', '--from', 'server', 'tcp 203.0.113.10:40000 > 192.168.0.11:8080 flags S', '--json', join(tmp, 't.json'));
    expect(r.stderr).toBe(`trace: wrote ${join(tmp, 't.json')}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^trace 203\.0\.113\.10\.40000 > 192\.168\.0\.11\.8080 TCP \[S\]/);
    expect(r.stdout).toMatch(/nat PREROUTING: DNAT by -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80/);
    expect(r.stdout).toMatch(/ip_local_deliver_finish +to a socket: 203\.0\.113\.10\.40000 > 172\.17\.0\.2\.80 TCP/);
    const doc = JSON.parse(readFileSync(join(tmp, 't.json'), 'utf8'));
    expect(doc.scenario).toBe('docker');
    expect(doc.steps.length).toBeGreaterThan(20);
  });

  it('sends the frames of a capture into a link', () => {
    const w = new PcapWriter();
    w.add(0, ipFrame('02:00:c6:33:64:02', '02:00:c6:33:64:01', tcpPacket({ src: '203.0.113.80', dst: '198.51.100.2', sport: 80, dport: 1234, flags: 'SA' })));
    const file = join(tmp, 'in.pcap');
    writeFileSync(file, w.bytes());
    const r = podnet('trace', '--scenario', 'router', '--from', 'router:eth2', '--pcap', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/router at 0\.000 ms\n {2}ethernet-input +netif_receive_skb +eth2: /);
    expect(r.stdout).toMatch(/nf_conntrack_in +INVALID|nf_conntrack_in +NEW/);
  });

  const mistakes: [string[], RegExp][] = [
    [['trace', '--from', 'server', 'icmp server > web'], /^podnet trace: --scenario is required/],
    [['trace', '--scenario', 'docker', 'icmp server > web'], /^podnet trace: --from HOST or --from HOST:LINK is required/],
    [['trace', '--scenario', 'docker', '--from', 'server'], /^podnet trace: which packet\?/],
    [['trace', '--scenario', 'docker', '--from', 'nobody', 'icmp server > web'], /^podnet trace: --from nobody: no host "nobody" in docker/],
    [['trace', '--scenario', 'docker', '--from', 'server', 'icmp server >'], /^podnet trace: expected "udp\|tcp/],
    [['trace', '--scenario', 'docker', '--from', 'server', '--pcap', 'x.pcap'], /^podnet trace: --pcap sends Ethernet frames: --from HOST:LINK/],
    [['trace', '--scenario', 'nope', '--from', 'a', 'icmp a > b'], /^podnet trace: no scenario file "nope"/],
  ];
  it.each(mistakes.map(([args, re]) => [args.join(' '), args, re] as const))('refuses %s in one line, exit 2', (_, args, re) => {
    const r = podnet(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
