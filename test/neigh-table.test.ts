// The neighbour table under pressure (net/core/neighbour.c): every unresolved
// entry retried and failed on time whatever their number, the table bounded by
// gc_thresh1/2/3, queues bounded per entry and per host, and no batch refused
// an entry below gc_thresh3 because the table had not been grown yet.
import { describe, it, expect } from 'vitest';
import { Host, type HostOptions } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { mainContext } from '../src/engine/context.js';
import { udpPacket, ipFrame, arpFrame, decode } from '../src/packet/index.js';

const MAC0 = '02:00:00:00:00:01';
const PEER = '02:00:00:00:00:02';

/** A router: eth0 10.0.0.1/24 (the senders), eth1 10.1.0.1/16 (the unresolved next hops). */
async function router(opts: Partial<HostOptions> = {}) {
  const engine = new Engine();
  const h = await Host.create({ name: 'r', forwarding: true, engine, ...opts });
  h.link.add({ name: 'eth0', type: 'ether', mac: MAC0 });
  h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('eth1', '10.1.0.1/16');
  return { h, engine };
}

/** A UDP frame from 10.0.0.2 to 10.1.x.y, to be forwarded out of eth1. */
const toHop = (i: number, size = 8) => ({
  link: 'eth0',
  frame: ipFrame(MAC0, PEER, udpPacket({ src: '10.0.0.2', dst: `10.1.${((i + 1) >> 8) & 0xff}.${(i + 1) & 0xff}`, sport: 1, dport: 2, size })),
});

/** An ARP request for our address from sender 10.0.x.y (x.y from i), as a flood would send. */
const arpFrom = (i: number) => ({
  link: 'eth0',
  frame: arpFrame({ op: 1, sha: `02:01:00:${hex2(i >> 16)}:${hex2(i >> 8)}:${hex2(i)}`, spa: `10.${100 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`, tpa: '10.0.0.1' }),
});
const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');

const arpRequests = (outs: ReturnType<Host['receive']>) => outs.filter((o) => o.kind === 'tx' && decode(o.frame).arp?.op === 1).length;
const drops = (outs: ReturnType<Host['receive']>, reason: string) => outs.filter((o) => o.kind === 'drop' && o.reason === reason).length;

function conserved(h: Host) {
  const f = h.stats().fates;
  return f.in + f.originated + f.generated === f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued);
}

describe('unresolved next hops: retried and failed on time, whatever their number', () => {
  it('200 unresolved next hops each get 3 requests, 1 s apart, then FAILED with their queues dropped', async () => {
    const { h, engine } = await router();
    const n = 200;
    const frames = Array.from({ length: n }, (_, i) => toHop(i));
    expect(arpRequests(h.receive(frames, 0))).toBe(n);
    expect(h.neigh.list().filter((e) => e.state === 'INCOMPLETE')).toHaveLength(n);
    expect(arpRequests(h.tick(1000))).toBe(n);
    expect(arpRequests(h.tick(2000))).toBe(n);
    const out = h.tick(3000);
    expect(arpRequests(out)).toBe(0);
    expect(drops(out, 'NEIGH_FAILED')).toBe(n);
    expect(h.neigh.list().filter((e) => e.state === 'FAILED')).toHaveLength(n);
    const f = h.stats().fates;
    expect(f.queued - f.dequeued).toBe(0);
    expect(conserved(h)).toBe(true);
    const ctx = mainContext(engine);
    expect(ctx.free).toBe(ctx.capacity);
  });

  it('a long gap fires every missed probe in turn, for every entry', async () => {
    const { h } = await router();
    h.receive(Array.from({ length: 100 }, (_, i) => toHop(i)), 0);
    const out = h.tick(60_000);
    expect(arpRequests(out)).toBe(200);
    expect(drops(out, 'NEIGH_FAILED')).toBe(100);
  });
});

