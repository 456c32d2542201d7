// Hand-made cases of what the host's own stack sends to broadcast addresses
// (ip_route_output_key, ip_mc_output): 255.255.255.255 routed by the main
// table alone, a subnet's broadcast by the local table's broadcast route;
// both leave as Ethernet broadcasts (and loop a copy back, which shows on no
// wire). The host sends from a UDP socket on port 5353.
import { remoteMac } from './arb-routing.js';
import { twoLinks } from './cases.js';
import type { KCase, KSend, KSetup } from './setup.js';

const payload = Uint8Array.from([1, 2, 3, 4]);
const to = (dst: string): KSend => ({ dst, sport: 5353, dport: 9, payload });
const sends = (setup: KSetup, dsts: string[]): KCase => ({ setup, steps: [{ gap: 0, sends: dsts.map(to), frames: [] }] });

export const BROADCAST_CASES: Record<string, () => KCase> = {
  'broadcast: the host\'s 255.255.255.255 leaves by the default route\'s link, from its source; a subnet\'s broadcast by its own link': () =>
    sends(twoLinks({ routes: [{ dst: 'default', via: '10.2.0.254' }] }), ['255.255.255.255', '10.1.0.255', '10.2.0.255', '10.1.0.7']),
  'broadcast: without a route covering it, 255.255.255.255 is not sent (ENETUNREACH); a subnet\'s broadcast still is': () =>
    sends(twoLinks({ routes: [{ dst: '172.31.0.0/16', via: '10.2.0.254' }] }), ['255.255.255.255', '10.2.0.255']),
  'broadcast: a route for 255.255.255.255 itself, or with a source of its own, decides link and source': () =>
    sends(
      twoLinks({
        addrs: [{ dev: 'eth1', cidr: '10.1.0.1/24' }, { dev: 'eth2', cidr: '10.2.0.1/24' }, { dev: 'eth2', cidr: '10.2.9.1/24' }],
        routes: [{ dst: 'default', via: '10.2.0.254', src: '10.2.9.1' }, { dst: '255.255.255.255/32', dev: 'eth1' }],
        neighs: [{ ip: '10.1.0.7', mac: remoteMac(1, 7), dev: 'eth1' }, { ip: '10.2.0.254', mac: remoteMac(2, 0xfe), dev: 'eth2' }],
      }),
      ['255.255.255.255', '10.2.9.255', '172.31.0.1'],
    ),
};
