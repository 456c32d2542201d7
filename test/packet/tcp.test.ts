import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitTcp, foldSum, parseIPv4, parseTcp, pseudoHeaderSum, sum16, type TcpRepr } from '../../src/packet/index.js';
import { hex, ipv4Addr, tcpRepr } from './arbitraries.js';

// A SYN, 10.0.0.1:40000 -> 10.0.0.2:80, ISN 0x01020304, window 64240, MSS 1460
// option (RFC 9293 3.2: kind 2, length 4). Data offset 6 words, flags 0x02.
// Checksum 0xe89c (pseudo-header 0a00 0001 0a00 0002 0006 0018 included).
const SRC = '10.0.0.1';
const DST = '10.0.0.2';
const SYN = hex(
  '9c 40', // source port 40000
  '00 50', // destination port 80
  '01 02 03 04', // sequence number
  '00 00 00 00', // acknowledgment number
  '60 02', // data offset 6, SYN
  'fa f0', // window 64240
  'e8 9c', // checksum
  '00 00', // urgent pointer
  '02 04 05 b4', // MSS 1460
);
const NO_FLAGS = { syn: false, ack: false, rst: false, fin: false, psh: false, urg: false };
const REPR: TcpRepr = {
  sport: 40000,
  dport: 80,
  seq: 0x01020304,
  ack: 0,
  flags: { ...NO_FLAGS, syn: true },
  window: 64240,
  payload: new Uint8Array(0),
  options: hex('02 04 05 b4'),
};

describe('TCP', () => {
  it('test_parse', () => {
    expect(parseTcp(SYN, SRC, DST)).toEqual({ ...REPR, urgent: 0, dataOffset: 6, checksum: 0xe89c, checksumOk: true });
    expect(parseTcp(SYN).checksumOk).toBeUndefined();
    expect(parseTcp(SYN, SRC, '10.0.0.3').checksumOk).toBe(false);
  });

  it('test_emit', () => {
    expect(emitTcp(REPR, SRC, DST)).toEqual(SYN);
  });

  it('test_flags', () => {
    // smoltcp's fixture flags byte 0x35 = FIN|RST|ACK|URG; 0x18 = PSH|ACK.
    const seg = emitTcp({ ...REPR, options: undefined, flags: { ...NO_FLAGS, fin: true, rst: true, ack: true, urg: true } }, SRC, DST);
    expect(seg[13]).toBe(0x35);
    const pa = emitTcp({ ...REPR, options: undefined, flags: { ...NO_FLAGS, psh: true, ack: true } }, SRC, DST);
    expect(pa[13]).toBe(0x18);
    expect(parseTcp(pa).flags).toEqual({ ...NO_FLAGS, psh: true, ack: true });
  });

  it('rejects truncated and invalid segments', () => {
    expect(() => parseTcp(SYN.slice(0, 19))).toThrow('TCP header: truncated (19 bytes, need 20)');
    expect(() => parseTcp(SYN.slice(0, 22))).toThrow('TCP: header length 24 exceeds segment (22 bytes)');
    const off4 = SYN.slice();
    off4[12] = 0x40;
    expect(() => parseTcp(off4)).toThrow('TCP: header length 16 < 20');
    expect(() => emitTcp({ ...REPR, options: hex('01 01 01') }, SRC, DST)).toThrow(/multiple of 4/);
    expect(() => emitTcp({ ...REPR, seq: 2 ** 32 }, SRC, DST)).toThrow('TCP seq out of range: 4294967296 (0..4294967295)');
    expect(() => emitTcp(REPR, SRC, 'x')).toThrow('invalid IPv4 address "x"');
  });

  it('parse(emit(r)) == r, and the checksum verifies', () => {
    fc.assert(
      fc.property(tcpRepr, ipv4Addr, ipv4Addr, (r, src, dst) => {
        const bytes = emitTcp(r, src, dst);
        const { dataOffset, checksum, checksumOk, ...repr } = parseTcp(bytes, src, dst);
        expect(repr).toStrictEqual({ ...r, flags: { ...r.flags } });
        expect(dataOffset * 4).toBe(20 + (r.options?.length ?? 0));
        expect(checksumOk).toBe(true);
        expect(checksum).toBe((bytes[16] << 8) | bytes[17]);
        expect(foldSum(sum16(bytes, 0, bytes.length, pseudoHeaderSum(parseIPv4(src), parseIPv4(dst), 6, bytes.length)))).toBe(0xffff);
      }),
    );
  });
});