describe('the table is bounded like Linux (gc_thresh1/2/3)', () => {
  it('defaults to 128/512/1024 and can be set per host, at creation and later', async () => {
    const { h } = await router();
    expect(h.neigh.params()).toMatchObject({ gcThresh1: 128, gcThresh2: 512, gcThresh3: 1024 });
    const { h: g } = await router({ neigh: { gcThresh1: 4, gcThresh2: 8, gcThresh3: 16 } });
    expect(g.neigh.params()).toMatchObject({ gcThresh1: 4, gcThresh2: 8, gcThresh3: 16 });
    g.neigh.setParams({ gcThresh3: 32 });
    expect(g.neigh.params()).toMatchObject({ gcThresh1: 4, gcThresh2: 8, gcThresh3: 32 });
  });

  it('an ARP flood from 20,000 senders never grows the table past gc_thresh3', async () => {
    const { h } = await router();
    let replies = 0;
    for (let t = 0; t < 20; t++) {
      const out = h.receive(Array.from({ length: 1000 }, (_, i) => arpFrom(t * 1000 + i + 2)), t * 10);
      replies += out.filter((o) => o.kind === 'tx').length;
    }
    // Every request is answered; only the cache stops growing.
    expect(replies).toBe(20_000);
    expect(h.neigh.list().length).toBeLessThanOrEqual(1024);
    expect(h.neigh.list().length).toBeGreaterThanOrEqual(512);
  });

  it('above gc_thresh3 no new entry is made while none can be collected: NEIGH_CREATEFAIL', async () => {
    const { h } = await router({ neigh: { gcThresh1: 2, gcThresh2: 4, gcThresh3: 8 } });
    const out = h.receive(Array.from({ length: 12 }, (_, i) => toHop(i)), 0);
    // INCOMPLETE entries are held by their timers: nothing to collect.
    expect(drops(out, 'NEIGH_CREATEFAIL')).toBe(4);
    expect(h.neigh.list()).toHaveLength(8);
  });

  it('forced gc (neigh_forced_gc) makes room from FAILED and unused entries, oldest first', async () => {
    const { h } = await router({ neigh: { gcThresh1: 2, gcThresh2: 4, gcThresh3: 8 } });
    h.receive(Array.from({ length: 8 }, (_, i) => toHop(i)), 0);
    h.tick(3000); // all 8 FAILED
    const out = h.receive(Array.from({ length: 8 }, (_, i) => toHop(100 + i)), 3000);
    expect(drops(out, 'NEIGH_CREATEFAIL')).toBe(0);
    const ips = h.neigh.list().map((e) => e.ip);
    expect(ips.length).toBeLessThanOrEqual(8);
    expect(ips).toEqual(expect.arrayContaining(Array.from({ length: 8 }, (_, i) => `10.1.0.${100 + i + 1}`)));
  });

  it('permanent entries are exempt: neither counted against gc_thresh3 nor collected', async () => {
    const { h } = await router({ neigh: { gcThresh1: 1, gcThresh2: 2, gcThresh3: 2 } });
    for (let i = 0; i < 5; i++) h.neigh.add({ ip: `10.1.9.${i + 1}`, mac: `02:00:00:00:09:0${i}`, dev: 'eth1' });
    const out = h.receive([toHop(0), toHop(1)], 0);
    expect(drops(out, 'NEIGH_CREATEFAIL')).toBe(0);
    h.tick(100_000);
    expect(h.neigh.list().filter((e) => e.state === 'PERMANENT')).toHaveLength(5);
  });

  it('the periodic gc removes stale entries once the table holds gc_thresh1, and never below', async () => {
    const { h } = await router({ neigh: { gcThresh1: 4, gcThresh2: 512, gcThresh3: 1024 } });
    h.receive(Array.from({ length: 6 }, (_, i) => arpFrom(i + 2)), 0);
    expect(h.neigh.list()).toHaveLength(6);
    h.tick(59_999);
    expect(h.neigh.list()).toHaveLength(6); // not stale yet (gc_staletime 60 s)
    h.tick(75_000);
    expect(h.neigh.list()).toHaveLength(0);
    const { h: small } = await router({ neigh: { gcThresh1: 8, gcThresh2: 512, gcThresh3: 1024 } });
    small.receive(Array.from({ length: 6 }, (_, i) => arpFrom(i + 2)), 0);
    small.tick(300_000);
    expect(small.neigh.list()).toHaveLength(6); // below gc_thresh1: left alone
  });

  it('refuses thresholds that are not non-negative integers, changing nothing', async () => {
    const { h } = await router();
    const before = h.neigh.params();
    expect(() => h.neigh.setParams({ gcThresh3: -1 })).toThrow(/gcThresh3/);
    expect(() => h.neigh.setParams({ gcThresh1: 1.5 })).toThrow(/gcThresh1/);
    expect(() => h.neigh.setParams({ gcThresh2: 'x' as unknown as number })).toThrow(/gcThresh2/);
    expect(() => h.neigh.setParams({ unresQlenBytes: NaN })).toThrow(/unresQlenBytes/);
    expect(() => h.neigh.setParams({ bogus: 1 } as never)).toThrow(/bogus/);
    expect(h.neigh.params()).toEqual(before);
    await expect(router({ neigh: { gcThresh3: -5 } })).rejects.toThrow(/gcThresh3/);
  });
});

