// Generated NAT gateways and flows: a LAN of four clients behind an uplink
// with MASQUERADE (with or without a small --to-ports range, so that ports
// run out and collide), sometimes a published port (DNAT to a client), and
// flows that reuse source ports on purpose: several clients from the same
// port to the same server (the reply tuple is taken: the port moves), a
// source's next connection (find_appropriate_src), the outside to the
// uplink (a published port, or a port a flow holds), the published client
// answering. Replies from outside are made later from what each side sent
// (./nat-check.ts), to the port that side chose.
import fc from 'fast-check';
import { echoReply, echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { hostMac, remoteMac } from './arb-routing.js';
import { twoLinks } from './cases.js';
import { type KFrame, type KSetup } from './setup.js';

export type NatProto = 'udp' | 'tcp' | 'icmp';

/**
 * One packet of the first phase. `out`: client `client` sends from `sport`
 * (echo id for ICMP) to server `server`:`dport`; `in`: server `server` sends
 * from `sport` to the uplink's address:`dport`; `answer`: the published
 * client answers from its port to server `server`:`dport` (an `in` to the
 * published port before it).
 */
export interface NatEvent {
  kind: 'out' | 'in' | 'answer';
  proto: NatProto;
  client: number;
  sport: number;
  server: number;
  dport: number;
  /** An `out` the server replies to in the second phase. */
  reply: boolean;
}

export interface NatCase {
  /** MASQUERADE --to-ports lo-hi for TCP and UDP (ICMP by a rule without a range). */
  toPorts?: [number, number];
  /** -A PREROUTING -i eth2 -p <proto> --dport <port> -j DNAT --to-destination <client 1>:80 */
  publish?: { proto: 'tcp' | 'udp'; port: number };
  events: NatEvent[];
}

export const LAN = 'eth1';
export const UPLINK = 'eth2';
export const UPLINK_ADDR = '10.2.0.1';
export const CLIENTS = 4;
export const clientIp = (k: number) => `10.1.0.${10 + k}`;
export const serverIp = (k: number) => `172.31.0.${5 + k}`;
/** The published client and its port (no client sends from it otherwise: its null binding stays put). */
export const PUBLISHED_CLIENT = 1;
export const PUBLISHED_PORT = 80;
const GW_MAC = remoteMac(2, 0xfe);

/** Markers: which event a packet belongs to, in what neither side translates (UDP payload, TCP sequence, echo sequence). */
export const MARK_UDP = 0xf1;
export const seqOf = (i: number) => (0xf1000000 + i) >>> 0;

export function natRules(c: NatCase): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  if (c.publish) {
    lines.push(`-A PREROUTING -i ${UPLINK} -p ${c.publish.proto} -m ${c.publish.proto} --dport ${c.publish.port} -j DNAT --to-destination ${clientIp(PUBLISHED_CLIENT)}:${PUBLISHED_PORT}`);
  }
  if (c.toPorts) {
    for (const p of ['udp', 'tcp']) lines.push(`-A POSTROUTING -o ${UPLINK} -p ${p} -j MASQUERADE --to-ports ${c.toPorts[0]}-${c.toPorts[1]}`);
  }
  lines.push(`-A POSTROUTING -o ${UPLINK} -j MASQUERADE`, 'COMMIT', '');
  return lines.join('\n');
}

export function natSetup(c: NatCase): KSetup {
  return twoLinks({
    routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }],
    neighs: [
      ...Array.from({ length: CLIENTS }, (_, k) => ({ ip: clientIp(k), mac: remoteMac(1, 10 + k), dev: LAN })),
      { ip: '10.2.0.254', mac: GW_MAC, dev: UPLINK },
    ],
    rules: natRules(c),
  });
}

const marker = (i: number) => Uint8Array.of(MARK_UDP, i, 0, 0);

/** The frame of event i (the first phase). */
export function eventFrame(c: NatCase, e: NatEvent, i: number): KFrame {
  const fromClient = (k: number, p: Uint8Array): KFrame => ({ link: LAN, frame: ipFrame(hostMac(1), remoteMac(1, 10 + k), p) });
  if (e.kind === 'in') {
    const o = { src: serverIp(e.server), dst: UPLINK_ADDR, sport: e.sport, dport: e.dport };
    const p = e.proto === 'tcp' ? tcpPacket({ ...o, flags: 'S', seq: seqOf(i) }) : udpPacket({ ...o, payload: marker(i) });
    return { link: UPLINK, frame: ipFrame(hostMac(2), GW_MAC, p) };
  }
  const o = { src: clientIp(e.client), dst: serverIp(e.server), sport: e.sport, dport: e.dport };
  if (e.proto === 'icmp') return fromClient(e.client, echoRequest({ src: o.src, dst: o.dst, id: e.sport, seq: i, data: marker(i) }));
  if (e.proto === 'udp') return fromClient(e.client, udpPacket({ ...o, payload: marker(i) }));
  return fromClient(e.client, tcpPacket({ ...o, flags: e.kind === 'answer' ? 'SA' : 'S', seq: seqOf(i), ack: e.kind === 'answer' ? seqOf(answered(c, i)) + 1 : 0 }));
}

/** The `in` an `answer` at i answers: the latest one from its server and port. */
function answered(c: NatCase, i: number): number {
  for (let j = i - 1; j >= 0; j--) {
    const e = c.events[j];
    if (e.kind === 'in' && e.server === c.events[i].server && e.sport === c.events[i].dport) return j;
  }
  return i;
}

