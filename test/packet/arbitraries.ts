// fast-check generators shared by the packet tests.
import fc from 'fast-check';
import { formatIPv4, formatMac } from '../../src/packet/index.js';
import type { ArpRepr, EthernetRepr, IcmpRepr, Ipv4Repr, TcpRepr, UdpRepr } from '../../src/packet/index.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const ipv4Addr = u32.map(formatIPv4);
export const macAddr = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
export const payload = (maxLength = 64) => fc.uint8Array({ maxLength });
/** Option bytes: 4..40, a multiple of 4. */
export const options = fc.integer({ min: 1, max: 10 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));

export const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({ dst: macAddr, src: macAddr, ethertype: u16 });

export const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({
  op: fc.constantFrom(1 as const, 2 as const),
  sha: macAddr,
  spa: ipv4Addr,
  tha: macAddr,
  tpa: ipv4Addr,
});

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record(
  {
    src: ipv4Addr,
    dst: ipv4Addr,
    proto: u8,
    ttl: u8,
    id: u16,
    tos: u8,
    df: fc.boolean(),
    mf: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((n) => n * 8),
    options,
  },
  { requiredKeys: ['src', 'dst', 'proto', 'ttl', 'id', 'tos', 'df', 'mf', 'fragOffset'] },
);

const ID_SEQ_TYPES = [0, 8, 13, 14, 15, 16, 17, 18];
export const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({ type: fc.constantFrom(...ID_SEQ_TYPES), code: u8, id: u16, seq: u16, data: payload() }),
  fc.record({ type: u8.filter((t) => !ID_SEQ_TYPES.includes(t)), code: u8, rest: u32, data: payload() }),
);

export const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({ sport: u16, dport: u16, payload: payload() });

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record(
  {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: fc.record({ syn: fc.boolean(), ack: fc.boolean(), rst: fc.boolean(), fin: fc.boolean(), psh: fc.boolean(), urg: fc.boolean() }),
    window: u16,
    payload: payload(),
    options,
    urgent: u16,
  },
  { requiredKeys: ['sport', 'dport', 'seq', 'ack', 'flags', 'window', 'payload', 'urgent'] },
);

/** Concatenates byte arrays written as hex strings with optional spaces, for fixtures. */
export function hex(...parts: string[]): Uint8Array {
  const s = parts.join('').replace(/\s+/g, '');
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}
