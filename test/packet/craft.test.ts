import fc from 'fast-check';
import { describe as group, expect, it } from 'vitest';
import {
  arpFrame,
  decode,
  decodeIp,
  describe,
  describeIp,
  echoReply,
  echoRequest,
  ethernetFrame,
  formatTcpFlags,
  icmpError,
  ipFrame,
  ipv4Packet,
  parseIpv4,
  parseTcpFlags,
  tcpPacket,
  udpPacket,
} from '../../src/packet/index.js';
import { hex } from './arbitraries.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

group('builders', () => {
  it('echoRequest builds a checksummed IPv4 packet with 56 data bytes by default', () => {
    const p = echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 });
    expect(p.length).toBe(20 + 8 + 56);
    const d = decodeIp(p);
    expect(d.error).toBeUndefined();
    expect(d.ip).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1, ttl: 64, id: 0, df: false, checksumOk: true });
    expect(d.icmp).toMatchObject({ type: 8, code: 0, id: 1, seq: 1, checksumOk: true });
    expect(d.icmp!.data.length).toBe(56);
  });

  it('echoRequest matches hand-checked bytes', () => {
    // ICMP checksum 0x6668 and IP checksum 0x26d7 computed by hand (see icmp.test.ts).
    const p = echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1, df: true, data: new TextEncoder().encode('abcdefgh') });
    expect(p).toEqual(hex('45 00 00 24 00 00 40 00 40 01 26 d7 0a 00 00 01 0a 00 00 02', '08 00 66 68 00 01 00 01 61 62 63 64 65 66 67 68'));
  });

  it('echoReply honours ttl, df, tos and size', () => {
    const p = echoReply({ src: '10.0.0.2', dst: '10.0.0.1', id: 9, seq: 3, ttl: 7, df: true, tos: 0x10, size: 0 });
    const d = decodeIp(p);
    expect(d.ip).toMatchObject({ ttl: 7, df: true, tos: 0x10, totalLength: 28 });
    expect(d.icmp).toMatchObject({ type: 0, id: 9, seq: 3 });
  });

  it('ipv4Packet fills defaults even when optional fields are explicitly undefined', () => {
    const p = ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 47, ttl: undefined }, hex('01'));
    expect(parseIpv4(p)).toMatchObject({ ttl: 64, id: 0, tos: 0, df: false, mf: false, fragOffset: 0, proto: 47 });
  });

  it('udpPacket uses payload, or size pattern bytes', () => {
    const a = decodeIp(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 53, payload: hex('aa bb'), id: 5 }));
    expect(a.udp).toMatchObject({ sport: 1234, dport: 53, payload: hex('aa bb'), checksumOk: true });
    expect(a.ip!.id).toBe(5);
    const b = decodeIp(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, size: 300 }));
    expect(b.udp!.payload.length).toBe(300);
  });

  it('tcpPacket parses flag strings', () => {
    const d = decodeIp(tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, flags: 'SA', seq: 5, ack: 6 }));
    expect(d.tcp).toMatchObject({ seq: 5, ack: 6, window: 65535, checksumOk: true });
    expect(d.tcp!.flags).toEqual({ syn: true, ack: true, rst: false, fin: false, psh: false, urg: false });
    expect(formatTcpFlags(parseTcpFlags('S'))).toBe('S');
    expect(formatTcpFlags(parseTcpFlags('SA'))).toBe('S.');
    expect(formatTcpFlags(parseTcpFlags('RA'))).toBe('R.');
    expect(formatTcpFlags(parseTcpFlags('PA'))).toBe('P.');
    expect(formatTcpFlags(parseTcpFlags('A'))).toBe('.');
    expect(formatTcpFlags(parseTcpFlags(''))).toBe('none');
    expect(() => parseTcpFlags('SX')).toThrow('invalid TCP flags "SX"');
  });

  it('arpFrame defaults the Ethernet destination', () => {
    const req = decode(arpFrame({ op: 1, sha: B, spa: '10.0.0.2', tpa: '10.0.0.1' }));
    expect(req.eth).toMatchObject({ dst: 'ff:ff:ff:ff:ff:ff', src: B, ethertype: 0x0806 });
    expect(req.arp).toEqual({ op: 1, sha: B, spa: '10.0.0.2', tha: '00:00:00:00:00:00', tpa: '10.0.0.1' });
    const rep = decode(arpFrame({ op: 2, sha: A, spa: '10.0.0.1', tha: B, tpa: '10.0.0.2' }));
    expect(rep.eth).toMatchObject({ dst: B, src: A });
    const uni = decode(arpFrame({ op: 1, sha: B, spa: '10.0.0.2', tha: A, tpa: '10.0.0.1', dst: A }));
    expect(uni.eth!.dst).toBe(A);
    expect(() => arpFrame({ op: 2, sha: A, spa: '10.0.0.1', tpa: '10.0.0.2' })).toThrow('arpFrame: a reply needs tha');
  });

  it('arpFrame matches the bytes of a real request', () => {
    expect(arpFrame({ op: 1, sha: B, spa: '10.0.0.2', tpa: '10.0.0.1' })).toEqual(
      hex('ff ff ff ff ff ff 02 00 00 00 00 02 08 06', '00 01 08 00 06 04 00 01 02 00 00 00 00 02 0a 00 00 02 00 00 00 00 00 00 0a 00 00 01'),
    );
  });

  it('ipFrame and ethernetFrame', () => {
    const ip = echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 });
    expect(ipFrame(B, A, ip)).toEqual(ethernetFrame({ dst: B, src: A, ethertype: 0x0800 }, ip));
    expect(ipFrame(B, A, ip).subarray(12, 14)).toEqual(hex('08 00'));
  });
});

