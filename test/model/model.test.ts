// The reference model against docs/semantics.md, one hand-written scenario at a time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyTopology, arbFrame, arbScenario, arbTopology } from '../arb/topology.js';
import { runScenario } from './drive.js';
import { ModelHost, type Output } from './host.js';
import { fragment } from './ipv4.js';
import { show } from './show.js';
import {
  BROADCAST, ETH_P_ARP, ETH_P_IP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, ZERO_MAC,
  arpPacket, checksum, ethernet, fixIpChecksum, get16, get32, icmpMessage, ipv4, l4Checksum, parseIPv4 as ip, parseMac,
  tcpSegment, udpSegment,
} from './wire.js';

const M0 = '02:00:00:00:00:01';
const M1 = '02:00:00:00:00:02';
const BR = '02:00:00:00:00:b0';
const A = '02:aa:00:00:00:0a';
const B = '02:aa:00:00:00:0b';
const C = '02:aa:00:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const GEN = 0xffffffff;

// --- frame builders ---

const ipFrame = (dst: string, src: string, pkt: Uint8Array) => ethernet(parseMac(dst), parseMac(src), ETH_P_IP, pkt);

function arpRequest(sha: string, spa: string, tpa: string, dst = BCAST): Uint8Array {
  return ethernet(parseMac(dst), parseMac(sha), ETH_P_ARP, arpPacket(1, parseMac(sha), ip(spa), ZERO_MAC, ip(tpa)));
}

function arpReply(sha: string, spa: string, tha: string, tpa: string): Uint8Array {
  return ethernet(parseMac(tha), parseMac(sha), ETH_P_ARP, arpPacket(2, parseMac(sha), ip(spa), parseMac(tha), ip(tpa)));
}

interface IpOpts {
  src: string;
  dst: string;
  ttl?: number;
  df?: boolean;
  tos?: number;
  size?: number;
  id?: number;
}

function ping(o: IpOpts & { seq?: number }): Uint8Array {
  const data = new Uint8Array(o.size ?? 8).map((_, i) => i);
  return ipv4(
    { src: ip(o.src), dst: ip(o.dst), proto: 1, ttl: o.ttl ?? 64, df: o.df, tos: o.tos, id: o.id ?? 7 },
    icmpMessage(8, 0, (0x1234 << 16) | (o.seq ?? 1), data),
  );
}

function udp(o: IpOpts & { sport?: number; dport: number }): Uint8Array {
  const data = new Uint8Array(o.size ?? 4).fill(0x55);
  return ipv4({ src: ip(o.src), dst: ip(o.dst), proto: 17, ttl: o.ttl ?? 64, df: o.df, id: o.id ?? 7 }, udpSegment(ip(o.src), ip(o.dst), o.sport ?? 40000, o.dport, data));
}

function tcp(o: IpOpts & { dport: number; flags: number; seq?: number; ack?: number; payload?: number }): Uint8Array {
  const seg = tcpSegment(ip(o.src), ip(o.dst), { sport: 40000, dport: o.dport, seq: o.seq ?? 1000, ack: o.ack ?? 0, flags: o.flags }, new Uint8Array(o.payload ?? 0));
  return ipv4({ src: ip(o.src), dst: ip(o.dst), proto: 6, ttl: o.ttl ?? 64, df: o.df, id: o.id ?? 7 }, seg);
}

// --- helpers ---

const rx = (h: ModelHost, link: string, frame: Uint8Array, now = 0, tag = 1): Output[] => h.receive([{ link, frame, tag }], now);
const lines = (out: Output[]) => out.map(show);
const ipOf = (o: Output): Uint8Array => (o.kind === 'tx' ? o.frame.subarray(14) : o.kind === 'local' ? o.packet : new Uint8Array());

function expectConserved(h: ModelHost): void {
  const f = h.stats().fates;
  expect(f.in + f.originated + f.generated).toBe(f.sent + f.local + f.dropped + f.reassembled + f.queued - f.dequeued);
  expect(h.conserved()).toBe(true);
}

/** A router: eth0 10.0.0.1/24 (neighbour A = 10.0.0.2), eth1 10.1.0.1/24 (neighbour B = 10.1.0.2). */
function router(forwarding = true): ModelHost {
  const h = ModelHost.create({ name: 'r', forwarding });
  h.link.add({ name: 'eth0', type: 'ether', mac: M0 });
  h.link.add({ name: 'eth1', type: 'ether', mac: M1 });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('eth1', '10.1.0.1/24');
  h.neigh.add({ ip: '10.0.0.2', mac: A, dev: 'eth0' });
  h.neigh.add({ ip: '10.1.0.2', mac: B, dev: 'eth1' });
  return h;
}

/** A bridge br0 (10.9.0.1/24) with ports p1, p2, p3. */
function bridged(opts: { ageingMs?: number; fdbMax?: number } = {}): ModelHost {
  const h = ModelHost.create({ name: 'b' });
  h.link.add({ name: 'br0', type: 'bridge', mac: BR, ...opts });
  for (let i = 1; i <= 3; i++) h.link.add({ name: `p${i}`, type: 'veth', mac: `02:00:00:00:00:0${i}`, master: 'br0' });
  h.addr.add('br0', '10.9.0.1/24');
  return h;
}

const junk = (dst: string, src: string) => ethernet(parseMac(dst), parseMac(src), 0x88b5, new Uint8Array(30));

