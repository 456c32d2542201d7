import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitUdp, foldSum, parseIPv4, parseUdp, pseudoHeaderSum, sum16, type UdpRepr } from '../../src/packet/index.js';
import { hex, ipv4Addr, udpRepr } from './arbitraries.js';

// smoltcp's UDP fixture: 192.168.1.1:48896 -> 192.168.1.2:53, length 12, 4 bytes.
// Checksum: pseudo-header c0a8 + 0101 + c0a8 + 0102 + 0011 + 000c plus header and
// payload words bf00 + 0035 + 000c + aa00 + 00ff, folded and inverted: 0x124d.
const SRC = '192.168.1.1';
const DST = '192.168.1.2';
const DATAGRAM = hex('bf 00 00 35 00 0c 12 4d', 'aa 00 00 ff');
const REPR: UdpRepr = { sport: 48896, dport: 53, payload: hex('aa 00 00 ff') };

describe('UDP', () => {
  it('test_parse', () => {
    expect(parseUdp(DATAGRAM, SRC, DST)).toEqual({ ...REPR, length: 12, checksum: 0x124d, checksumOk: true });
    expect(parseUdp(DATAGRAM).checksumOk).toBeUndefined(); // no addresses, cannot verify
    expect(parseUdp(DATAGRAM, SRC, '192.168.1.3').checksumOk).toBe(false);
  });

  it('test_emit', () => {
    expect(emitUdp(REPR, SRC, DST)).toEqual(DATAGRAM);
  });

  it('a zero checksum means none', () => {
    const none = DATAGRAM.slice();
    none[6] = none[7] = 0;
    expect(parseUdp(none, SRC, DST).checksumOk).toBe(true);
    expect(parseUdp(none).checksumOk).toBe(true);
  });

  it('sends a computed zero checksum as 0xffff (RFC 768)', () => {
    // Choose the payload word so that the one's complement sum is 0xffff.
    const src = '10.0.0.1';
    const dst = '10.0.0.2';
    const base = emitUdp({ sport: 1, dport: 2, payload: hex('00 00') }, src, dst);
    const partial = foldSum(sum16(base, 0, 6, pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), 17, 10)));
    const fill = 0xffff - partial;
    const d = emitUdp({ sport: 1, dport: 2, payload: new Uint8Array([fill >> 8, fill & 0xff]) }, src, dst);
    expect((d[6] << 8) | d[7]).toBe(0xffff);
    expect(parseUdp(d, src, dst).checksumOk).toBe(true);
  });

  it('trims to the length field; rejects truncated datagrams', () => {
    const padded = new Uint8Array([...DATAGRAM, 0, 0, 0]);
    expect(parseUdp(padded, SRC, DST)).toMatchObject({ length: 12, checksumOk: true, payload: hex('aa 00 00 ff') });
    expect(() => parseUdp(DATAGRAM.slice(0, 7))).toThrow('UDP header: truncated (7 bytes, need 8)');
    expect(() => parseUdp(DATAGRAM.slice(0, 11))).toThrow('UDP: length field 12 exceeds datagram (11 bytes)');
    const tiny = DATAGRAM.slice();
    tiny[5] = 7;
    expect(() => parseUdp(tiny)).toThrow('UDP: length field 7 < 8');
    expect(() => emitUdp({ ...REPR, dport: 65536 }, SRC, DST)).toThrow('UDP dport out of range: 65536 (0..65535)');
    expect(() => emitUdp({ ...REPR, payload: new Uint8Array(65528) }, SRC, DST)).toThrow('UDP: length 65536 exceeds 65535');
  });

  it('parse(emit(r)) == r, and the checksum verifies', () => {
    fc.assert(
      fc.property(udpRepr, ipv4Addr, ipv4Addr, (r, src, dst) => {
        const bytes = emitUdp(r, src, dst);
        const { length, checksum, checksumOk, ...repr } = parseUdp(bytes, src, dst);
        expect(repr).toStrictEqual({ ...r });
        expect(length).toBe(bytes.length);
        expect(checksumOk).toBe(true);
        expect(checksum).not.toBe(0);
        expect(foldSum(sum16(bytes, 0, bytes.length, pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), 17, length)))).toBe(0xffff);
      }),
    );
  });
});
