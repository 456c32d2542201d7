// The seed's Kubernetes walk-through with Calico: proxy ARP for 169.254.1.1,
// pod-to-pod across nodes in IPIP, native and CrossSubnet modes, as seen on
// the underlay by tshark.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { Host } from '../src/host.js';
import { buildCalico, calicoNetwork, type CalicoOptions } from '../src/scenarios/calico.js';
import { echoRequest, ipv4Packet, ipFrame, decode, decodeIp, udpPacket, tcpPacket } from '../src/packet/index.js';
import { felixIpsets, felixRules } from '../src/scenarios/felix.js';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

function cluster(opts: Partial<CalicoOptions> = {}) {
  const c = buildCalico({ nodes: 2, podsPerNode: 2, engine: new Engine(), ...opts });
  return { c, net: calicoNetwork(c) };
}

function ping(net: ReturnType<typeof calicoNetwork>, from: string, to: string, seq = 1) {
  net.send(from, [echoRequest({ src: '0.0.0.0', dst: to, id: 42, seq })]);
  net.run();
  return net.delivered(from).map((d) => decodeIp(d.packet)).filter((d) => d.icmp?.type === 0 && d.ip?.src === to);
}

/** tshark's reading of a capture: one line of fields per frame. */
function tshark(pcap: Uint8Array, fields: string[], filter?: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-'));
  try {
    const file = join(dir, 'cap.pcap');
    writeFileSync(file, pcap);
    const args = ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]), ...(filter ? ['-Y', filter] : [])];
    const out = spawnSync('tshark', args, { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    return out.stdout.split('\n').filter((l) => l.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Calico', () => {
  it("a pod's ARP for 169.254.1.1 is answered by its cali interface with ee:ee:ee:ee:ee:ee", () => {
    const { c, net } = cluster();
    const pod = c.nodes[0].pods[0];
    expect(ping(net, pod.host.name, c.nodes[0].ip)).toHaveLength(1);
    expect(pod.host.neigh.list()).toEqual([{ ip: '169.254.1.1', dev: 'eth0', mac: 'ee:ee:ee:ee:ee:ee', state: 'REACHABLE', queued: 0 }]);
    expect(c.nodes[0].host.stats().stages.arp_proxy_reply).toBe(1);
  });

  it('IPIP mode: pod to pod across nodes; the underlay carries node addresses around pod addresses, protocol 4', () => {
    const { c, net } = cluster({ ipipMode: 'Always' });
    const cap = net.capture('node2:eth0');
    const [a, b] = [c.nodes[0].pods[0], c.nodes[1].pods[1]];
    expect(ping(net, a.host.name, b.ip)).toHaveLength(1);
    const ipip = cap.frames.map((f) => decode(f.frame)).filter((d) => d.ip?.proto === 4);
    expect(ipip.map((d) => [d.ip!.src, d.ip!.dst, d.inner?.ip?.src, d.inner?.ip?.dst])).toEqual([
      [c.nodes[0].ip, c.nodes[1].ip, a.ip, b.ip],
      [c.nodes[1].ip, c.nodes[0].ip, b.ip, a.ip],
    ]);
    if (hasTshark) {
      const lines = tshark(cap.pcap(), ['ip.src', 'ip.dst', 'ip.proto', 'icmp.type'], 'ip.proto == 4');
      expect(lines).toEqual([
        `${c.nodes[0].ip},${a.ip}\t${c.nodes[1].ip},${b.ip}\t4,1\t8`,
        `${c.nodes[1].ip},${b.ip}\t${c.nodes[0].ip},${a.ip}\t4,1\t0`,
      ]);
    }
  });

  it('native (Never) mode: the underlay carries the pod addresses unencapsulated', () => {
    const { c, net } = cluster({ ipipMode: 'Never' });
    const cap = net.capture('node2:eth0');
    const [a, b] = [c.nodes[0].pods[0], c.nodes[1].pods[0]];
    expect(ping(net, a.host.name, b.ip)).toHaveLength(1);
    const ips = cap.frames.map((f) => decode(f.frame).ip).filter((ip) => ip !== undefined);
    expect(ips.map((ip) => [ip!.src, ip!.dst, ip!.proto])).toEqual([[a.ip, b.ip, 1], [b.ip, a.ip, 1]]);
    if (hasTshark) expect(tshark(cap.pcap(), ['ip.src', 'ip.dst'], 'ip')).toEqual([`${a.ip}\t${b.ip}`, `${b.ip}\t${a.ip}`]);
  });

  it('CrossSubnet: encapsulates only between nodes of different subnets', () => {
    const { c, net } = cluster({ nodes: 4, subnets: 2, ipipMode: 'CrossSubnet' });
    // nodes 1, 2 on 192.168.0.0/24; nodes 3, 4 on 192.168.1.0/24
    expect(c.nodes.map((n) => n.subnet)).toEqual([0, 0, 1, 1]);
    const same = net.capture('node2:eth0');
    const other = net.capture('node3:eth0');
    const src = c.nodes[0].pods[0];
    expect(ping(net, src.host.name, c.nodes[1].pods[0].ip, 1)).toHaveLength(1);
    expect(ping(net, src.host.name, c.nodes[2].pods[0].ip, 2)).toHaveLength(1);
    const protos = (cap: typeof same) => [...new Set(cap.frames.map((f) => decode(f.frame).ip?.proto).filter((p) => p !== undefined))];
    expect(protos(same)).toEqual([1]);
    expect(protos(other)).toEqual([4]);
  });

  it('natOutgoing: a pod reaches an address outside the pool masqueraded to its node', () => {
    const c = buildCalico({ nodes: 2, podsPerNode: 1, engine: new Engine(), natOutgoing: true });
    // The underlay's gateway, 192.168.0.1, stands for the world outside the pool.
    const gw = new Host({ name: 'gateway', forwarding: true, engine: c.engine });
    gw.link.add({ name: 'eth0', type: 'ether' });
    gw.addr.add('eth0', '192.168.0.1/24');
    c.segments.underlay0.push('gateway:eth0');
    const net = calicoNetwork(c, { extra: [gw] });
    const seen = net.capture('gateway:eth0');
    const pod = c.nodes[0].pods[0];
    expect(ping(net, pod.host.name, '192.168.0.1')).toHaveLength(1);
    const requests = seen.frames.map((f) => decode(f.frame)).filter((d) => d.icmp?.type === 8);
    expect(requests.map((d) => d.ip?.src)).toEqual([c.nodes[0].ip]);
    expect(c.nodes[0].host.conntrack.list()).toMatchObject([{ proto: 'icmp', snat: true, orig: { src: pod.ip } }]);
    // Pod to pod stays un-NATed.
    const other = c.nodes[1].pods[0];
    const under = net.capture('node2:eth0');
    expect(ping(net, pod.host.name, other.ip, 2)).toHaveLength(1);
    expect(under.frames.map((f) => decode(f.frame)).filter((d) => d.ip?.proto === 4).map((d) => d.inner?.ip?.src)).toEqual([pod.ip, other.ip]);
  });

  it('underlay subnets hold 244 nodes each (.10 to .253): one more is refused with a message saying so', () => {
    const c = buildCalico({ nodes: 488, podsPerNode: 0, subnets: 2, engine: new Engine() });
    expect(c.nodes.map((n) => n.ip).filter((ip) => ip.endsWith('.253'))).toEqual(['192.168.0.253', '192.168.1.253']);
    expect(() => buildCalico({ nodes: 489, podsPerNode: 0, subnets: 2, engine: new Engine() })).toThrow(/245 nodes per \/24 underlay subnet, at most 244/);
  });

  it('IPIP from an address that is no cluster node is dropped', () => {
    const { c, net } = cluster();
    const node = c.nodes[1];
    const inner = echoRequest({ src: '10.9.9.9', dst: node.pods[0].ip, id: 1, seq: 1 });
    const outer = ipv4Packet({ src: '192.168.0.250', dst: node.ip, proto: 4 }, inner);
    net.inject(`${node.host.name}:eth0`, [ipFrame(node.host.link.get('eth0').mac, '02:00:00:00:00:fa', outer)]);
    net.run();
    expect(net.drops(node.host.name).map((d) => d.reason)).toEqual(['NETFILTER_DROP']);
    expect(node.host.stats().stages.ipip_rejected).toBe(1);
  });

  it("Calico's MTUs: pods and cali interfaces at the tunnel's in IPIP modes, 1500 native; tunl0 carries the block's first address", () => {
    const ipip = buildCalico({ nodes: 2, podsPerNode: 1, engine: new Engine(), tunnelMtu: 1440 });
    const n = ipip.nodes[0];
    expect([n.pods[0].host.link.get('eth0').mtu, n.host.link.get(n.pods[0].cali).mtu, n.host.link.get('tunl0').mtu]).toEqual([1440, 1440, 1440]);
    expect(n.tunnelAddr).toBe('10.244.0.0');
    expect(n.host.addr.list().filter((a) => a.dev === 'tunl0').map((a) => a.cidr ?? `${a.ip}/${a.plen}`)).toEqual(['10.244.0.0/32']);
    const native = buildCalico({ nodes: 2, podsPerNode: 1, engine: new Engine(), ipipMode: 'Never' });
    expect([native.nodes[0].pods[0].host.link.get('eth0').mtu, native.nodes[0].tunnelAddr]).toEqual([1500, undefined]);
  });

  it('node to a pod on another node: from the tunnel address, encapsulated both ways, as on a real node', () => {
    const { c, net } = cluster();
    const cap = net.capture('node2:eth0');
    const pod = c.nodes[1].pods[0];
    expect(ping(net, 'node1', pod.ip)).toHaveLength(1);
    const seen = cap.frames.map((f) => decode(f.frame)).filter((d) => d.ip);
    expect(seen.map((d) => [d.ip?.proto, d.inner?.ip?.src, d.inner?.ip?.dst])).toEqual([[4, '10.244.0.0', pod.ip], [4, pod.ip, '10.244.0.0']]);
  });
});

describe("Calico with Felix's rules", () => {
  function felixCluster(opts: Partial<CalicoOptions> = {}) {
    const c = buildCalico({ nodes: 2, podsPerNode: 2, engine: new Engine(), felix: true, ...opts });
    return { c, net: calicoNetwork(c) };
  }

  it("every node loads Felix's raw, mangle, filter and nat tables and its ipsets, as they are", () => {
    const { c } = felixCluster({ natOutgoing: true });
    const n = c.nodes[0];
    const spec = {
      nodes: c.nodes.map((m) => m.ip), pool: '10.244.0.0/16', ipip: true, tunnelAddr: n.tunnelAddr, natOutgoing: true,
      endpoints: n.pods.map((p) => ({ iface: p.cali, ip: p.ip })), pods: c.nodes.flatMap((m) => m.pods.map((p) => p.ip)),
      allow: [{ proto: 'udp' as const, ports: [5201] }, { proto: 'icmp' as const }],
    };
    const text = felixRules(spec);
    expect(n.host.rules.save()).toBe(text);
    expect(n.host.ipset.save()).toBe(felixIpsets(spec));
    expect(text.match(/^\*\w+/gm)).toEqual(['*raw', '*mangle', '*nat', '*filter']);
    expect(text).toContain('-A cali-from-wl-dispatch -i cali00010001 -m comment');
    expect(text).toMatch(/-A cali-tw-cali00010001 -m comment --comment "cali:[\w-]{16}" -m mark --mark 0x0\/0x20000 -j cali-pi-_[\w-]{19}\n/);
  });

  for (const mode of ['Always', 'Never'] as const) {
    it(`${mode}: pods ping each other across nodes and reach udp/5201; the policy drops tcp to a pod`, () => {
      const { c, net } = felixCluster({ ipipMode: mode });
      const [a, b] = [c.nodes[0].pods[0], c.nodes[1].pods[1]];
      expect(ping(net, a.host.name, b.ip)).toHaveLength(1);
      b.host.listen('udp', 5201);
      net.send(a.host.name, [udpPacket({ src: '0.0.0.0', dst: b.ip, sport: 40000, dport: 5201 })]);
      net.send(a.host.name, [tcpPacket({ src: '0.0.0.0', dst: b.ip, sport: 40001, dport: 80, flags: 'S' })]);
      net.run();
      expect(net.delivered(b.host.name).map((d) => decodeIp(d.packet)).map((d) => [d.ip?.proto, d.udp?.dport ?? d.tcp?.dport])).toEqual([[17, 5201]]);
      expect(net.drops('node2').map((d) => d.reason)).toEqual(['NETFILTER_DROP']);
      expect(c.nodes[1].host.rules.save({ counters: true })).toMatch(/\[1:40\] -A cali-tw-cali00020001 .*"Drop if no policies passed packet"/);
    });
  }

  it('IPIP from an address that is no Calico node is dropped by cali-INPUT before the tunnel sees it', () => {
    const { c, net } = felixCluster();
    const node = c.nodes[1];
    const inner = echoRequest({ src: '10.9.9.9', dst: node.pods[0].ip, id: 1, seq: 1 });
    const outer = ipv4Packet({ src: '192.168.0.250', dst: node.ip, proto: 4 }, inner);
    net.inject(`${node.host.name}:eth0`, [ipFrame(node.host.link.get('eth0').mac, '02:00:00:00:00:fa', outer)]);
    net.run();
    expect(net.drops(node.host.name).map((d) => d.reason)).toEqual(['NETFILTER_DROP']);
    expect(node.host.stats().stages.ipip_rejected ?? 0).toBe(0);
    expect(node.host.rules.save({ counters: true })).toMatch(/\[1:\d+\] -A cali-INPUT -p ipencap .*"Drop IPIP packets from non-Calico hosts"/);
  });

  it("natOutgoing by the masq and pool ipsets; the node reaches its own pods, another node's only as its policy lets it", () => {
    const c = buildCalico({ nodes: 2, podsPerNode: 1, engine: new Engine(), felix: true, natOutgoing: true });
    const gw = new Host({ name: 'gateway', forwarding: true, engine: c.engine });
    gw.link.add({ name: 'eth0', type: 'ether' });
    gw.addr.add('eth0', '192.168.0.1/24');
    c.segments.underlay0.push('gateway:eth0');
    const net = calicoNetwork(c, { extra: [gw] });
    const pod = c.nodes[0].pods[0];
    expect(ping(net, pod.host.name, '192.168.0.1')).toHaveLength(1);
    expect(c.nodes[0].host.conntrack.list()).toMatchObject([{ proto: 'icmp', snat: true, orig: { src: pod.ip }, reply: { dst: c.nodes[0].ip } }]);
    // Felix lets the host reach its own pods (cali-OUTPUT returns for cali+) ...
    expect(ping(net, 'node1', pod.ip, 2)).toHaveLength(1);
    // ... but node2's pod is behind its policy, which lets pods in, not node1's tunnel address.
    expect(ping(net, 'node1', c.nodes[1].pods[0].ip, 3)).toHaveLength(0);
    expect(net.drops('node2').map((d) => d.reason)).toEqual(['NETFILTER_DROP']);
    expect(c.nodes[1].host.rules.save({ counters: true })).toMatch(/\[1:84\] -A cali-tw-cali00020000 .*"Drop if no policies passed packet"/);
  });
});

