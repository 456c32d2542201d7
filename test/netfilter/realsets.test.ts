// Rule sets as real hosts print them (test/fixtures/rulesets): a Docker 24
// host, a Docker 28 host (with its raw table), a host behind ufw, and a
// Calico 3.26 node in IPIP mode (raw, mangle, filter, nat, kube-proxy's
// chains beside Felix's, and Felix's ipsets). Each loads as it is, prints
// back as iptables-save printed it, and packets walk through it end to end.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { buildDocker, HOST_IP, SERVER_IP } from '../../src/scenarios/docker.js';
import { decodeIp, echoRequest, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { parseIptables } from '../../src/netfilter/iptables.js';
import {
  ETH_P_IP, TCP_SYN, ethernet, formatIPv4, get16, get32, icmpMessage, ipv4, parseIPv4, parseMac, tcpSegment, udpSegment,
} from '../model/wire.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/rulesets/${name}`, import.meta.url), 'utf8');
const DOCKER24 = fixture('docker24.rules');
const DOCKER28 = fixture('docker28.rules');
const UFW = fixture('ufw.rules');
const CALICO = fixture('calico326-node1.rules');
const CALICO_SETS = fixture('calico326-node1.ipset');

/** The lines of each table (chain lines and rules), as iptables-save printed them. */
function tables(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let cur: string[] | undefined;
  for (const l of text.split('\n')) {
    if (l.startsWith('*')) out[l.slice(1)] = cur = [];
    else if (l === 'COMMIT') cur = undefined;
    else if (cur && l && !l.startsWith('#')) cur.push(l);
  }
  return out;
}

describe('real rule sets load as they are and print back as iptables-save printed them', () => {
  for (const [name, text, sets] of [['Docker 24', DOCKER24], ['Docker 28', DOCKER28], ['ufw', UFW], ['Calico 3.26 node', CALICO, CALICO_SETS]] as const) {
    it(name, async () => {
      const h = await Host.create({ name: 'real' });
      if (sets) {
        h.ipset.load(sets);
        expect(h.ipset.save()).toBe(sets);
      }
      h.rules.load(text);
      expect(tables(h.rules.save())).toEqual(tables(text));
    });
  }

  it('the Calico node without its ipsets is refused at the first rule naming one, as iptables-restore refuses it', async () => {
    const h = await Host.create({ name: 'nosets' });
    const n = CALICO.split('\n').findIndex((l) => l.includes('--match-set cali40all-hosts-net src')) + 1;
    expect(() => h.rules.load(CALICO)).toThrow(new RegExp(`^line ${n}: set "cali40all-hosts-net" doesn't exist`));
    expect(h.rules.save()).toBe('');
  });

  it('the Calico node has what a real one has: 145 rules over four tables', () => {
    const rs = parseIptables(CALICO);
    const rules = Object.values(rs.tables).flatMap((t) => [...t.chains.values()].flatMap((c) => c.rules));
    expect(rules.length).toBe(145);
    expect(rs.present).toBeUndefined();
  });
});

describe('Docker 24 and Docker 28 hosts', () => {
  const web = { name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] };
  for (const [name, text] of [['Docker 24', DOCKER24], ['Docker 28', DOCKER28]] as const) {
    it(`${name}: the published port reaches the container, its answer goes back from host:8080, the container is masqueraded out`, () => {
      const d = buildDocker({ containers: [web] });
      d.host.rules.load(text);
      d.containers[0].host.listen('tcp', 80);
      d.server.listen('tcp', 40000);
      d.net.send('server', [tcpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 40000, dport: 8080, flags: 'S', seq: 100 })]);
      d.net.run();
      expect(d.net.delivered('web').map((x) => decodeIp(x.packet)).map((x) => [x.ip?.src, x.ip?.dst, x.tcp?.dport])).toEqual([[SERVER_IP, '172.17.0.2', 80]]);
      d.net.send('web', [tcpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 80, dport: 40000, flags: 'SA', seq: 500, ack: 101 })]);
      d.net.run();
      expect(d.net.delivered('server').map((x) => decodeIp(x.packet)).map((x) => [x.ip?.src, x.tcp?.sport])).toEqual([[HOST_IP, 8080]]);
      d.net.send('web', [echoRequest({ src: '0.0.0.0', dst: SERVER_IP, id: 9, seq: 1 })]);
      d.net.run();
      expect(d.net.delivered('web').map((x) => decodeIp(x.packet)).filter((x) => x.icmp?.type === 0).map((x) => x.ip?.src)).toEqual([SERVER_IP]);
      expect(d.host.conntrack.list().find((c) => c.proto === 'icmp')).toMatchObject({ snat: true, reply: { dst: HOST_IP } });
    });

    it(`${name}: an unpublished port, and the container's address straight from outside, stay closed`, () => {
      const d = buildDocker({ containers: [web] });
      d.host.rules.load(text);
      d.containers[0].host.listen('tcp', 22);
      d.containers[0].host.listen('tcp', 80);
      d.router.route.add({ dst: '172.17.0.0/16', via: HOST_IP });
      d.net.send('server', [tcpPacket({ src: '0.0.0.0', dst: '172.17.0.2', sport: 40000, dport: 22, flags: 'S' })]);
      d.net.send('server', [tcpPacket({ src: '0.0.0.0', dst: '172.17.0.2', sport: 40001, dport: 80, flags: 'S' })]);
      d.net.run();
      expect(d.net.delivered('web').map((x) => decodeIp(x.packet).tcp?.dport)).toEqual(name === 'Docker 28' ? [] : [80]);
      expect(d.net.drops('docker-host').map((x) => x.reason)).toEqual(name === 'Docker 28' ? ['NETFILTER_DROP', 'NETFILTER_DROP'] : ['NETFILTER_DROP']);
      if (name === 'Docker 28') {
        // Docker 28's direct routing protection: raw PREROUTING drops both, before conntrack sees them.
        expect(d.host.rules.save({ counters: true })).toContain('[2:80] -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP');
        expect(d.host.conntrack.list()).toEqual([]);
      }
    });
  }
});

