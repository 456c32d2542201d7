// Generated fragment trains: one to three datagrams (to the host, to a
// published port, forwarded), each cut into pieces, the pieces shuffled,
// duplicated, shifted into overlaps, split unevenly or left out, sent in one
// or two moments ipfrag_time apart so that queues expire; the host with or
// without netfilter (a nat table: nf_defrag), its way out sometimes narrower.
import fc from 'fast-check';
import { echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { hostMac, remoteMac } from './arb-routing.js';
import { PUBLISHED, fragHost, withId } from './cases-fragments.js';
import { rulesUnavailable } from './linux.js';
import { fragmentOf, type Piece } from './packets.js';
import { printable, type KCase, type KFrame } from './setup.js';

const noRules = rulesUnavailable();

const arbDatagram = fc.record({
  to: fc.constantFrom('host-udp', 'host-echo', 'host-tcp', 'published', 'published', 'forwarded', 'forwarded'),
  size: fc.integer({ min: 60, max: 1400 }),
  df: fc.constantFrom(false, false, true),
  ttl: fc.constantFrom(64, 64, 64, 1),
  tos: fc.constantFrom(0, 0, 0, 0, 1, 2, 3),
  piece: fc.constantFrom(104, 200, 504, 800),
  order: fc.constantFrom('in order', 'in order', 'reversed', 'shuffled'),
  shuffle: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  trouble: fc.array(fc.record({ kind: fc.constantFrom('duplicate', 'overlap', 'missing', 'split', 'late', 'ecn'), at: fc.nat() }), { maxLength: 2 }),
});

type Datagram = typeof arbDatagram extends fc.Arbitrary<infer T> ? T : never;

const arbCase = fc.record({
  rules: fc.boolean(),
  outMtu: fc.constantFrom(1500, 1500, 1000, 576),
  datagrams: fc.array(arbDatagram, { minLength: 1, maxLength: 3 }),
  interleave: fc.array(fc.nat(), { minLength: 24, maxLength: 24 }),
});

function packetOf(d: Datagram, id: number): Uint8Array {
  const ip = { src: '10.1.0.7', ttl: d.ttl, df: d.df, id, tos: d.tos };
  switch (d.to) {
    case 'host-echo':
      return withId(echoRequest({ src: '10.1.0.7', dst: '10.1.0.1', id, seq: 1, size: d.size, ttl: d.ttl, df: d.df, tos: d.tos }), id);
    case 'host-tcp':
      return withId(tcpPacket({ ...ip, dst: '10.1.0.1', sport: 5000, dport: 22, flags: 'S', payload: new Uint8Array(d.size) }), id);
    case 'forwarded':
      return udpPacket({ ...ip, dst: '172.31.0.9', sport: 5000, dport: 9, size: d.size });
    case 'published':
      return udpPacket({ ...ip, dst: '10.1.0.1', sport: 5000, dport: 8080, size: d.size });
    default:
      return udpPacket({ ...ip, dst: '10.1.0.1', sport: 5000, dport: 9, size: d.size });
  }
}

/** The datagram's pieces, troubles applied; each with the moment it goes in (0 or 1). */
function piecesOf(d: Datagram, payload: number): { piece: Piece; late: boolean }[] {
  let ps: { piece: Piece; late: boolean }[] = [];
  for (let s = 0; s < payload; s += d.piece) ps.push({ piece: { start: s, end: Math.min(s + d.piece, payload) }, late: false });
  for (const t of d.trouble) {
    const i = t.at % ps.length;
    const p = ps[i].piece;
    if (t.kind === 'duplicate') ps.splice(i + 1, 0, { piece: { ...p }, late: ps[i].late });
    else if (t.kind === 'missing' && ps.length > 1) ps.splice(i, 1);
    else if (t.kind === 'late') ps[i].late = true;
    else if (t.kind === 'ecn') ps[i].piece.tos = (t.at >> 4) & 3;
    else if (t.kind === 'overlap' && p.end - p.start >= 16) {
      // The same piece again, 8 bytes further on or back: over a neighbour, or past the end.
      const shift = p.start >= 8 && t.at % 2 ? -8 : 8;
      ps.splice(i + 1, 0, { piece: { start: p.start + shift, end: Math.min(payload, p.end + shift), mf: p.end + shift < payload }, late: false });
    } else if (t.kind === 'split' && p.end - p.start >= 16) {
      const cut = p.start + 8 * (1 + ((t.at >> 3) % Math.floor((p.end - p.start - 1) / 8)));
      ps.splice(i, 1, { piece: { start: p.start, end: cut, mf: true }, late: ps[i].late }, { piece: { start: cut, end: p.end }, late: ps[i].late });
    }
  }
  if (d.order === 'reversed') ps = ps.reverse();
  else if (d.order === 'shuffled') {
    for (let i = ps.length - 1; i > 0; i--) {
      const j = d.shuffle[i % d.shuffle.length] % (i + 1);
      [ps[i], ps[j]] = [ps[j], ps[i]];
    }
  }
  return ps;
}

function buildCase(c: typeof arbCase extends fc.Arbitrary<infer T> ? T : never): KCase {
  const rules = c.rules && !noRules ? PUBLISHED : undefined;
  const setup = fragHost({
    rules,
    links: [{ name: 'eth1', type: 'veth', mac: hostMac(1) }, { name: 'eth2', type: 'veth', mac: hostMac(2), mtu: c.outMtu }],
  });
  // Each datagram's pieces in their order; the datagrams' trains interleaved as drawn.
  const trains = c.datagrams.map((d, k) => {
    const packet = packetOf(d, 0xa000 + k);
    const ihl = (packet[0] & 15) * 4;
    return piecesOf(d, packet.length - ihl).map((p) => ({ ...p, frame: { link: 'eth1', frame: ipFrame(hostMac(1), remoteMac(1, 7), fragmentOf(packet, p.piece)) } as KFrame }));
  });
  const first: KFrame[] = [];
  const second: KFrame[] = [];
  let n = 0;
  while (trains.some((t) => t.length)) {
    const open = trains.filter((t) => t.length);
    const next = open[c.interleave[n++ % c.interleave.length] % open.length].shift()!;
    (next.late ? second : first).push(next.frame);
  }
  const steps = [{ gap: 0, frames: first }];
  // Past ipfrag_time (1 s): Linux's timer fires within 32 ms of it (a level-1 timer wheel bucket).
  if (second.length) steps.push({ gap: 1200, frames: second });
  // Time for the queues left to expire.
  steps.push({ gap: 1200, frames: [] });
  return printable({ setup, steps });
}

export const arbFragmentsCase: fc.Arbitrary<KCase> = arbCase.map(buildCase);
