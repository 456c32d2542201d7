// Hand-written walks through the Linux behaviour the engine reproduces:
// the seed's docker0 bridge, a router, Calico's proxy ARP, and the control
// plane's refusals.
import { describe, it, expect } from 'vitest';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { echoRequest, udpPacket, tcpPacket, ipFrame, arpFrame, decode, decodeIp } from '../src/packet/index.js';
import { Wires } from './helpers/wire.js';

async function dockerHost() {
  const engine = new Engine();
  const host = await Host.create({ name: 'host', forwarding: true, engine });
  host.link.add({ name: 'docker0', type: 'bridge', mac: '02:42:ac:11:00:01' });
  host.addr.add('docker0', '172.17.0.1/16');
  const wires = new Wires();
  const containers: Host[] = [];
  for (const [i, ip] of ['172.17.0.2', '172.17.0.3'].entries()) {
    host.link.add({ name: `veth${i}`, type: 'veth', master: 'docker0' });
    const c = await Host.create({ name: `c${i}`, engine });
    c.link.add({ name: 'eth0', type: 'veth', mac: `02:42:ac:11:00:0${i + 2}` });
    c.addr.add('eth0', `${ip}/16`);
    c.route.add({ dst: 'default', via: '172.17.0.1' });
    wires.connect({ host, link: `veth${i}` }, { host: c, link: 'eth0' });
    containers.push(c);
  }
  return { host, containers, wires };
}

describe('docker0: containers on one bridge', () => {
  it('a container pings another through the bridge: ARP, flood, learning, reply', async () => {
    const { host, containers: [c0, c1], wires } = await dockerHost();
    wires.pump(c0, c0.send([{ packet: echoRequest({ src: '0.0.0.0', dst: '172.17.0.3', id: 7, seq: 1 }) }], 0), 0);
    const replies = wires.locals('c0').map(decodeIp);
    expect(replies).toHaveLength(1);
    expect(replies[0].ip).toMatchObject({ src: '172.17.0.3', dst: '172.17.0.2' });
    expect(replies[0].icmp).toMatchObject({ type: 0, id: 7, seq: 1 });
    // The bridge learned both containers' MACs on their ports.
    const fdb = host.fdb.list('docker0');
    expect(fdb.map((e) => [e.mac, e.dev])).toEqual([['02:42:ac:11:00:02', 'veth0'], ['02:42:ac:11:00:03', 'veth1']]);
    expect(c0.neigh.list()).toEqual([{ ip: '172.17.0.3', dev: 'eth0', mac: '02:42:ac:11:00:03', state: 'REACHABLE', queued: 0 }]);
    // The host's own IP layer saw the broadcast ARP request and stayed quiet.
    expect(host.stats().stages.arp_ignored).toBe(1);
    expect(host.stats().stages.bridge_flooded).toBe(1);
    expect(c1.stats().stages.icmp_echo_reply).toBe(1);
  });

  it('a container pings docker0 (172.17.0.1): local delivery on the bridge device', async () => {
    const { host, containers: [c0], wires } = await dockerHost();
    wires.pump(c0, c0.send([{ packet: echoRequest({ src: '0.0.0.0', dst: '172.17.0.1', id: 1, seq: 1 }) }], 0), 0);
    const replies = wires.locals('c0').map(decodeIp);
    expect(replies.map((r) => r.ip?.src)).toEqual(['172.17.0.1']);
    expect(host.stats().stages.bridge_local).toBeGreaterThanOrEqual(2);
    expect(host.link.get('docker0').stats.rxPackets).toBeGreaterThanOrEqual(2);
  });

  it('never sends a frame back out of its ingress port unless that port is in hairpin mode', async () => {
    const engine = new Engine();
    const br = await Host.create({ name: 'br', engine });
    br.link.add({ name: 'br0', type: 'bridge' });
    br.link.add({ name: 'p0', type: 'veth', master: 'br0' });
    br.link.add({ name: 'p1', type: 'veth', master: 'br0' });
    const a = '02:00:00:00:00:0a';
    const b = '02:00:00:00:00:0b';
    const frame = (src: string, dst: string) => ipFrame(dst, src, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));
    br.receive([{ link: 'p0', frame: frame(a, b) }], 0); // learn a on p0, flood
    br.receive([{ link: 'p0', frame: frame(b, a) }], 0); // b claims p0 too
    let out = br.receive([{ link: 'p0', frame: frame(a, b) }], 0);
    expect(out).toEqual([{ kind: 'drop', reason: 'BR_NO_EGRESS', tag: 0 }]);
    br.link.set('p0', { hairpin: true });
    out = br.receive([{ link: 'p0', frame: frame(a, b) }], 0);
    expect(out.map((o) => o.kind === 'tx' && o.link)).toEqual(['p0']);
  });

  it('ages FDB entries after 300 s and then floods again', async () => {
    const br = await Host.create({ name: 'br', engine: new Engine() });
    br.link.add({ name: 'br0', type: 'bridge' });
    for (const p of ['p0', 'p1', 'p2']) br.link.add({ name: p, type: 'veth', master: 'br0' });
    const f = (src: string, dst: string) => ipFrame(dst, src, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));
    br.receive([{ link: 'p1', frame: f('02:00:00:00:00:01', '02:00:00:00:00:02') }], 0);
    const links = (outs: ReturnType<Host['receive']>) => outs.map((o) => (o.kind === 'tx' ? o.link : o.kind));
    expect(links(br.receive([{ link: 'p0', frame: f('02:00:00:00:00:02', '02:00:00:00:00:01') }], 299_999))).toEqual(['p1']);
    expect(links(br.receive([{ link: 'p2', frame: f('02:00:00:00:00:03', '02:00:00:00:00:01') }], 300_000))).toEqual(['p0', 'p1']);
    expect(br.fdb.list('br0', 300_000).map((e) => e.mac)).toEqual(['02:00:00:00:00:02', '02:00:00:00:00:03']);
  });

  it('a full FDB stops learning, counts it, and keeps forwarding by flooding', async () => {
    const br = await Host.create({ name: 'br', engine: new Engine() });
    br.link.add({ name: 'br0', type: 'bridge', fdbMax: 2 });
    for (const p of ['p0', 'p1']) br.link.add({ name: p, type: 'veth', master: 'br0' });
    const f = (src: string, dst: string) => ipFrame(dst, src, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));
    for (let i = 1; i <= 3; i++) br.receive([{ link: 'p0', frame: f(`02:00:00:00:00:0${i}`, '02:00:00:00:00:99') }], 0);
    expect(br.fdb.list('br0')).toHaveLength(2);
    expect(br.stats().stages.bridge_fdb_full).toBe(1);
    const out = br.receive([{ link: 'p1', frame: f('02:00:00:00:00:99', '02:00:00:00:00:03') }], 0);
    expect(out.map((o) => o.kind === 'tx' && o.link)).toEqual(['p0']);
    expect(br.stats().stages.bridge_flooded).toBe(4);
  });
});

