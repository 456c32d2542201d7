import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BROADCAST_MAC,
  broadcastOf,
  formatCidr,
  formatIPv4,
  formatMac,
  inPrefix,
  isMulticastMac,
  maskOf,
  networkOf,
  parseCidr,
  parseIPv4,
  parseMac,
} from '../../src/packet/index.js';
import { u32 } from './arbitraries.js';

describe('IPv4 addresses', () => {
  it('test_parse', () => {
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('192.168.0.199')).toBe(0xc0a800c7);
  });

  it('test_format', () => {
    expect(formatIPv4(0x0a000001)).toBe('10.0.0.1');
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIPv4(0xffffff00 | 0)).toBe('255.255.255.0'); // signed result of a bitwise op
    expect(() => formatIPv4(2 ** 32)).toThrow();
    expect(() => formatIPv4(1.5)).toThrow();
  });

  it.each(['01.2.3.4', '1.2.3.04', '256.0.0.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '1..3.4', '', '1.2.3.-4', '+1.2.3.4', '0x1.2.3.4', '1.2.3.4/24', '١.2.3.4', '1e2.0.0.1'])(
    'rejects %j',
    (s) => {
      expect(() => parseIPv4(s)).toThrow(new Error(`invalid IPv4 address "${s}"`));
    },
  );

  it('formatIPv4 and parseIPv4 round trip', () => {
    fc.assert(fc.property(u32, (n) => parseIPv4(formatIPv4(n)) === n));
  });

  it('accepts exactly the canonical dotted quads', () => {
    const chars = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', ' ', '/', 'x'), maxLength: 16 });
    fc.assert(
      fc.property(chars, (s) => {
        let n: number;
        try {
          n = parseIPv4(s);
        } catch (e) {
          expect(e).toEqual(new Error(`invalid IPv4 address "${s}"`));
          return;
        }
        expect(formatIPv4(n)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('CIDR', () => {
  it('test_parse', () => {
    expect(parseCidr('10.0.0.5/24')).toEqual({ addr: 0x0a000005, plen: 24 }); // host bits kept
    expect(parseCidr('0.0.0.0/0')).toEqual({ addr: 0, plen: 0 });
    expect(parseCidr('10.1.2.3')).toEqual({ addr: 0x0a010203, plen: 32 });
    expect(parseCidr('10.1.2.3/32')).toEqual({ addr: 0x0a010203, plen: 32 });
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/24/1', '/24', '10.0.0/24', '10.0.0.0/ 24', '10.0.0.0 /24', '10.0.0.0/2a', ''])('rejects %j', (s) => {
    expect(() => parseCidr(s)).toThrow(new Error(`invalid CIDR "${s}"`));
  });

  it('masks, networks and broadcasts', () => {
    expect(maskOf(0)).toBe(0);
    expect(maskOf(8)).toBe(0xff000000);
    expect(maskOf(24)).toBe(0xffffff00);
    expect(maskOf(32)).toBe(0xffffffff);
    expect(networkOf(0x0a000105, 24)).toBe(0x0a000100);
    expect(broadcastOf(0x0a000105, 24)).toBe(0x0a0001ff);
    expect(broadcastOf(0xc0a80001, 0)).toBe(0xffffffff);
    expect(inPrefix(0x0a0001ff, 0x0a000100, 24)).toBe(true);
    expect(inPrefix(0x0a000200, 0x0a000100, 24)).toBe(false);
    expect(inPrefix(0x01020304, 0, 0)).toBe(true);
    expect(inPrefix(0x0a000101, 0x0a000105, 24)).toBe(true); // host bits of net ignored
    expect(formatCidr(0x0a000005, 24)).toBe('10.0.0.5/24');
    expect(() => maskOf(33)).toThrow();
    expect(() => maskOf(-1)).toThrow();
  });

  it('round trips and prefix arithmetic agree', () => {
    const plen = fc.integer({ min: 0, max: 32 });
    fc.assert(
      fc.property(u32, plen, u32, (addr, len, other) => {
        const s = formatCidr(addr, len);
        expect(parseCidr(s)).toEqual({ addr, plen: len });
        const net = networkOf(addr, len);
        const bcast = broadcastOf(addr, len);
        expect(net).toBeGreaterThanOrEqual(0);
        expect(bcast - net).toBe(2 ** (32 - len) - 1);
        expect(inPrefix(addr, net, len)).toBe(true);
        expect(inPrefix(other, net, len)).toBe(other >= net && other <= bcast);
      }),
    );
  });

  it('accepts exactly the canonical forms', () => {
    const chars = fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '9', '.', '/', ' ', '-'), maxLength: 18 });
    fc.assert(
      fc.property(chars, (s) => {
        let c: { addr: number; plen: number };
        try {
          c = parseCidr(s);
        } catch (e) {
          expect(e).toEqual(new Error(`invalid CIDR "${s}"`));
          return;
        }
        expect(s.includes('/') ? formatCidr(c.addr, c.plen) : formatIPv4(c.addr)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('MAC addresses', () => {
  it('test_parse / test_format', () => {
    expect(parseMac('02:00:00:00:00:01')).toEqual(new Uint8Array([2, 0, 0, 0, 0, 1]));
    expect(parseMac('AA:bb:Cc:dD:ee:FF')).toEqual(new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
    expect(formatMac([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])).toBe('aa:bb:cc:dd:ee:ff');
    expect(formatMac(new Uint8Array([9, 9, 1, 2, 3, 4, 5, 6]), 2)).toBe('01:02:03:04:05:06');
    expect(() => formatMac([1, 2, 3])).toThrow();
    expect(formatMac(parseMac(BROADCAST_MAC))).toBe('ff:ff:ff:ff:ff:ff');
  });

  it.each(['', '02:00:00:00:00', '02:00:00:00:00:01:02', '2:0:0:0:0:1', '02-00-00-00-00-01', '0200.0000.0001', '02:00:00:00:00:0g', ' 02:00:00:00:00:01', '02:00:00:00:00:01\n'])(
    'rejects %j',
    (s) => {
      expect(() => parseMac(s)).toThrow(new Error(`invalid MAC address "${s}"`));
    },
  );

  it('multicast bit', () => {
    expect(isMulticastMac(parseMac(BROADCAST_MAC))).toBe(true);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isMulticastMac('33:33:00:00:00:01')).toBe(true);
    expect(isMulticastMac(parseMac('02:00:00:00:00:01'))).toBe(false);
    expect(isMulticastMac([0, 0, 1, 0, 0, 0, 0, 0], 2)).toBe(true);
  });

  it('round trips, in any case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.boolean(), (b, upper) => {
        const s = formatMac(b);
        expect(s).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        expect(parseMac(upper ? s.toUpperCase() : s)).toEqual(b);
      }),
    );
  });
});
