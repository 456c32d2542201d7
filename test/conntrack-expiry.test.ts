// Expired connections are gone (nf_ct_is_expired): to lookups, to the NAT
// port search, to early drop and to the table's fill level, whether or not a
// collector has reached them, and however the traffic is cut into calls.
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { ModelHost } from './model/host.js';
import {
  ETH_P_IP, TCP_ACK, TCP_SYN, ethernet, get16, ipv4, parseIPv4, parseMac, tcpSegment, udpSegment,
} from './model/wire.js';

interface Gw {
  receive(frames: { link: string; frame: Uint8Array; tag: number }[], now: number): Promise<unknown[]> | unknown[];
  rules: { load(text: string): void };
  conntrack: { list(now?: number): unknown[]; max: number };
}

const GW_LAN_MAC = '02:00:00:00:00:02';
const GW_WAN_MAC = '02:00:00:00:00:01';
const ROUTER_MAC = '02:aa:00:00:00:fe';

function gateway<H extends Gw & { link: { add(s: object): void }; addr: { add(d: string, c: string): void }; route: { add(s: object): void }; neigh: { add(s: object): void } }>(h: H, masq: string, max?: number): H {
  h.link.add({ name: 'eth0', type: 'ether', mac: GW_WAN_MAC });
  h.link.add({ name: 'eth1', type: 'ether', mac: GW_LAN_MAC });
  h.addr.add('eth0', '203.0.113.1/24');
  h.addr.add('eth1', '10.1.0.1/16');
  h.route.add({ dst: 'default', via: '203.0.113.254' });
  h.neigh.add({ ip: '203.0.113.254', mac: ROUTER_MAC, dev: 'eth0' });
  if (max) h.conntrack.max = max;
  h.rules.load(['*nat', ':POSTROUTING ACCEPT [0:0]', masq, 'COMMIT', ''].join('\n'));
  return h;
}