describe('a router', () => {
  async function router() {
    const r = await Host.create({ name: 'r', forwarding: true, engine: new Engine() });
    r.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
    r.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01', mtu: 1400 });
    r.addr.add('eth0', '10.0.0.1/24');
    r.addr.add('eth1', '10.0.1.1/24');
    r.neigh.add({ ip: '10.0.1.9', mac: '02:00:00:00:01:09', dev: 'eth1' });
    r.neigh.add({ ip: '10.0.0.2', mac: '02:00:00:00:00:02', dev: 'eth0' });
    r.route.add({ dst: '192.0.2.0/24', via: '10.0.1.9' });
    r.route.add({ dst: '198.51.100.0/24', type: 'blackhole' });
    r.route.add({ dst: '203.0.113.0/24', type: 'unreachable' });
    return r;
  }
  const from = (ip: Uint8Array) => [{ link: 'eth0', frame: ipFrame('02:00:00:00:00:01', '02:00:00:00:00:02', ip) }];

  it('forwards via a gateway: TTL - 1, valid checksum, MACs rewritten', async () => {
    const r = await router();
    const out = r.receive(from(udpPacket({ src: '10.0.0.2', dst: '192.0.2.7', sport: 5, dport: 53, ttl: 9 })), 0);
    expect(out).toHaveLength(1);
    const d = decode((out[0] as { frame: Uint8Array }).frame);
    expect(out[0]).toMatchObject({ kind: 'tx', link: 'eth1' });
    expect(d.eth).toMatchObject({ src: '02:00:00:00:01:01', dst: '02:00:00:00:01:09' });
    expect(d.ip).toMatchObject({ ttl: 8, checksumOk: true, dst: '192.0.2.7' });
  });

  it('answers TTL expiry, no route, unreachable routes with ICMP; blackholes silently', async () => {
    const r = await router();
    const kinds = (dst: string, ttl = 64) => r.receive(from(udpPacket({ src: '10.0.0.2', dst, sport: 5, dport: 53, ttl })), 0)
      .map((o) => (o.kind === 'drop' ? o.reason : o.kind === 'tx' ? `${decode(o.frame).icmp?.type}/${decode(o.frame).icmp?.code}` : 'local'));
    expect(kinds('192.0.2.7', 1)).toEqual(['11/0', 'IP_INHDR']);
    expect(kinds('8.8.8.8')).toEqual(['3/0', 'IP_INNOROUTES']);
    expect(kinds('203.0.113.1')).toEqual(['3/1', 'UNREACHABLE']);
    expect(kinds('198.51.100.1')).toEqual(['BLACKHOLE']);
  });

  it('DF + too big: frag needed with the MTU; without DF: fragments that add up', async () => {
    const r = await router();
    const big = (df: boolean) => udpPacket({ src: '10.0.0.2', dst: '192.0.2.7', sport: 5, dport: 53, size: 1460, df });
    let out = r.receive(from(big(true)), 0);
    const icmp = decode((out[0] as { frame: Uint8Array }).frame).icmp;
    expect(icmp).toMatchObject({ type: 3, code: 4, rest: 1400 });
    expect(out[1]).toEqual({ kind: 'drop', reason: 'PKT_TOO_BIG', tag: 0 });
    out = r.receive(from(big(false)), 0);
    const frags = out.map((o) => decode((o as { frame: Uint8Array }).frame).ip!);
    expect(frags.map((f) => [f.fragOffset, f.mf, f.totalLength])).toEqual([[0, true, 1396], [1376, false, 112]]);
    expect(frags.every((f) => f.checksumOk && f.ttl === 63)).toBe(true);
  });

  it('rate-limits ICMP errors per destination: a burst of 6 TTL errors, then one per second', async () => {
    const r = await router();
    r.route.add({ dst: '172.31.0.0/16', via: '10.0.0.2' });
    const errors = (now: number) => r.receive(from(udpPacket({ src: '10.0.0.2', dst: '172.31.0.1', sport: 5, dport: 53, ttl: 1 })), now)
      .filter((o) => o.kind === 'tx').length;
    const sent = Array.from({ length: 10 }, () => errors(1000));
    expect(sent).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect([errors(1999), errors(2000), errors(2001)]).toEqual([0, 1, 0]);
    expect(r.stats().stages.icmp_ratelimited).toBe(6);
  });

  it('limits route errors twice over, as Linux: 13 packets without a route from one source get 2 net unreachables', async () => {
    const r = await router();
    const out = r.receive(Array.from({ length: 13 }, (_, i) => from(udpPacket({ src: '10.0.0.2', dst: '8.8.8.8', sport: 5 + i, dport: 53 }))[0]), 0);
    expect(out.filter((o) => o.kind === 'tx')).toHaveLength(2);
    expect(r.stats().drops.IP_INNOROUTES).toBe(13);
  });

  it('never answers an ICMP error with an ICMP error', async () => {
    const r = await router();
    const inner = udpPacket({ src: '8.8.8.8', dst: '10.0.0.2', sport: 53, dport: 5 });
    const err = (await import('../src/packet/index.js')).icmpError({ src: '10.0.0.2', dst: '8.8.8.7', type: 3, code: 3, original: inner });
    expect(r.receive(from(err), 0)).toEqual([{ kind: 'drop', reason: 'IP_INNOROUTES', tag: 0 }]);
  });

  it('refuses closed ports: ICMP port unreachable for UDP, RST for TCP; delivers open ones', async () => {
    const r = await router();
    r.listen('tcp', 22);
    const kinds = (ip: Uint8Array) => r.receive(from(ip), 0).map((o) => (o.kind === 'tx' ? decode(o.frame) : o));
    const udp = kinds(udpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 5, dport: 53 }));
    expect((udp[0] as ReturnType<typeof decode>).icmp).toMatchObject({ type: 3, code: 3 });
    expect(udp[1]).toEqual({ kind: 'drop', reason: 'NO_SOCKET', tag: 0 });
    const syn = kinds(tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 40000, dport: 80, flags: 'S', seq: 1000 }));
    expect((syn[0] as ReturnType<typeof decode>).tcp).toMatchObject({ flags: { rst: true, ack: true }, seq: 0, ack: 1001 });
    const open = kinds(tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 40000, dport: 22, flags: 'S', seq: 1 }));
    expect(open[0]).toMatchObject({ kind: 'local' });
  });

  it('keeps every packet accounted for', async () => {
    const r = await router();
    r.receive(from(udpPacket({ src: '10.0.0.2', dst: '10.0.1.77', sport: 5, dport: 53 })), 0); // queued on ARP
    r.receive(from(udpPacket({ src: '10.0.0.2', dst: '8.8.8.8', sport: 5, dport: 53 })), 0);
    const f = r.stats().fates;
    expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued));
    expect(f.queued - f.dequeued).toBe(1);
  });
});

