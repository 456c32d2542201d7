// A long run of one engine under everything at once: a Docker host with
// Docker's rules, two containers, a router and a server (one Network), fed
// valid, malformed and oversized traffic, floods of new MACs, neighbours and
// connections, and jumps of the virtual clock that expire them en masse.
// Afterwards every host still forwards, the buffer pool is whole, memory has
// stopped growing and every packet is accounted for.
import { describe, it, expect } from 'vitest';
import { buildDocker, HOST_IP, SERVER_IP } from '../src/scenarios/docker.js';
import { mainContext } from '../src/engine/context.js';
import { arpFrame, decodeIp, echoRequest, ipFrame, tcpPacket, udpPacket } from '../src/packet/index.js';
import type { Host } from '../src/host.js';

const ROUNDS = 240;
const EXPIRY_EVERY = 20; // rounds between jumps of the clock past every timeout (400 s)
const HOST_MAC = '02:00:c0:a8:00:0b';
const ROUTER_IN = '02:00:c0:a8:00:01'; // router eth0, on the Docker host's side
const ROUTER_OUT = '02:00:cb:00:71:01'; // router eth1, on the server's side
const SERVER_MAC = '02:00:cb:00:71:0a';
const DOCKER0 = '02:42:ac:11:00:01';
const WEB_MAC = '02:42:ac:11:00:02';
const DB_MAC = '02:42:ac:11:00:03';
/** Jumbo frames on the server's side: router eth1 and the server take 9000-byte MTUs. */
const JUMBO_MTU = 9000;
/** Longer than any buffer the engine has (65,408 bytes of frame). */
const HUGE = 70_000;

/** mulberry32: the same run every time. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: <T>(xs: readonly T[]) => xs[int(0, xs.length - 1)] };
}

type Rng = ReturnType<typeof prng>;
const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
const randomMac = (r: Rng) => `0a:${hex2(r.int(0, 255))}:${hex2(r.int(0, 255))}:${hex2(r.int(0, 255))}:${hex2(r.int(0, 255))}:${hex2(r.int(0, 255))}`;
const bytes = (r: Rng, n: number) => Uint8Array.from({ length: n }, () => r.int(0, 255));

/** A frame with some of its bytes overwritten (headers more often than not). */
function mutate(r: Rng, f: Uint8Array): Uint8Array {
  const g = f.slice(0, r.next() < 0.2 ? r.int(0, f.length) : f.length);
  for (let k = r.int(1, 4); k > 0 && g.length > 0; k--) g[r.next() < 0.7 ? r.int(0, Math.min(g.length, 60) - 1) : r.int(0, g.length - 1)] = r.int(0, 255);
  return g;
}

interface Injection {
  link: string;
  frame: Uint8Array;
}

