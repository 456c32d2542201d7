// Frames of every size: jumbo frames carried end to end (9000-byte underlays,
// 8980-byte tunnels, NAT), frames longer than a link takes or than any buffer
// dropped with a name and counted, and no call ever leaving a buffer behind.
import { describe, it, expect } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { Context, mainContext } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { Network } from '../src/network.js';
import { buildCalico, calicoNetwork } from '../src/scenarios/calico.js';
import { echoRequest, udpPacket, ipFrame, decode, decodeIp } from '../src/packet/index.js';

function router(engine = new Engine(), mtu = 1500) {
  const h = new Host({ name: 'r', forwarding: true, engine });
  h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01', mtu });
  h.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:00:02', mtu });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('eth1', '10.0.1.1/24');
  h.neigh.add({ ip: '10.0.1.2', mac: '02:00:00:00:01:02', dev: 'eth1' });
  return h;
}

const udpFrame = (size: number, dst = '10.0.1.2') =>
  ipFrame('02:00:00:00:00:01', '02:00:00:00:00:aa', udpPacket({ src: '10.0.0.2', dst, sport: 1000, dport: 2000, size }));

function poolWhole(engine: Engine): void {
  const ctx = mainContext(engine);
  expect(ctx.free).toBe(ctx.capacity);
}

describe('jumbo frames', () => {
  it('a router with 9000-byte links forwards a 9014-byte frame whole', () => {
    const h = router(new Engine(), 9000);
    const frame = udpFrame(9000 - 28);
    expect(frame.length).toBe(9014);
    const out = h.receive([{ link: 'eth0', frame }], 0);
    expect(out.map((o) => o.kind)).toEqual(['tx']);
    const tx = out[0] as { frame: Uint8Array; link: string };
    expect(tx.link).toBe('eth1');
    expect(tx.frame.length).toBe(9014);
    expect(decode(tx.frame).udp?.payload.length).toBe(9000 - 28);
    poolWhole(h.engine);
  });

  it('the largest frame the engine holds (MTU 65390, a 65404-byte frame) is forwarded whole', () => {
    const h = router(new Engine(), L.MAX_MTU);
    const frame = udpFrame(L.MAX_MTU - 28);
    expect(frame.length).toBe(L.MAX_MTU + 14);
    const out = h.receive([{ link: 'eth0', frame }], 0);
    expect(out.map((o) => o.kind)).toEqual(['tx']);
    expect((out[0] as { frame: Uint8Array }).frame.length).toBe(L.MAX_MTU + 14);
    expect(decode((out[0] as { frame: Uint8Array }).frame).udp?.checksumOk).toBe(true);
    poolWhole(h.engine);
  });

  it('a 9000-byte packet leaving by a 1500-byte link is fragmented, every fragment in order', () => {
    const h = router();
    h.link.set('eth0', { mtu: 9000 });
    const out = h.receive([{ link: 'eth0', frame: udpFrame(8972) }], 0);
    const frags = out.map((o) => decode((o as { frame: Uint8Array }).frame).ip!);
    expect(frags.length).toBe(7);
    expect(frags.map((f) => f.fragOffset)).toEqual([0, 1480, 2960, 4440, 5920, 7400, 8880]);
    expect(frags.map((f) => f.mf)).toEqual([true, true, true, true, true, true, false]);
    expect(frags.reduce((n, f) => n + f.totalLength - 20, 0)).toBe(9000 - 20);
    poolWhole(h.engine);
  });

  it('Calico IPIP on a 9000-byte underlay with an 8980-byte tunnel carries an 8980-byte ping between pods', () => {
    const c = buildCalico({ nodes: 2, podsPerNode: 1, engine: new Engine(), tunnelMtu: 8980 });
    for (const n of c.nodes) {
      n.host.link.set('eth0', { mtu: 9000 });
      for (const p of n.pods) {
        n.host.link.set(p.cali, { mtu: 8980 });
        p.host.link.set('eth0', { mtu: 8980 });
      }
    }
    const net = calicoNetwork(c);
    const cap = net.capture('node2:eth0');
    const [a, b] = [c.nodes[0].pods[0], c.nodes[1].pods[0]];
    net.send(a.host.name, [echoRequest({ src: '0.0.0.0', dst: b.ip, id: 1, seq: 1, size: 8980 - 28, df: true })]);
    net.run();
    const replies = net.delivered(a.host.name).map((d) => decodeIp(d.packet)).filter((d) => d.icmp?.type === 0);
    expect(replies.map((r) => r.ip!.totalLength)).toEqual([8980]);
    const ipip = cap.frames.filter((f) => decode(f.frame).ip?.proto === 4);
    expect(ipip.map((f) => f.frame.length)).toEqual([9014, 9014]);
  });

  it('a 9000-byte UDP datagram is masqueraded as a whole', () => {
    const h = router(new Engine(), 9000);
    h.rules.load(['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -s 10.0.0.0/24 -o eth1 -j MASQUERADE', 'COMMIT', ''].join('\n'));
    const out = h.receive([{ link: 'eth0', frame: udpFrame(8972) }], 0);
    expect(out.length).toBe(1);
    const d = decode((out[0] as { frame: Uint8Array }).frame);
    expect(d.ip?.src).toBe('10.0.1.1');
    expect(d.ip?.totalLength).toBe(9000);
    expect(d.udp?.checksumOk).toBe(true);
    expect(h.conntrack.list()).toHaveLength(1);
  });
});

