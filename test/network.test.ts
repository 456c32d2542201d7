// The Network: hosts wired by veth pairs and L2 segments, frames moved on a
// virtual clock, captures read back by tshark, the same bytes every run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { Network } from '../src/network.js';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { echoRequest, decode, decodeIp, arpFrame, ipFrame } from '../src/packet/index.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const ping = (dst: string, seq = 1, ttl?: number) => echoRequest({ src: '0.0.0.0', dst, id: 7, seq, ttl });
const icmpOf = (net: Network, host: string) => net.delivered(host).map((d) => {
  const p = decodeIp(d.packet);
  return { t: d.timeMs, src: p.ip?.src, ttl: p.ip?.ttl, type: p.icmp?.type };
});

function dockerNet(containers = 2) {
  const net = new Network();
  // A table sized for the containers from the start (it would grow before each batch anyway).
  const host = net.host({ name: 'host', forwarding: true, neighSlots: containers > 100 ? 1024 : 256 });
  host.link.add({ name: 'docker0', type: 'bridge', mac: '02:42:ac:11:00:01' });
  host.addr.add('docker0', '172.17.0.1/16');
  for (let i = 0; i < containers; i++) {
    host.link.add({ name: `veth${i}`, type: 'veth', master: 'docker0' });
    const c = net.host({ name: `c${i}` });
    const n = i + 2;
    c.link.add({ name: 'eth0', type: 'veth', mac: `02:42:ac:11:${hex(n >> 8)}:${hex(n & 0xff)}` });
    c.addr.add('eth0', `172.17.${n >> 8}.${n & 0xff}/16`);
    c.route.add({ dst: 'default', via: '172.17.0.1' });
    net.connect(`host:veth${i}`, `c${i}:eth0`);
  }
  return { net, host };
}
const hex = (n: number) => n.toString(16).padStart(2, '0');

/** a (10.0.0.2) — r — b (10.0.1.2), every MAC chosen. */
function chain(opts: { latencyMs?: number } = {}) {
  const net = new Network();
  const a = net.host({ name: 'a' });
  a.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:02' });
  a.addr.add('eth0', '10.0.0.2/24');
  a.route.add({ dst: 'default', via: '10.0.0.1' });
  const r = net.host({ name: 'r', forwarding: true });
  r.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  r.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
  r.addr.add('eth0', '10.0.0.1/24');
  r.addr.add('eth1', '10.0.1.1/24');
  const b = net.host({ name: 'b' });
  b.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:01:02' });
  b.addr.add('eth0', '10.0.1.2/24');
  b.route.add({ dst: 'default', via: '10.0.1.1' });
  net.connect('a:eth0', 'r:eth0', opts);
  net.connect('r:eth1', 'b:eth0', opts);
  return net;
}

/** Three hosts on one L2 segment, 192.168.0.1-3/24. */
function lan(learning?: boolean) {
  const net = new Network();
  for (const i of [1, 2, 3]) {
    const h = net.host({ name: `n${i}` });
    h.link.add({ name: 'eth0', type: 'ether', mac: `02:00:00:00:00:0${i}` });
    h.addr.add('eth0', `192.168.0.${i}/24`);
  }
  net.segment('lan', ['n1:eth0', 'n2:eth0', 'n3:eth0'], { learning });
  return net;
}

describe('Network: docker0', () => {
  it('two containers ping each other through the bridge', () => {
    const { net, host } = dockerNet();
    net.send('c0', [ping('172.17.0.3')]);
    const s = net.run();
    expect(s).toEqual({ now: 0, steps: 8, sent: 1, local: 1, dropped: 0, lost: 0, filtered: 0, inFlight: 0 });
    expect(icmpOf(net, 'c0')).toEqual([{ t: 0, src: '172.17.0.3', ttl: 64, type: 0 }]);
    net.send('c1', [ping('172.17.0.2', 2)]);
    net.run();
    // Both neighbours are known now: four frames, no ARP.
    expect(icmpOf(net, 'c1')).toEqual([{ t: 0, src: '172.17.0.2', ttl: 64, type: 0 }]);
    expect(host.fdb.list('docker0').map((e) => [e.mac, e.dev])).toEqual([['02:42:ac:11:00:02', 'veth0'], ['02:42:ac:11:00:03', 'veth1']]);
    expect(host.stats().stages.bridge_flooded).toBe(1);
    expect(net.drops()).toEqual([]);
  });

  it('frames due at one instant reach a host together, taken in link by link, in link order', () => {
    const { net } = dockerNet(3);
    const atC0 = net.capture('c0:eth0');
    // Sent in the reverse order: the bridge host still takes veth1's request before veth2's.
    net.send('c2', [ping('172.17.0.1', 1)]);
    net.send('c1', [ping('172.17.0.1', 1)]);
    net.send('c0', [ping('172.17.0.1', 1)]);
    net.run();
    const floods = atC0.frames.filter((f) => f.direction === 'in' && decode(f.frame).arp?.op === 1).map((f) => decode(f.frame).arp!.spa);
    expect(floods).toEqual(['172.17.0.3', '172.17.0.4']);
    expect(['c0', 'c1', 'c2'].map((c) => icmpOf(net, c).map((p) => p.src))).toEqual([['172.17.0.1'], ['172.17.0.1'], ['172.17.0.1']]);
  });
});