group('decode', () => {
  it('decodes ICMP errors with the quoted header', () => {
    const orig = udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 12345, dport: 53, size: 1472, df: true });
    const err = icmpError({ src: '10.0.0.254', dst: '10.0.0.1', type: 3, code: 4, rest: 1400, original: orig });
    expect(err.length).toBe(20 + 8 + 28);
    const d = decode(ipFrame(A, B, err));
    expect(d.error).toBeUndefined();
    expect(d.icmp).toMatchObject({ type: 3, code: 4, rest: 1400, checksumOk: true });
    expect(d.quoted!.ip).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, totalLength: 1500, checksumOk: true });
    expect(d.quoted!.udp).toMatchObject({ sport: 12345, dport: 53, length: 1480 });

    const tcp = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 'S', seq: 77 });
    const te = decodeIp(icmpError({ src: '10.0.0.254', dst: '10.0.0.1', type: 11, code: 0, original: tcp }));
    expect(te.quoted!.tcp).toEqual({ sport: 1, dport: 2, seq: 77 });

    const ping = echoRequest({ src: '10.0.0.1', dst: '10.0.0.9', id: 4, seq: 2 });
    const pe = decodeIp(icmpError({ src: '10.0.0.254', dst: '10.0.0.1', type: 3, code: 1, original: ping }));
    expect(pe.quoted!.icmp).toMatchObject({ type: 8, id: 4, seq: 2 });
  });

  it('decodes IPIP and does not parse transport headers of fragments', () => {
    const inner = udpPacket({ src: '192.168.1.1', dst: '192.168.2.1', sport: 5, dport: 6 });
    const outer = ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 4 }, inner);
    const d = decodeIp(outer);
    expect(d.inner!.udp).toMatchObject({ sport: 5, dport: 6, checksumOk: true });
    const frag = ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, mf: true, id: 9 }, new Uint8Array(16));
    const f = decodeIp(frag);
    expect(f.udp).toBeUndefined();
    expect(f.error).toBeUndefined();
  });

  it('reports the first malformed layer', () => {
    expect(decode(new Uint8Array(5))).toEqual({ error: 'Ethernet header: truncated (5 bytes, need 14)' });
    const ping = echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 });
    const d = decode(ipFrame(A, B, ping.slice(0, 30)));
    expect(d.eth).toBeDefined();
    expect(d.ip).toBeUndefined();
    expect(d.error).toBe('IPv4: total length 84 exceeds packet (30 bytes)');
    const udp = udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, size: 4 });
    udp[25] = 200; // UDP length beyond the IP payload
    const u = decodeIp(udp);
    expect(u.ip).toBeDefined();
    expect(u.error).toBe('UDP: length field 200 exceeds datagram (12 bytes)');
  });
});

