import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitEthernet, parseEthernet } from '../../src/packet/index.js';
import { ethernetRepr, hex, payload } from './arbitraries.js';

// Broadcast frame from 02:00:00:00:00:02 carrying ARP (ethertype 0x0806), 2 payload bytes.
const FRAME = hex('ff ff ff ff ff ff', '02 00 00 00 00 02', '08 06', 'aa bb');
const REPR = { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:02', ethertype: 0x0806 };

describe('Ethernet', () => {
  it('test_parse', () => {
    expect(parseEthernet(FRAME)).toEqual({ ...REPR, payload: hex('aa bb') });
  });

  it('test_emit', () => {
    expect(emitEthernet(REPR, hex('aa bb'))).toEqual(FRAME);
    expect(emitEthernet(REPR)).toEqual(FRAME.slice(0, 14));
  });

  it('rejects truncated frames and bad fields', () => {
    expect(() => parseEthernet(FRAME.slice(0, 13))).toThrow('Ethernet header: truncated (13 bytes, need 14)');
    expect(() => emitEthernet({ ...REPR, ethertype: 0x10000 })).toThrow(/ethertype out of range/);
    expect(() => emitEthernet({ ...REPR, dst: 'nope' })).toThrow('invalid MAC address "nope"');
  });

  it('parse(emit(r)) == r', () => {
    fc.assert(
      fc.property(ethernetRepr, payload(), (r, p) => {
        const { payload: got, ...repr } = parseEthernet(emitEthernet(r, p));
        expect(repr).toStrictEqual({ ...r });
        expect(got).toEqual(p);
      }),
    );
  });
});
