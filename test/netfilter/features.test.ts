// What real rule sets use, walked through a host: raw and mangle at their
// hooks, NOTRACK, marks (MARK, CONNMARK, -m mark) as skb->mark is carried,
// ipsets, REJECT's error and reset, LOG, -m limit on the virtual clock,
// -m statistic with a seed, and the counters iptables-save -c prints.
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import {
  ETH_P_IP, TCP_SYN, ethernet, formatIPv4, get16, get32, icmpMessage, ipv4, parseIPv4, parseMac, tcpSegment, udpSegment,
} from '../model/wire.js';

const GW_WAN = '02:00:00:00:00:01';
const GW_LAN = '02:00:00:00:00:02';
const ROUTER = '02:aa:00:00:00:fe';
const CLIENT = '02:bb:00:00:00:05';

async function gateway(): Promise<Host> {
  const h = await Host.create({ name: 'gw', forwarding: true });
  h.link.add({ name: 'eth0', type: 'ether', mac: GW_WAN });
  h.link.add({ name: 'eth1', type: 'ether', mac: GW_LAN });
  h.addr.add('eth0', '203.0.113.1/24');
  h.addr.add('eth1', '10.1.0.1/24');
  h.route.add({ dst: 'default', via: '203.0.113.254' });
  h.neigh.add({ ip: '203.0.113.254', mac: ROUTER, dev: 'eth0' });
  h.neigh.add({ ip: '10.1.0.5', mac: CLIENT, dev: 'eth1' });
  return h;
}

const udp = (src: string, dst: string, sport: number, dport: number) =>
  ipv4({ src: parseIPv4(src), dst: parseIPv4(dst), proto: 17, ttl: 64 }, udpSegment(parseIPv4(src), parseIPv4(dst), sport, dport, Uint8Array.of(1, 2, 3)));
const syn = (src: string, dst: string, sport: number, dport: number) =>
  ipv4({ src: parseIPv4(src), dst: parseIPv4(dst), proto: 6, ttl: 64 }, tcpSegment(parseIPv4(src), parseIPv4(dst), { sport, dport, seq: 100, ack: 0, flags: TCP_SYN }, new Uint8Array(0)));
const fromLan = (ip: Uint8Array) => ({ link: 'eth1', frame: ethernet(parseMac(GW_LAN), parseMac(CLIENT), ETH_P_IP, ip) });
const fromWan = (ip: Uint8Array) => ({ link: 'eth0', frame: ethernet(parseMac(GW_WAN), parseMac(ROUTER), ETH_P_IP, ip) });
type Out = { kind: string; reason?: string; link?: string; frame?: Uint8Array };
const fates = (out: Out[]) => out.map((o) => (o.kind === 'drop' ? o.reason : `${o.kind}${o.link ? ` ${o.link}` : ''}`));
const table = (t: string, ...lines: string[]) => [`*${t}`, ...lines, 'COMMIT', ''].join('\n');

describe('ipset noun', () => {
  it('loads ipset save output and prints it back; -m set looks the sets up', async () => {
    const h = await gateway();
    const text = [
      'create allowed hash:net family inet hashsize 1024 maxelem 65536',
      'add allowed 10.1.0.0/24',
      'add allowed 10.1.0.5 nomatch',
      'create dns hash:ip,port family inet hashsize 1024 maxelem 65536',
      'add dns 8.8.8.8,udp:53',
      'create both list:set size 8',
      'add both dns',
      '',
    ].join('\n');
    h.ipset.load(text);
    expect(h.ipset.save()).toBe(text);
    h.rules.load(table('filter', ':FORWARD DROP [0:0]', '-A FORWARD -m set --match-set both dst,dst -j ACCEPT', '-A FORWARD -m set --match-set allowed src -j ACCEPT'));
    expect(fates(h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000, 53))], 0))).toEqual(['tx eth0']);
    // 10.1.0.5 is nomatch in "allowed": to anything but DNS it is dropped.
    expect(fates(h.receive([fromLan(udp('10.1.0.5', '1.1.1.1', 5000, 53))], 1))).toEqual(['NETFILTER_DROP']);
    // A set's members change without reloading the rules.
    h.ipset.load('create allowed hash:net family inet\nadd allowed 10.1.0.0/24\n');
    expect(fates(h.receive([fromLan(udp('10.1.0.5', '1.1.1.1', 5001, 53))], 2))).toEqual(['tx eth0']);
  });

  it('a rule naming a set that does not exist is refused, naming the line; a set rules use cannot be destroyed', async () => {
    const h = await gateway();
    expect(() => h.rules.load(table('filter', ':FORWARD ACCEPT [0:0]', '-A FORWARD -m set --match-set nosuch src -j DROP'))).toThrow(/^line 3: set "nosuch" doesn't exist/);
    h.ipset.load('create lan hash:net\nadd lan 10.1.0.0/24\n');
    h.rules.load(table('filter', ':FORWARD ACCEPT [0:0]', '-A FORWARD -m set --match-set lan src -j DROP'));
    expect(() => h.ipset.destroy('lan')).toThrow(/cannot be destroyed/);
    expect(() => h.ipset.load('create x hash:mac\n')).toThrow(/^line 1: unsupported set type "hash:mac"/);
    expect(() => h.ipset.load('create y hash:ip family inet6\n')).toThrow(/only inet/);
  });
});