/** Client i of the LAN (10.1.x.y) sending a UDP datagram from port 40000 to 8.8.8.8:53. */
function lanUdp(i: number, tag: number): { link: string; frame: Uint8Array; tag: number } {
  const src = parseIPv4('10.1.0.0') + 2 + i;
  const mac = parseMac(`02:bb:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
  const ip = ipv4({ src, dst: parseIPv4('8.8.8.8'), proto: 17, ttl: 64 }, udpSegment(src, parseIPv4('8.8.8.8'), 40000, 53, Uint8Array.of(1, 2, 3)));
  return { link: 'eth1', frame: ethernet(parseMac(GW_LAN_MAC), mac, ETH_P_IP, ip), tag };
}

/** Client i's TCP segment to 8.8.8.8:80, or the server's answer to its translated port. */
function lanTcp(i: number, flags: number, tag: number): { link: string; frame: Uint8Array; tag: number } {
  const src = parseIPv4('10.1.0.0') + 2 + i;
  const dst = parseIPv4('8.8.8.8');
  const mac = parseMac(`02:bb:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
  const ip = ipv4({ src, dst, proto: 6, ttl: 64 }, tcpSegment(src, dst, { sport: 40000 + i, dport: 80, seq: 1, ack: flags & TCP_ACK ? 1 : 0, flags }, new Uint8Array(0)));
  return { link: 'eth1', frame: ethernet(parseMac(GW_LAN_MAC), mac, ETH_P_IP, ip), tag };
}
function wanTcp(i: number, flags: number, tag: number): { link: string; frame: Uint8Array; tag: number } {
  const src = parseIPv4('8.8.8.8');
  const dst = parseIPv4('203.0.113.1');
  const ip = ipv4({ src, dst, proto: 6, ttl: 64 }, tcpSegment(src, dst, { sport: 80, dport: 40000 + i, seq: 1, ack: 2, flags }, new Uint8Array(0)));
  return { link: 'eth0', frame: ethernet(parseMac(GW_WAN_MAC), parseMac(ROUTER_MAC), ETH_P_IP, ip), tag };
}

type Out = { kind: string; reason?: string; link?: string; frame?: Uint8Array };
const kinds = (out: unknown[]) => (out as Out[]).map((o) => (o.kind === 'drop' ? o.reason : o.kind));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const hosts: [string, () => Promise<Gw & Parameters<typeof gateway>[0]>][] = [
  ['engine', async () => (await Host.create({ name: 'gw', forwarding: true, neighSlots: 512 })) as never],
  ['model', async () => ModelHost.create({ name: 'gw', forwarding: true }) as never],
];

describe.each(hosts)('expired connections are gone (%s)', (_, make) => {
  it('after a mass expiry, new MASQUERADE flows get the ports the expired ones held', async () => {
    const h = gateway(await make(), '-A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 20000-20249');
    // 200 clients take 200 of the 250 ports.
    const first = await h.receive(range(200).map((i) => lanUdp(i, i)), 0);
    expect(kinds(first).filter((k) => k === 'tx')).toHaveLength(200);
    // 31 s later every one of them has expired; 200 other clients arrive at once.
    const second = await h.receive(range(200).map((i) => lanUdp(300 + i, 1000 + i)), 31_000);
    expect(kinds(second).filter((k) => k !== 'tx')).toEqual([]);
    const ports = (second as Out[]).map((o) => get16(o.frame!, 14 + 20));
    expect(new Set(ports).size).toBe(200);
  });

  it('a table full of expired connections admits new ones (ASSURED or not)', async () => {
    const h = gateway(await make(), '-A POSTROUTING -o eth0 -j MASQUERADE', 150);
    for (const i of range(150)) h.neigh.add({ ip: `10.1.${(2 + i) >> 8}.${(2 + i) & 255}`, mac: '02:bb:00:00:00:01', dev: 'eth1' });
    // 150 TCP connections through their handshake: ASSURED, never evictable.
    await h.receive(range(150).map((i) => lanTcp(i, TCP_SYN, i)), 0);
    await h.receive(range(150).map((i) => wanTcp(i, TCP_SYN | TCP_ACK, i)), 1);
    await h.receive(range(150).map((i) => lanTcp(i, TCP_ACK, i)), 2);
    expect(h.conntrack.list(3)).toHaveLength(150);
    // ESTABLISHED lasts 5 days; SYN_SENT connections 120 s. Let all of them run out.
    const later = 5 * 86_400_000 + 10;
    const out = await h.receive(range(150).map((i) => lanUdp(400 + i, 500 + i)), later);
    expect(kinds(out).filter((k) => k !== 'tx')).toEqual([]);
    expect(h.conntrack.list(later)).toHaveLength(150);
  });
});

describe('housekeeping is invisible: the same traffic cut into calls differently gives the same result', () => {
  it('engine: one call or one call per frame, same outputs and the same table', async () => {
    const traffic = (t: number) => [
      ...range(100).map((i) => ({ now: 0, frame: lanUdp(i, i) })),
      ...range(100).map((i) => ({ now: 40_000, frame: lanUdp(200 + (i * 7) % 100, 100 + i) })),
      ...range(100).map((i) => ({ now: 40_000 + t, frame: lanUdp(i, 200 + i) })),
    ];
    const run = async (perFrame: boolean) => {
      const h = gateway((await Host.create({ name: 'cut', forwarding: true })) as unknown as Gw & Parameters<typeof gateway>[0], '-A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 30000-30149');
      const out: unknown[] = [];
      const tr = traffic(1);
      if (perFrame) for (const x of tr) out.push(...(await h.receive([x.frame], x.now)));
      else for (const now of [...new Set(tr.map((x) => x.now))]) out.push(...(await h.receive(tr.filter((x) => x.now === now).map((x) => x.frame), now)));
      return { out: (out as Out[]).map((o) => [o.kind, o.reason, o.link, o.frame && Buffer.from(o.frame).toString('hex')]), list: h.conntrack.list(40_001) };
    };
    const a = await run(false);
    const b = await run(true);
    expect(b.out).toEqual(a.out);
    expect(b.list).toEqual(a.list);
  });
});
