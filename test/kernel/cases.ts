// Hand-made cases for each class of departure from Linux the kernel showed
// (issue: "The kernel as the judge"). Each is a function so every run gets
// fresh frames.
import { arpFrame, echoRequest, ipFrame, udpPacket } from '../../src/packet/index.js';
import type { KCase, KSetup } from './setup.js';
import { hostMac, remoteMac } from './arb-routing.js';

/** eth1 10.1.0.1/24 towards a neighbour 10.1.0.7; eth2 10.2.0.1/24 with a gateway. */
export function twoLinks(extra: Partial<KSetup> = {}): KSetup {
  return {
    forwarding: true,
    links: [
      { name: 'eth1', type: 'veth', mac: hostMac(1) },
      { name: 'eth2', type: 'veth', mac: hostMac(2) },
    ],
    addrs: [{ dev: 'eth1', cidr: '10.1.0.1/24' }, { dev: 'eth2', cidr: '10.2.0.1/24' }],
    routes: [],
    neighs: [
      { ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' },
      { ip: '10.2.0.254', mac: remoteMac(2, 0xfe), dev: 'eth2' },
    ],
    ...extra,
  };
}

const fromNeighbour = (packet: Uint8Array) => ({ link: 'eth1', frame: ipFrame(hostMac(1), remoteMac(1, 7), packet) });

export const CLASS_CASES: Record<string, () => KCase> = {
  'ICMP limits: 13 packets without a route from one source get 2 net unreachables (ip_error and icmp_send share the peer)': () => ({
    setup: twoLinks(),
    steps: [{ gap: 0, frames: Array.from({ length: 13 }, (_, i) => fromNeighbour(udpPacket({ src: '10.1.0.7', dst: '172.31.0.1', sport: 1000 + i, dport: 53 }))) }],
  }),
  'ICMP limits: 8 TTL-expired packets from one source get 6 time exceeded, the peer bucket full': () => ({
    setup: twoLinks({ routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }] }),
    steps: [{ gap: 0, frames: Array.from({ length: 8 }, (_, i) => fromNeighbour(udpPacket({ src: '10.1.0.7', dst: '172.31.0.1', sport: 1000 + i, dport: 53, ttl: 1 }))) }],
  }),
  'ICMP limits: route errors and TTL errors to one source draw on one bucket; 1.5 s later one more': () => ({
    setup: twoLinks({ routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }] }),
    steps: [
      { gap: 0, frames: [0, 1, 2, 3].map((i) => fromNeighbour(udpPacket({ src: '10.1.0.7', dst: i % 2 ? '172.30.0.1' : '172.31.0.1', sport: 1000 + i, dport: 53, ttl: 1 }))) },
      { gap: 1500, frames: [4, 5, 6].map((i) => fromNeighbour(udpPacket({ src: '10.1.0.7', dst: '172.30.0.1', sport: 1000 + i, dport: 53 }))) },
    ],
  }),
  'ICMP limits: an error with no route back is not sent and spends nothing': () => ({
    setup: twoLinks({ routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }] }),
    steps: [{
      gap: 0,
      frames: [
        ...[0, 1, 2, 3, 4, 5, 6].map((i) => fromNeighbour(udpPacket({ src: '192.0.2.1', dst: '172.31.0.1', sport: 1000 + i, dport: 53, ttl: 1 }))),
        fromNeighbour(echoRequest({ src: '10.1.0.7', dst: '10.1.0.1', id: 1, seq: 1 })),
      ],
    }],
  }),
  'preferred source: a route without a gateway takes its link\'s first primary address, not the one whose subnet holds the destination': () => ({
    setup: twoLinks({
      addrs: [{ dev: 'eth1', cidr: '10.1.0.1/24' }, { dev: 'eth2', cidr: '10.2.0.1/24' }, { dev: 'eth2', cidr: '10.2.1.1/24' }],
      routes: [{ dst: '10.2.1.128/25', dev: 'eth2' }, { dst: '172.31.0.0/16', via: '10.1.0.7' }],
      neighs: [{ ip: '10.2.1.130', mac: remoteMac(2, 0x82), dev: 'eth2' }, { ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' }],
    }),
    steps: [{ gap: 0, frames: [{ link: 'eth2', frame: ipFrame(hostMac(2), remoteMac(2, 0x82), udpPacket({ src: '10.2.1.130', dst: '172.31.0.1', sport: 1000, dport: 53, ttl: 1 })) }] }],
  }),
  'preferred source: a link without addresses borrows the first primary of the first link, not of the first address added': () => ({
    setup: {
      forwarding: true,
      links: [
        { name: 'eth1', type: 'veth', mac: hostMac(1) },
        { name: 'eth2', type: 'veth', mac: hostMac(2) },
        { name: 'eth3', type: 'veth', mac: hostMac(3) },
      ],
      addrs: [{ dev: 'eth2', cidr: '10.2.0.1/24' }, { dev: 'eth1', cidr: '10.1.0.1/24' }],
      routes: [{ dst: '172.30.0.0/16', dev: 'eth3' }, { dst: '172.31.0.0/16', via: '10.1.0.7' }],
      neighs: [{ ip: '172.30.0.9', mac: remoteMac(3, 9), dev: 'eth3' }, { ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' }],
    },
    steps: [{ gap: 0, frames: [{ link: 'eth3', frame: ipFrame(hostMac(3), remoteMac(3, 9), udpPacket({ src: '172.30.0.9', dst: '172.31.0.1', sport: 1000, dport: 53, ttl: 1 })) }] }],
  }),
  'preferred source: an ARP request for a next hop asks from the link\'s first primary whose subnet holds it': () => ({
    setup: twoLinks({
      addrs: [{ dev: 'eth1', cidr: '10.1.0.1/24' }, { dev: 'eth2', cidr: '10.2.0.1/16' }, { dev: 'eth2', cidr: '10.2.5.1/24' }, { dev: 'eth2', cidr: '10.2.5.2/24' }],
      routes: [{ dst: '172.31.0.0/16', via: '10.2.5.254' }],
    }),
    steps: [{ gap: 0, frames: [fromNeighbour(udpPacket({ src: '10.1.0.7', dst: '172.31.0.1', sport: 1000, dport: 53 }))] }],
  }),
  'bridge: a frame to a port\'s own MAC is the host\'s; 01:80:c2:00:00:0X is not forwarded; nobody\'s source MACs are dropped': () => {
    const setup: KSetup = {
      forwarding: false,
      links: [
        { name: 'br0', type: 'bridge', mac: '02:00:00:00:00:b0' },
        { name: 'p1', type: 'veth', mac: hostMac(1), master: 'br0' },
        { name: 'p2', type: 'veth', mac: hostMac(2), master: 'br0' },
      ],
      addrs: [{ dev: 'br0', cidr: '10.0.0.1/24' }],
      routes: [],
      neighs: [{ ip: '10.0.0.11', mac: '02:bb:00:00:00:01', dev: 'br0' }],
    };
    const udp = (dst: string) => udpPacket({ src: '10.0.0.11', dst, sport: 1000, dport: 7 });
    const frames = [
      ipFrame(hostMac(2), '02:bb:00:00:00:01', udp('10.0.0.1')), // to p2's MAC from behind p1
      ipFrame('01:80:c2:00:00:01', '02:bb:00:00:00:01', udp('10.0.0.12')),
      ipFrame('01:80:c2:00:00:02', '02:bb:00:00:00:01', udp('10.0.0.12')),
      ipFrame('01:80:c2:00:00:0e', '02:bb:00:00:00:01', udp('10.0.0.12')),
      ipFrame('01:80:c2:00:00:00', '02:bb:00:00:00:01', udp('10.0.0.12')),
      ipFrame('ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:09', udp('10.0.0.12')),
      ipFrame('ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', udp('10.0.0.12')),
    ];
    return { setup, steps: [{ gap: 0, frames: frames.map((frame) => ({ link: 'p1', frame })) }] };
  },
  'ARP: a gratuitous ARP claiming the host\'s own address is not answered': () => ({
    setup: twoLinks(),
    steps: [{
      gap: 0,
      frames: [
        { link: 'eth1', frame: arpFrame({ op: 1, sha: remoteMac(1, 9), spa: '10.1.0.1', tpa: '10.1.0.1' }) },
        { link: 'eth1', frame: arpFrame({ op: 1, sha: remoteMac(1, 9), spa: '10.1.0.1', tpa: '10.1.0.5' }) },
        { link: 'eth1', frame: arpFrame({ op: 1, sha: remoteMac(1, 9), spa: '10.2.0.1', tpa: '10.1.0.1' }) },
      ],
    }],
  }),
  'ARP: within locktime (1 s) a neighbour keeps its first MAC; after it, or for a gratuitous ARP, it takes the new one': () => {
    const setup = twoLinks({ neighs: [] });
    const ping = (mac: string, seq: number) => ({ link: 'eth1', frame: ipFrame(hostMac(1), mac, echoRequest({ src: '10.1.0.7', dst: '10.1.0.1', id: 1, seq })) });
    const A = remoteMac(1, 0xa);
    const B = remoteMac(1, 0xb);
    const C = remoteMac(1, 0xc);
    const reply = (mac: string) => ({ link: 'eth1', frame: arpFrame({ op: 2, sha: mac, spa: '10.1.0.7', tha: hostMac(1), tpa: '10.1.0.1', dst: hostMac(1) }) });
    return {
      setup,
      steps: [
        { gap: 0, frames: [{ link: 'eth1', frame: arpFrame({ op: 1, sha: A, spa: '10.1.0.7', tpa: '10.1.0.1' }) }] },
        { gap: 200, frames: [reply(B), ping(A, 1)] },
        { gap: 1500, frames: [reply(B), ping(A, 2)] },
        { gap: 200, frames: [{ link: 'eth1', frame: arpFrame({ op: 1, sha: C, spa: '10.1.0.7', tpa: '10.1.0.7' }) }, ping(A, 3)] },
      ],
    };
  },
  'ICMP errors quote what fits the MTU of the way back when it is under 576': () => ({
    setup: twoLinks({
      links: [
        { name: 'eth1', type: 'veth', mac: hostMac(1), mtu: 300 },
        { name: 'eth2', type: 'veth', mac: hostMac(2) },
      ],
      routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }],
    }),
    steps: [{ gap: 0, frames: [fromNeighbour(udpPacket({ src: '10.1.0.7', dst: '172.31.0.1', sport: 1000, dport: 53, ttl: 1, size: 272 }))] }],
  }),
};
