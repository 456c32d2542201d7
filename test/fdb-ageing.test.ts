// Bridge FDB ageing on the bridge's clock (br_fdb_cleanup): an entry older
// than the ageing time is gone everywhere, whether or not anyone looked it up,
// and the outcome never depends on when a sweep ran.
import { describe, it, expect } from 'vitest';
import { Host, type Output } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { ipFrame, udpPacket } from '../src/packet/index.js';

const mac = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;
const frame = (src: number, dst: number) => ipFrame(mac(dst), mac(src), udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));

async function bridge(fdbMax = 2, ageingMs = 300_000) {
  const h = await Host.create({ name: 'br', engine: new Engine() });
  h.link.add({ name: 'br0', type: 'bridge', fdbMax, ageingMs });
  for (const p of ['p0', 'p1', 'p2']) h.link.add({ name: p, type: 'veth', master: 'br0' });
  return h;
}

const ports = (outs: Output[]) => outs.map((o) => (o.kind === 'tx' ? o.link : o.kind === 'drop' ? o.reason : o.kind));

describe('FDB ageing', () => {
  it('with the FDB full, a MAC that appears after the old ones aged is learned', async () => {
    const h = await bridge(2);
    h.receive([{ link: 'p0', frame: frame(1, 9) }, { link: 'p1', frame: frame(2, 9) }], 0);
    expect(h.fdb.list('br0', 0)).toHaveLength(2);
    // 400 s later, nobody has looked 1 or 2 up; 3 appears on p2 and must be learned.
    h.receive([{ link: 'p2', frame: frame(3, 9) }], 400_000);
    expect(h.fdb.list('br0', 400_000).map((e) => [e.mac, e.dev])).toEqual([[mac(3), 'p2']]);
    expect(h.stats().stages.bridge_fdb_full ?? 0).toBe(0);
    // Traffic to 3 now goes to p2 alone instead of flooding forever.
    expect(ports(h.receive([{ link: 'p0', frame: frame(4, 3) }], 400_001))).toEqual(['p2']);
  });

  it('an aged entry is absent from fdb.list without any lookup', async () => {
    const h = await bridge(8, 1000);
    h.receive([{ link: 'p0', frame: frame(1, 9) }], 0);
    h.receive([{ link: 'p1', frame: frame(2, 9) }], 600);
    expect(h.fdb.list('br0', 999).map((e) => e.mac)).toEqual([mac(1), mac(2)]);
    expect(h.fdb.list('br0', 1000).map((e) => e.mac)).toEqual([mac(2)]);
    // Without a time, the list is as of the host's clock (the last time it was given).
    h.tick(1600);
    expect(h.fdb.list('br0')).toEqual([]);
  });

  it('relearning an aged MAC counts as learning it anew', async () => {
    const h = await bridge(8, 1000);
    h.receive([{ link: 'p0', frame: frame(1, 9) }], 0);
    h.receive([{ link: 'p1', frame: frame(1, 9) }], 5000);
    expect(h.stats().stages.bridge_learned).toBe(2);
    expect(h.fdb.list('br0', 5000).map((e) => [e.mac, e.dev, e.ageMs])).toEqual([[mac(1), 'p1', 0]]);
  });

  it('a full FDB still refuses a new MAC while its entries are live, and only then', async () => {
    const h = await bridge(2, 1000);
    h.receive([{ link: 'p0', frame: frame(1, 9) }], 0);
    h.receive([{ link: 'p1', frame: frame(2, 9) }], 500);
    h.receive([{ link: 'p2', frame: frame(3, 9) }], 999);
    expect(h.stats().stages.bridge_fdb_full).toBe(1);
    h.receive([{ link: 'p2', frame: frame(3, 9) }], 1000); // 1 has aged: room for one
    h.receive([{ link: 'p2', frame: frame(4, 9) }], 1000); // 2 is still live: full again
    expect(h.stats().stages.bridge_fdb_full).toBe(2);
    expect(h.fdb.list('br0', 1000).map((e) => e.mac)).toEqual([mac(2), mac(3)]);
  });

  it('the outcome does not depend on when sweeps ran: lookups and ticks in between change nothing', async () => {
    const script = async (extra: boolean) => {
      const h = await bridge(3, 2000);
      const outs: string[] = [];
      const rx = (link: string, src: number, dst: number, now: number) => outs.push(...ports(h.receive([{ link, frame: frame(src, dst) }], now)));
      rx('p0', 1, 9, 0);
      rx('p1', 2, 9, 100);
      rx('p2', 3, 9, 200);
      if (extra) {
        // Time passing and lookups of the aged entries (from a zero source, which is never learned).
        h.tick(2050);
        const zero = ipFrame(mac(1), '00:00:00:00:00:00', udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));
        h.receive([{ link: 'p1', frame: zero }], 2050);
        h.fdb.list('br0');
      }
      rx('p2', 7, 1, 2050);
      rx('p1', 5, 2, 2150);
      rx('p0', 6, 3, 2150);
      rx('p0', 8, 9, 2250);
      const st = h.stats().stages;
      outs.push(JSON.stringify(h.fdb.list('br0', 2250)), `learned ${st.bridge_learned} full ${st.bridge_fdb_full ?? 0}`);
      return outs;
    };
    expect(await script(true)).toEqual(await script(false));
  });

  it('static and local entries never age', async () => {
    const h = await bridge(4, 1000);
    h.fdb.add({ mac: mac(5), dev: 'p1' });
    h.receive([{ link: 'p0', frame: frame(1, 9) }], 0);
    expect(ports(h.receive([{ link: 'p0', frame: frame(1, 5) }], 10_000_000))).toEqual(['p1']);
    expect(h.fdb.list('br0', 10_000_000).map((e) => [e.mac, e.static])).toEqual([[mac(1), false], [mac(5), true]]);
  });
});
