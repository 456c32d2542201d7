// Hand-made cases of IP options (ip_options_compile, ip_rcv_options,
// ip_forward_options, __ip_options_echo, ip_options_fragment), judged by the
// kernel. A host with two links routes 172.31.0.0/16 by a gateway on eth2.
import { echoRequest, ipFrame, tcpPacket, udpPacket } from '../../src/packet/index.js';
import { hostMac, remoteMac } from './arb-routing.js';
import { twoLinks } from './cases.js';
import { withOptions } from './packets.js';
import type { KCase, KFrame, KSetup } from './setup.js';

const router = (extra: Partial<KSetup> = {}) => twoLinks({ routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }], ...extra });
const fromNeighbour = (packet: Uint8Array): KFrame => ({ link: 'eth1', frame: ipFrame(hostMac(1), remoteMac(1, 7), packet) });
const through = (options: number[], o: { ttl?: number; size?: number; df?: boolean; dst?: string } = {}) =>
  fromNeighbour(withOptions(udpPacket({ src: '10.1.0.7', dst: o.dst ?? '172.31.0.1', sport: 1000, dport: 53, size: o.size ?? 4, ttl: o.ttl, df: o.df }), options));
const toHost = (options: number[]) => fromNeighbour(withOptions(echoRequest({ src: '10.1.0.7', dst: '10.1.0.1', id: 1, seq: 1, size: 8 }), options));
const one = (setup: KSetup, frames: KFrame[]): KCase => ({ setup, steps: [{ gap: 0, frames }] });

/** Record Route with n empty slots, its pointer at `ptr` (4: the first slot). */
const rr = (n: number, ptr = 4) => [7, 3 + 4 * n, ptr, ...new Array(4 * n).fill(0)];

export const OPTION_CASES: Record<string, () => KCase> = {
  'IP options: Record Route gets the address a forwarded packet leaves by; a full one is left as it is': () =>
    one(router(), [through(rr(2)), through(rr(2, 8)), through(rr(2, 12)), through([7, 7, 8, 9, 9, 9, 9])]),
  'IP options: malformed options are answered with a parameter problem pointing at the bad byte (IP_INHDR)': () =>
    one(router(), [
      through(rr(2, 3)), // pointer under 4
      through(rr(2, 10)), // pointer past the last whole slot
      through([7, 13, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // longer than the header
      through([7, 1, 4]), // length under 2
      through([...rr(1), ...rr(1)]), // two Record Routes
    ]),
  'IP options: malformed timestamps, router alert and CIPSO are answered with a parameter problem too': () =>
    one(router(), [
      through([0x44, 12, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // timestamp pointer under 5
      through([0x44, 12, 13, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0]), // full, overflow at 15
      through([0x44, 8, 5, 1, 0, 0, 0, 0]), // address and time with room for half an entry
      through([0x94, 3, 0]), // router alert too short
      through([0x86, 6, 0, 0, 0, 1]), // CIPSO, no domain of interpretation defined
    ]),
  'IP options: source-routed packets are dropped (accept_source_route 0), forwarded or to the host': () =>
    one(router(), [
      through([0x83, 7, 4, 10, 2, 0, 9]),
      through([0x89, 7, 4, 10, 2, 0, 9]),
      fromNeighbour(withOptions(udpPacket({ src: '10.1.0.7', dst: '10.1.0.1', sport: 1, dport: 9, size: 4 }), [0x83, 11, 8, 10, 2, 0, 9, 10, 1, 0, 7])),
    ]),
  'IP options: timestamps on forward (times, address and time, prespecified), a full one counts its overflow': () =>
    one(router(), [
      through([0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      through([0x44, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
      through([0x44, 12, 5, 3, 10, 1, 0, 1, 0, 0, 0, 0]), // our address: stamped
      through([0x44, 12, 5, 3, 10, 9, 0, 1, 0, 0, 0, 0]), // someone else's: left
      through([0x44, 12, 5, 3, 0, 0, 0, 0, 0, 0, 0, 0]), // 0.0.0.0 is no unicast address: stamped
      through([0x44, 12, 13, 0x10, 0, 0, 0, 0, 0, 0, 0, 0]), // full: overflow 1 -> 2
      through([0x44, 12, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0]), // an unknown flag: left
    ]),
  'IP options: an echo reply, a port unreachable and a reset echo Record Route and timestamps, with the host\'s addresses': () =>
    one(router(), [
      toHost(rr(2)),
      toHost(rr(2, 12)),
      toHost([0x44, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
      toHost([1, 1, 0x94, 4, 0, 0]), // NOPs and router alert are not echoed
      fromNeighbour(withOptions(udpPacket({ src: '10.1.0.7', dst: '10.1.0.1', sport: 1, dport: 9, size: 4 }), rr(2))),
      fromNeighbour(withOptions(tcpPacket({ src: '10.1.0.7', dst: '10.1.0.1', sport: 1, dport: 9, flags: 'S' }), rr(2))),
    ]),
  'IP options: errors quote the packet as compiled (its old checksum) and echo its options; an error about a source route goes back along it': () =>
    one(router({ neighs: [{ ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' }, { ip: '10.1.0.9', mac: remoteMac(1, 9), dev: 'eth1' }, { ip: '10.2.0.254', mac: remoteMac(2, 0xfe), dev: 'eth2' }] }), [
      through(rr(2), { ttl: 1 }),
      through(rr(2), { dst: '172.30.0.1' }), // no route
      through([0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], { dst: '172.30.0.1' }),
      through([0x83, 11, 8, 10, 1, 0, 9, 10, 8, 0, 8, 7, 3, 3, 0, 0]), // a source route, then a bad Record Route
      through([0x83, 11, 12, 10, 1, 0, 7, 10, 1, 0, 9, 7, 3, 3, 0, 0]), // the route recorded began at the sender itself
    ]),
  'IP options: a forwarded packet too big for the link is fragmented; later fragments keep only the copied options': () =>
    one(
      router({ links: [{ name: 'eth1', type: 'veth', mac: hostMac(1) }, { name: 'eth2', type: 'veth', mac: hostMac(2), mtu: 576 }] }),
      [through([...rr(2), 0x94, 4, 0, 0], { size: 1200 }), through([0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], { size: 1200, df: true })],
    ),
};
