// The seed's docker0 walk-through with Docker's own rules: masquerade out,
// published ports in, unpublished ports closed, containers talking without
// NAT, hairpin NAT, the stale-UDP-conntrack pitfall, ICMP errors translated
// back, and a full conntrack table.
import { describe, it, expect } from 'vitest';
import { buildDocker, HOST_IP, SERVER_IP } from '../src/scenarios/docker.js';
import { echoRequest, udpPacket, tcpPacket, decodeIp, decode } from '../src/packet/index.js';

const web = { name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] };

describe('Docker host', () => {
  it('a container reaches an external server masqueraded to the host address, and the reply comes back', () => {
    const d = buildDocker({ containers: [web, { name: 'db' }] });
    const seen = d.net.capture('server:eth0');
    d.net.send('web', [echoRequest({ src: '0.0.0.0', dst: SERVER_IP, id: 77, seq: 1 })]);
    d.net.run();
    const requests = seen.frames.map((f) => decode(f.frame)).filter((x) => x.icmp?.type === 8);
    expect(requests.map((x) => x.ip?.src)).toEqual([HOST_IP]);
    const replies = d.net.delivered('web').map((x) => decodeIp(x.packet));
    expect(replies.map((x) => [x.ip?.src, x.ip?.dst, x.icmp?.type, x.icmp?.id])).toEqual([[SERVER_IP, '172.17.0.2', 0, 77]]);
    const [conn] = d.host.conntrack.list();
    expect(conn).toMatchObject({ proto: 'icmp', orig: { src: '172.17.0.2', dst: SERVER_IP }, reply: { src: SERVER_IP, dst: HOST_IP }, snat: true });
  });

  it('outside to host:8080 reaches container:80, and the answer goes back from host:8080', () => {
    const d = buildDocker({ containers: [web] });
    d.containers[0].host.listen('tcp', 80);
    d.server.listen('tcp', 40000);
    d.net.send('server', [tcpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 40000, dport: 8080, flags: 'S', seq: 100 })]);
    d.net.run();
    const syn = d.net.delivered('web').map((x) => decodeIp(x.packet));
    expect(syn.map((x) => [x.ip?.src, x.ip?.dst, x.tcp?.sport, x.tcp?.dport])).toEqual([[SERVER_IP, '172.17.0.2', 40000, 80]]);
    d.net.send('web', [tcpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 80, dport: 40000, flags: 'SA', seq: 500, ack: 101 })]);
    d.net.run();
    const synack = d.net.delivered('server').map((x) => decodeIp(x.packet));
    expect(synack.map((x) => [x.ip?.src, x.tcp?.sport, x.tcp?.dport, x.tcp?.checksumOk, x.ip?.checksumOk])).toEqual([[HOST_IP, 8080, 40000, true, true]]);
    expect(d.host.conntrack.list()[0]).toMatchObject({ proto: 'tcp', state: 'SYN_RECV', dnat: true, reply: { src: '172.17.0.2', sport: 80 } });
  });

  it('an unpublished container port stays closed from outside', () => {
    const d = buildDocker({ containers: [web] });
    d.containers[0].host.listen('tcp', 22);
    d.router.route.add({ dst: '172.17.0.0/16', via: HOST_IP }); // someone routes straight to the bridge
    d.net.send('server', [tcpPacket({ src: '0.0.0.0', dst: '172.17.0.2', sport: 40000, dport: 22, flags: 'S' })]);
    d.net.run();
    expect(d.net.delivered('web')).toEqual([]);
    expect(d.net.drops('docker-host').map((x) => x.reason)).toEqual(['NETFILTER_DROP']);
  });

  it('containers on docker0 reach each other without NAT', () => {
    const d = buildDocker({ containers: [web, { name: 'db' }] });
    d.containers[1].host.listen('udp', 5432);
    d.net.send('web', [udpPacket({ src: '0.0.0.0', dst: '172.17.0.3', sport: 1234, dport: 5432 })]);
    d.net.run();
    expect(d.net.delivered('db').map((x) => decodeIp(x.packet).ip?.src)).toEqual(['172.17.0.2']);
    expect(d.host.conntrack.count).toBe(0); // bridged: netfilter never saw it
  });

  it('with userland-proxy off, a container reaches its own published port through the host address (hairpin NAT)', () => {
    const d = buildDocker({ containers: [web], userlandProxy: false });
    d.containers[0].host.listen('tcp', 80);
    d.containers[0].host.listen('tcp', 41000);
    d.net.send('web', [tcpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 41000, dport: 8080, flags: 'S', seq: 1 })]);
    d.net.run();
    const got = d.net.delivered('web').map((x) => decodeIp(x.packet));
    // It arrives at itself from the bridge's address, to port 80.
    expect(got.map((x) => [x.ip?.src, x.ip?.dst, x.tcp?.dport])).toEqual([['172.17.0.1', '172.17.0.2', 80]]);
    const [conn] = d.host.conntrack.list();
    expect(conn).toMatchObject({ dnat: true, snat: true, orig: { src: '172.17.0.2', dst: HOST_IP, dport: 8080 }, reply: { src: '172.17.0.2', dst: '172.17.0.1', sport: 80 } });
  });

  it('reproduces the stale UDP conntrack pitfall (moby#8795), and conntrack.flush cures it', () => {
    const dns = (name: string) => ({ name, publish: [{ hostPort: 5353, containerPort: 53, proto: 'udp' as const }] });
    const d = buildDocker({ containers: [dns('old'), { name: 'new' }] });
    for (const c of d.containers) c.host.listen('udp', 53);
    d.server.listen('udp', 5000);
    // The client asks; whichever container got the question answers it.
    const ask = (seq: number) => {
      d.net.send('server', [udpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 5000, dport: 5353, payload: Uint8Array.of(seq) })]);
      d.net.run();
      for (const c of d.containers) {
        if (d.net.delivered(c.host.name).length > answered.get(c.host.name)!) {
          answered.set(c.host.name, d.net.delivered(c.host.name).length);
          d.net.send(c.host.name, [udpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 53, dport: 5000, payload: Uint8Array.of(seq) })]);
          d.net.run();
        }
      }
    };
    const answered = new Map(d.containers.map((c) => [c.host.name, 0]));
    ask(1);
    expect(d.net.delivered('old')).toHaveLength(1);
    // The port moves to the new container; the client keeps asking.
    d.publish([{ name: 'old' }, dns('new')]);
    ask(2);
    expect(d.net.delivered('old')).toHaveLength(2);
    expect(d.net.delivered('new')).toHaveLength(0);
    expect(d.net.delivered('server')).toHaveLength(2); // both answers came from host:5353
    expect(d.host.conntrack.flush({ proto: 'udp', dport: 5353 })).toBe(1);
    ask(3);
    expect(d.net.delivered('new')).toHaveLength(1);
    expect(d.net.delivered('old')).toHaveLength(2);
  });

  it("an ICMP time exceeded from the router beyond reaches the container with its quoted header translated back", () => {
    const d = buildDocker({ containers: [web] });
    d.net.send('web', [udpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport: 33434, dport: 33435, ttl: 2 })]);
    d.net.run();
    const errors = d.net.delivered('web').map((x) => decodeIp(x.packet));
    expect(errors).toHaveLength(1);
    const e = errors[0];
    expect([e.ip?.src, e.ip?.dst, e.icmp?.type, e.icmp?.checksumOk]).toEqual(['192.168.0.1', '172.17.0.2', 11, true]);
    expect(e.quoted?.ip).toMatchObject({ src: '172.17.0.2', dst: SERVER_IP });
    expect(e.quoted?.udp).toMatchObject({ sport: 33434, dport: 33435 });
    expect(e.quoted?.ip?.checksumOk).toBe(true);
  });

  it('a full conntrack table drops only new connections', () => {
    const d = buildDocker({ containers: [web] });
    d.host.conntrack.max = 2;
    d.server.listen('udp', 9);
    const send = (sport: number) => {
      d.net.send('web', [udpPacket({ src: '0.0.0.0', dst: SERVER_IP, sport, dport: 9 })]);
      d.net.run();
    };
    // Two flows that saw replies long enough ago are assured: they are kept.
    for (const sport of [1001, 1002]) {
      send(sport);
      d.net.advance(3000);
      d.net.send('server', [udpPacket({ src: '0.0.0.0', dst: HOST_IP, sport: 9, dport: d.host.conntrack.list().find((c) => c.orig.sport === sport)!.reply.dport! })]);
      d.net.run();
      send(sport);
    }
    expect(d.host.conntrack.list().every((c) => c.assured)).toBe(true);
    const before = d.net.delivered('server').length;
    send(1003);
    expect(d.net.drops('docker-host').map((x) => x.reason)).toContain('CONNTRACK_FULL');
    send(1001);
    expect(d.net.delivered('server').length).toBe(before + 1);
  });
});