describe('a host behind ufw', () => {
  const HOSTMAC = '02:00:00:00:00:0a';
  const PEER = '02:00:00:00:00:0b';
  async function ufwHost(): Promise<Host> {
    const h = await Host.create({ name: 'ufw' });
    h.link.add({ name: 'eth0', type: 'ether', mac: HOSTMAC });
    h.addr.add('eth0', '192.168.1.10/24');
    h.route.add({ dst: 'default', via: '192.168.1.1' });
    h.neigh.add({ ip: '192.168.1.20', mac: PEER, dev: 'eth0' });
    h.neigh.add({ ip: '192.168.1.1', mac: '02:00:00:00:00:01', dev: 'eth0' });
    h.listen('tcp', 22);
    h.listen('tcp', 80);
    h.listen('tcp', 5432);
    h.rules.load(UFW);
    return h;
  }
  const rx = (ip: Uint8Array, dst = HOSTMAC) => [{ link: 'eth0', frame: ethernet(parseMac(dst), parseMac(PEER), ETH_P_IP, ip) }];
  const syn = (dport: number, sport = 40000) =>
    ipv4({ src: parseIPv4('192.168.1.20'), dst: parseIPv4('192.168.1.10'), proto: 6, ttl: 64 },
      tcpSegment(parseIPv4('192.168.1.20'), parseIPv4('192.168.1.10'), { sport, dport, seq: 1, ack: 0, flags: TCP_SYN }, new Uint8Array(0)));
  type Out = { kind: string; reason?: string };
  const fates = (o: Out[]) => o.map((x) => (x.kind === 'drop' ? x.reason : x.kind));

  it('ssh and http are let in (ufw-user-input), other ports fall to the DROP policy and are logged', async () => {
    const h = await ufwHost();
    expect(fates(h.receive(rx(syn(22)), 0))).toEqual(['local']);
    expect(fates(h.receive(rx(syn(80)), 1))).toEqual(['local']);
    expect(fates(h.receive(rx(syn(5432)), 2))).toEqual(['NETFILTER_DROP']);
    expect(h.stats().stages.nf_log).toBe(1); // [UFW BLOCK], limit 3/min burst 10
    const saved = h.rules.save({ counters: true });
    expect(saved).toContain(':INPUT DROP [1:40]');
    expect(saved).toContain('[1:40] -A ufw-user-input -p tcp -m tcp --dport 22 -m comment --comment "\\\'dapp_OpenSSH\\\'" -j ACCEPT');
  });

  it('-m icmp lets echo requests in (and the reply out, tracked); a burst of blocked packets is logged at the limit', async () => {
    const h = await ufwHost();
    const ping = ipv4({ src: parseIPv4('192.168.1.20'), dst: parseIPv4('192.168.1.10'), proto: 1, ttl: 64 }, icmpMessage(8, 0, (3 << 16) | 1, Uint8Array.of(1, 2)));
    const out = h.receive(rx(ping), 0) as Out[];
    expect(fates(out)).toEqual(['tx']);
    // 25 blocked packets within a second: the first 10 logged (burst), then one every 20 s.
    for (let i = 0; i < 25; i++) h.receive(rx(syn(23, 41000 + i)), 1000 + i);
    expect(h.stats().stages.nf_log).toBe(10);
    h.receive(rx(syn(23, 42000)), 21_000);
    expect(h.stats().stages.nf_log).toBe(11);
  });

  it('broadcasts to the subnet are dropped by the addrtype rule of ufw-after-input, not logged', async () => {
    const h = await ufwHost();
    h.listen('udp', 9999);
    const bc = ipv4({ src: parseIPv4('192.168.1.20'), dst: parseIPv4('192.168.1.255'), proto: 17, ttl: 64 },
      udpSegment(parseIPv4('192.168.1.20'), parseIPv4('192.168.1.255'), 5000, 9999, Uint8Array.of(1)));
    expect(fates(h.receive(rx(bc, 'ff:ff:ff:ff:ff:ff'), 0))).toEqual(['NETFILTER_DROP']);
    expect(h.stats().stages.nf_log ?? 0).toBe(0);
    expect(h.rules.save({ counters: true })).toContain('[1:29] -A ufw-after-input -m addrtype --dst-type BROADCAST -j ufw-skip-to-policy-input');
  });
});