describe('receive basics', () => {
  it('drops runts, frames on down links, unknown ethertypes and IPv4 for other MACs', () => {
    const h = router();
    expect(lines(rx(h, 'eth0', new Uint8Array(13)))).toEqual(['drop PKT_TOO_SMALL [1]']);
    expect(lines(rx(h, 'eth0', junk(M0, A)))).toEqual(['drop UNHANDLED_PROTO [1]']);
    expect(lines(rx(h, 'eth0', ipFrame(C, A, ping({ src: '10.0.0.2', dst: '10.0.0.1' }))))).toEqual(['drop OTHERHOST [1]']);
    // ARP to another MAC is consumed silently.
    expect(rx(h, 'eth0', arpRequest(A, '10.0.0.2', '10.0.0.1', C))).toEqual([]);
    h.link.set('eth0', { up: false });
    expect(lines(rx(h, 'eth0', junk(M0, A)))).toEqual(['drop DEV_READY [1]']);
    expect(h.stats().fates).toMatchObject({ in: 5, local: 1, dropped: 4 });
    expectConserved(h);
  });

  it('checks the IPv4 header in the order of ip_rcv_core and trims padding', () => {
    const h = router();
    const good = ping({ src: '10.0.0.2', dst: '10.0.0.1' });
    const send = (p: Uint8Array) => lines(rx(h, 'eth0', ipFrame(M0, A, p))).at(-1);
    expect(send(good.slice(0, 19))).toBe('drop IP_INHDR [1]');
    const v6 = good.slice();
    v6[0] = 0x65;
    expect(send(v6)).toBe('drop IP_INHDR [1]');
    const ihl4 = good.slice();
    ihl4[0] = 0x44;
    expect(send(ihl4)).toBe('drop IP_INHDR [1]');
    const badSum = good.slice();
    badSum[10] ^= 1;
    expect(send(badSum)).toBe('drop IP_CSUM [1]');
    expect(send(good.slice(0, good.length - 1))).toBe('drop PKT_TOO_SMALL [1]');
    const shortTotal = good.slice();
    shortTotal[2] = 0;
    shortTotal[3] = 16;
    shortTotal[10] = shortTotal[11] = 0;
    const c = checksum(shortTotal, 0, 20);
    shortTotal[10] = c >> 8;
    shortTotal[11] = c & 0xff;
    expect(send(shortTotal)).toBe('drop IP_INHDR [1]');
    // Ethernet padding is trimmed before anything looks at the packet.
    h.listen('udp', 53);
    const dns = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 53 });
    const padded = new Uint8Array(dns.length + 10);
    padded.set(dns);
    const out = rx(h, 'eth0', ipFrame(M0, A, padded));
    expect(out.at(-1)).toMatchObject({ kind: 'local' });
    expect(ipOf(out.at(-1)!).length).toBe(dns.length);
    expectConserved(h);
  });

  it('rejects martian sources and destinations', () => {
    const h = router();
    const send = (src: string, dst: string) => lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src, dst, dport: 9 })))).at(-1);
    expect(send('224.0.0.1', '10.0.0.1')).toBe('drop IP_INVALID_SOURCE [1]');
    expect(send('255.255.255.255', '10.0.0.1')).toBe('drop IP_INVALID_SOURCE [1]');
    expect(send('0.0.0.0', '10.0.0.1')).toBe('drop IP_INVALID_SOURCE [1]');
    expect(send('127.0.0.1', '10.0.0.1')).toBe('drop IP_INVALID_SOURCE [1]');
    expect(send('10.1.0.1', '10.0.0.1')).toBe('drop IP_INVALID_SOURCE [1]'); // our own address
    expect(send('10.0.0.2', '0.0.0.0')).toBe('drop IP_INVALID_DEST [1]');
    expect(send('10.0.0.2', '127.0.0.1')).toBe('drop IP_INVALID_DEST [1]');
    expect(send('10.0.0.2', '239.1.1.1')).toBe('drop NOT_SPECIFIED [1]');
    // DHCP-style 0.0.0.0 -> 255.255.255.255 is delivered (no socket: no ICMP to a broadcast).
    expect(send('0.0.0.0', '255.255.255.255')).toBe('drop NO_SOCKET [1]');
    expectConserved(h);
  });
});

describe('bridge', () => {
  it('learns, floods unknown unicast in port order, then forwards to the learned port', () => {
    const h = bridged();
    expect(lines(rx(h, 'p1', junk(B, A), 0, 1))).toEqual([
      `tx p2 [1] ${A}>${B} type 0x88b5 30B`,
      `tx p3 [1] ${A}>${B} type 0x88b5 30B`,
    ]);
    expect(h.stats().fates.generated).toBe(1);
    expect(lines(rx(h, 'p2', junk(A, B), 1, 2))).toEqual([`tx p1 [2] ${B}>${A} type 0x88b5 30B`]);
    expect(lines(rx(h, 'p3', junk(B, C), 2, 3))).toEqual([`tx p2 [3] ${C}>${B} type 0x88b5 30B`]);
    expect(h.stats().stages.bridge_learned).toBe(3);
    expectConserved(h);
  });

  it('never sends back out of the ingress port unless it is in hairpin mode', () => {
    const h = bridged();
    rx(h, 'p1', junk(BCAST, A));
    expect(lines(rx(h, 'p1', junk(A, C)))).toEqual(['drop BR_NO_EGRESS [1]']);
    h.link.set('p1', { hairpin: true });
    expect(lines(rx(h, 'p1', junk(A, C)))).toEqual([`tx p1 [1] ${C}>${A} type 0x88b5 30B`]);
    // A hairpin port gets floods back too (should_deliver).
    expect(lines(rx(h, 'p1', junk(B, C)))).toEqual([
      `tx p1 [1] ${C}>${B} type 0x88b5 30B`,
      `tx p2 [1] ${C}>${B} type 0x88b5 30B`,
      `tx p3 [1] ${C}>${B} type 0x88b5 30B`,
    ]);
    h.link.set('p1', { hairpin: false });
    expect(lines(rx(h, 'p1', junk(B, C)))).toEqual([`tx p2 [1] ${C}>${B} type 0x88b5 30B`, `tx p3 [1] ${C}>${B} type 0x88b5 30B`]);
    expectConserved(h);
  });

  it('floods broadcasts to every other port that is up and passes them up', () => {
    const h = bridged();
    h.link.set('p3', { up: false });
    const out = lines(rx(h, 'p1', arpRequest(A, '10.9.0.5', '10.9.0.1')));
    expect(out).toEqual([
      `tx p2 [1] ${A}>${BCAST} arp who-has 10.9.0.1 tell 10.9.0.5`,
      // The bridge answers for its own address, through its FDB (A was just learned on p1).
      `tx p1 [gen] ${BR}>${A} arp 10.9.0.1 is-at ${BR}`,
    ]);
    expect(h.stats().fates).toMatchObject({ in: 1, generated: 2, sent: 2, local: 1 });
    expect(lines(rx(h, 'p3', junk(BCAST, A)))).toEqual(['drop DEV_READY [1]']);
    expectConserved(h);
  });

  it('floods unknown unicast only to ports with flooding on; none left is BR_NO_EGRESS', () => {
    const h = bridged();
    h.link.set('p2', { flood: false });
    expect(lines(rx(h, 'p1', junk(B, A)))).toEqual([`tx p3 [1] ${A}>${B} type 0x88b5 30B`]);
    h.link.set('p3', { flood: false });
    expect(lines(rx(h, 'p1', junk(B, A)))).toEqual(['drop BR_NO_EGRESS [1]']);
    expectConserved(h);
  });

  it('ages entries out after ageingMs (expired when age >= ageing time)', () => {
    const h = bridged({ ageingMs: 2000 });
    rx(h, 'p1', junk(BCAST, A), 0);
    expect(lines(rx(h, 'p2', junk(A, B), 1999))).toEqual([`tx p1 [1] ${B}>${A} type 0x88b5 30B`]);
    expect(lines(rx(h, 'p2', junk(A, B), 2000))).toEqual([`tx p1 [1] ${B}>${A} type 0x88b5 30B`, `tx p3 [1] ${B}>${A} type 0x88b5 30B`]);
    expectConserved(h);
  });

  it('stops learning when the FDB is full and floods frames to the unlearned MAC', () => {
    const h = bridged({ fdbMax: 1 });
    rx(h, 'p1', junk(BCAST, A));
    rx(h, 'p2', junk(BCAST, B));
    expect(h.stats().stages.bridge_fdb_full).toBe(1);
    expect(lines(rx(h, 'p3', junk(B, C)))).toEqual([`tx p1 [1] ${C}>${B} type 0x88b5 30B`, `tx p2 [1] ${C}>${B} type 0x88b5 30B`]);
    expect(lines(rx(h, 'p3', junk(A, C)))).toEqual([`tx p1 [1] ${C}>${A} type 0x88b5 30B`]);
    expectConserved(h);
  });

  it('does not learn with learning off, nor multicast, zero or its own MAC', () => {
    const h = bridged();
    h.link.set('p1', { learning: false });
    rx(h, 'p1', junk(BCAST, A));
    rx(h, 'p2', junk(BCAST, '01:00:5e:00:00:01'));
    rx(h, 'p2', junk(BCAST, '00:00:00:00:00:00'));
    rx(h, 'p2', junk(BCAST, BR));
    expect(h.stats().stages.bridge_learned).toBeUndefined();
    expectConserved(h);
  });

  it('leaving the bridge flushes the port entries', () => {
    const h = bridged();
    rx(h, 'p1', junk(BCAST, A));
    h.link.set('p1', { master: null });
    h.link.set('p1', { master: 'br0' });
    expect(lines(rx(h, 'p2', junk(A, B)))).toEqual([`tx p1 [1] ${B}>${A} type 0x88b5 30B`, `tx p3 [1] ${B}>${A} type 0x88b5 30B`]);
  });
});

