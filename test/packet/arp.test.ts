import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitArp, parseArp, type ArpRepr } from '../../src/packet/index.js';
import { arpRepr, hex } from './arbitraries.js';

// RFC 826 request: 02:00:00:00:00:02 (10.0.0.2) asks who has 10.0.0.1.
const REQUEST = hex(
  '00 01', // hardware type: Ethernet
  '08 00', // protocol type: IPv4
  '06 04', // hlen, plen
  '00 01', // op: request
  '02 00 00 00 00 02', // sha
  '0a 00 00 02', // spa
  '00 00 00 00 00 00', // tha (unknown)
  '0a 00 00 01', // tpa
);
const REQUEST_REPR: ArpRepr = { op: 1, sha: '02:00:00:00:00:02', spa: '10.0.0.2', tha: '00:00:00:00:00:00', tpa: '10.0.0.1' };

describe('ARP', () => {
  it('test_parse', () => {
    expect(parseArp(REQUEST)).toEqual(REQUEST_REPR);
    // Ethernet pads ARP to 46 bytes; the padding is ignored.
    expect(parseArp(new Uint8Array([...REQUEST, ...new Uint8Array(18)]))).toEqual(REQUEST_REPR);
  });

  it('test_emit', () => {
    expect(emitArp(REQUEST_REPR)).toEqual(REQUEST);
  });

  it('rejects truncated and unsupported packets', () => {
    expect(() => parseArp(REQUEST.slice(0, 27))).toThrow('ARP packet: truncated (27 bytes, need 28)');
    const ipv6 = REQUEST.slice();
    ipv6[2] = 0x86;
    ipv6[3] = 0xdd;
    expect(() => parseArp(ipv6)).toThrow(/only Ethernet\/IPv4/);
    const hlen = REQUEST.slice();
    hlen[4] = 8;
    expect(() => parseArp(hlen)).toThrow(/only Ethernet\/IPv4/);
    const rarp = REQUEST.slice();
    rarp[7] = 3;
    expect(() => parseArp(rarp)).toThrow('ARP: unsupported operation 3');
    expect(() => emitArp({ ...REQUEST_REPR, op: 3 as 1 })).toThrow('ARP: unsupported operation 3');
    expect(() => emitArp({ ...REQUEST_REPR, spa: '10.0.0.256' })).toThrow('invalid IPv4 address "10.0.0.256"');
  });

  it('parse(emit(r)) == r', () => {
    fc.assert(
      fc.property(arpRepr, (r) => {
        expect(parseArp(emitArp(r))).toStrictEqual({ ...r });
      }),
    );
  });
});