describe('Calico: proxy ARP for 169.254.1.1', () => {
  it("the pod's ARP for its gateway is answered by cali with ee:ee:ee:ee:ee:ee", async () => {
    const engine = new Engine();
    const node = await Host.create({ name: 'node1', forwarding: true, engine });
    node.link.add({ name: 'eth0', type: 'ether' });
    node.addr.add('eth0', '192.168.0.11/24');
    node.route.add({ dst: 'default', via: '192.168.0.1' });
    node.link.add({ name: 'cali1', type: 'veth', mac: 'ee:ee:ee:ee:ee:ee', proxyArp: true });
    node.route.add({ dst: '10.244.0.5/32', dev: 'cali1' });
    const pod = await Host.create({ name: 'pod', engine });
    pod.link.add({ name: 'eth0', type: 'veth' });
    pod.addr.add('eth0', '10.244.0.5/32');
    pod.route.add({ dst: '169.254.1.1/32', dev: 'eth0' });
    pod.route.add({ dst: 'default', via: '169.254.1.1', dev: 'eth0' });
    const wires = new Wires().connect({ host: node, link: 'cali1' }, { host: pod, link: 'eth0' });
    wires.pump(pod, pod.send([{ packet: echoRequest({ src: '0.0.0.0', dst: '192.168.0.11', id: 1, seq: 1 }) }], 0), 0);
    expect(pod.neigh.list()).toEqual([{ ip: '169.254.1.1', dev: 'eth0', mac: 'ee:ee:ee:ee:ee:ee', state: 'REACHABLE', queued: 0 }]);
    expect(node.stats().stages.arp_proxy_reply).toBe(1);
    expect(wires.locals('pod').map((p) => decodeIp(p).icmp?.type)).toEqual([0]);
  });

  it('proxy ARP stays quiet for addresses routed back out of the asking link', async () => {
    const node = await Host.create({ name: 'n', forwarding: true, engine: new Engine() });
    node.link.add({ name: 'cali1', type: 'veth', proxyArp: true });
    node.route.add({ dst: '10.244.0.5/32', dev: 'cali1' });
    const out = node.receive([{ link: 'cali1', frame: arpFrame({ op: 1, sha: '02:00:00:00:00:05', spa: '10.244.0.5', tpa: '10.244.0.5' }) }], 0);
    expect(out).toEqual([]);
    expect(node.stats().stages.arp_ignored).toBe(1);
  });
});