describe('Network: a — router — b', () => {
  it('a ping crosses the router: TTL 63 on the far side, a reply with TTL 63', () => {
    const net = chain();
    const atB = net.capture('b:eth0');
    net.send('a', [ping('10.0.1.2')]);
    const s = net.run();
    expect(s).toMatchObject({ sent: 1, local: 1, dropped: 0, lost: 0, inFlight: 0 });
    expect(icmpOf(net, 'a')).toEqual([{ t: 0, src: '10.0.1.2', ttl: 63, type: 0 }]);
    const request = atB.frames.map((f) => ({ dir: f.direction, ...decode(f.frame) })).find((d) => d.icmp?.type === 8);
    expect(request).toMatchObject({ dir: 'in', ip: { ttl: 63, src: '10.0.0.2', checksumOk: true }, eth: { src: '02:00:00:00:01:01' } });
  });

  it('TTL 1: the router answers time exceeded', () => {
    const net = chain();
    net.send('a', [ping('10.0.1.2', 1, 1)]);
    net.run();
    expect(icmpOf(net, 'a')).toEqual([{ t: 0, src: '10.0.0.1', ttl: 64, type: 11 }]);
    expect(net.drops()).toEqual([{ timeMs: 0, host: 'r', reason: 'IP_INHDR' }]);
  });

  it('wire latency: each hop takes its time, the clock follows', () => {
    const net = chain({ latencyMs: 2.5 });
    const atA = net.capture('a:eth0');
    net.send('a', [ping('10.0.1.2')]);
    const s = net.run();
    // Eight hops: ARP request and reply, echo a->r; the same r->b; the reply b->r (b learned r
    // from its request) and r->a.
    expect(s.now).toBe(20);
    expect(icmpOf(net, 'a')).toEqual([{ t: 20, src: '10.0.1.2', ttl: 63, type: 0 }]);
    expect(atA.frames.map((f) => [f.timeMs, f.direction, decode(f.frame).arp ? 'arp' : decode(f.frame).icmp?.type])).toEqual([
      [0, 'out', 'arp'], [5, 'in', 'arp'], [5, 'out', 8], [20, 'in', 0],
    ]);
  });

  it('run until a time leaves later frames on the wire; the next run delivers them', () => {
    const net = chain({ latencyMs: 3 });
    net.send('a', [ping('10.0.1.2')]);
    expect(net.run({ until: 10 })).toMatchObject({ now: 10, local: 0, inFlight: 1 });
    expect(net.run()).toMatchObject({ now: 24, local: 1, inFlight: 0 });
  });
});

describe('Network: an L2 segment', () => {
  it('an ARP broadcast reaches every member; unicast only its destination', () => {
    const net = lan();
    const caps = ['n1', 'n2', 'n3'].map((n) => net.capture(`${n}:eth0`));
    net.send('n1', [ping('192.168.0.3')]);
    const s = net.run();
    expect(s).toMatchObject({ local: 1, dropped: 0, lost: 0, filtered: 0 });
    const seen = caps.map((c) => c.frames.map((f) => `${f.direction} ${decode(f.frame).arp ? 'arp' : decode(f.frame).icmp?.type}`));
    expect(seen).toEqual([
      ['out arp', 'in arp', 'out 8', 'in 0'],
      ['in arp'],
      ['in arp', 'out arp', 'in 8', 'out 0'],
    ]);
    expect(net.get('n2').stats().stages.arp_ignored).toBe(1);
    expect(icmpOf(net, 'n1').map((p) => p.src)).toEqual(['192.168.0.3']);
  });

  it('as a hub (learning off) every member sees every frame, and drops what is not its own', () => {
    const net = lan(false);
    const n2 = net.capture('n2:eth0');
    net.send('n1', [ping('192.168.0.3')]);
    net.run();
    expect(n2.frames).toHaveLength(4);
    expect(net.drops('n2').map((d) => d.reason)).toEqual(['OTHERHOST', 'OTHERHOST']);
    expect(icmpOf(net, 'n1').map((p) => p.src)).toEqual(['192.168.0.3']);
  });

  it('a ping to a host that does not exist: three ARP probes a second apart, then NEIGH_FAILED', () => {
    const net = lan();
    const n2 = net.capture('n2:eth0');
    net.send('n1', [ping('192.168.0.99')]);
    const s = net.run({ until: 5000 });
    expect(s).toMatchObject({ now: 5000, local: 0, dropped: 1, inFlight: 0 });
    expect(net.drops('n1')).toEqual([{ timeMs: 3000, host: 'n1', reason: 'NEIGH_FAILED' }]);
    expect(n2.frames.map((f) => [f.timeMs, decode(f.frame).arp?.tpa])).toEqual([[0, '192.168.0.99'], [1000, '192.168.0.99'], [2000, '192.168.0.99']]);
    expect(net.get('n1').neigh.list()).toMatchObject([{ ip: '192.168.0.99', state: 'FAILED' }]);
    expect(net.now).toBe(5000);
  });

  it('run without until does not let time pass: the ARP stays unanswered and in the queue', () => {
    const net = lan();
    net.send('n1', [ping('192.168.0.99')]);
    expect(net.run()).toMatchObject({ now: 0, dropped: 0 });
    expect(net.get('n1').neigh.list()).toMatchObject([{ state: 'INCOMPLETE', queued: 1 }]);
    expect(net.advance(3000)).toMatchObject({ now: 3000, dropped: 1 });
  });
});