describe('ARP', () => {
  it('answers a request for a local address on any link, and learns the requester', () => {
    const h = router();
    const out = rx(h, 'eth0', arpRequest(C, '10.0.0.3', '10.1.0.1'));
    expect(lines(out)).toEqual([`tx eth0 [gen] ${M0}>${C} arp 10.1.0.1 is-at ${M0}`]);
    const f = (out[0] as { frame: Uint8Array }).frame;
    expect(f.length).toBe(42);
    expect(Array.from(f.subarray(14))).toEqual(Array.from(arpPacket(2, parseMac(M0), ip('10.1.0.1'), parseMac(C), ip('10.0.0.3'))));
    // 10.0.0.3 is now resolved: a packet to it goes out without a request.
    expect(lines(rx(h, 'eth1', ipFrame(M1, B, ping({ src: '10.1.0.2', dst: '10.0.0.3' }))))).toEqual([
      `tx eth0 [1] ${M0}>${C} ip 10.1.0.2>10.0.0.3 ttl 63 icmp 8/0 len 36`,
    ]);
    expectConserved(h);
  });

  it('ignores requests for others, multicast/loopback addresses, and unsolicited replies', () => {
    const h = router();
    expect(rx(h, 'eth0', arpRequest(C, '10.0.0.3', '10.0.0.99'))).toEqual([]);
    expect(rx(h, 'eth0', arpRequest(C, '224.0.0.1', '10.0.0.1'))).toEqual([]);
    expect(rx(h, 'eth0', arpRequest(C, '10.0.0.3', '127.0.0.1'))).toEqual([]);
    expect(rx(h, 'eth0', arpReply(C, '10.0.0.4', M0, '10.0.0.1'))).toEqual([]);
    // Nothing was learned: a packet to 10.0.0.4 needs resolution.
    const out = lines(rx(h, 'eth1', ipFrame(M1, B, ping({ src: '10.1.0.2', dst: '10.0.0.4' }))));
    expect(out).toEqual([`tx eth0 [gen] ${M0}>${BCAST} arp who-has 10.0.0.4 tell 10.0.0.1`]);
    expect(h.stats().fates.local).toBe(4);
  });

  it('rejects malformed ARP with ARP_INVALID', () => {
    const h = router();
    const req = arpRequest(C, '10.0.0.3', '10.0.0.1');
    const bad = (i: number, v: number) => {
      const f = req.slice();
      f[14 + i] = v;
      return lines(rx(h, 'eth0', f));
    };
    expect(lines(rx(h, 'eth0', req.slice(0, 14 + 27)))).toEqual(['drop ARP_INVALID [1]']);
    expect(bad(1, 6)).toEqual(['drop ARP_INVALID [1]']); // htype
    expect(bad(4, 8)).toEqual(['drop ARP_INVALID [1]']); // hlen
    expect(bad(7, 3)).toEqual(['drop ARP_INVALID [1]']); // op
  });

  it('answers a DAD probe (sender 0.0.0.0) without learning', () => {
    const h = router();
    expect(lines(rx(h, 'eth0', arpRequest(C, '0.0.0.0', '10.0.0.1')))).toEqual([`tx eth0 [gen] ${M0}>${C} arp 10.0.0.1 is-at ${M0}`]);
  });

  it('proxy ARP never answers for 255.255.255.255 (a broadcast, not a unicast route)', () => {
    const h = ModelHost.create({ name: 'node', forwarding: true });
    h.link.add({ name: 'eth0', type: 'ether', mac: M0 });
    h.link.add({ name: 'cali1', type: 'veth', mac: 'ee:ee:ee:ee:ee:ee', proxyArp: true });
    h.addr.add('eth0', '192.168.0.11/24');
    h.route.add({ dst: 'default', via: '192.168.0.1' });
    expect(rx(h, 'cali1', arpRequest(A, '10.244.0.5', '255.255.255.255'))).toEqual([]);
  });

  it('proxy ARP: answers for addresses routed out of another link, when forwarding', () => {
    // A Calico node: the pod asks cali1 for 169.254.1.1, which only the default route covers.
    const h = ModelHost.create({ name: 'node', forwarding: true });
    h.link.add({ name: 'eth0', type: 'ether', mac: M0 });
    h.link.add({ name: 'cali1', type: 'veth', mac: 'ee:ee:ee:ee:ee:ee', proxyArp: true });
    h.addr.add('eth0', '192.168.0.11/24');
    h.route.add({ dst: 'default', via: '192.168.0.1' });
    h.route.add({ dst: '10.244.0.5/32', dev: 'cali1' });
    h.route.add({ dst: '10.99.0.0/16', type: 'blackhole' });
    const ask = (tpa: string) => lines(rx(h, 'cali1', arpRequest(A, '10.244.0.5', tpa)));
    expect(ask('169.254.1.1')).toEqual([`tx cali1 [gen] ee:ee:ee:ee:ee:ee>${A} arp 169.254.1.1 is-at ee:ee:ee:ee:ee:ee`]);
    expect(ask('10.244.0.5')).toEqual([]); // routed out of cali1 itself
    expect(ask('10.99.1.1')).toEqual([]); // not a unicast route
    expect(h.stats().stages.arp_proxy_reply).toBe(1);
    h.forwarding = false;
    expect(ask('169.254.1.1')).toEqual([]);
  });
});