describe('the control plane refuses bad input and changes nothing', () => {
  async function snapshot() {
    const h = await Host.create({ name: 'h', forwarding: true, engine: new Engine() });
    h.link.add({ name: 'eth0', type: 'ether' });
    h.addr.add('eth0', '10.0.0.1/24');
    h.route.add({ dst: '10.9.0.0/16', via: '10.0.0.254' });
    const state = () => JSON.stringify([h.link.list(), h.addr.list(), h.route.list(), h.neigh.list()]);
    return { h, state };
  }
  const cases: [string, (h: Host) => void, RegExp][] = [
    ['a malformed CIDR', (h) => h.addr.add('eth0', '10.0.0.300/24'), /invalid CIDR "10.0.0.300\/24"/],
    ['a prefix with host bits', (h) => h.route.add({ dst: '10.1.2.3/16', dev: 'eth0' }), /invalid prefix/],
    ['an unknown device', (h) => h.route.add({ dst: '10.2.0.0/16', dev: 'eth9' }), /no such device "eth9"/],
    ['a duplicate route', (h) => h.route.add({ dst: '10.9.0.0/16', via: '10.0.0.253' }), /route exists/],
    ['an unreachable gateway', (h) => h.route.add({ dst: '10.3.0.0/16', via: '172.16.0.1' }), /gateway 172.16.0.1 is unreachable/],
    ['a bad MAC', (h) => h.neigh.add({ ip: '10.0.0.5', mac: '02:00:zz:00:00:01', dev: 'eth0' }), /invalid MAC address/],
    ['a duplicate link', (h) => h.link.add({ name: 'eth0', type: 'ether' }), /device exists/],
    ['an MTU out of range', (h) => h.link.set('eth0', { mtu: 20, up: false }), /mtu 20 out of range/],
    ['a master that is no bridge', (h) => h.link.add({ name: 'v0', type: 'veth', master: 'eth0' }), /not a bridge/],
    ['a duplicate address', (h) => h.addr.add('eth0', '10.0.0.1/24'), /address exists/],
    ['a route list with one bad entry', (h) => h.route.addMany([{ dst: '10.4.0.0/16', dev: 'eth0' }, { dst: 'x', dev: 'eth0' }]), /invalid CIDR/],
  ];
  for (const [name, act, message] of cases) {
    it(`throws for ${name}`, async () => {
      const { h, state } = await snapshot();
      const before = state();
      expect(() => act(h)).toThrow(message);
      expect(state()).toBe(before);
    });
  }

  it('onlink accepts a gateway no connected route covers', async () => {
    const { h } = await snapshot();
    h.route.add({ dst: '10.5.0.0/16', via: '172.16.0.1', dev: 'eth0', onlink: true });
    expect(h.route.get('10.5.1.1')).toMatchObject({ dst: '10.5.0.0/16', dev: 'eth0', via: '172.16.0.1', src: '10.0.0.1' });
  });

  it('route.get answers like ip route get', async () => {
    const { h } = await snapshot();
    expect(h.route.get('10.9.3.4')).toMatchObject({ dst: '10.9.0.0/16', type: 'unicast', dev: 'eth0', gateway: '10.0.0.254', src: '10.0.0.1' });
    expect(h.route.get('10.0.0.1')).toMatchObject({ type: 'local', dev: 'eth0' });
    expect(h.route.get('10.0.0.255')).toMatchObject({ type: 'broadcast' });
    expect(h.route.get('1.1.1.1')).toBeNull();
  });
});