/** The server's reply to event i, whose packet left the uplink from `port` (the port, or echo id, that side chose). */
export function replyFrame(e: NatEvent, i: number, port: number): KFrame {
  const o = { src: serverIp(e.server), dst: UPLINK_ADDR, sport: e.dport, dport: port };
  let p: Uint8Array;
  if (e.proto === 'icmp') p = echoReply({ src: o.src, dst: o.dst, id: port, seq: i, data: marker(i) });
  else if (e.proto === 'udp') p = udpPacket({ ...o, payload: marker(i) });
  else p = tcpPacket({ ...o, flags: 'SA', seq: (0xf2000000 + i) >>> 0, ack: seqOf(i) + 1 });
  return { link: UPLINK, frame: ipFrame(hostMac(2), GW_MAC, p) };
}

// ---- the generator

const RANGES: [number, number][] = [[20000, 20001], [20000, 20002], [20000, 20003]];
/** Servers' ports; also the ports the outside sends from, so that an `in` meets a flow's reply tuple. */
const SERVER_PORTS = [53, 5000];
const PUBLISH_PORT = 8080;
/** Ports the outside sends to: the published one, and ports clients send from (a flow may hold them). */
const IN_PORTS = [PUBLISH_PORT, 40000, 40001];
const ECHO_IDS = [0x100, 0x101, 0x102];

/** Client source ports: the range's first ports (kept when free), ports above 1023 and below, the published port. */
function clientPorts(c: Pick<NatCase, 'toPorts'>): number[] {
  return [...(c.toPorts ? [c.toPorts[0], c.toPorts[0] + 1] : []), 40000, 40001, 40001, PUBLISH_PORT, 700, 300];
}

const arbDraw = fc.record({
  kind: fc.constantFrom('out', 'out', 'out', 'out', 'out', 'in', 'answer'),
  proto: fc.constantFrom<NatProto>('udp', 'udp', 'tcp', 'tcp', 'icmp'),
  client: fc.nat(CLIENTS - 1),
  port: fc.nat(),
  server: fc.nat(1),
  dport: fc.nat(),
  reply: fc.constantFrom(true, true, false),
});

const arbShape = fc.record({
  toPorts: fc.option(fc.constantFrom(...RANGES), { nil: undefined }),
  publish: fc.option(fc.record({ proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), port: fc.constant(PUBLISH_PORT) }), { nil: undefined }),
  draws: fc.array(arbDraw, { minLength: 3, maxLength: 14 }),
});

function buildCase(s: typeof arbShape extends fc.Arbitrary<infer T> ? T : never): NatCase {
  const c: NatCase = { toPorts: s.toPorts, publish: s.publish, events: [] };
  const ports = clientPorts(c);
  for (const d of s.draws) {
    const pick = <T>(xs: T[], n: number) => xs[n % xs.length];
    if (d.kind === 'in') {
      c.events.push({ kind: 'in', proto: d.proto === 'tcp' ? 'tcp' : 'udp', client: 0, sport: pick(SERVER_PORTS, d.port), server: d.server, dport: pick(IN_PORTS, d.dport), reply: false });
      continue;
    }
    if (d.kind === 'answer') {
      // The published client answers an `in` to the published port.
      const ins = c.events.filter((e) => e.kind === 'in' && c.publish && e.proto === c.publish.proto && e.dport === c.publish.port);
      if (ins.length) {
        const e = pick(ins, d.port);
        c.events.push({ kind: 'answer', proto: e.proto, client: PUBLISHED_CLIENT, sport: PUBLISHED_PORT, server: e.server, dport: e.sport, reply: false });
        continue;
      }
    }
    const sport = d.proto === 'icmp' ? pick(ECHO_IDS, d.port) : pick(ports, d.port);
    c.events.push({ kind: 'out', proto: d.proto, client: d.client, sport, server: d.server, dport: d.proto === 'icmp' ? 0 : pick(SERVER_PORTS, d.dport), reply: d.reply });
  }
  return c;
}

export const arbNatCase: fc.Arbitrary<NatCase> = arbShape.map((s) => printableNat(buildCase(s)));

/** The case as lines, for reports. */
export function describeNat(c: NatCase): string {
  return [
    ...natRules(c).trim().split('\n').filter((l) => l.startsWith('-A')).map((l) => `rule ${l}`),
    ...c.events.map((e, i) => {
      const from = e.kind === 'in' ? `${serverIp(e.server)}:${e.sport}` : `${clientIp(e.client)}${e.proto === 'icmp' ? '#' : ':'}${e.sport}`;
      const to = e.kind === 'in' ? `${UPLINK_ADDR}:${e.dport}` : `${serverIp(e.server)}${e.proto === 'icmp' ? '' : `:${e.dport}`}`;
      return `#${i} ${e.kind} ${e.proto} ${from} > ${to}${e.reply ? ' (replied)' : ''}`;
    }),
  ].join('\n');
}

/** Gives a generated case a readable form in fast-check's counterexample report. */
export function printableNat(c: NatCase): NatCase {
  Object.defineProperty(c, fc.toStringMethod, { value: () => `\n${describeNat(c)}\n`, enumerable: false });
  return c;
}