describe('neighbour resolution', () => {
  /** A router whose eth1 neighbour 10.1.0.3 is unknown. */
  const pkt = (seq: number) => ipFrame(M0, A, ping({ src: '10.0.0.2', dst: '10.1.0.3', seq }));

  it('queues while resolving and sends the queue, oldest first, when the reply comes', () => {
    const h = router();
    // The packet's source is not ours: the ARP sender is eth1's address.
    expect(lines(rx(h, 'eth0', pkt(1), 0, 1))).toEqual([`tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.1.0.1`]);
    expect(rx(h, 'eth0', pkt(2), 10, 2)).toEqual([]);
    expect(h.stats().fates).toMatchObject({ queued: 2, dequeued: 0 });
    const out = lines(rx(h, 'eth1', arpReply(C, '10.1.0.3', M1, '10.1.0.1'), 20, 3));
    expect(out).toEqual([
      `tx eth1 [1] ${M1}>${C} ip 10.0.0.2>10.1.0.3 ttl 63 icmp 8/0 len 36`,
      `tx eth1 [2] ${M1}>${C} ip 10.0.0.2>10.1.0.3 ttl 63 icmp 8/0 len 36`,
    ]);
    expect(h.stats().fates).toMatchObject({ queued: 2, dequeued: 2 });
    expectConserved(h);
  });

  it('drops the oldest with NEIGH_QUEUEFULL beyond 101 queued full-size packets (unres_qlen_bytes)', () => {
    const h = router();
    const big = (seq: number) => ipFrame(M0, A, ping({ src: '10.0.0.2', dst: '10.1.0.3', seq, size: 1400 }));
    h.receive(Array.from({ length: 101 }, (_, i) => ({ link: 'eth0', frame: big(i), tag: i + 1 })), 0);
    expect(h.stats().fates).toMatchObject({ queued: 101, dequeued: 0 });
    const out = h.receive([{ link: 'eth0', frame: big(102), tag: 102 }, { link: 'eth0', frame: big(103), tag: 103 }], 0);
    expect(lines(out)).toEqual(['drop NEIGH_QUEUEFULL [1]', 'drop NEIGH_QUEUEFULL [2]']);
    expect(h.stats().drops.NEIGH_QUEUEFULL).toBe(2);
    // The reply releases the 101 that are left, oldest first.
    const released = h.receive([{ link: 'eth1', frame: arpReply(C, '10.1.0.3', M1, '10.1.0.1'), tag: 200 }], 1);
    expect(released.map((o) => o.tag)).toEqual(Array.from({ length: 101 }, (_, i) => i + 3));
    expectConserved(h);
  });

  it('retries every 1000 ms, 3 requests in all, then drops the queue NEIGH_FAILED', () => {
    const h = router();
    rx(h, 'eth0', pkt(1), 0, 1);
    rx(h, 'eth0', pkt(2), 500, 2);
    const req = `tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.1.0.1`;
    expect(lines(h.tick(999))).toEqual([]);
    expect(lines(h.tick(1000))).toEqual([req]);
    expect(lines(h.tick(1999))).toEqual([]);
    expect(lines(h.tick(2000))).toEqual([req]);
    expect(lines(h.tick(3000))).toEqual(['drop NEIGH_FAILED [1]', 'drop NEIGH_FAILED [2]']);
    expect(lines(h.tick(9000))).toEqual([]);
    // FAILED: the next packet starts over with a new request.
    expect(lines(rx(h, 'eth0', pkt(3), 9001, 3))).toEqual([req]);
    expectConserved(h);
  });

  it('catches up on missed timer firings, as if the timer had fired on time', () => {
    const h = router();
    rx(h, 'eth0', pkt(1), 0, 1);
    const req = `tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.1.0.1`;
    // 5 s later: the probes due at 1000 and 2000, then FAILED at 3000.
    expect(lines(h.tick(5000))).toEqual([req, req, 'drop NEIGH_FAILED [1]']);
    // A gap of 1500 ms: one probe (due at 1000 after the start), the next due at 2000.
    rx(h, 'eth0', pkt(2), 10_000, 2);
    expect(lines(h.tick(11_500))).toEqual([req]);
    expect(lines(h.tick(11_999))).toEqual([]);
    expect(lines(h.tick(12_000))).toEqual([req]);
    expectConserved(h);
  });

  it('a retry takes its ARP sender from the newest queued packet (neigh_probe: skb_peek_tail)', () => {
    const h = router();
    rx(h, 'eth0', pkt(1), 0, 1); // from 10.0.0.2: not ours
    h.send([{ packet: ping({ src: '10.0.0.1', dst: '10.1.0.3' }), tag: 2 }], 10); // from an address of ours
    expect(lines(h.tick(1000))).toEqual([`tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.0.0.1`]);
  });

  it('uses the packet source as ARP sender when it is local', () => {
    const h = router();
    const out = lines(h.send([{ packet: ping({ src: '10.0.0.1', dst: '10.1.0.3' }), tag: 9 }], 0));
    expect(out).toEqual([`tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.0.0.1`]);
    expectConserved(h);
  });

  it('timers run first in a batch, in the order entries became INCOMPLETE', () => {
    const h = router();
    h.receive([{ link: 'eth0', frame: ipFrame(M0, A, ping({ src: '10.0.0.2', dst: '10.1.0.4' })), tag: 1 }], 0);
    h.receive([{ link: 'eth0', frame: pkt(1), tag: 2 }], 0);
    const out = lines(h.receive([{ link: 'eth0', frame: junk(M0, A), tag: 3 }], 1000));
    expect(out).toEqual([
      `tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.4 tell 10.1.0.1`,
      `tx eth1 [gen] ${M1}>${BCAST} arp who-has 10.1.0.3 tell 10.1.0.1`,
      'drop UNHANDLED_PROTO [3]',
    ]);
  });
});