/** One round's frames from outside: every kind of pressure at once. */
function round(r: Rng): Injection[] {
  const out: Injection[] = [];
  const add = (link: string, frame: Uint8Array) => out.push({ link, frame });
  // New connections: SYNs from many outside sources to the published port (DNAT to web:80).
  for (let i = 0; i < 150; i++) {
    const src = `203.0.113.${r.int(20, 250)}`;
    add('router:eth1', ipFrame(ROUTER_OUT, SERVER_MAC, tcpPacket({ src, dst: HOST_IP, sport: r.int(1024, 65535), dport: 8080, flags: 'S', seq: r.int(0, 2 ** 31) })));
  }
  // New masqueraded flows: db sends UDP out from many source ports.
  for (let i = 0; i < 80; i++) {
    add('docker-host:veth1', ipFrame(DOCKER0, DB_MAC, udpPacket({ src: '172.17.0.3', dst: SERVER_IP, sport: r.int(1024, 65535), dport: 9999, size: r.int(0, 64) })));
  }
  // New MACs on the bridge: unknown unicast and broadcast, flooded to the other ports.
  for (let i = 0; i < 250; i++) {
    const dst = r.next() < 0.3 ? 'ff:ff:ff:ff:ff:ff' : randomMac(r);
    add('docker-host:veth0', ipFrame(dst, randomMac(r), udpPacket({ src: '172.17.0.2', dst: '172.17.0.3', sport: 5, dport: 6, size: r.int(0, 100) })));
  }
  // New neighbours: ARP requests for the router from senders it never heard of.
  for (let i = 0; i < 120; i++) {
    add('router:eth0', arpFrame({ op: 1, sha: randomMac(r), spa: `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`, tpa: '192.168.0.1' }));
  }
  // Next hops that never answer: on docker0 and behind the router.
  for (let i = 0; i < 60; i++) {
    add('docker-host:veth0', ipFrame(DOCKER0, WEB_MAC, udpPacket({ src: '172.17.0.2', dst: `172.17.${r.int(1, 255)}.${r.int(1, 254)}`, sport: 7, dport: 8 })));
    add('router:eth0', ipFrame(ROUTER_IN, HOST_MAC, udpPacket({ src: HOST_IP, dst: `203.0.113.${r.int(100, 250)}`, sport: 7, dport: 8 })));
  }
  // Oversized: jumbo frames the server's side takes, past the 1500-byte MTUs further on (with
  // and without DF, so fragmented or refused), some to next hops that never answer; frames
  // longer than their link takes, and longer than any buffer.
  for (let i = 0; i < 30; i++) {
    const df = r.next() < 0.5;
    const size = r.int(1500, JUMBO_MTU - 28);
    const dst = r.next() < 0.7 ? HOST_IP : `192.168.0.${r.int(200, 250)}`;
    add('router:eth1', ipFrame(ROUTER_OUT, SERVER_MAC, udpPacket({ src: SERVER_IP, dst, sport: 53, dport: r.int(1, 65535), size, df })));
  }
  for (let i = 0; i < 5; i++) {
    add('docker-host:veth1', ipFrame(DOCKER0, DB_MAC, udpPacket({ src: '172.17.0.3', dst: SERVER_IP, sport: 53, dport: 53, size: r.int(1500, 4000) })));
    add('router:eth1', ipFrame(ROUTER_OUT, SERVER_MAC, udpPacket({ src: SERVER_IP, dst: HOST_IP, sport: 53, dport: 53, size: r.int(JUMBO_MTU, 20_000) })));
  }
  // Longer than any buffer: counted and dropped by the host they reach.
  for (let i = 0; i < 3; i++) {
    const huge = new Uint8Array(HUGE + i);
    huge.set(ipFrame(ROUTER_IN, HOST_MAC, udpPacket({ src: HOST_IP, dst: SERVER_IP, sport: 7, dport: 8 })));
    add(r.pick(['router:eth0', 'docker-host:veth0', 'server:eth0']), huge);
  }
  // Malformed: random bytes, and valid frames with bytes overwritten or cut short.
  const links = ['router:eth0', 'router:eth1', 'docker-host:eth0', 'docker-host:veth0', 'docker-host:veth1', 'web:eth0', 'server:eth0'];
  for (let i = 0; i < 100; i++) {
    const link = r.pick(links);
    if (r.next() < 0.3) add(link, bytes(r, r.int(0, 120)));
    else add(link, mutate(r, ipFrame(r.pick([ROUTER_IN, ROUTER_OUT, HOST_MAC, DOCKER0, WEB_MAC, 'ff:ff:ff:ff:ff:ff']), randomMac(r), udpPacket({ src: '172.17.0.2', dst: r.pick([SERVER_IP, HOST_IP, '172.17.0.3']), sport: 1, dport: r.pick([53, 80, 8080]), size: r.int(0, 200) }))));
  }
  return out;
}

function conservation(h: Host): string | undefined {
  const s = h.stats();
  const f = s.fates;
  const lhs = f.in + f.originated + f.generated;
  const rhs = f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued);
  const drops = Object.values(s.drops).reduce((a, b) => a + b, 0);
  return lhs === rhs && drops === f.dropped ? undefined : `${h.name}: in+originated+generated ${lhs} != sent+local+dropped+reassembled+queued ${rhs} (drop reasons sum to ${drops}, dropped ${f.dropped})`;
}