describe('the neighbour table', () => {
  it('grows between batches and keeps waiting packets across the move', async () => {
    const h = await Host.create({ name: 'h', forwarding: true, engine: new Engine(), neighSlots: 8 });
    h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
    h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
    h.addr.add('eth0', '10.0.0.1/24');
    h.addr.add('eth1', '10.0.1.1/24');
    // A packet waits for 10.0.1.9 while 40 senders fill the table in batches of 2.
    h.receive([{ link: 'eth0', frame: ipFrame('02:00:00:00:00:01', '02:00:00:00:00:02', udpPacket({ src: '10.0.0.2', dst: '10.0.1.9', sport: 1, dport: 2 })), tag: 99 }], 0);
    for (let i = 0; i < 40; i += 2) {
      const frames = [i, i + 1].map((k) => ({ link: 'eth0', frame: arpFrame({ op: 1, sha: `02:00:00:00:02:${k.toString(16).padStart(2, '0')}`, spa: `10.0.0.${k + 10}`, tpa: '10.0.0.1' }) }));
      expect(h.receive(frames, 10).filter((o) => o.kind === 'drop')).toEqual([]);
    }
    expect(h.neigh.list().length).toBe(41);
    const out = h.receive([{ link: 'eth1', frame: arpFrame({ op: 2, sha: '02:00:00:00:01:09', spa: '10.0.1.9', tha: '02:00:00:00:01:01', tpa: '10.0.1.1', dst: '02:00:00:00:01:01' }) }], 20);
    expect(out.map((o) => o.kind === 'tx' && [o.link, o.tag])).toEqual([['eth1', 99]]);
  });

  it('deleting an entry drops the packets waiting on it', async () => {
    const h = await Host.create({ name: 'h', forwarding: true, engine: new Engine() });
    h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
    h.addr.add('eth0', '10.0.0.1/24');
    h.send([{ packet: udpPacket({ src: '0.0.0.0', dst: '10.0.0.9', sport: 1, dport: 2 }) }], 0);
    expect(h.neigh.list()).toMatchObject([{ ip: '10.0.0.9', state: 'INCOMPLETE', queued: 1 }]);
    h.neigh.del({ ip: '10.0.0.9', dev: 'eth0' });
    expect(h.neigh.list()).toEqual([]);
    const f = h.stats().fates;
    expect(h.stats().drops.NEIGH_FAILED).toBe(1);
    expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued));
    expect(h.tick(5000)).toEqual([]);
  });
});
