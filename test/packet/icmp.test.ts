import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitIcmp, foldSum, parseIcmp, parseIpv4, sum16, type IcmpRepr } from '../../src/packet/index.js';
import { hex, icmpRepr } from './arbitraries.js';

// RFC 792 echo request, id 1, seq 1, data "abcdefgh". Checksum by hand:
// 0800 + 0001 + 0001 + 6162 + 6364 + 6566 + 6768 = 0x19996 -> 0x9997 -> ~ = 0x6668.
const ECHO = hex('08 00 66 68 00 01 00 01', '61 62 63 64 65 66 67 68');
const ECHO_REPR: IcmpRepr = { type: 8, code: 0, id: 1, seq: 1, data: new TextEncoder().encode('abcdefgh') };
// The same message inside IPv4 10.0.0.1 -> 10.0.0.2, TTL 64, DF, length 36, checksum 0x26d7.
const ECHO_IP = hex('45 00 00 24 00 00 40 00 40 01 26 d7 0a 00 00 01 0a 00 00 02');

// Destination unreachable, fragmentation needed, next-hop MTU 1400 (RFC 1191),
// quoting a 20-byte header + 8 bytes.
const QUOTE = hex('45 00 05 dc 00 00 40 00 40 11 00 00 0a 00 00 01 0a 00 00 02', '30 39 00 35 05 c8 00 00');

describe('ICMP', () => {
  it('test_parse', () => {
    expect(parseIcmp(ECHO)).toEqual({ ...ECHO_REPR, checksum: 0x6668, checksumOk: true });
    const ip = parseIpv4(new Uint8Array([...ECHO_IP, ...ECHO]));
    expect(ip.checksumOk).toBe(true);
    expect(parseIcmp(ip.payload)).toMatchObject({ type: 8, id: 1, seq: 1, checksumOk: true });
  });

  it('test_emit', () => {
    expect(emitIcmp(ECHO_REPR)).toEqual(ECHO);
  });

  it('test_error_message', () => {
    const msg = emitIcmp({ type: 3, code: 4, rest: 1400, data: QUOTE });
    expect(msg.subarray(0, 2)).toEqual(hex('03 04'));
    expect(msg.subarray(4, 8)).toEqual(hex('00 00 05 78'));
    const parsed = parseIcmp(msg);
    expect(parsed).toMatchObject({ type: 3, code: 4, rest: 1400, checksumOk: true });
    expect(parsed.id).toBeUndefined();
    expect(parsed.data).toEqual(QUOTE);
  });

  it('reports a bad checksum; rejects truncated messages', () => {
    const bad = ECHO.slice();
    bad[9] ^= 0xff;
    expect(parseIcmp(bad).checksumOk).toBe(false);
    expect(() => parseIcmp(ECHO.slice(0, 7))).toThrow('ICMP header: truncated (7 bytes, need 8)');
    expect(() => emitIcmp({ ...ECHO_REPR, id: 70000 })).toThrow('ICMP id out of range: 70000 (0..65535)');
    expect(() => emitIcmp({ type: 3, code: 1, rest: -1, data: new Uint8Array() })).toThrow(/ICMP rest out of range/);
  });

  it('checksums odd-length data correctly', () => {
    const msg = emitIcmp({ type: 0, code: 0, id: 7, seq: 9, data: hex('01 02 03') });
    expect(parseIcmp(msg).checksumOk).toBe(true);
  });

  it('parse(emit(r)) == r, and the checksum verifies', () => {
    fc.assert(
      fc.property(icmpRepr, (r) => {
        const bytes = emitIcmp(r);
        const { checksum, checksumOk, ...repr } = parseIcmp(bytes);
        expect(repr).toStrictEqual({ ...r });
        expect(checksumOk).toBe(true);
        expect(checksum).toBe((bytes[2] << 8) | bytes[3]);
        expect(foldSum(sum16(bytes))).toBe(0xffff);
      }),
    );
  });
});