describe('soak: one engine, every pressure at once', () => {
  it('afterwards every host forwards, the pool is whole, memory is flat and every packet is accounted for', () => {
    const d = buildDocker({ containers: [{ name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] }, { name: 'db' }] });
    const { net, host } = d;
    const engine = net.engine;
    const hosts = net.hosts;
    host.conntrack.max = 4096; // reached in the first rounds: the table stops growing, new flows evict
    d.router.link.set('eth1', { mtu: JUMBO_MTU });
    d.server.link.set('eth0', { mtu: JUMBO_MTU });
    d.containers[0].host.listen('tcp', 80);
    d.server.listen('udp', 53);
    const r = prng(0x50a4);
    const memory: number[] = [];
    let injected = 0;
    let delivered = 0;
    const started = Date.now();
    for (let k = 0; k < ROUNDS; k++) {
      const frames = round(r);
      const byLink = new Map<string, Uint8Array[]>();
      for (const f of frames) byLink.set(f.link, [...(byLink.get(f.link) ?? []), f.frame]);
      for (const [link, fs] of byLink) net.inject(link, fs);
      // Valid traffic among it: pings out through both NATs and routers, and in.
      net.send('web', [echoRequest({ src: '0.0.0.0', dst: SERVER_IP, id: 1, seq: k })]);
      net.send('server', [echoRequest({ src: '0.0.0.0', dst: HOST_IP, id: 2, seq: k })]);
      net.send('db', [udpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 5353, dport: 53, size: 40 })]);
      injected += frames.length;
      delivered += net.run().steps;
      // Mostly short gaps (ARP retries and failures); now and then past every timeout.
      const gap = (k + 1) % EXPIRY_EVERY === 0 ? 400_000 : r.pick([0, 50, 250, 1000, 3000]);
      delivered += net.advance(gap).steps;
      memory.push(engine.arena.used);
      for (const h of hosts) {
        const broken = conservation(h);
        if (broken) throw new Error(`round ${k}: ${broken}`);
      }
    }
    // Quiet: every unresolved next hop fails and drops what it queued.
    delivered += net.advance(10_000).steps;
    const elapsed = Date.now() - started;
    const ctx = mainContext(engine);
    for (const h of hosts) {
      expect(conservation(h)).toBeUndefined();
      const f = h.stats().fates;
      expect(f.queued - f.dequeued, `${h.name}: still queued`).toBe(0);
      expect(h.neigh.list().filter((e) => e.queued > 0), `${h.name}: neighbour queues`).toEqual([]);
    }
    for (const pool of net.bufferPools()) expect(pool.free, `worker ${pool.worker}: buffers back in its pools`).toBe(pool.capacity);
    expect(ctx.free, 'the main context: buffers back in its pools').toBe(ctx.capacity);
    // Memory: the regions stopped growing once the tables reached their bounds.
    const half = memory[Math.floor(ROUNDS / 2)];
    expect(memory[memory.length - 1], 'arena bytes over the second half').toBe(half);
    expect(host.neigh.list().length).toBeLessThanOrEqual(1024);
    expect(d.router.neigh.list().length).toBeLessThanOrEqual(1024);
    expect(host.fdb.list('docker0').length).toBeLessThanOrEqual(4096);

    // Every host still forwards: web -> docker-host (MASQUERADE) -> router -> server and back,
    // server -> router -> docker-host:8080 (DNAT) -> web, and db -> web across the bridge.
    const before = { web: net.delivered('web').length, db: net.delivered('db').length, server: net.delivered('server').length };
    net.send('web', [echoRequest({ src: '0.0.0.0', dst: SERVER_IP, id: 9, seq: 1 })]);
    net.send('server', [tcpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 40_000, dport: 8080, flags: 'S', seq: 1 })]);
    net.send('db', [echoRequest({ src: '0.0.0.0', dst: '172.17.0.2', id: 9, seq: 2 })]);
    net.send('db', [udpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 5353, dport: 53, size: 40 })]);
    net.run();
    const got = (name: 'web' | 'db' | 'server', n: number) => net.delivered(name).slice(n).map((x) => decodeIp(x.packet));
    const web = got('web', before.web);
    expect(web.filter((p) => p.icmp?.type === 0 && p.ip?.src === SERVER_IP)).toHaveLength(1);
    expect(web.filter((p) => p.tcp?.dport === 80 && p.ip?.src === SERVER_IP)).toHaveLength(1);
    expect(got('db', before.db).filter((p) => p.icmp?.type === 0 && p.ip?.src === '172.17.0.2')).toHaveLength(1);
    expect(got('server', before.server).filter((p) => p.udp?.dport === 53 && p.ip?.src === HOST_IP)).toHaveLength(1);

    const virtualSeconds = Math.round(net.now / 1000);
    // The pressures were real: full FDB, neighbour table at gc_thresh3, failures, evictions, MTUs.
    const total = (pick: (h: Host) => number) => hosts.reduce((n, h) => n + pick(h), 0);
    expect(host.stats().stages.bridge_fdb_full).toBeGreaterThan(0);
    expect(host.stats().stages.conntrack_evicted).toBeGreaterThan(0);
    expect(d.router.stats().drops.NEIGH_CREATEFAIL).toBeGreaterThan(0);
    expect(total((h) => h.stats().drops.NEIGH_FAILED ?? 0)).toBeGreaterThan(0);
    expect(total((h) => h.stats().drops.PKT_TOO_BIG ?? 0)).toBeGreaterThan(0);
    expect(total((h) => h.stats().drops.FRAME_TOO_LONG ?? 0)).toBeGreaterThan(0);
    expect(d.router.stats().stages.ip4_fragmented).toBeGreaterThan(0);
    console.log(`soak: ${injected} frames injected, ${delivered} deliveries, ${virtualSeconds} virtual seconds, ${elapsed} ms; arena ${(memory[memory.length - 1] / 2 ** 20).toFixed(1)} MiB`);
  });

  // A frame no buffer holds is counted and dropped by its host at once, nothing else running;
  // and packets a worker's pool lent to a host's queue go home whoever frees them.
  it('a frame longer than any buffer leaves every pool whole, with packets queued on the host', () => {
    const d = buildDocker({ containers: [{ name: 'web' }] });
    const { net } = d;
    const frame = (dst: string) => ipFrame(ROUTER_IN, HOST_MAC, udpPacket({ src: HOST_IP, dst, sport: 7, dport: 8 }));
    net.advance(500);
    net.inject('router:eth0', [frame('203.0.113.200'), frame('203.0.113.201')]); // queued on the router: nobody answers
    net.run();
    // The network ticks its hosts on whole seconds: at 3.5 s the router's entries are due to fail.
    net.advance(3000);
    const huge = new Uint8Array(HUGE);
    huge.set(frame(SERVER_IP));
    net.inject('router:eth0', [huge]);
    net.advance(10_000);
    for (const pool of net.bufferPools()) expect(pool.free, `worker ${pool.worker}`).toBe(pool.capacity);
    expect(d.router.stats().drops.FRAME_TOO_LONG).toBe(1);
  });
});