group('describe', () => {
  const ping = echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 });
  it.each<[string, Uint8Array, string]>([
    ['ARP request', arpFrame({ op: 1, sha: A, spa: '10.0.0.2', tpa: '10.0.0.1' }), `${A} > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.1 tell 10.0.0.2`],
    ['ARP reply', arpFrame({ op: 2, sha: B, spa: '10.0.0.1', tha: A, tpa: '10.0.0.2' }), `${B} > ${A} ARP reply 10.0.0.1 is-at ${B}`],
    ['echo request', ipFrame(B, A, ping), '10.0.0.1 > 10.0.0.2 ICMP echo request id 1 seq 1 ttl 64'],
    ['echo reply', ipFrame(A, B, echoReply({ src: '10.0.0.2', dst: '10.0.0.1', id: 1, seq: 1, df: true })), '10.0.0.2 > 10.0.0.1 ICMP echo reply id 1 seq 1 ttl 64 DF'],
    ['UDP', ipFrame(B, A, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 53, size: 4 })), '10.0.0.1.1234 > 10.0.0.2.53 UDP len 4 ttl 64'],
    ['TCP SYN', ipFrame(B, A, tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, flags: 'S', seq: 1 })), '10.0.0.1.40000 > 10.0.0.2.80 TCP [S] seq 1 win 65535 len 0 ttl 64'],
    ['TCP SYN-ACK', ipFrame(A, B, tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, flags: 'SA', seq: 9, ack: 2 })), '10.0.0.2.80 > 10.0.0.1.40000 TCP [S.] seq 9 ack 2 win 65535 len 0 ttl 64'],
    [
      'need-frag',
      ipFrame(A, B, icmpError({ src: '10.0.0.254', dst: '10.0.0.1', type: 3, code: 4, rest: 1400, original: udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 7, dport: 53, size: 1472 }) })),
      '10.0.0.254 > 10.0.0.1 ICMP unreachable need-frag mtu 1400 [10.0.0.1.7 > 10.0.0.2.53 UDP] ttl 64',
    ],
    [
      'time exceeded',
      ipFrame(A, B, icmpError({ src: '10.0.0.254', dst: '10.0.0.1', type: 11, code: 0, original: ping })),
      '10.0.0.254 > 10.0.0.1 ICMP time exceeded in-transit [10.0.0.1 > 10.0.0.2 ICMP type 8 id 1 seq 1] ttl 64',
    ],
    ['IPIP', ipFrame(A, B, ipv4Packet({ src: '172.16.0.1', dst: '172.16.0.2', proto: 4 }, ping)), '172.16.0.1 > 172.16.0.2 IPIP ttl 64: 10.0.0.1 > 10.0.0.2 ICMP echo request id 1 seq 1 ttl 64'],
    ['fragment', ipFrame(A, B, ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: 7, fragOffset: 1480 }, new Uint8Array(20))), '10.0.0.1 > 10.0.0.2 UDP frag id 7 off 1480 len 20 ttl 64'],
    ['IPv6 ethertype', ethernetFrame({ dst: A, src: B, ethertype: 0x86dd }, new Uint8Array(40)), `${B} > ${A} ethertype 0x86dd len 40`],
    ['runt', new Uint8Array(3), 'malformed frame: Ethernet header: truncated (3 bytes, need 14)'],
  ])('%s', (_name, frame, want) => {
    expect(describe(frame)).toBe(want);
  });

  it('flags bad checksums', () => {
    const p = ping.slice();
    p[10] ^= 1;
    expect(describeIp(p)).toBe('10.0.0.1 > 10.0.0.2 ICMP echo request id 1 seq 1 ttl 64 bad-ip-cksum');
    const q = ping.slice();
    q[30] ^= 1;
    expect(describeIp(q)).toBe('10.0.0.1 > 10.0.0.2 ICMP echo request id 1 seq 1 bad-cksum ttl 64');
  });
});

group('decode never throws', () => {
  const valid: Uint8Array[] = [
    arpFrame({ op: 1, sha: A, spa: '10.0.0.2', tpa: '10.0.0.1' }),
    ipFrame(B, A, echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1, size: 8 })),
    ipFrame(B, A, udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 53, size: 6 })),
    ipFrame(B, A, tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80, flags: 'S', options: hex('02 04 05 b4') })),
    ipFrame(B, A, icmpError({ src: '10.0.0.9', dst: '10.0.0.1', type: 3, code: 3, original: udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }) })),
    ipFrame(B, A, ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 4 }, echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1, size: 4 }))),
    ipFrame(B, A, ipv4Packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 47, options: hex('01 01 01 00') }, new Uint8Array(8))),
  ];

  const check = (frame: Uint8Array) => {
    const d = decode(frame);
    expect(typeof describe(frame)).toBe('string');
    expect(d.eth !== undefined || d.error !== undefined).toBe(true);
  };

  it('valid frames decode without errors', () => {
    for (const f of valid) expect(decode(f).error).toBeUndefined();
  });

  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { numRuns: 10_000 });
  });

  it('on random bytes behind an IPv4 or ARP Ethernet header', () => {
    const body = fc.uint8Array({ maxLength: 100 });
    fc.assert(
      fc.property(fc.constantFrom(0x0800, 0x0806), body, (ethertype, b) => check(ethernetFrame({ dst: A, src: B, ethertype }, b))),
      { numRuns: 10_000 },
    );
  });

  it('on random mutations of valid frames', () => {
    const mutation = fc.record({
      frame: fc.constantFrom(...valid),
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ frame, writes, cut }) => {
        let f = frame.slice();
        for (const [at, v] of writes) f[at % f.length] = v;
        if (cut !== undefined) f = f.slice(0, cut % (f.length + 1));
        check(f);
      }),
      { numRuns: 10_000 },
    );
  });
});
