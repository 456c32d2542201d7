// IPIP as Calico uses it: tunl0 on each node, routes to the other node's
// pod block via tunl0 onlink, the inner packet untouched but for its TTL.
import { describe, it, expect } from 'vitest';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { echoRequest, udpPacket, ipv4Packet, ipFrame, decode, decodeIp } from '../src/packet/index.js';
import { Wires } from './helpers/wire.js';

async function node(engine: Engine, n: number, opts: { tunnelMtu?: number; pmtudisc?: boolean } = {}) {
  const h = await Host.create({ name: `node${n}`, forwarding: true, engine });
  h.link.add({ name: 'eth0', type: 'ether', mac: `02:00:00:00:00:1${n}` });
  h.addr.add('eth0', `192.168.0.1${n}/24`);
  h.route.add({ dst: 'default', via: '192.168.0.1' }); // proxy ARP needs a route to 169.254.1.1
  h.link.add({ name: 'tunl0', type: 'ipip', mtu: opts.tunnelMtu ?? 1480, pmtudisc: opts.pmtudisc ?? false, peers: ['192.168.0.11', '192.168.0.12'] });
  h.link.add({ name: 'cali1', type: 'veth', mac: 'ee:ee:ee:ee:ee:ee', proxyArp: true });
  h.route.add({ dst: `10.244.${n - 1}.0/26`, type: 'blackhole' });
  h.route.add({ dst: `10.244.${n - 1}.5/32`, dev: 'cali1' });
  const other = n === 1 ? 2 : 1;
  h.route.add({ dst: `10.244.${other - 1}.0/26`, via: `192.168.0.1${other}`, dev: 'tunl0', onlink: true });
  const pod = await Host.create({ name: `pod${n}`, engine });
  pod.link.add({ name: 'eth0', type: 'veth' });
  pod.addr.add('eth0', `10.244.${n - 1}.5/32`);
  pod.route.add({ dst: '169.254.1.1/32', dev: 'eth0' });
  pod.route.add({ dst: 'default', via: '169.254.1.1', dev: 'eth0' });
  return { h, pod };
}

async function cluster(opts: { tunnelMtu?: number; pmtudisc?: boolean } = {}) {
  const engine = new Engine();
  const n1 = await node(engine, 1, opts);
  const n2 = await node(engine, 2, opts);
  const wires = new Wires()
    .connect({ host: n1.h, link: 'eth0' }, { host: n2.h, link: 'eth0' })
    .connect({ host: n1.h, link: 'cali1' }, { host: n1.pod, link: 'eth0' })
    .connect({ host: n2.h, link: 'cali1' }, { host: n2.pod, link: 'eth0' });
  // Record what crosses the underlay.
  const underlay: Uint8Array[] = [];
  const recv = n2.h.receive.bind(n2.h);
  n2.h.receive = (frames, now) => {
    for (const f of frames) if (f.link === 'eth0') underlay.push(f.frame);
    return recv(frames, now);
  };
  return { n1, n2, wires, underlay };
}

describe('IPIP between two Calico nodes', () => {
  it('a pod pings a pod on the other node through tunl0; the underlay carries protocol 4', async () => {
    const { n1, n2, wires, underlay } = await cluster();
    wires.pump(n1.pod, n1.pod.send([{ packet: echoRequest({ src: '0.0.0.0', dst: '10.244.1.5', id: 9, seq: 1 }) }], 0), 0);
    expect(wires.locals('pod1').map((p) => decodeIp(p).icmp?.type)).toEqual([0]);
    const encapsulated = underlay.map(decode).filter((d) => d.ip?.proto === 4);
    expect(encapsulated).toHaveLength(1);
    const d = encapsulated[0];
    expect(d.ip).toMatchObject({ src: '192.168.0.11', dst: '192.168.0.12', proto: 4, ttl: 63, checksumOk: true });
    expect(d.inner?.ip).toMatchObject({ src: '10.244.0.5', dst: '10.244.1.5', ttl: 63 });
    expect(n1.h.stats().stages.ipip_encap).toBe(1);
    expect(n2.h.stats().stages.ipip_decap).toBe(1);
    expect(n1.h.link.get('tunl0').stats.txPackets).toBe(1);
  });

  it('drops IPIP from a source outside the allowlist with NETFILTER_DROP', async () => {
    const { n2 } = await cluster();
    n2.h.neigh.add({ ip: '192.168.0.99', mac: '02:00:00:00:00:99', dev: 'eth0' });
    const inner = echoRequest({ src: '10.9.9.9', dst: '10.244.1.5', id: 1, seq: 1 });
    const outer = ipv4Packet({ src: '192.168.0.99', dst: '192.168.0.12', proto: 4 }, inner);
    const out = n2.h.receive([{ link: 'eth0', frame: ipFrame('02:00:00:00:00:12', '02:00:00:00:00:99', outer) }], 0);
    expect(out).toEqual([{ kind: 'drop', reason: 'NETFILTER_DROP', tag: 0 }]);
    expect(n2.h.stats().stages.ipip_rejected).toBe(1);
  });

  it('a packet too big for tunl0 with DF gets frag-needed with the tunnel MTU', async () => {
    const { n1 } = await cluster();
    n1.h.neigh.add({ ip: '10.244.0.5', mac: '02:00:00:00:05:05', dev: 'cali1' });
    const big = udpPacket({ src: '10.244.0.5', dst: '10.244.1.5', sport: 1, dport: 2, size: 1472, df: true });
    const out = n1.h.receive([{ link: 'cali1', frame: ipFrame('ee:ee:ee:ee:ee:ee', '02:00:00:00:05:05', big) }], 0);
    const icmp = out.filter((o) => o.kind === 'tx').map((o) => decode((o as { frame: Uint8Array }).frame).icmp);
    expect(icmp).toEqual([expect.objectContaining({ type: 3, code: 4, rest: 1480 })]);
  });

  it('a tunnel MTU larger than the underlay allows: DF packets get the path MTU, others fragment outside', async () => {
    const { n1 } = await cluster({ tunnelMtu: 1500 });
    n1.h.neigh.add({ ip: '10.244.0.5', mac: '02:00:00:00:05:05', dev: 'cali1' });
    n1.h.neigh.add({ ip: '192.168.0.12', mac: '02:00:00:00:00:12', dev: 'eth0' });
    const send = (df: boolean) => n1.h.receive([{ link: 'cali1', frame: ipFrame('ee:ee:ee:ee:ee:ee', '02:00:00:00:05:05', udpPacket({ src: '10.244.0.5', dst: '10.244.1.5', sport: 1, dport: 2, size: 1472, df })) }], 0);
    const withDf = send(true);
    expect(withDf.map((o) => (o.kind === 'tx' ? decode(o.frame).icmp?.rest : o.kind === 'drop' && o.reason))).toEqual([1480, 'PKT_TOO_BIG']);
    const without = send(false).map((o) => decode((o as { frame: Uint8Array }).frame).ip!);
    expect(without.map((ip) => [ip.proto, ip.fragOffset, ip.mf, ip.totalLength])).toEqual([[4, 0, true, 1500], [4, 1480, false, 40]]);
  });
});