describe('frames too long', () => {
  it('a frame longer than the link takes is dropped FRAME_TOO_LONG and counted as rx_dropped', () => {
    const h = router();
    const out = h.receive([{ link: 'eth0', frame: udpFrame(1500) }, { link: 'eth0', frame: udpFrame(1472) }], 0);
    expect(out.map((o) => (o.kind === 'drop' ? o.reason : o.kind))).toEqual(['FRAME_TOO_LONG', 'tx']);
    const s = h.stats();
    expect(s.drops).toEqual({ FRAME_TOO_LONG: 1 });
    expect(h.link.get('eth0').stats).toMatchObject({ rxPackets: 1 });
    poolWhole(h.engine);
  });

  it('frames bigger than any buffer never throw nor take buffers, however many', () => {
    const h = router();
    const huge = new Uint8Array(70_000);
    huge.set(udpFrame(100));
    const good = udpFrame(100);
    for (let i = 0; i < 200; i++) {
      const out = h.receive([{ link: 'eth0', frame: good }, { link: 'eth0', frame: huge }, { link: 'eth0', frame: good }], i);
      expect(out.map((o) => (o.kind === 'drop' ? o.reason : o.kind))).toEqual(['tx', 'FRAME_TOO_LONG', 'tx']);
    }
    const ip = udpPacket({ src: '10.0.0.1', dst: '10.0.1.2', sport: 1, dport: 2, size: 1 });
    const big = new Uint8Array(70_000);
    big.set(ip);
    expect(h.send([{ packet: big }], 300).map((o) => (o.kind === 'drop' ? o.reason : o.kind))).toEqual(['FRAME_TOO_LONG']);
    expect(h.stats().fates).toMatchObject({ in: 600, originated: 1, sent: 400, dropped: 201 });
    poolWhole(h.engine);
  });

  it('a bridge drops a jumbo frame at a port whose MTU is smaller, and floods the others', () => {
    const h = new Host({ name: 'b', engine: new Engine() });
    h.link.add({ name: 'br0', type: 'bridge', mtu: 9000 });
    h.link.add({ name: 'p1', type: 'veth', master: 'br0', mtu: 9000 });
    h.link.add({ name: 'p2', type: 'veth', master: 'br0', mtu: 1500 });
    h.link.add({ name: 'p3', type: 'veth', master: 'br0', mtu: 9000 });
    const frame = ipFrame('02:00:00:00:09:09', '02:00:00:00:01:01', udpPacket({ src: '10.0.0.1', dst: '10.0.0.9', sport: 1, dport: 2, size: 5000 }));
    const out = h.receive([{ link: 'p1', frame }], 0);
    expect(out.map((o) => (o.kind === 'drop' ? o.reason : `${o.kind} ${(o as { link: string }).link}`))).toEqual(['FRAME_TOO_LONG', 'tx p3']);
    const s = h.stats().fates;
    expect(s.in + s.generated).toBe(s.sent + s.local + s.dropped);
    poolWhole(h.engine);
  });

  it('in a Network, frames too long for a buffer are counted and the valid ones due at the same instant still arrive', () => {
    const net = new Network();
    const a = net.host({ name: 'a' });
    const b = net.host({ name: 'b' });
    a.link.add({ name: 'eth0', type: 'veth', mac: '02:00:00:00:00:0a' });
    b.link.add({ name: 'eth0', type: 'veth', mac: '02:00:00:00:00:0b' });
    a.addr.add('eth0', '10.0.0.1/24');
    b.addr.add('eth0', '10.0.0.2/24');
    net.connect('a:eth0', 'b:eth0');
    const ping = (seq: number) => ipFrame('02:00:00:00:00:0b', '02:00:00:00:00:0a', echoRequest({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq }));
    net.inject('b:eth0', [ping(1), new Uint8Array(100_000), ping(2)]);
    const s = net.run();
    expect(s.dropped).toBe(1);
    expect(net.drops('b').map((d) => d.reason)).toEqual(['FRAME_TOO_LONG']);
    expect(b.stats().stages.icmp_echo_reply).toBe(2);
  });

  it('an input that finds its pool empty is dropped NOMEM, counted, and the pool comes back whole', () => {
    const engine = new Engine();
    const h = router(engine);
    const ctx = new Context(engine, { buffers: 2, jumboBuffers: 1, hugeBuffers: 1 });
    const frame = udpFrame(100);
    for (let i = 0; i < 6; i++) ctx.setInput(i, L.K_RX, h.link.get('eth0').index, frame, i);
    ctx.recordDrops = true;
    const n = h.process(ctx, 6, 0);
    const outs = Array.from({ length: n }, (_, i) => ctx.readOutput(i));
    expect(outs.map((o) => (o.kind === L.O_DROP ? L.DROP_NAMES[o.reason] : 'tx'))).toEqual(['tx', 'tx', 'tx', 'tx', 'NOMEM', 'NOMEM']);
    for (const o of outs) if (o.kind === L.O_TX) ctx.freeBuffer(o.buf);
    expect(ctx.free).toBe(ctx.capacity);
    expect(h.stats().fates).toMatchObject({ in: 6, sent: 4, dropped: 2 });
  });
});