describe('a Calico 3.26 node in IPIP mode, with Felix and kube-proxy rules as loaded', () => {
  const N1 = '02:00:00:00:00:11';
  const N2 = '02:00:00:00:00:12';
  const POD_MAC = (i: number) => `02:aa:00:00:01:0${i}`;
  /** node1 as the fixture describes it: eth0 192.168.0.11, tunl0 10.244.0.0/32, two pods, node2's block behind tunl0. */
  async function node1(): Promise<Host> {
    const h = await Host.create({ name: 'node1', forwarding: true });
    h.link.add({ name: 'eth0', type: 'ether', mac: N1 });
    h.addr.add('eth0', '192.168.0.11/24');
    h.route.add({ dst: 'default', via: '192.168.0.1' });
    h.link.add({ name: 'tunl0', type: 'ipip', mtu: 1480, pmtudisc: false, peers: ['192.168.0.11', '192.168.0.12'] });
    h.addr.add('tunl0', '10.244.0.0/32');
    h.route.add({ dst: '10.244.0.0/26', type: 'blackhole' });
    h.route.add({ dst: '10.244.0.64/26', via: '192.168.0.12', dev: 'tunl0', onlink: true });
    for (const [i, cali] of ['cali00010000', 'cali00010001'].entries()) {
      h.link.add({ name: cali, type: 'veth', mac: 'ee:ee:ee:ee:ee:ee', proxyArp: true, mtu: 1480 });
      h.route.add({ dst: `10.244.0.${i + 1}/32`, dev: cali });
      h.neigh.add({ ip: `10.244.0.${i + 1}`, mac: POD_MAC(i), dev: cali });
    }
    h.neigh.add({ ip: '192.168.0.12', mac: N2, dev: 'eth0' });
    h.neigh.add({ ip: '192.168.0.1', mac: '02:00:00:00:00:01', dev: 'eth0' });
    h.ipset.load(CALICO_SETS);
    h.rules.load(CALICO);
    return h;
  }
  const fromPod = (i: number, ip: Uint8Array) => [{ link: `cali0001000${i}`, frame: ethernet(parseMac('ee:ee:ee:ee:ee:ee'), parseMac(POD_MAC(i)), ETH_P_IP, ip) }];
  const ipip = (outerSrc: string, inner: Uint8Array) => [{
    link: 'eth0',
    frame: ethernet(parseMac(N1), parseMac(N2), ETH_P_IP, ipv4({ src: parseIPv4(outerSrc), dst: parseIPv4('192.168.0.11'), proto: 4, ttl: 64 }, inner)),
  }];
  const udp = (src: string, dst: string, sport: number, dport: number) =>
    ipv4({ src: parseIPv4(src), dst: parseIPv4(dst), proto: 17, ttl: 64 }, udpSegment(parseIPv4(src), parseIPv4(dst), sport, dport, Uint8Array.of(1, 2, 3, 4)));
  const syn = (src: string, dst: string, sport: number, dport: number) =>
    ipv4({ src: parseIPv4(src), dst: parseIPv4(dst), proto: 6, ttl: 64 }, tcpSegment(parseIPv4(src), parseIPv4(dst), { sport, dport, seq: 1, ack: 0, flags: TCP_SYN }, new Uint8Array(0)));
  type Out = { kind: string; reason?: string; link?: string; frame?: Uint8Array };
  const fates = (o: Out[]) => o.map((x) => (x.kind === 'drop' ? x.reason : `${x.kind} ${x.link ?? ''}`.trim()));

  it('pod to a pod on node2: the profile lets it out, it leaves encapsulated from the node to node2', async () => {
    const h = await node1();
    const [o] = h.receive(fromPod(0, udp('10.244.0.1', '10.244.0.65', 40000, 5201)), 0) as Out[];
    expect(fates([o])).toEqual(['tx eth0']);
    const outer = o.frame!.subarray(14);
    expect([outer[9], formatIPv4(get32(outer, 12)), formatIPv4(get32(outer, 16)), formatIPv4(get32(outer, 20 + 12))]).toEqual([4, '192.168.0.11', '192.168.0.12', '10.244.0.1']);
  });

  it('IPIP from a known node is let in (cali-INPUT, the hosts set); the pod policy allows udp/5201 and ICMP from the pool, and denies the rest', async () => {
    const h = await node1();
    expect(fates(h.receive(ipip('192.168.0.12', udp('10.244.0.65', '10.244.0.1', 40000, 5201)), 0) as Out[])).toEqual(['tx cali00010000']);
    expect(fates(h.receive(ipip('192.168.0.12', udp('10.244.0.65', '10.244.0.1', 40000, 9999)), 1) as Out[])).toEqual(['NETFILTER_DROP']);
    const ping = ipv4({ src: parseIPv4('10.244.0.66'), dst: parseIPv4('10.244.0.2'), proto: 1, ttl: 64 }, icmpMessage(8, 0, (5 << 16) | 1, Uint8Array.of(7)));
    expect(fates(h.receive(ipip('192.168.0.12', ping), 2) as Out[])).toEqual(['tx cali00010001']);
    // The rule that decided: "Drop if no policies passed packet" in the pod's to-workload chain.
    expect(h.rules.save({ counters: true })).toMatch(/\[1:32\] -A cali-tw-cali00010000 -m comment --comment "cali:[^"]+" -m comment --comment "Drop if no policies passed packet"/);
  });

  it('IPIP from a host that is no Calico node is dropped', async () => {
    const h = await node1();
    h.neigh.add({ ip: '192.168.0.99', mac: '02:00:00:00:00:99', dev: 'eth0' });
    const out = h.receive(ipip('192.168.0.99', udp('10.244.0.65', '10.244.0.1', 40000, 5201)), 0) as Out[];
    expect(fates(out)).toEqual(['NETFILTER_DROP']);
    expect(h.rules.save({ counters: true })).toMatch(/\[1:52\] -A cali-INPUT -p ipencap -m comment --comment "cali:_wjq-Yrma8Ly1Svo"/);
  });

  it('natOutgoing: a pod reaching outside the pool is masqueraded (--random-fully), to another pod it is not', async () => {
    const h = await node1();
    const [o] = h.receive(fromPod(0, udp('10.244.0.1', '8.8.8.8', 40000, 53)), 0) as Out[];
    expect(fates([o])).toEqual(['tx eth0']);
    expect(formatIPv4(get32(o.frame!, 14 + 12))).toBe('192.168.0.11');
    expect(h.conntrack.list(0)[0]).toMatchObject({ snat: true, mark: 0 });
  });

  it("a pod's spoofed source fails Calico's rpfilter in raw PREROUTING", async () => {
    const h = await node1();
    expect(fates(h.receive(fromPod(0, udp('10.244.0.2', '10.244.0.65', 40000, 5201)), 0) as Out[])).toEqual(['NETFILTER_DROP']);
    expect(h.conntrack.list(0)).toEqual([]);
  });

  it('kube-proxy: the service address picks an endpoint by -m statistic (the same ones for the same seed), DNATed to it', async () => {
    // The endpoint on node2 is reached through the tunnel; the one on this node (10.244.0.2) only lets udp/5201 and ICMP in,
    // so the connections kube-proxy sends there die in its to-workload chain.
    const pick = async (seed: number) => {
      const h = await node1();
      h.rules.randomSeed = seed;
      const picks: string[] = [];
      for (let i = 0; i < 12; i++) {
        for (const o of h.receive(fromPod(0, syn('10.244.0.1', '10.96.0.50', 41000 + i, 80)), i) as Out[]) {
          if (o.kind === 'drop') picks.push(o.reason!);
          else if (o.kind === 'tx') {
            const ip = o.frame!.subarray(14);
            picks.push(ip[9] === 4 ? formatIPv4(get32(ip, 20 + 16)) : formatIPv4(get32(ip, 16)));
          }
        }
      }
      const denied = picks.filter((p) => p === 'NETFILTER_DROP').length;
      expect(h.rules.save({ counters: true })).toContain(`[${denied}:${denied * 40}] -A cali-tw-cali00010001 -m comment --comment "cali:WKLvWrRxbnnYu3G-"`);
      return picks;
    };
    const a = await pick(11);
    expect(a).toHaveLength(12);
    expect(new Set(a)).toEqual(new Set(['NETFILTER_DROP', '10.244.0.66']));
    expect(await pick(11)).toEqual(a);
    expect(await pick(12)).not.toEqual(a);
  });

  it('untracked traffic: a doNotTrack-style rule added with --noflush makes DNS from a pod UNTRACKED, not masqueraded', async () => {
    const h = await node1();
    h.rules.load('*raw\n-I cali-PREROUTING 1 -p udp -m udp --dport 53 -j CT --notrack\nCOMMIT\n', { noflush: true });
    const [o] = h.receive(fromPod(0, udp('10.244.0.1', '8.8.8.8', 40000, 53)), 0) as Out[];
    expect(fates([o])).toEqual(['tx eth0']);
    expect(formatIPv4(get32(o.frame!, 14 + 12))).toBe('10.244.0.1');
    expect(h.conntrack.list(0)).toEqual([]);
    expect(get16(o.frame!, 14 + 22)).toBe(53);
  });
});