describe('queued packets are bounded per entry and per host', () => {
  it('an entry queues at most unres_qlen_bytes of buffers: the oldest makes room', async () => {
    const { h } = await router({ neigh: { unresQlenBytes: 4 * 2048 } });
    const out = h.receive(Array.from({ length: 6 }, () => toHop(7, 200)).map((f, i) => ({ ...f, tag: i })), 0);
    expect(out.filter((o) => o.kind === 'drop').map((o) => [o.reason, o.tag])).toEqual([['NEIGH_QUEUEFULL', 0], ['NEIGH_QUEUEFULL', 1]]);
    expect(h.neigh.list()).toMatchObject([{ state: 'INCOMPLETE', queued: 4 }]);
  });

  it('small packets count the small buffers they need: 808 tiny ones an entry', async () => {
    const { h } = await router();
    const out = h.receive(Array.from({ length: 810 }, () => toHop(3)), 0);
    expect(drops(out, 'NEIGH_QUEUEFULL')).toBe(2);
    expect(h.neigh.list()).toMatchObject([{ queued: 808 }]);
  });

  it('101 full-size frames per entry by default (unres_qlen)', async () => {
    const { h } = await router();
    const out = h.receive(Array.from({ length: 110 }, () => toHop(3, 1400)), 0);
    expect(drops(out, 'NEIGH_QUEUEFULL')).toBe(9);
    expect(h.neigh.list()).toMatchObject([{ queued: 101 }]);
  });

  it('all entries of a host together hold at most unresHostBytes: new packets beyond are dropped', async () => {
    const { h } = await router({ neigh: { unresHostBytes: 10 * 2048 } });
    const out = h.receive(Array.from({ length: 30 }, (_, i) => toHop(i % 5, 200)), 0);
    expect(drops(out, 'NEIGH_QUEUEFULL')).toBe(20);
    expect(h.neigh.list().reduce((s, e) => s + e.queued, 0)).toBe(10);
    expect(conserved(h)).toBe(true);
  });

  it('the default host bound keeps a flood of unresolved traffic to a small share of the pool', async () => {
    const { h, engine } = await router();
    const ctx = mainContext(engine);
    for (let k = 0; k < 20; k++) h.receive(Array.from({ length: 256 }, (_, i) => toHop((k * 256 + i) % 300, 1000)), 0);
    const f = h.stats().fates;
    expect(f.queued - f.dequeued).toBeLessThanOrEqual(ctx.buffers / 32);
    expect(ctx.free + (f.queued - f.dequeued)).toBe(ctx.capacity);
  });
});

describe('table growth never refuses an entry below gc_thresh3', () => {
  it('one batch of 256 new next hops on a fresh host: every one resolved, none refused', async () => {
    const { h } = await router();
    const out = h.receive(Array.from({ length: 256 }, (_, i) => toHop(i)), 0);
    expect(drops(out, 'NEIGH_CREATEFAIL')).toBe(0);
    expect(arpRequests(out)).toBe(256);
  });

  it('the fast path (Host.process) grows ahead of the batch too', async () => {
    const { h, engine } = await router();
    const ctx = mainContext(engine);
    ctx.recordDrops = false;
    for (let i = 0; i < 256; i++) ctx.setInput(i, 0, 0, toHop(i).frame, i);
    const n = h.process(ctx, 256, 0);
    for (let i = 0; i < n; i++) ctx.freeBuffer(ctx.readOutput(i).buf);
    expect(h.stats().drops.NEIGH_CREATEFAIL ?? 0).toBe(0);
    expect(h.neigh.list()).toHaveLength(256);
  });

  it('a host with one or two neighbours keeps a small table', async () => {
    const { h } = await router();
    h.receive([toHop(1), toHop(2)], 0);
    expect(h.neighTableBytes).toBeLessThanOrEqual(16 * 48);
  });

  it('waiting packets survive the table being rehashed, and still leave in order', async () => {
    const { h } = await router();
    h.receive([{ ...toHop(5), tag: 99 }], 0);
    for (let k = 0; k < 4; k++) h.receive(Array.from({ length: 100 }, (_, i) => arpFrom(k * 100 + i + 2)), 10);
    const reply = arpFrame({ op: 2, sha: '02:00:00:00:01:09', spa: '10.1.0.6', tha: '02:00:00:00:01:01', tpa: '10.1.0.1', dst: '02:00:00:00:01:01' });
    const out = h.receive([{ link: 'eth1', frame: reply }], 20);
    expect(out.map((o) => o.kind === 'tx' && [o.link, o.tag])).toEqual([['eth1', 99]]);
    h.tick(3000);
    expect(h.stats().drops.NEIGH_FAILED ?? 0).toBe(0);
  });
});
