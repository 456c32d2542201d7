import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitIpv4, foldSum, parseIpv4, sum16, type Ipv4Repr } from '../../src/packet/index.js';
import { hex, ipv4Repr, payload } from './arbitraries.js';

// The classic example header: 192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64,
// total length 0x73 = 115, checksum 0xb861. Followed by 95 payload bytes.
const HEADER = hex('45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7');
const BODY = Uint8Array.from({ length: 95 }, (_, i) => i);
const PACKET = new Uint8Array([...HEADER, ...BODY]);
const REPR: Ipv4Repr = {
  src: '192.168.0.1',
  dst: '192.168.0.199',
  proto: 17,
  ttl: 64,
  id: 0,
  tos: 0,
  df: true,
  mf: false,
  fragOffset: 0,
};

describe('IPv4', () => {
  it('test_parse', () => {
    expect(parseIpv4(PACKET)).toEqual({ ...REPR, ihl: 5, totalLength: 115, checksum: 0xb861, checksumOk: true, payload: BODY });
  });

  it('test_emit', () => {
    expect(emitIpv4(REPR, BODY)).toEqual(PACKET);
    const { tos: _tos, ...noTos } = REPR; // tos defaults to 0
    expect(emitIpv4(noTos, BODY)).toEqual(PACKET);
  });

  it('test_parse_fragment_fields', () => {
    // MF set, fragment offset 185 * 8 = 1480 bytes, id 0x1234, tos 0xb8 (EF).
    const frag = emitIpv4({ ...REPR, id: 0x1234, tos: 0xb8, df: false, mf: true, fragOffset: 1480 });
    expect(frag.subarray(6, 8)).toEqual(hex('20 b9'));
    expect(parseIpv4(frag)).toMatchObject({ id: 0x1234, tos: 0xb8, df: false, mf: true, fragOffset: 1480 });
  });

  it('test_options', () => {
    // Router Alert (RFC 2113): 94 04 00 00, IHL 6.
    const p = emitIpv4({ ...REPR, options: hex('94 04 00 00') }, hex('aa'));
    expect(p[0]).toBe(0x46);
    expect(p.length).toBe(25);
    const parsed = parseIpv4(p);
    expect(parsed.options).toEqual(hex('94 04 00 00'));
    expect(parsed.ihl).toBe(6);
    expect(parsed.payload).toEqual(hex('aa'));
    expect(parsed.checksumOk).toBe(true);
    expect(() => emitIpv4({ ...REPR, options: hex('01 01') })).toThrow(/multiple of 4/);
    expect(() => emitIpv4({ ...REPR, options: new Uint8Array(44) })).toThrow(/at most 40/);
  });

  it('trims Ethernet padding beyond the total length', () => {
    const small = emitIpv4(REPR, hex('01 02'));
    const padded = new Uint8Array(46);
    padded.set(small);
    const parsed = parseIpv4(padded);
    expect(parsed.totalLength).toBe(22);
    expect(parsed.payload).toEqual(hex('01 02'));
  });

  it('reports a bad checksum without throwing', () => {
    const bad = PACKET.slice();
    bad[11] ^= 1;
    expect(parseIpv4(bad).checksumOk).toBe(false);
  });

  it('rejects truncated and invalid headers', () => {
    expect(() => parseIpv4(HEADER.slice(0, 19))).toThrow('IPv4 header: truncated (19 bytes, need 20)');
    expect(() => parseIpv4(HEADER)).toThrow('IPv4: total length 115 exceeds packet (20 bytes)');
    const v6 = PACKET.slice();
    v6[0] = 0x65;
    expect(() => parseIpv4(v6)).toThrow('IPv4: version 6, expected 4');
    const ihl4 = PACKET.slice();
    ihl4[0] = 0x44;
    expect(() => parseIpv4(ihl4)).toThrow('IPv4: header length 16 < 20');
    const ihl15 = emitIpv4(REPR);
    ihl15[0] = 0x4f;
    expect(() => parseIpv4(ihl15)).toThrow('IPv4: header length 60 exceeds packet (20 bytes)');
    const short = emitIpv4(REPR, hex('00 00 00 00'));
    short[3] = 19;
    expect(() => parseIpv4(short)).toThrow('IPv4: total length 19 < header length 20');
    // The quoted header of an ICMP error: header + 8 bytes of a longer packet.
    expect(parseIpv4(PACKET.slice(0, 28), { partial: true }).payload).toEqual(BODY.slice(0, 8));
  });

  it('rejects unrepresentable fields on emit', () => {
    expect(() => emitIpv4({ ...REPR, ttl: 256 })).toThrow('IPv4 ttl out of range: 256 (0..255)');
    expect(() => emitIpv4({ ...REPR, id: -1 })).toThrow(/IPv4 id out of range/);
    expect(() => emitIpv4({ ...REPR, fragOffset: 12 })).toThrow('IPv4: fragOffset 12 is not a multiple of 8');
    expect(() => emitIpv4({ ...REPR, fragOffset: 65536 })).toThrow(/fragOffset out of range/);
    expect(() => emitIpv4(REPR, new Uint8Array(65516))).toThrow('IPv4: total length 65536 exceeds 65535');
    expect(() => emitIpv4({ ...REPR, src: '1.2.3' })).toThrow('invalid IPv4 address "1.2.3"');
  });

  it('parse(emit(r)) == r, and the header checksum verifies', () => {
    fc.assert(
      fc.property(ipv4Repr, payload(), (r, p) => {
        const bytes = emitIpv4(r, p);
        const { ihl, totalLength, checksum, checksumOk, payload: got, ...repr } = parseIpv4(bytes);
        expect(repr).toStrictEqual({ ...r });
        expect(got).toEqual(p);
        expect(ihl * 4).toBe(20 + (r.options?.length ?? 0));
        expect(totalLength).toBe(bytes.length);
        expect(checksumOk).toBe(true);
        expect(checksum).toBe((bytes[10] << 8) | bytes[11]);
        expect(foldSum(sum16(bytes, 0, ihl * 4))).toBe(0xffff);
      }),
    );
  });
});
