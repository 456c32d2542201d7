import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emitIpv4,
  emitTcp,
  emitUdp,
  foldSum,
  incrementalUpdate16,
  internetChecksum,
  parseIPv4,
  pseudoHeaderSum,
  sum16,
} from '../../src/packet/index.js';
import { hex, ipv4Addr, ipv4Repr, tcpRepr, u16, u8, udpRepr } from './arbitraries.js';

// The classic example IPv4 header (RFC 791 layout): 192.168.0.1 -> 192.168.0.199, UDP.
const CLASSIC = hex('45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7');

const word = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];

describe('internetChecksum', () => {
  it('computes the classic header checksum', () => {
    const h = CLASSIC.slice();
    h[10] = h[11] = 0;
    expect(internetChecksum(h)).toBe(0xb861);
    expect(internetChecksum(CLASSIC)).toBe(0); // verifies
    expect(foldSum(sum16(CLASSIC))).toBe(0xffff);
  });

  it('follows the RFC 1071 section 3 example', () => {
    // 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 after folding.
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(foldSum(sum16(b))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sum16(hex('01 02 03'))).toBe(0x0102 + 0x0300);
    expect(internetChecksum(hex('01 02 03'), 0, 3)).toBe(internetChecksum(hex('01 02 03 00')));
  });

  it('honours start, end and initial', () => {
    const b = hex('ff ff 12 34 56 78 ff');
    expect(sum16(b, 2, 6)).toBe(0x1234 + 0x5678);
    expect(sum16(b, 2, 6, 5)).toBe(0x1234 + 0x5678 + 5);
    expect(internetChecksum(b, 2, 6, 0x0001)).toBe(~(0x1234 + 0x5678 + 1) & 0xffff);
  });

  it('folds sums beyond 32 bits', () => {
    const big = new Uint8Array(200_000).fill(0xff);
    expect(foldSum(sum16(big))).toBe(0xffff);
  });

  it('splitting at an even offset gives the same sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (b, k) => {
        const mid = Math.min(b.length, (k % 101) * 2);
        expect(internetChecksum(b, mid, b.length, sum16(b, 0, mid))).toBe(internetChecksum(b));
      }),
    );
  });

  it('pseudoHeaderSum matches summing the 12 pseudo-header bytes', () => {
    fc.assert(
      fc.property(ipv4Addr, ipv4Addr, u8, u16, (s, d, proto, len) => {
        const ph = new Uint8Array(12);
        const v = new DataView(ph.buffer);
        v.setUint32(0, parseIPv4(s));
        v.setUint32(4, parseIPv4(d));
        v.setUint8(9, proto);
        v.setUint16(10, len);
        expect(foldSum(pseudoHeaderSum(parseIPv4(s), parseIPv4(d), proto, len))).toBe(foldSum(sum16(ph)));
      }),
    );
  });
});

describe('incrementalUpdate16 (RFC 1624)', () => {
  it('matches the RFC 1624 section 4 example', () => {
    // HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000 (eqn. 3), not 0xffff (eqn. 2).
    expect(incrementalUpdate16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('agrees with recomputation on a TTL decrement', () => {
    fc.assert(
      fc.property(ipv4Repr, (r) => {
        fc.pre(r.ttl > 0);
        const before = emitIpv4(r);
        const after = emitIpv4({ ...r, ttl: r.ttl - 1 });
        expect(incrementalUpdate16(word(before, 10), word(before, 8), word(after, 8))).toBe(word(after, 10));
      }),
    );
  });

  it('agrees with recomputation for random field changes of an IPv4 header', () => {
    const change = fc.oneof(
      fc.record({ ttl: u8 }),
      fc.record({ src: ipv4Addr }),
      fc.record({ dst: ipv4Addr }),
      fc.record({ id: u16 }),
      fc.record({ tos: u8 }),
    );
    fc.assert(
      fc.property(ipv4Repr, change, (r, c) => {
        const before = emitIpv4(r);
        const after = emitIpv4({ ...r, ...c });
        let check = word(before, 10);
        for (let o = 0; o < 20; o += 2) {
          if (o !== 10 && word(before, o) !== word(after, o)) check = incrementalUpdate16(check, word(before, o), word(after, o));
        }
        expect(check).toBe(word(after, 10));
      }),
    );
  });

  // NAT: rewriting an address changes the pseudo-header, a port changes the header itself.
  it('agrees with recomputation for TCP port and address rewrites', () => {
    fc.assert(
      fc.property(tcpRepr, ipv4Addr, ipv4Addr, u16, ipv4Addr, (r, src, dst, newPort, newSrc) => {
        const before = emitTcp(r, src, dst);
        const after = emitTcp({ ...r, sport: newPort }, newSrc, dst);
        const a = parseIPv4(src);
        const b = parseIPv4(newSrc);
        let check = word(before, 16);
        check = incrementalUpdate16(check, r.sport, newPort);
        check = incrementalUpdate16(check, a >>> 16, b >>> 16);
        check = incrementalUpdate16(check, a & 0xffff, b & 0xffff);
        expect(check).toBe(word(after, 16));
      }),
    );
  });

  it('agrees with recomputation for UDP port rewrites (0 sent as 0xffff)', () => {
    fc.assert(
      fc.property(udpRepr, ipv4Addr, ipv4Addr, u16, (r, src, dst, newPort) => {
        const before = emitUdp(r, src, dst);
        const after = emitUdp({ ...r, dport: newPort }, src, dst);
        const check = incrementalUpdate16(word(before, 6), r.dport, newPort);
        expect(check === 0 ? 0xffff : check).toBe(word(after, 6));
      }),
    );
  });
});
