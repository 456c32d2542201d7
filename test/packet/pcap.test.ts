import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { echoReply, echoRequest, ipFrame, PcapWriter, readPcap, udpPacket } from '../../src/packet/index.js';
import { hex } from './arbitraries.js';

const HAVE_TSHARK = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

describe('pcap', () => {
  it('writes the classic global and record headers', () => {
    const w = new PcapWriter();
    w.add(1500.25, hex('01 02 03'));
    expect(w.bytes()).toEqual(
      hex(
        'd4 c3 b2 a1 02 00 04 00', // magic a1b2c3d4 (little-endian), version 2.4
        '00 00 00 00 00 00 00 00', // thiszone, sigfigs
        'ff ff 00 00 01 00 00 00', // snaplen 65535, linktype 1 (Ethernet)
        '01 00 00 00 1a a2 07 00', // 1 s, 500250 us (0x7a21a)
        '03 00 00 00 03 00 00 00', // incl_len, orig_len
        '01 02 03',
      ),
    );
  });

  it('truncates to snaplen but records the original length', () => {
    const w = new PcapWriter({ snaplen: 4 });
    w.add(0, hex('01 02 03 04 05 06'));
    const b = w.bytes();
    expect(b.subarray(16, 20)).toEqual(hex('04 00 00 00'));
    expect(b.subarray(32, 40)).toEqual(hex('04 00 00 00 06 00 00 00'));
    expect(readPcap(b)).toEqual([{ timeMs: 0, frame: hex('01 02 03 04') }]);
  });

  it('reads big-endian and nanosecond files', () => {
    const be = hex('a1 b2 c3 d4 00 02 00 04 00 00 00 00 00 00 00 00 00 00 ff ff 00 00 00 01', '00 00 00 02 00 00 00 07 00 00 00 01 00 00 00 01 ee');
    expect(readPcap(be)).toEqual([{ timeMs: 2000.007, frame: hex('ee') }]);
    const ns = hex('4d 3c b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 ff ff 00 00 01 00 00 00', '00 00 00 00 40 42 0f 00 01 00 00 00 01 00 00 00 ee');
    expect(readPcap(ns)).toEqual([{ timeMs: 1, frame: hex('ee') }]);
  });

  it('rejects malformed files', () => {
    expect(() => readPcap(new Uint8Array(10))).toThrow('pcap: truncated global header (10 bytes)');
    expect(() => readPcap(new Uint8Array(24))).toThrow(/bad magic/);
    const w = new PcapWriter();
    w.add(0, hex('01 02 03'));
    expect(() => readPcap(w.bytes().slice(0, 30))).toThrow(/truncated record header/);
    expect(() => readPcap(w.bytes().slice(0, 42))).toThrow(/truncated frame/);
  });

  it('write/read round trip', () => {
    const record = fc.record({ timeMs: fc.integer({ min: 0, max: 4e12 }), frame: fc.uint8Array({ maxLength: 200 }) });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 10 }), (recs) => {
        const w = new PcapWriter();
        for (const r of recs) w.add(r.timeMs, r.frame);
        expect(readPcap(w.bytes())).toEqual(recs.map((r) => ({ ...r })));
      }),
    );
  });

  it('keeps microseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e15 }), (usec) => {
        const w = new PcapWriter();
        w.add(usec / 1000, new Uint8Array(1));
        expect(readPcap(w.bytes())[0].timeMs).toBeCloseTo(usec / 1000, 3);
      }),
    );
  });

  it.skipIf(!HAVE_TSHARK)('tshark reads the crafted frames', () => {
    const w = new PcapWriter();
    w.add(0, ipFrame(B, A, echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 })));
    w.add(1, ipFrame(A, B, echoReply({ src: '10.0.0.2', dst: '10.0.0.1', id: 1, seq: 1 })));
    w.add(2, ipFrame(B, A, udpPacket({ src: '10.0.0.1', dst: '10.0.0.3', sport: 1, dport: 9, size: 4 })));
    const dir = mkdtempSync(join(tmpdir(), 'podnet-pcap-'));
    try {
      const file = join(dir, 'crafted.pcap');
      writeFileSync(file, w.bytes());
      const out = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'], { encoding: 'utf8' });
      expect(out.status).toBe(0);
      expect(out.stdout.replace(/\n+$/, '').split('\n')).toEqual(['10.0.0.1\t10.0.0.2\t8', '10.0.0.2\t10.0.0.1\t0', '10.0.0.1\t10.0.0.3\t']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