describe('raw, mangle, marks', () => {
  it('CT --notrack in raw PREROUTING: the packet is UNTRACKED, no connection, no NAT', async () => {
    const h = await gateway();
    h.rules.load(
      table('raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack') +
        table('nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o eth0 -j MASQUERADE') +
        table('filter', ':FORWARD DROP [0:0]', '-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT'),
    );
    const [o] = h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000, 53))], 0) as Out[];
    expect(o.kind).toBe('tx');
    expect(formatIPv4(get32(o.frame!, 14 + 12))).toBe('10.1.0.5'); // not masqueraded: untracked
    expect(h.conntrack.list(0)).toEqual([]);
    expect(fates(h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000, 54))], 1))).toEqual(['NETFILTER_DROP']);
  });

  it('MARK in mangle PREROUTING is seen by filter FORWARD; CONNMARK carries it to the replies', async () => {
    const h = await gateway();
    h.rules.load(
      table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
        '-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
        '-A PREROUTING -i eth1 -j MARK --set-xmark 0x10000/0x10000',
        '-A POSTROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff') +
        table('filter', ':FORWARD DROP [0:0]', '-A FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT'),
    );
    expect(fates(h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000, 53))], 0))).toEqual(['tx eth0']);
    expect(h.conntrack.list(0).map((c) => c.mark)).toEqual([0x10000]);
    // The reply from outside has no mark of its own: the connection gives it back.
    expect(fates(h.receive([fromWan(udp('8.8.8.8', '10.1.0.5', 53, 5000))], 1))).toEqual(['tx eth1']);
    // Another flow from outside is not marked: dropped.
    expect(fates(h.receive([fromWan(udp('8.8.4.4', '10.1.0.5', 53, 5001))], 2))).toEqual(['NETFILTER_DROP']);
    expect(h.conntrack.show(2)).toContain('mark=65536');
  });
});

describe('REJECT, LOG, limit, statistic', () => {
  it('REJECT sends the ICMP error it is told to, and a TCP reset for tcp-reset', async () => {
    const h = await gateway();
    h.rules.load(table('filter', ':FORWARD ACCEPT [0:0]', ':INPUT ACCEPT [0:0]',
      '-A FORWARD -p udp -m udp --dport 53 -j REJECT --reject-with icmp-host-prohibited',
      '-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset'));
    const out = h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000, 53))], 0) as Out[];
    expect(fates(out)).toEqual(['tx eth1', 'NETFILTER_DROP']);
    const err = out[0].frame!.subarray(14);
    expect([err[9], err[20], err[21]]).toEqual([1, 3, 10]);
    const rst = h.receive([fromLan(syn('10.1.0.5', '10.1.0.1', 40000, 22))], 1) as Out[];
    expect(fates(rst)).toEqual(['tx eth1', 'NETFILTER_DROP']);
    const seg = rst[0].frame!.subarray(14 + 20);
    expect([get16(seg, 0), get16(seg, 2), seg[13]]).toEqual([22, 40000, 0x14]); // RST|ACK from the port that refused
    expect(h.stats().stages.nf_reject).toBe(2);
  });

  it('LOG is counted; -m limit runs on the virtual clock; counters read back as iptables-save -c prints them', async () => {
    const h = await gateway();
    h.rules.load(table('filter', ':FORWARD ACCEPT [7:700]',
      '[3:300] -A FORWARD -m limit --limit 2/sec --limit-burst 2 -j LOG --log-prefix "fwd "',
      '-A FORWARD -p udp -j ACCEPT'));
    const send = (now: number) => h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 5000 + now, 53))], now);
    for (const now of [0, 0, 0, 499, 500, 1000]) send(now);
    // Burst 2 at 0 ms; the third waits; one credit back every 500 ms.
    expect(h.stats().stages.nf_log).toBe(4);
    const saved = h.rules.save({ counters: true });
    expect(saved).toContain(':FORWARD ACCEPT [7:700]');
    expect(saved).toContain('[7:424] -A FORWARD -m limit --limit 2/sec --limit-burst 2 -j LOG --log-prefix "fwd "');
    expect(saved).toContain('[6:186] -A FORWARD -p udp -j ACCEPT');
    expect(h.rules.save()).toContain(':FORWARD ACCEPT [7:700]');
    expect(h.rules.save()).not.toContain('[6:186]');
  });

  it('-m statistic --mode random picks the same packets given the same seed', async () => {
    const pick = async (seed: number) => {
      const h = await gateway();
      h.rules.randomSeed = seed;
      h.rules.load(table('filter', ':FORWARD ACCEPT [0:0]', '-A FORWARD -m statistic --mode random --probability 0.50000000000 -j DROP'));
      return Array.from({ length: 40 }, (_, i) => fates(h.receive([fromLan(udp('10.1.0.5', '8.8.8.8', 6000 + i, 53))], i))[0]);
    };
    const a = await pick(7);
    expect(await pick(7)).toEqual(a);
    expect(a.filter((f) => f === 'NETFILTER_DROP').length).toBeGreaterThan(5);
    expect(a.filter((f) => f === 'tx eth0').length).toBeGreaterThan(5);
    expect(await pick(8)).not.toEqual(a);
  });

  it('an ICMP echo request answered by the host gets the mark 0 of a packet of its own (icmp_reply)', async () => {
    const h = await gateway();
    h.rules.load(
      table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
        '-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff') +
        table('filter', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -m mark --mark 0x1 -j DROP'),
    );
    const ping = ipv4({ src: parseIPv4('10.1.0.5'), dst: parseIPv4('10.1.0.1'), proto: 1, ttl: 64 }, icmpMessage(8, 0, (7 << 16) | 1, Uint8Array.of(1)));
    expect(fates(h.receive([fromLan(ping)], 0))).toEqual(['tx eth1']);
  });
});
