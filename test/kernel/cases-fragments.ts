// Hand-made cases of fragments (ip_defrag, nf_defrag_ipv4, ip_expire,
// ip_do_fragment of a datagram nf_defrag made whole), judged by the kernel.
// A host with two links: a neighbour 10.1.0.7 on eth1, a "container"
// 10.2.0.7 and a gateway on eth2; ipfrag_time 1 s, so queues expire within
// a case.
import { echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { hostMac, remoteMac } from './arb-routing.js';
import { twoLinks } from './cases.js';
import { fragmentOf, withOptions, type Piece } from './packets.js';
import type { KCase, KFrame, KSetup } from './setup.js';

/** A published port, as Docker publishes one: the nat table alone (conntrack, hence nf_defrag, comes with it). */
export const PUBLISHED = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 8080 -j DNAT --to-destination 10.2.0.7:80
-A PREROUTING -p icmp -d 10.1.0.1 -j DNAT --to-destination 10.2.0.7
COMMIT
`;

export function fragHost(extra: Partial<KSetup> = {}): KSetup {
  return twoLinks({
    ipfragTime: 1,
    routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }],
    neighs: [
      { ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' },
      { ip: '10.2.0.7', mac: remoteMac(2, 7), dev: 'eth2' },
      { ip: '10.2.0.254', mac: remoteMac(2, 0xfe), dev: 'eth2' },
    ],
    ...extra,
  });
}

const from1 = (packet: Uint8Array): KFrame => ({ link: 'eth1', frame: ipFrame(hostMac(1), remoteMac(1, 7), packet) });
/** Pieces of `packet` as frames from the neighbour on eth1. */
const pieces = (packet: Uint8Array, ps: Piece[]) => ps.map((p) => from1(fragmentOf(packet, p)));
/** An echo request whose IP ID (the reassembly key's) and echo id are `id`. */
const ping = (id: number, size: number, o: { dst?: string; df?: boolean } = {}) =>
  withId(echoRequest({ src: '10.1.0.7', dst: o.dst ?? '10.1.0.1', id, seq: 1, size, df: o.df }), id);
const datagram = (id: number, size: number, o: { dst?: string; dport?: number; df?: boolean } = {}) =>
  udpPacket({ src: '10.1.0.7', dst: o.dst ?? '10.1.0.1', sport: 5000, dport: o.dport ?? 9, size, id, df: o.df });

export const FRAGMENT_CASES: Record<string, () => KCase> = {
  'fragments: a fragmented echo request to the host is reassembled and answered once, its reply fragmented again': () => ({
    setup: fragHost({ links: [{ name: 'eth1', type: 'veth', mac: hostMac(1), mtu: 1000 }, { name: 'eth2', type: 'veth', mac: hostMac(2) }] }),
    steps: [{ gap: 0, frames: pieces(ping(0x1234, 1400), [{ start: 0, end: 800 }, { start: 800, end: 1408 }]) }],
  }),
  'fragments: out of order and duplicated pieces make one datagram; duplicates are dropped (DUP_FRAG), a port unreachable quotes the whole': () => {
    const d = datagram(0x2345, 600);
    return { setup: fragHost(), steps: [{ gap: 0, frames: pieces(d, [{ start: 400, end: 608 }, { start: 400, end: 608 }, { start: 200, end: 400 }, { start: 0, end: 200 }, { start: 200, end: 400 }]) }] };
  },
  'fragments: an overlap drops the whole queue (RFC 5722, inet_frag_queue_insert); its rest starts a queue that never completes': () => {
    const d = ping(0x3456, 600);
    return { setup: fragHost(), steps: [{ gap: 0, frames: pieces(d, [{ start: 0, end: 200 }, { start: 192, end: 400 }, { start: 400, end: 608 }, { start: 200, end: 400 }]) }] };
  },
  'fragments: a duplicate inside a run of adjacent fragments is dropped, one across two runs is an overlap': () => {
    const a = ping(0x4001, 600);
    const b = ping(0x4002, 800);
    return {
      setup: fragHost(),
      steps: [{
        gap: 0,
        frames: [
          // a: [0,200) then [200,400) join one run at the tail; [96,304) lies inside it: dropped, a completes.
          ...pieces(a, [{ start: 0, end: 200 }, { start: 200, end: 400 }, { start: 96, end: 304 }, { start: 400, end: 608 }]),
          // b: [600,808) at the tail, then [0,200) and [200,400) each a run of its own before it;
          // [96,304) crosses them: the queue goes, and b never completes.
          ...pieces(b, [{ start: 600, end: 808 }, { start: 0, end: 200 }, { start: 200, end: 400 }, { start: 96, end: 304 }, { start: 400, end: 600 }]),
        ],
      }],
    };
  },
  'fragments: lengths that disagree drop the queue (a second last fragment, data past the end, an empty fragment)': () => {
    const a = ping(0x5001, 600);
    const b = ping(0x5002, 600);
    return {
      setup: fragHost(),
      steps: [{
        gap: 0,
        frames: [
          ...pieces(a, [{ start: 200, end: 608 }, { start: 0, end: 200, mf: false }]),
          ...pieces(b, [{ start: 0, end: 200 }, { start: 400, end: 400, mf: true }, { start: 200, end: 608 }]),
        ],
      }],
    };
  },
  'fragments: after ipfrag_time a queue whose first fragment came is answered with time exceeded (code 1); one without it is not': () => {
    const a = ping(0x6001, 600);
    const b = datagram(0x6002, 600);
    return {
      setup: fragHost(),
      steps: [
        { gap: 0, frames: [...pieces(a, [{ start: 0, end: 200 }]), ...pieces(b, [{ start: 200, end: 608 }])] },
        { gap: 1500, frames: [...pieces(a, [{ start: 200, end: 608 }]), ...pieces(b, [{ start: 0, end: 200 }])] },
        { gap: 1500, frames: [] },
      ],
    };
  },
  'fragments: without netfilter a forwarded train passes as it came, piece by piece': () => {
    const d = udpPacket({ src: '10.1.0.7', dst: '172.31.0.9', sport: 5000, dport: 9, size: 600, id: 0x7001 });
    return { setup: fragHost(), steps: [{ gap: 0, frames: pieces(d, [{ start: 400, end: 608 }, { start: 0, end: 200 }, { start: 0, end: 200 }, { start: 200, end: 400 }]) }] };
  },
  'fragments: with a published port, nf_defrag makes the datagram whole: DNATed to the container, it leaves in the sizes it came in': () => {
    const d = datagram(0x8001, 1200, { dport: 8080 });
    return {
      setup: fragHost({ rules: PUBLISHED }),
      steps: [{ gap: 0, frames: pieces(d, [{ start: 600, end: 1000 }, { start: 0, end: 600 }, { start: 1000, end: 1208 }]) }],
    };
  },
  'fragments: through conntrack, pieces too big for the way out are cut to fit; uneven ones are cut to the largest': () => {
    const big = datagram(0x8101, 1400, { dport: 8080 });
    const uneven = datagram(0x8102, 1000, { dport: 8080 });
    return {
      setup: fragHost({ rules: PUBLISHED, links: [{ name: 'eth1', type: 'veth', mac: hostMac(1) }, { name: 'eth2', type: 'veth', mac: hostMac(2), mtu: 576 }] }),
      steps: [{
        gap: 0,
        frames: [
          ...pieces(big, [{ start: 0, end: 800 }, { start: 800, end: 1408 }]),
          ...pieces(uneven, [{ start: 0, end: 104 }, { start: 104, end: 496 }, { start: 496, end: 1008 }]),
        ],
      }],
    };
  },
  'fragments: through conntrack, DF on the largest piece: refused with frag-needed when that piece is too big, else sent in pieces': () => {
    const small = datagram(0x8201, 1000, { dport: 8080, df: true });
    const large = datagram(0x8202, 1000, { dport: 8080, df: true });
    return {
      setup: fragHost({ rules: PUBLISHED, links: [{ name: 'eth1', type: 'veth', mac: hostMac(1) }, { name: 'eth2', type: 'veth', mac: hostMac(2), mtu: 576 }] }),
      steps: [{
        gap: 0,
        frames: [
          ...pieces(small, [{ start: 0, end: 504 }, { start: 504, end: 1008 }]),
          ...pieces(large, [{ start: 0, end: 800 }, { start: 800, end: 1008 }]),
        ],
      }],
    };
  },
  'fragments: a fragmented ping to the host through conntrack is DNATed and forwarded whole-then-cut; a TCP segment in pieces too': () => {
    const p = ping(0x8301, 1000);
    const t = withId(tcpPacket({ src: '10.1.0.7', dst: '10.1.0.1', sport: 5000, dport: 8080, flags: 'S', payload: new Uint8Array(900) }), 0x8302);
    return { setup: fragHost({ rules: PUBLISHED }), steps: [{ gap: 0, frames: [...pieces(p, [{ start: 504, end: 1008 }, { start: 0, end: 504 }]), ...pieces(t, [{ start: 0, end: 480 }, { start: 480, end: 920 }])] }] };
  },
  'fragments: a conntrack queue that times out answers only for the host itself': () => {
    const toHost = datagram(0x8401, 600, { dport: 9 });
    const through = datagram(0x8402, 600, { dport: 8080 });
    const forwarded = udpPacket({ src: '10.1.0.7', dst: '172.31.0.9', sport: 5000, dport: 9, size: 600, id: 0x8403 });
    return {
      setup: fragHost({ rules: PUBLISHED }),
      steps: [
        { gap: 0, frames: [...pieces(toHost, [{ start: 0, end: 200 }]), ...pieces(through, [{ start: 0, end: 200 }]), ...pieces(forwarded, [{ start: 0, end: 200 }])] },
        { gap: 1500, frames: [] },
      ],
    };
  },
  'fragments: more than ipfrag_max_dist (64) fragments of one sender between two of a queue start it again (FRAG_TOO_FAR)': () => {
    const slow = ping(0x9001, 600);
    const others = Array.from({ length: 65 }, (_, i) => fragmentOf(ping(0x9100 + i, 300), { start: 0, end: 104 }));
    return {
      setup: fragHost({ ipfragTime: 30 }),
      steps: [{ gap: 0, frames: [...pieces(slow, [{ start: 0, end: 304 }]), ...others.map(from1), ...pieces(slow, [{ start: 304, end: 608 }])] }],
    };
  },
};

/** The packet with another IP ID (header checksum fixed). */
export function withId(p: Uint8Array, id: number): Uint8Array {
  const q = p.slice();
  q[4] = id >> 8;
  q[5] = id & 0xff;
  return fragmentOf(q, { start: 0, end: q.length - 4 * (q[0] & 15), mf: false });
}
