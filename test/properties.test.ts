// Invariants of everything the engine emits, over random topologies and
// traffic: headers it writes carry valid checksums, and TTL never grows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { internetChecksum, pseudoHeaderSum } from '../src/packet/index.js';
import { applyTopology, arbScenario, type HostLike } from './arb/topology.js';
import { batches, runBatch, type DataPlaneLike } from './model/drive.js';

const GENERATED = 0xffffffff;

interface Ip {
  ttl: number;
  ihl: number;
  proto: number;
  headerOk: boolean;
  fragment: boolean;
  l4: Uint8Array;
  src: number;
  dst: number;
}

/** The IPv4 header of an Ethernet frame (or of a bare packet at offset 0), if whole. */
function ipOf(bytes: Uint8Array, off: number): Ip | undefined {
  if (bytes.length < off + 20 || bytes[off] >> 4 !== 4) return undefined;
  const ihl = (bytes[off] & 15) * 4;
  const tot = (bytes[off + 2] << 8) | bytes[off + 3];
  if (ihl < 20 || bytes.length < off + tot || tot < ihl) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  return {
    ttl: bytes[off + 8],
    ihl,
    proto: bytes[off + 9],
    headerOk: internetChecksum(bytes, off, off + ihl) === 0,
    fragment: (dv.getUint16(off + 6) & 0x3fff) !== 0,
    l4: bytes.subarray(off + ihl, off + tot),
    src: dv.getUint32(off + 12),
    dst: dv.getUint32(off + 16),
  };
}

function ethIp(frame: Uint8Array): Ip | undefined {
  return frame.length >= 14 && frame[12] === 0x08 && frame[13] === 0x00 ? ipOf(frame, 14) : undefined;
}

describe('properties of what the engine emits', () => {
  it('IPv4 headers it writes have valid checksums, and so do the ICMP and TCP packets it makes; TTL never grows', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(arbScenario(16), async (sc) => {
        const host = (await Host.create({ name: 'prop', forwarding: sc.topology.forwarding })) as unknown as HostLike & DataPlaneLike;
        applyTopology(sc.topology, host);
        const inputTtl = new Map<number, { ttl: number; frame: Uint8Array }>();
        for (const b of batches(sc.events)) {
          if (b.kind === 'receive') {
            for (const f of b.frames) {
              const ip = ethIp(f.frame);
              if (ip) inputTtl.set(f.tag, { ttl: ip.ttl, frame: f.frame });
            }
          }
          for (const o of await runBatch(host, b)) {
            if (o.kind !== 'tx') continue;
            const ip = ethIp(o.frame);
            if (!ip) continue;
            const input = inputTtl.get(o.tag >>> 0);
            const untouched = input !== undefined && input.frame.length === o.frame.length && input.frame.every((x, i) => x === o.frame[i]);
            if (!untouched) {
              checked++;
              expect(ip.headerOk, 'an IPv4 header the engine wrote has a bad checksum').toBe(true);
            }
            if (input) expect(ip.ttl).toBeLessThanOrEqual(input.ttl);
            if (o.tag >>> 0 === GENERATED && !ip.fragment) {
              if (ip.proto === 1) expect(internetChecksum(ip.l4), 'generated ICMP checksum').toBe(0);
              if (ip.proto === 6) {
                const sum = pseudoHeaderSum(ip.src, ip.dst, 6, ip.l4.length);
                expect(internetChecksum(ip.l4, 0, ip.l4.length, sum), 'generated TCP checksum').toBe(0);
              }
            }
          }
        }
      }),
      { numRuns: 300, seed: 0x77a1 },
    );
    expect(checked).toBeGreaterThan(100); // the property saw real rewritten and generated packets
  });
});