describe('Network: staged traffic', () => {
  it('packets staged once are queued again by each send(), with one call and the same result as send()', () => {
    const run = (staged: boolean) => {
      const net = chain();
      const pings = [ping('10.0.1.2', 1), ping('10.0.1.2', 2)];
      const t = staged ? net.stage('a', pings) : undefined;
      for (let round = 0; round < 3; round++) {
        if (t) t.send();
        else net.send('a', pings);
        net.run();
      }
      t?.release();
      return { replies: icmpOf(net, 'a'), drops: net.drops() };
    };
    const staged = run(true);
    expect(staged.replies.map((r) => r.type)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(staged).toEqual(run(false));
  });

  it('traffic sent and then released before the run still arrives; sending it after its release is refused', () => {
    const net = chain();
    const t = net.stage('a', [ping('10.0.1.2', 1), ping('10.0.1.2', 2)]);
    t.send();
    t.release();
    expect(net.inFlight).toBe(2);
    // The bytes of traffic given in between must not take the released region's place before the run reads it.
    net.send('a', [ping('10.0.1.2', 3)]);
    net.run();
    expect(net.delivered('a').map((d) => decodeIp(d.packet).icmp).map((m) => [m?.type, m?.seq])).toEqual([[0, 1], [0, 2], [0, 3]]);
    expect(() => t.send()).toThrow(/sent after its release/);
  });

  it('frames staged for a link arrive on it, and staging bad input is refused by name', () => {
    const net = chain();
    const frame = ipFrame('02:00:00:00:00:01', '02:00:00:00:00:02', echoRequest({ src: '10.0.0.2', dst: '10.0.0.1', id: 7, seq: 9 }));
    net.stage('r:eth0', [frame]).send();
    net.run();
    expect(net.get('r').stats().stages.icmp_echo_reply).toBe(1);
    expect(() => net.stage('nobody', [frame])).toThrow(/no host named "nobody"/);
    expect(() => net.stage('r:eth9', [frame])).toThrow(/no such device "eth9"/);
    expect(() => net.stage('a', ['x' as unknown as Uint8Array])).toThrow(/must be a Uint8Array/);
  });
});

describe('Network: edges and mistakes', () => {
  it('a frame sent on a link with no wire is lost, not an error', () => {
    const net = new Network();
    const h = net.host({ name: 'h' });
    h.link.add({ name: 'eth0', type: 'ether' });
    h.addr.add('eth0', '10.0.0.1/24');
    const cap = net.capture('h:eth0');
    net.send('h', [ping('10.0.0.2')]);
    expect(net.run()).toMatchObject({ lost: 1, steps: 0 });
    expect(cap.frames.map((f) => f.direction)).toEqual(['out']);
  });

  it('a broadcast storm in a looped L2 topology ends at maxSteps with an error', () => {
    const net = new Network();
    for (const name of ['br1', 'br2']) {
      const h = net.host({ name });
      h.link.add({ name: 'br0', type: 'bridge' });
      for (const p of ['p0', 'p1', 'p2']) h.link.add({ name: p, type: 'veth', master: 'br0' });
    }
    net.connect('br1:p0', 'br2:p0');
    net.connect('br1:p1', 'br2:p1');
    net.inject('br1:p2', [arpFrame({ op: 1, sha: '02:00:00:00:00:09', spa: '10.0.0.9', tpa: '10.0.0.8' })]);
    expect(() => net.run({ maxSteps: 10_000 })).toThrow(/maxSteps \(10000\) reached.*loop/);
    expect(net.inFlight).toBeGreaterThan(0);
  });

  it('refuses bad wiring with an error naming the problem', () => {
    const net = chain();
    expect(() => net.connect('a:eth0', 'b:eth0')).toThrow(/a:eth0 is already wired to a:eth0<->r:eth0/);
    expect(() => net.connect('a:eth9', 'b:eth0')).toThrow(/no such device "eth9"/);
    expect(() => net.connect('x:eth0', 'b:eth0')).toThrow(/no host named "x"/);
    expect(() => net.segment('s', ['a-eth0', 'b:eth0'])).toThrow(/"a-eth0" is not host:link/);
    expect(() => net.host({ name: 'a' })).toThrow(/a host named a exists/);
    expect(() => net.add(new Host({ name: 'z', engine: new Engine() }))).toThrow(/another engine/);
    expect(() => net.run({ until: -1 })).toThrow(/until -1/);
  });
});

describe('Network: captures', () => {
  function scenario() {
    const net = chain({ latencyMs: 0.25 });
    const cap = net.capture('r:eth1');
    net.send('a', [ping('10.0.1.2', 1), ping('10.0.1.2', 2)]);
    net.run();
    // A second round once a knows its gateway (a fourth packet queued on one ARP would push out the first).
    net.send('a', [ping('10.0.1.2', 3, 1), ping('10.0.1.99', 4)]);
    const summary = net.run({ until: 4000 });
    return { net, cap, summary };
  }

  it.skipIf(!hasTshark)('pcap of a link, read back by tshark', () => {
    const { cap } = scenario();
    const dir = mkdtempSync(join(tmpdir(), 'podnet-net-'));
    try {
      const file = join(dir, 'r-eth1.pcap');
      cap.save(file);
      const out = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'eth.src', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'], { encoding: 'utf8' });
      expect(out.status).toBe(0);
      const R = '02:00:00:00:01:01';
      const B = '02:00:00:00:01:02';
      expect(out.stdout.replace(/\n+$/, '').split('\n')).toEqual([
        `${R}\t\t\t`, // who-has 10.0.1.2
        `${B}\t\t\t`, // is-at
        `${R}\t10.0.0.2\t10.0.1.2\t8`,
        `${R}\t10.0.0.2\t10.0.1.2\t8`,
        `${B}\t10.0.1.2\t10.0.0.2\t0`,
        `${B}\t10.0.1.2\t10.0.0.2\t0`,
        `${R}\t\t\t`, // who-has 10.0.1.99, three times
        `${R}\t\t\t`,
        `${R}\t\t\t`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same scenario twice gives byte-identical pcap files', () => {
    const one = scenario();
    const two = scenario();
    expect(Buffer.from(two.cap.pcap()).equals(Buffer.from(one.cap.pcap()))).toBe(true);
    expect(two.summary).toEqual(one.summary);
    expect(two.net.drops()).toEqual(one.net.drops());
    expect(one.cap.frames.length).toBe(9);
    const dir = mkdtempSync(join(tmpdir(), 'podnet-net-'));
    try {
      one.cap.save(join(dir, '1.pcap'));
      two.cap.save(join(dir, '2.pcap'));
      expect(readFileSync(join(dir, '1.pcap')).equals(readFileSync(join(dir, '2.pcap')))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Network: scale', () => {
  it('200 hosts: 199 containers on one bridge each ping the bridge address once', () => {
    const t0 = performance.now();
    const { net, host } = dockerNet(199);
    // Publishing each host's tables (its LPM) is part of building, not of moving frames.
    for (const h of net.hosts) h.commit();
    const t1 = performance.now();
    for (let i = 0; i < 199; i++) net.send(`c${i}`, [ping('172.17.0.1', i + 1)]);
    const s = net.run();
    const t2 = performance.now();
    expect(s).toMatchObject({ sent: 199, local: 199, lost: 0, inFlight: 0 });
    for (let i = 0; i < 199; i++) expect(icmpOf(net, `c${i}`).map((p) => [p.src, p.type])).toEqual([['172.17.0.1', 0]]);
    // Every ARP broadcast was flooded to the 198 other containers and ignored there; nothing else was dropped.
    expect(host.stats().stages.bridge_flooded).toBe(199);
    expect(net.drops()).toEqual([]);
    console.log(`network scale: 200 hosts built in ${(t1 - t0).toFixed(0)} ms; ${s.steps} frame deliveries in ${(t2 - t1).toFixed(0)} ms`);
  });
});