describe('routing', () => {
  function routed(): ModelHost {
    const h = router();
    h.route.add({ dst: '172.16.0.0/12', via: '10.1.0.2' });
    h.route.add({ dst: '172.16.5.0/24', via: '10.1.0.9', dev: 'eth1', onlink: true });
    h.route.add({ dst: '172.16.5.7/32', dev: 'eth0' });
    h.route.add({ dst: '192.168.0.0/16', type: 'blackhole' });
    h.route.add({ dst: '192.168.1.0/24', type: 'unreachable' });
    h.route.add({ dst: '192.168.2.0/24', type: 'prohibit' });
    h.neigh.add({ ip: '10.1.0.9', mac: C, dev: 'eth1' });
    h.neigh.add({ ip: '172.16.5.7', mac: C, dev: 'eth0' });
    return h;
  }
  const fwd = (h: ModelHost, dst: string, now = 0) => lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst, dport: 9 })), now));

  it('route.get reports the longest match, local and broadcast entries first', () => {
    const h = routed();
    // The source is the route's preferred one (inet_select_addr towards its gateway), as `ip route get` shows.
    expect(h.route.get('172.20.0.1')).toEqual({ dst: '172.16.0.0/12', type: 'unicast', dev: 'eth1', via: '10.1.0.2', src: '10.1.0.1' });
    expect(h.route.get('172.16.5.1')).toMatchObject({ dst: '172.16.5.0/24', via: '10.1.0.9', dev: 'eth1' });
    expect(h.route.get('172.16.5.7')).toMatchObject({ dst: '172.16.5.7/32', dev: 'eth0' });
    expect(h.route.get('10.0.0.77')).toEqual({ dst: '10.0.0.0/24', type: 'unicast', dev: 'eth0', src: '10.0.0.1' });
    expect(h.route.get('10.0.0.1')).toMatchObject({ type: 'local' });
    expect(h.route.get('10.0.0.255')).toMatchObject({ type: 'broadcast' });
    expect(h.route.get('8.8.8.8')).toBeNull();
  });

  it('forwards via a gateway, onlink, and on a device route', () => {
    const h = routed();
    expect(fwd(h, '172.20.0.1')).toEqual([`tx eth1 [1] ${M1}>${B} ip 10.0.0.2>172.20.0.1 ttl 63 udp 40000>9 len 32`]);
    expect(fwd(h, '172.16.5.1')).toEqual([`tx eth1 [1] ${M1}>${C} ip 10.0.0.2>172.16.5.1 ttl 63 udp 40000>9 len 32`]);
    expect(fwd(h, '172.16.5.7')).toEqual([`tx eth0 [1] ${M0}>${C} ip 10.0.0.2>172.16.5.7 ttl 63 udp 40000>9 len 32`]);
    expectConserved(h);
  });

  it('keeps the header checksum valid after the TTL decrement', () => {
    const h = routed();
    for (const ttl of [2, 3, 64, 255]) {
      const out = rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '172.20.0.1', dport: 9, ttl, id: ttl * 77 })));
      const p = ipOf(out[0]);
      expect(p[8]).toBe(ttl - 1);
      expect(checksum(p, 0, 20)).toBe(0);
    }
  });

  it('blackhole drops silently; unreachable and prohibit answer; no route is net unreachable', () => {
    const h = routed();
    expect(fwd(h, '192.168.9.1')).toEqual(['drop BLACKHOLE [1]']);
    expect(fwd(h, '192.168.1.1')).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/1 len 60`, 'drop UNREACHABLE [1]']);
    // A second apart: ip_error and icmp_send draw on one bucket per source (2 errors in a burst).
    expect(fwd(h, '192.168.2.1', 1000)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/13 len 60`, 'drop UNREACHABLE [1]']);
    expect(fwd(h, '8.8.8.8', 2000)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/0 len 60`, 'drop IP_INNOROUTES [1]']);
    expectConserved(h);
  });

  it('with forwarding off, anything not local is IP_INADDRERRORS without ICMP', () => {
    const h = router(false);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '10.1.0.2', dport: 9 }))))).toEqual(['drop IP_INADDRERRORS [1]']);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '8.8.8.8', dport: 9 }))))).toEqual(['drop IP_INADDRERRORS [1]']);
  });

  it('does not forward a packet that came to a broadcast MAC', () => {
    const h = router();
    expect(lines(rx(h, 'eth0', ipFrame(BCAST, A, udp({ src: '10.0.0.2', dst: '10.1.0.2', dport: 9 }))))).toEqual(['drop OTHERHOST [1]']);
  });

  it('rejects invalid routes and leaves the table as it was', () => {
    const h = routed();
    expect(() => h.route.add({ dst: '172.16.0.0/12', via: '10.1.0.2' })).toThrow(/exists/);
    expect(() => h.route.add({ dst: '10.5.0.0/16', via: '10.7.0.1' })).toThrow(/not reachable/);
    expect(() => h.route.add({ dst: '10.5.0.1/16', dev: 'eth0' })).toThrow(/prefix/);
    expect(() => h.route.add({ dst: '10.5.0.0/16', dev: 'nope' })).toThrow(/unknown device/);
    expect(h.route.get('10.5.0.1')).toBeNull();
    h.route.del({ dst: '172.16.0.0/12' });
    expect(h.route.get('172.20.0.1')).toBeNull();
  });
});

describe('ICMP errors', () => {
  it('TTL expiry: time exceeded quoting the packet as received, before the drop record', () => {
    const h = router();
    const p = udp({ src: '10.0.0.2', dst: '10.1.0.2', dport: 9, ttl: 1, size: 600 });
    const out = rx(h, 'eth0', ipFrame(M0, A, p));
    expect(lines(out)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 11/0 len 576`, 'drop IP_INHDR [1]']);
    const e = ipOf(out[0]);
    expect(e[1]).toBe(0xc0);
    expect(get16(e, 4)).toBe(0); // first generated packet: IP ID 0
    expect(get16(e, 6)).toBe(0); // DF clear
    expect(checksum(e, 0, 20)).toBe(0);
    expect(checksum(e, 20)).toBe(0);
    expect(Array.from(e.subarray(28))).toEqual(Array.from(p.subarray(0, 548)));
    expect(h.stats().stages.ip4_ttl_expired).toBe(1);
    expectConserved(h);
  });

  it('frag needed carries the egress MTU and is not rate limited', () => {
    const h = router();
    h.link.set('eth1', { mtu: 1000 });
    const big = () => ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '10.1.0.2', dport: 9, df: true, size: 1200 }));
    for (let i = 0; i < 8; i++) {
      const out = rx(h, 'eth0', big());
      expect(lines(out)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/4 len 576`, 'drop PKT_TOO_BIG [1]']);
      const e = ipOf(out[0]);
      expect(get16(e, 24)).toBe(0);
      expect(get16(e, 26)).toBe(1000);
      expect(get16(e, 4)).toBe(i);
    }
  });

  it('rate limits per destination: a burst of 6, then one per 1000 ms', () => {
    const h = router();
    const expire = (src: string, mac: string) => ipFrame(M0, mac, udp({ src, dst: '10.1.0.2', dport: 9, ttl: 1 }));
    h.neigh.add({ ip: '10.0.0.3', mac: C, dev: 'eth0' });
    const count = (out: Output[]) => out.filter((o) => o.kind === 'tx').length;
    const burst = h.receive(Array.from({ length: 8 }, (_, i) => ({ link: 'eth0', frame: expire('10.0.0.2', A), tag: i })), 0);
    expect(count(burst)).toBe(6);
    expect(h.stats().stages.icmp_ratelimited).toBe(2);
    expect(count(rx(h, 'eth0', expire('10.0.0.3', C), 0))).toBe(1); // another destination has its own bucket
    expect(count(rx(h, 'eth0', expire('10.0.0.2', A), 999))).toBe(0);
    expect(count(rx(h, 'eth0', expire('10.0.0.2', A), 1000))).toBe(1);
    expect(count(rx(h, 'eth0', expire('10.0.0.2', A), 1500))).toBe(0);
    expect(count(rx(h, 'eth0', expire('10.0.0.2', A), 3000))).toBe(1);
    expectConserved(h);
  });

  it('stays silent about an ICMP packet too short to show its type', () => {
    const h = router();
    const bare = ipv4({ src: ip('10.0.0.2'), dst: ip('10.1.0.2'), proto: 1, ttl: 1 }, new Uint8Array(0));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, bare)))).toEqual(['drop IP_INHDR [1]']);
  });

  it('never answers an ICMP error, a later fragment, or a broadcast', () => {
    const h = router();
    const err = ipv4({ src: ip('10.0.0.2'), dst: ip('10.1.0.2'), proto: 1, ttl: 1 }, icmpMessage(3, 1, 0, new Uint8Array(28)));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, err)))).toEqual(['drop IP_INHDR [1]']);
    const frag = ipv4({ src: ip('10.0.0.2'), dst: ip('10.1.0.2'), proto: 17, ttl: 1, fragOffset: 8 }, new Uint8Array(16));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, frag)))).toEqual(['drop IP_INHDR [1]']);
    const toBcast = udp({ src: '10.0.0.2', dst: '10.0.0.255', dport: 9 });
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, toBcast)))).toEqual(['drop NO_SOCKET [1]']);
    const viaBcastMac = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 9 });
    expect(lines(rx(h, 'eth0', ipFrame(BCAST, A, viaBcastMac)))).toEqual(['drop NO_SOCKET [1]']);
  });
});

describe('fragmentation', () => {
  it('splits into 8-byte aligned pieces, MF on all but the last, new checksums', () => {
    const h = router();
    h.link.set('eth1', { mtu: 576 });
    const p = udp({ src: '10.0.0.2', dst: '10.1.0.2', dport: 9, size: 1200, id: 0x4242 });
    const out = rx(h, 'eth0', ipFrame(M0, A, p), 0, 5);
    expect(lines(out)).toEqual([
      `tx eth1 [5] ${M1}>${B} ip 10.0.0.2>10.1.0.2 ttl 63 frag 0+ udp 40000>9 len 572`,
      `tx eth1 [5] ${M1}>${B} ip 10.0.0.2>10.1.0.2 ttl 63 frag 552+ proto 17 len 572`,
      `tx eth1 [5] ${M1}>${B} ip 10.0.0.2>10.1.0.2 ttl 63 frag 1104 proto 17 len 124`,
    ]);
    const frags = out.map(ipOf);
    for (const f of frags) {
      expect(checksum(f, 0, 20)).toBe(0);
      expect(get16(f, 4)).toBe(0x4242);
    }
    const payload = frags.map((f) => f.subarray(20));
    expect(Buffer.concat(payload)).toEqual(Buffer.from(p.subarray(20)));
    expect(h.stats().fates).toMatchObject({ in: 1, generated: 2, sent: 3 });
    expectConserved(h);
  });

  it('cuts every fragment but the last at (MTU - IHL*4) & ~7, keeps MF of a fragment and NOPs uncopied options', () => {
    // IHL 6: 1500 - 24 = 1476 bytes of room, 1472 when rounded down.
    const opts = new Uint8Array([0x07, 0x04, 0x00, 0x00]); // record route, not copied
    const p = ipv4({ src: 1, dst: 2, proto: 17, ttl: 9, mf: true, options: opts }, new Uint8Array(1472 + 1476));
    const frags = fragment(p, 1500);
    expect(frags.map((f) => f.length)).toEqual([24 + 1472, 24 + 1472, 24 + 4]);
    expect(frags.map((f) => get16(f, 6))).toEqual([0x2000, 0x2000 | (1472 / 8), 0x2000 | (2944 / 8)]);
    expect(Array.from(frags[0].subarray(20, 24))).toEqual([7, 4, 0, 0]);
    expect(Array.from(frags[1].subarray(20, 24))).toEqual([1, 1, 1, 1]); // not copied: NOPs
    // A fragment of a fragment: offsets continue from the original's.
    const q = ipv4({ src: 1, dst: 2, proto: 17, ttl: 9, fragOffset: 800 }, new Uint8Array(100));
    expect(fragment(q, 68).map((f) => get16(f, 6))).toEqual([0x2000 | 100, 0x2000 | 106, 112]);
  });

  it('DF on output is PKT_TOO_BIG without ICMP; without DF the host fragments its own packets', () => {
    const h = router();
    h.link.set('eth1', { mtu: 1000 });
    expect(lines(h.send([{ packet: udp({ src: '10.1.0.1', dst: '10.1.0.2', dport: 9, size: 1200, df: true }), tag: 4 }], 0))).toEqual(['drop PKT_TOO_BIG [4]']);
    const out = h.send([{ packet: udp({ src: '10.1.0.1', dst: '10.1.0.2', dport: 9, size: 1200 }), tag: 4 }], 0);
    expect(out.map((o) => ipOf(o)[8])).toEqual([64, 64]); // TTL untouched on output
    expectConserved(h);
  });
});

describe('local delivery', () => {
  it('answers an echo request from the address it was sent to, TTL 64; the request is consumed', () => {
    const h = router();
    const req = ping({ src: '10.0.0.2', dst: '10.1.0.1', tos: 0x10, size: 20 });
    const out = rx(h, 'eth0', ipFrame(M0, A, req), 0, 3);
    expect(lines(out)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.1.0.1>10.0.0.2 ttl 64 icmp 0/0 len 48`]);
    expect(h.stats().fates).toMatchObject({ in: 1, generated: 1, sent: 1, local: 1 });
    const rep = ipOf(out[0]);
    expect(rep[1]).toBe(0x10);
    expect(checksum(rep, 0, 20)).toBe(0);
    expect(checksum(rep, 20)).toBe(0);
    expect(Array.from(rep.subarray(24))).toEqual(Array.from(req.subarray(24)));
    expect(h.stats().stages.icmp_echo_reply).toBe(1);
    expectConserved(h);
  });

  it('keeps the TOS, echoes the IP options as Linux does, and computes the ICMP checksum afresh', () => {
    const h = router();
    // Record Route with one slot: filled with our address on receive, then full in the reply.
    const opts = Uint8Array.from([7, 7, 4, 0, 0, 0, 0, 0]);
    const req = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 1, ttl: 3, tos: 0xb8, df: true, options: opts }, icmpMessage(8, 3, 0x12340001, new Uint8Array(5)));
    const rep = ipOf(rx(h, 'eth0', ipFrame(M0, A, req))[0]);
    expect(rep.length).toBe(req.length);
    expect(Array.from(rep.subarray(20, 28))).toEqual([7, 7, 8, 10, 0, 0, 1, 0]);
    // NOPs are not echoed: the reply has no options at all.
    const nops = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 1, ttl: 3, options: Uint8Array.from([1, 1, 1, 1]) }, icmpMessage(8, 0, 1, new Uint8Array(4)));
    const bare = ipOf(rx(h, 'eth0', ipFrame(M0, A, nops))[0]);
    expect([bare[0], bare.length]).toEqual([0x45, nops.length - 4]);
    expect(rep[1]).toBe(0xb8);
    expect(get16(rep, 6)).toBe(0); // DF cleared
    expect([rep[28], rep[29]]).toEqual([0, 3]); // echo reply, code kept
    // An all-zero reply message sums to zero: the checksum is 0xffff, as csum_fold gives.
    const zero = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 1, ttl: 64 }, icmpMessage(8, 0, 0, new Uint8Array(0)));
    const z = ipOf(rx(h, 'eth0', ipFrame(M0, A, zero))[0]);
    expect(get16(z, 22)).toBe(0xffff);
  });

  it('does not answer an echo to a broadcast address; drops bad ICMP', () => {
    const h = router();
    expect(rx(h, 'eth0', ipFrame(BCAST, A, ping({ src: '10.0.0.2', dst: '10.0.0.255' })))).toEqual([]);
    expect(h.stats().fates).toMatchObject({ in: 1, local: 1 });
    // To a unicast address in a broadcast frame: answered (icmp_echo looks at the address only).
    expect(lines(rx(h, 'eth0', ipFrame(BCAST, A, ping({ src: '10.0.0.2', dst: '10.0.0.1' }))))).toEqual([
      `tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 0/0 len 36`,
    ]);
    const bad = ping({ src: '10.0.0.2', dst: '10.0.0.1' });
    bad[24] ^= 0xff;
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, bad)))).toEqual(['drop ICMP_CSUM [1]']);
    const short = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 1, ttl: 64 }, new Uint8Array(7));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, short)))).toEqual(['drop HDR_TRUNC [1]']);
  });

  it('UDP: delivered to an open port, else port unreachable and NO_SOCKET', () => {
    const h = router();
    h.listen('udp', 53);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 53 }))))).toEqual(['local [1] ip 10.0.0.2>10.0.0.1 ttl 64 udp 40000>53 len 32']);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 54 }))))).toEqual([
      `tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/3 len 60`,
      'drop NO_SOCKET [1]',
    ]);
    const badSum = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 53 });
    badSum[27] ^= 1;
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, badSum)))).toEqual(['drop UDP_CSUM [1]']);
    const noSum = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 53 });
    noSum[26] = noSum[27] = 0;
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, noSum)))).toEqual(['local [1] ip 10.0.0.2>10.0.0.1 ttl 64 udp 40000>53 len 32']);
    const badLen = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 53 });
    badLen[25] = 200;
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, badLen)))).toEqual(['drop PKT_TOO_SMALL [1]']);
  });

  it('TCP: delivered to a listening port, else a reset (RST+ACK for a SYN, seq = ack for an ACK)', () => {
    const h = router();
    h.listen('tcp', 80);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, tcp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 80, flags: TCP_SYN }))))).toEqual([
      'local [1] ip 10.0.0.2>10.0.0.1 ttl 64 tcp 40000>80 S len 40',
    ]);
    const syn = rx(h, 'eth0', ipFrame(M0, A, tcp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 81, flags: TCP_SYN | TCP_FIN, seq: 1000, payload: 10 })));
    expect(lines(syn)).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 DF tcp 81>40000 RA len 40`, 'drop NO_SOCKET [1]']);
    const rst = ipOf(syn[0]).subarray(20);
    expect(get32(rst, 4)).toBe(0);
    expect(get32(rst, 8)).toBe(1012);
    expect(l4Checksum(ip('10.0.0.1'), ip('10.0.0.2'), 6, rst)).toBe(0);
    expect(get16(ipOf(syn[0]), 4)).toBe(0); // DF set, hence IP ID 0 (ip_select_ident); the counter is not used
    const ack = rx(h, 'eth0', ipFrame(M0, A, tcp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 81, flags: TCP_ACK, seq: 5, ack: 777 })));
    expect(lines(ack)[0]).toContain('tcp 81>40000 R len 40');
    expect(get32(ipOf(ack[0]), 24)).toBe(777);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, tcp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 81, flags: TCP_RST }))))).toEqual(['drop NO_SOCKET [1]']);
    const trunc = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 6, ttl: 64 }, new Uint8Array(19));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, trunc)))).toEqual(['drop HDR_TRUNC [1]']);
    expectConserved(h);
  });

  it('other protocols: protocol unreachable and IP_NOPROTO', () => {
    const h = router();
    const gre = ipv4({ src: ip('10.0.0.2'), dst: ip('10.0.0.1'), proto: 47, ttl: 64 }, new Uint8Array(8));
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, gre)))).toEqual([`tx eth0 [gen] ${M0}>${A} ip 10.0.0.1>10.0.0.2 ttl 64 icmp 3/2 len 56`, 'drop IP_NOPROTO [1]']);
  });

  it('reassembles fragments before delivery: a fragment waits, the last one carries the datagram on', () => {
    const h = router();
    h.listen('udp', 7);
    const dgram = udp({ src: '10.0.0.2', dst: '10.0.0.1', dport: 7, size: 24 });
    const a = dgram.slice(0, 36);
    // The first 16 payload bytes with MF, then the rest at offset 16.
    a[2] = 0; a[3] = 36; a[6] = 0x20; a[7] = 0;
    const rest = new Uint8Array(20 + dgram.length - 36);
    rest.set(dgram.subarray(0, 20));
    rest.set(dgram.subarray(36), 20);
    rest[2] = 0; rest[3] = rest.length; rest[6] = 0; rest[7] = 2;
    for (const p of [a, rest]) fixIpChecksum(p);
    expect(lines(rx(h, 'eth0', ipFrame(M0, A, a)))).toEqual([]);
    expect(h.stats().fates).toMatchObject({ queued: 1, dequeued: 0 });
    const out = rx(h, 'eth0', ipFrame(M0, A, rest));
    expect(lines(out)).toEqual(['local [1] ip 10.0.0.2>10.0.0.1 ttl 64 udp 40000>7 len 52']);
    expect(ipOf(out[0]).subarray(20)).toEqual(dgram.subarray(20));
    expect(h.stats().fates).toMatchObject({ queued: 2, dequeued: 2, reassembled: 1 });
    expectConserved(h);
  });

  it('a packet the host sends to itself is delivered locally; source 0.0.0.0 is filled in', () => {
    const h = router();
    h.listen('udp', 7);
    const p = udp({ src: '0.0.0.0', dst: '10.1.0.1', dport: 7 });
    expect(lines(h.send([{ packet: p, tag: 2 }], 0))).toEqual(['local [2] ip 10.1.0.1>10.1.0.1 ttl 64 udp 40000>7 len 32']);
    const out = h.send([{ packet: ping({ src: '0.0.0.0', dst: '10.1.0.2' }), tag: 3 }], 0);
    expect(lines(out)).toEqual([`tx eth1 [3] ${M1}>${B} ip 10.1.0.1>10.1.0.2 ttl 64 icmp 8/0 len 36`]);
    expect(checksum(ipOf(out[0]), 0, 20)).toBe(0);
    expect(lines(h.send([{ packet: ping({ src: '0.0.0.0', dst: '8.8.8.8' }), tag: 4 }], 0))).toEqual(['drop IP_OUTNOROUTES [4]']);
    expectConserved(h);
  });
});

describe('the host sending (output)', () => {
  it('recomputes the header checksum of what its stack hands over; fixes UDP/TCP checksums for a filled-in source', () => {
    const h = router();
    const p = udp({ src: '0.0.0.0', dst: '10.1.0.2', dport: 9 });
    p[10] ^= 0x55;
    const out = ipOf(h.send([{ packet: p, tag: 1 }], 0)[0]);
    expect(checksum(out, 0, 20)).toBe(0);
    expect(l4Checksum(get32(out, 12), get32(out, 16), 17, out.subarray(20))).toBe(0);
    // A UDP header cut short has no checksum field to fix: the bytes stay as they were.
    const short = ipv4({ src: 0, dst: ip('10.1.0.2'), proto: 17, ttl: 64 }, Uint8Array.from([0, 1, 0, 2, 0, 7, 0]));
    expect(Array.from(ipOf(h.send([{ packet: short, tag: 2 }], 0)[0]).subarray(20))).toEqual([0, 1, 0, 2, 0, 7, 0]);
    expectConserved(h);
  });

  it('sends its broadcasts out as Ethernet broadcasts and loops a copy back: 255.255.255.255 by the main table, a subnet\'s by its link', () => {
    const h = router();
    h.listen('udp', 67);
    // No route covers 255.255.255.255 yet: the socket's send fails (ENETUNREACH).
    expect(lines(h.send([{ packet: udp({ src: '0.0.0.0', dst: '255.255.255.255', dport: 67 }), tag: 1 }], 0))).toEqual(['drop IP_OUTNOROUTES [1]']);
    h.route.add({ dst: 'default', via: '10.1.0.2' });
    expect(lines(h.send([{ packet: udp({ src: '0.0.0.0', dst: '255.255.255.255', dport: 67 }), tag: 2 }], 0))).toEqual([
      `tx eth1 [2] ${M1}>${BCAST} ip 10.1.0.1>255.255.255.255 ttl 64 udp 40000>67 len 32`,
      'local [2] ip 10.1.0.1>255.255.255.255 ttl 64 udp 40000>67 len 32',
    ]);
    expect(lines(h.send([{ packet: udp({ src: '0.0.0.0', dst: '10.0.0.255', dport: 67 }), tag: 3 }], 0))).toEqual([
      `tx eth0 [3] ${M0}>${BCAST} ip 10.0.0.1>10.0.0.255 ttl 64 udp 40000>67 len 32`,
      'local [3] ip 10.0.0.1>10.0.0.255 ttl 64 udp 40000>67 len 32',
    ]);
    expectConserved(h);
  });

  it('rejects a malformed packet from its stack with IP_INHDR', () => {
    const h = router();
    const p = udp({ src: '10.0.0.1', dst: '10.1.0.2', dport: 9 });
    expect(lines(h.send([{ packet: p.slice(0, 19), tag: 1 }, { packet: p.slice(0, p.length - 1), tag: 2 }], 0))).toEqual(['drop IP_INHDR [1]', 'drop IP_INHDR [2]']);
    expectConserved(h);
  });
});

describe('sending on a bridge', () => {
  it('goes through the FDB: known MAC to its port, unknown flooded; ARP requests flood', () => {
    const h = bridged();
    h.neigh.add({ ip: '10.9.0.2', mac: A, dev: 'br0' });
    expect(lines(h.send([{ packet: ping({ src: '10.9.0.1', dst: '10.9.0.2' }), tag: 1 }], 0))).toEqual([
      `tx p1 [1] ${BR}>${A} ip 10.9.0.1>10.9.0.2 ttl 64 icmp 8/0 len 36`,
      `tx p2 [1] ${BR}>${A} ip 10.9.0.1>10.9.0.2 ttl 64 icmp 8/0 len 36`,
      `tx p3 [1] ${BR}>${A} ip 10.9.0.1>10.9.0.2 ttl 64 icmp 8/0 len 36`,
    ]);
    rx(h, 'p2', junk(BCAST, A));
    expect(lines(h.send([{ packet: ping({ src: '10.9.0.1', dst: '10.9.0.2' }), tag: 2 }], 0))).toEqual([
      `tx p2 [2] ${BR}>${A} ip 10.9.0.1>10.9.0.2 ttl 64 icmp 8/0 len 36`,
    ]);
    expect(lines(h.send([{ packet: ping({ src: '10.9.0.1', dst: '10.9.0.3' }), tag: 3 }], 0))).toEqual([
      `tx p1 [gen] ${BR}>${BCAST} arp who-has 10.9.0.3 tell 10.9.0.1`,
      `tx p2 [gen] ${BR}>${BCAST} arp who-has 10.9.0.3 tell 10.9.0.1`,
      `tx p3 [gen] ${BR}>${BCAST} arp who-has 10.9.0.3 tell 10.9.0.1`,
    ]);
    expectConserved(h);
  });
});

describe('bridge device output', () => {
  it('drops a frame the bridge would send to its own MAC (a local FDB entry): BR_NO_EGRESS', () => {
    const h = bridged();
    h.neigh.add({ ip: '10.9.0.7', mac: BR, dev: 'br0' });
    expect(lines(h.send([{ packet: ping({ src: '10.9.0.1', dst: '10.9.0.7' }), tag: 1 }], 0))).toEqual(['drop BR_NO_EGRESS [1]']);
  });
});

describe('conservation', () => {
  it('holds with queued packets outstanding', () => {
    const h = router();
    h.receive([1, 2].map((i) => ({ link: 'eth0', frame: ipFrame(M0, A, ping({ src: '10.0.0.2', dst: '10.1.0.50', seq: i })), tag: i })), 0);
    const f = h.stats().fates;
    expect(f.queued - f.dequeued).toBe(2);
    expectConserved(h);
  });
});

describe('generated topologies and traffic through the model', () => {
  it('build without errors and keep the books balanced after every batch', async () => {
    const drops = new Map<string, number>();
    const stages = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(arbScenario(), async (sc) => {
        const h = ModelHost.create({ name: 'm', forwarding: sc.topology.forwarding, neigh: sc.topology.neigh });
        applyTopology(sc.topology, h);
        await runScenario(h, sc);
        const s = h.stats();
        for (const [k, v] of Object.entries(s.drops)) drops.set(k, (drops.get(k) ?? 0) + v);
        for (const [k, v] of Object.entries(s.stages)) stages.set(k, (stages.get(k) ?? 0) + v);
      }),
      { numRuns: 300, seed: 0x5eed },
    );
    // The generators must reach every corner the differential test is meant to cover.
    const wanted = [
      'PKT_TOO_SMALL', 'OTHERHOST', 'IP_INHDR', 'IP_CSUM', 'IP_INVALID_SOURCE', 'IP_INVALID_DEST', 'NOT_SPECIFIED',
      'IP_INNOROUTES', 'IP_INADDRERRORS', 'BLACKHOLE', 'UNREACHABLE', 'PKT_TOO_BIG', 'NEIGH_FAILED', 'NEIGH_QUEUEFULL',
      'NO_SOCKET', 'IP_NOPROTO', 'UNHANDLED_PROTO', 'HDR_TRUNC', 'ICMP_CSUM', 'UDP_CSUM', 'TCP_CSUM', 'DEV_READY',
      'BR_NO_EGRESS', 'ARP_INVALID', 'NEIGH_CREATEFAIL',
    ];
    expect(wanted.filter((r) => !drops.has(r))).toEqual([]);
    const wantedStages = [
      'bridge_learned', 'bridge_flooded', 'bridge_forwarded', 'arp_reply_sent', 'arp_proxy_reply', 'arp_request_sent',
      'ip4_forwarded', 'ip4_ttl_expired', 'ip4_fragmented', 'icmp_error_sent', 'icmp_ratelimited', 'icmp_echo_reply',
      'tcp_rst_sent', 'neigh_released', 'neigh_failed', 'udp_delivered', 'tcp_delivered',
    ];
    expect(wantedStages.filter((r) => !stages.has(r))).toEqual([]);
  });

  it('survives random and mutated frames on random topologies', () => {
    const [topo] = fc.sample(arbTopology, { seed: 7, numRuns: 1 });
    const h = ModelHost.create({ name: 'm', forwarding: true });
    applyTopology(topo, h);
    const frames = fc.sample(arbFrame(topo, topo.pool.rxLinks[0]), { seed: 8, numRuns: 5000 });
    for (let i = 0; i < frames.length; i += 256) {
      h.receive(frames.slice(i, i + 256).map((frame, j) => ({ link: topo.pool.rxLinks[j % topo.pool.rxLinks.length], frame, tag: i + j })), i * 10);
      expectConserved(h);
    }
  });
});
