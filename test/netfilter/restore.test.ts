// rules.load() is iptables-restore: the tables in the input replace their
// namesakes and no other; with { noflush: true } (--noflush) the tables in
// the input keep their rules too and the input's commands apply on top.
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { ModelHost } from '../model/host.js';

interface RulesHost {
  rules: { load(text: string, opts?: { noflush?: boolean }): void; save(): string };
}

const NAT = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
`;
const FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
`;

/** The rule lines and chain lines of a table in save() output. */
function tableOf(saved: string, table: string): string[] {
  const lines = saved.split('\n');
  const start = lines.indexOf(`*${table}`);
  if (start < 0) return [];
  const end = lines.indexOf('COMMIT', start);
  return lines.slice(start + 1, end).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

const hosts: [string, () => Promise<RulesHost>][] = [
  ['engine', async () => (await Host.create({ name: 'r' })) as unknown as RulesHost],
  ['model', async () => ModelHost.create({ name: 'r' }) as unknown as RulesHost],
];

describe.each(hosts)('rules.load is iptables-restore (%s)', (_, make) => {
  it('a filter-only text keeps the nat table, a nat-only text the filter table', async () => {
    const h = await make();
    h.rules.load(NAT + FILTER);
    const nat = tableOf(h.rules.save(), 'nat');
    expect(nat).toContain('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
    h.rules.load('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n');
    expect(tableOf(h.rules.save(), 'nat')).toEqual(nat);
    expect(tableOf(h.rules.save(), 'filter')).toEqual([':INPUT ACCEPT', ':FORWARD ACCEPT', ':OUTPUT ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']);
    h.rules.load('*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
    expect(tableOf(h.rules.save(), 'nat')).toEqual([':PREROUTING ACCEPT', ':INPUT ACCEPT', ':OUTPUT ACCEPT', ':POSTROUTING ACCEPT']);
    expect(tableOf(h.rules.save(), 'filter')).toContain('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT');
  });

  it('load("") changes nothing', async () => {
    const h = await make();
    h.rules.load(NAT + FILTER);
    const before = h.rules.save();
    h.rules.load('');
    h.rules.load('# only a comment\n\n');
    expect(h.rules.save()).toBe(before);
  });

  it('--noflush keeps the rules of the tables in the input and appends', async () => {
    const h = await make();
    h.rules.load(NAT + FILTER);
    h.rules.load('*filter\n-A DOCKER-USER -s 10.9.0.0/16 -j DROP\n-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n', { noflush: true });
    const f = tableOf(h.rules.save(), 'filter');
    expect(f).toEqual([
      ':INPUT ACCEPT', ':FORWARD DROP', ':OUTPUT ACCEPT', ':DOCKER-USER -',
      '-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A FORWARD -j DOCKER-USER',
      '-A DOCKER-USER -j RETURN',
      '-A DOCKER-USER -s 10.9.0.0/16 -j DROP',
    ]);
    expect(tableOf(h.rules.save(), 'nat')).toContain('-A DOCKER -i docker0 -j RETURN');
  });

  it('--noflush: a policy line sets the policy, a user chain line flushes that chain (as iptables-restore does)', async () => {
    const h = await make();
    h.rules.load(NAT + FILTER);
    h.rules.load('*filter\n:FORWARD ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:NEW-ONE - [0:0]\n-A NEW-ONE -j RETURN\nCOMMIT\n', { noflush: true });
    expect(tableOf(h.rules.save(), 'filter')).toEqual([
      ':INPUT ACCEPT', ':FORWARD ACCEPT', ':OUTPUT ACCEPT', ':DOCKER-USER -', ':NEW-ONE -',
      '-A FORWARD -j DOCKER-USER',
      '-A NEW-ONE -j RETURN',
    ]);
  });

  it('a bad line leaves every table as it was, with or without --noflush', async () => {
    const h = await make();
    h.rules.load(NAT + FILTER);
    const before = h.rules.save();
    expect(() => h.rules.load('*filter\n-A FORWARD -j NOPE\nCOMMIT\n', { noflush: true })).toThrow(/line 2: /);
    expect(() => h.rules.load('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n-A FORWARD --bogus\nCOMMIT\n')).toThrow(/line 5: /);
    expect(h.rules.save()).toBe(before);
  });
});

describe('rules.load is iptables-restore: traffic', () => {
  it('loading a filter table leaves the nat table masquerading', async () => {
    const { ETH_P_IP, ethernet, ipv4, parseIPv4, parseMac, udpSegment, get32, formatIPv4 } = await import('../model/wire.js');
    const h = await Host.create({ name: 'gw', forwarding: true });
    h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
    h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:00:02' });
    h.addr.add('eth0', '203.0.113.1/24');
    h.addr.add('eth1', '10.1.0.1/24');
    h.route.add({ dst: 'default', via: '203.0.113.254' });
    h.neigh.add({ ip: '203.0.113.254', mac: '02:aa:00:00:00:fe', dev: 'eth0' });
    h.rules.load('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n');
    h.rules.load('*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -j DROP\nCOMMIT\n');
    const src = parseIPv4('10.1.0.5');
    const dst = parseIPv4('8.8.8.8');
    const ip = ipv4({ src, dst, proto: 17, ttl: 64 }, udpSegment(src, dst, 5000, 53, Uint8Array.of(1)));
    const [o] = h.receive([{ link: 'eth1', frame: ethernet(parseMac('02:00:00:00:00:02'), parseMac('02:bb:00:00:00:05'), ETH_P_IP, ip) }], 0);
    expect(o.kind).toBe('tx');
    expect(formatIPv4(get32((o as { frame: Uint8Array }).frame, 14 + 12))).toBe('203.0.113.1');
  });
});
