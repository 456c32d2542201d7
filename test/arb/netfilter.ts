// fast-check arbitraries for netfilter: a gateway host with 2-3 links
// (outside, a LAN, a container network on a bridge or a veth), rule sets of
// the iptables subset that make sense for it (MASQUERADE/SNAT out of the
// outside link, DNAT of published ports, filter FORWARD/INPUT/OUTPUT with
// ctstate, INVALID drops, -i/-o with + wildcards, user chains with RETURN),
// and flows between the hosts around it.
//
// A flow is written abstractly (who starts it, to which address, what each
// step is); the packets are made as the scenario runs by FlowDriver, from
// what the other side actually saw: a reply goes to the translated address
// and port the server saw, an ICMP error quotes the packet as it arrived.
// The driver learns what was seen from one host's outputs (the model's, in
// the differential test); both hosts get the same packets.
import fc from 'fast-check';
import type { Output } from '../model/host.js';
import type { ConnFilter } from '../model/netfilter.js';
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
  ethernet, formatIPv4, formatMac, get16, get32, icmpMessage, ipv4, parseIPv4, parseMac, tcpSegment, udpSegment,
} from '../model/wire.js';
import type { Batch } from '../model/drive.js';
import type { LinkSpec, RouteSpec, Topology } from './topology.js';

// ------------------------------------------------------------------ topology

export const WAN_IP = '203.0.113.1';
export const WAN2_IP = '198.51.100.1';
export const ROUTER_IP = '203.0.113.254';
export const LAN_GW = '10.1.0.1';
export const DOCKER_GW = '172.17.0.1';
export const IPPROTO_GRE = 47;

/** Another host as the gateway sees it: where its frames come from and go to. */
export interface Peer {
  ip: string;
  /** The gateway's link it is reached by (a bridge port for a container on the bridge). */
  link: string;
  mac: string;
  /** The MAC its frames to the gateway are addressed to (the link's, or the bridge's). */
  gwMac: string;
}

export interface GwTopology extends Topology {
  /** Every address around the gateway, and the gateway's own ("local"). */
  peers: Record<string, Peer>;
  local: string[];
  /** The container network's L3 device: a bridge "docker0" or a veth "cali1". */
  dockerDev: string;
}

const ROUTER_MAC = '02:aa:00:00:00:fe';
const MACS: Record<string, string> = {
  '203.0.113.10': '02:aa:00:00:00:0a',
  '198.51.100.7': '02:aa:00:00:00:07',
  '10.1.0.10': '02:bb:00:00:00:0a',
  '10.1.0.11': '02:bb:00:00:00:0b',
  '172.17.0.2': '02:42:ac:11:00:02',
  '172.17.0.3': '02:42:ac:11:00:03',
};
const GW_MACS = { eth0: '02:00:00:00:00:01', eth1: '02:00:00:00:00:02', docker0: '02:00:00:00:00:b0', cali1: 'ee:ee:ee:ee:ee:ee', vethA: '02:00:00:00:00:0a', vethB: '02:00:00:00:00:0b' };

export interface GwChoices {
  bridge: boolean;
  wan2: boolean;
  lanMtu: number;
  listens: { proto: 'udp' | 'tcp'; port: number }[];
}

export const arbGwChoices: fc.Arbitrary<GwChoices> = fc.record({
  bridge: fc.boolean(),
  wan2: fc.constantFrom(false, false, true),
  lanMtu: fc.constantFrom(1500, 1500, 1500, 1400),
  listens: fc.subarray([
    { proto: 'tcp' as const, port: 22 },
    { proto: 'udp' as const, port: 53 },
    { proto: 'tcp' as const, port: 8080 },
  ]),
});

export function buildGateway(c: GwChoices): GwTopology {
  const links: LinkSpec[] = [
    { name: 'eth0', type: 'ether', mac: GW_MACS.eth0 },
    { name: 'eth1', type: 'ether', mac: GW_MACS.eth1, mtu: c.lanMtu },
  ];
  const dockerDev = c.bridge ? 'docker0' : 'cali1';
  if (c.bridge) {
    links.push({ name: 'docker0', type: 'bridge', mac: GW_MACS.docker0 });
    links.push({ name: 'vethA', type: 'veth', mac: GW_MACS.vethA, master: 'docker0' });
    links.push({ name: 'vethB', type: 'veth', mac: GW_MACS.vethB, master: 'docker0' });
  } else {
    links.push({ name: 'cali1', type: 'veth', mac: GW_MACS.cali1 });
  }
  const addrs = [
    { dev: 'eth0', cidr: `${WAN_IP}/24` },
    ...(c.wan2 ? [{ dev: 'eth0', cidr: `${WAN2_IP}/24` }] : []),
    { dev: 'eth1', cidr: `${LAN_GW}/24` },
    { dev: dockerDev, cidr: `${DOCKER_GW}/16` },
  ];
  const routes: RouteSpec[] = [{ dst: 'default', via: ROUTER_IP }];
  const neighs = [
    { ip: ROUTER_IP, mac: ROUTER_MAC, dev: 'eth0' },
    { ip: '203.0.113.10', mac: MACS['203.0.113.10'], dev: 'eth0' },
    ...(c.wan2 ? [{ ip: '198.51.100.7', mac: MACS['198.51.100.7'], dev: 'eth0' }] : []),
    { ip: '10.1.0.10', mac: MACS['10.1.0.10'], dev: 'eth1' },
    { ip: '10.1.0.11', mac: MACS['10.1.0.11'], dev: 'eth1' },
    { ip: '172.17.0.2', mac: MACS['172.17.0.2'], dev: dockerDev },
    { ip: '172.17.0.3', mac: MACS['172.17.0.3'], dev: dockerDev },
  ];
  const peers: Record<string, Peer> = {};
  const wan = (ip: string, mac: string) => (peers[ip] = { ip, link: 'eth0', mac, gwMac: GW_MACS.eth0 });
  wan(ROUTER_IP, ROUTER_MAC);
  wan('8.8.8.8', ROUTER_MAC);
  wan('1.1.1.1', ROUTER_MAC);
  wan('203.0.113.10', MACS['203.0.113.10']);
  if (c.wan2) wan('198.51.100.7', MACS['198.51.100.7']);
  for (const ip of ['10.1.0.10', '10.1.0.11']) peers[ip] = { ip, link: 'eth1', mac: MACS[ip], gwMac: GW_MACS.eth1 };
  for (const [ip, port] of [['172.17.0.2', 'vethA'], ['172.17.0.3', 'vethB']] as const) {
    peers[ip] = c.bridge ? { ip, link: port, mac: MACS[ip], gwMac: GW_MACS.docker0 } : { ip, link: 'cali1', mac: MACS[ip], gwMac: GW_MACS.cali1 };
  }
  const local = [WAN_IP, ...(c.wan2 ? [WAN2_IP] : []), LAN_GW, DOCKER_GW];
  return {
    forwarding: true,
    links,
    addrs,
    routes,
    neighs,
    listens: c.listens,
    pool: { localIps: local, remoteIps: Object.keys(peers), oddIps: [], macs: [], rxLinks: [], ownMacs: {} },
    peers,
    local,
    dockerDev,
  };
}

// ------------------------------------------------------------------ rule sets

export interface RuleChoices {
  masq: ('lan' | 'docker' | 'snat' | 'ports' | 'random' | 'chain')[];
  dnat: ('docker' | 'lan')[];
  forwardPolicy: 'ACCEPT' | 'DROP';
  forward: (
    | 'invalid' | 'established' | 'docker-est' | 'published' | 'docker-out' | 'lan-out' | 'wan-new' | 'chain' | 'icmp'
    | 'reject' | 'log' | 'set' | 'dnat-state' | 'multiport' | 'echo' | 'statistic' | 'connmark' | 'goto' | 'mark'
  )[];
  input: ('invalid' | 'ssh' | 'established' | 'reject' | 'broadcast')[];
  output: ('icmp-invalid' | 'udp-lan' | 'reject')[];
  /** raw: DNS to the gateway untracked; mangle: LAN packets marked, marks kept with the connection. */
  raw?: ('notrack-dns' | 'notrack-out')[];
  mangle?: ('mark-lan' | 'connmark')[];
}

export const arbRuleChoices: fc.Arbitrary<RuleChoices> = fc.record({
  masq: fc.subarray(['lan', 'docker', 'snat', 'ports', 'random', 'chain'] as const, { maxLength: 3 }),
  dnat: fc.subarray(['docker', 'lan'] as const),
  forwardPolicy: fc.constantFrom('ACCEPT' as const, 'DROP' as const),
  forward: fc.subarray([
    'invalid', 'established', 'docker-est', 'published', 'docker-out', 'lan-out', 'wan-new', 'chain', 'icmp',
    'reject', 'log', 'set', 'dnat-state', 'multiport', 'echo', 'statistic', 'connmark', 'goto', 'mark',
  ] as const, { maxLength: 8 }),
  input: fc.subarray(['invalid', 'ssh', 'established', 'reject', 'broadcast'] as const),
  output: fc.subarray(['icmp-invalid', 'udp-lan', 'reject'] as const, { maxLength: 1 }),
  raw: fc.subarray(['notrack-dns', 'notrack-out'] as const),
  mangle: fc.subarray(['mark-lan', 'connmark'] as const),
});

/** The sets the gateway's rules name (-m set). */
export const GW_IPSETS = `create lan-net hash:net family inet hashsize 1024 maxelem 65536
add lan-net 10.1.0.0/24
create wan-hosts hash:ip family inet hashsize 1024 maxelem 65536
add wan-hosts 8.8.8.8
add wan-hosts 203.0.113.10
create svc hash:ip,port family inet hashsize 1024 maxelem 65536
add svc 172.17.0.2,tcp:80
add svc 172.17.0.3,udp:53
create any-lan list:set size 8
add any-lan lan-net
`;

/** iptables-save text for the choices, with the gateway's device names. */
export function buildRules(c: RuleChoices, t: GwTopology): string {
  const d = t.dockerDev;
  const nat: string[] = [];
  const natChains: string[] = [];
  const filter: string[] = [];
  const filterChains: string[] = [];
  if (c.dnat.includes('docker')) {
    natChains.push('DOCKER');
    nat.push('-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER');
    nat.push('-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER');
    nat.push(`-A DOCKER -i ${d} -j RETURN`);
    nat.push(`-A DOCKER ! -i ${d} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80`);
    nat.push(`-A DOCKER ! -i ${d} -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.3:53`);
  }
  if (c.dnat.includes('lan')) nat.push(`-A PREROUTING -d ${WAN_IP}/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.1.0.10:22`);
  for (const m of c.masq) {
    if (m === 'lan') nat.push('-A POSTROUTING -s 10.1.0.0/24 -o eth0 -j MASQUERADE');
    if (m === 'docker') nat.push(`-A POSTROUTING -s 172.16.0.0/12 ! -o ${d} -j MASQUERADE`);
    if (m === 'snat') nat.push(`-A POSTROUTING -s 10.0.0.0/8 -o eth+ -j SNAT --to-source ${WAN_IP}`);
    if (m === 'ports') {
      nat.push('-A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 40000-40002');
      nat.push('-A POSTROUTING -o eth0 -p tcp -m tcp --dport 80 -j SNAT --to-source 203.0.113.1:1024-1026');
    }
    if (m === 'random') nat.push('-A POSTROUTING -o eth0 -j MASQUERADE --random');
    if (m === 'chain') {
      natChains.push('NATOUT');
      nat.push('-A POSTROUTING -j NATOUT');
      nat.push('-A NATOUT -d 10.0.0.0/8 -j RETURN');
      nat.push('-A NATOUT -d 172.16.0.0/12 -j RETURN');
      nat.push('-A NATOUT ! -s 203.0.113.0/24 -o eth0 -j MASQUERADE');
    }
  }
  for (const f of c.forward) {
    if (f === 'invalid') filter.push('-A FORWARD -m conntrack --ctstate INVALID -j DROP');
    if (f === 'established') filter.push('-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    if (f === 'docker-est') filter.push(`-A FORWARD -o ${d} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    if (f === 'published') filter.push(`-A FORWARD -d 172.17.0.2/32 ! -i ${d} -o ${d} -p tcp -m tcp --dport 80 -j ACCEPT`);
    if (f === 'docker-out') filter.push(`-A FORWARD -i ${d} ! -o ${d} -j ACCEPT`);
    if (f === 'lan-out') filter.push('-A FORWARD -i eth1 -o eth+ -j ACCEPT');
    if (f === 'wan-new') filter.push('-A FORWARD -i eth0 -m conntrack --ctstate NEW -j DROP');
    if (f === 'icmp') filter.push('-A FORWARD -p icmp -j ACCEPT');
    if (f === 'chain') {
      filterChains.push('FWD-EXT');
      filter.push('-A FORWARD -i eth+ -j FWD-EXT');
      filter.push('-A FWD-EXT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN');
      filter.push('-A FWD-EXT -s 10.1.0.0/24 -j RETURN');
      filter.push('-A FWD-EXT -p udp -m udp ! --dport 53 -j DROP');
      filter.push('-A FWD-EXT -p tcp -m tcp ! --dport 80 -j DROP');
    }
  }
  for (const f of c.forward) {
    if (f === 'reject') {
      filter.push('-A FORWARD -i eth0 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset');
      filter.push('-A FORWARD -i eth0 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable');
      filter.push('-A FORWARD -s 10.1.0.11/32 -p tcp -m tcp --dport 443 -j REJECT --reject-with icmp-host-prohibited');
    }
    if (f === 'log') filter.push('-A FORWARD -m conntrack --ctstate NEW -m limit --limit 3/min --limit-burst 2 -j LOG --log-prefix "fw new "');
    if (f === 'set') filter.push('-A FORWARD -m set --match-set any-lan src -m set ! --match-set wan-hosts dst -j DROP');
    if (f === 'set') filter.push(`-A FORWARD -o ${d} -m set --match-set svc dst,dst -j ACCEPT`);
    if (f === 'dnat-state') filter.push('-A FORWARD -m conntrack --ctstate DNAT --ctorigdstport 8080 -j ACCEPT');
    if (f === 'multiport') filter.push('-A FORWARD -p tcp -m multiport --dports 22,443,1000:2000 -j ACCEPT');
    if (f === 'echo') filter.push('-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT');
    if (f === 'statistic') filter.push('-A FORWARD -p udp -m statistic --mode random --probability 0.50000000000 -j DROP');
    if (f === 'statistic') filter.push('-A FORWARD -p tcp -m statistic --mode nth --every 3 --packet 1 -j DROP');
    if (f === 'connmark') filter.push('-A FORWARD -m connmark --mark 0x10000/0x10000 -j ACCEPT');
    if (f === 'mark') filter.push('-A FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT');
    if (f === 'goto') {
      filterChains.push('LAN-OUT');
      filter.push('-A FORWARD -i eth1 -g LAN-OUT');
      filter.push('-A LAN-OUT -p udp -j ACCEPT');
      filter.push('-A LAN-OUT -p tcp -m tcp --dport 443 -j DROP');
    }
  }
  for (const f of c.input) {
    if (f === 'invalid') filter.push('-A INPUT -m conntrack --ctstate INVALID -j DROP');
    if (f === 'ssh') filter.push('-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j DROP');
    if (f === 'established') filter.push('-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT');
    if (f === 'reject') {
      filter.push('-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset');
      filter.push('-A INPUT -p udp -m udp --dport 53 -m addrtype --dst-type LOCAL --limit-iface-in -j REJECT');
    }
    if (f === 'broadcast') filter.push('-A INPUT -m addrtype --dst-type BROADCAST,MULTICAST -j DROP');
  }
  for (const f of c.output) {
    if (f === 'icmp-invalid') filter.push('-A OUTPUT -p icmp -m conntrack --ctstate INVALID -j DROP');
    if (f === 'udp-lan') filter.push('-A OUTPUT -o eth1 -p udp -j DROP');
    if (f === 'reject') filter.push('-A OUTPUT -o eth0 -p tcp -m tcp --dport 443 -j REJECT --reject-with tcp-reset');
  }
  const raw: string[] = [];
  for (const f of c.raw ?? []) {
    if (f === 'notrack-dns') raw.push('-A PREROUTING -i eth1 -p udp -m udp --dport 53 -j CT --notrack');
    if (f === 'notrack-out') raw.push('-A OUTPUT -p udp -m udp --sport 53 -j NOTRACK');
  }
  const mangle: string[] = [];
  for (const f of c.mangle ?? []) {
    if (f === 'mark-lan') mangle.push('-A PREROUTING -i eth1 -j MARK --set-xmark 0x10000/0x10000');
    if (f === 'connmark') {
      mangle.push('-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff');
      mangle.push('-A POSTROUTING -m mark --mark 0x10000/0x10000 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff');
    }
  }
  const tables = [
    ...(raw.length ? ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...raw, 'COMMIT'] : []),
    ...(mangle.length ? ['*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...mangle, 'COMMIT'] : []),
  ];
  return [
    ...tables,
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...natChains.map((n) => `:${n} - [0:0]`),
    ...nat,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    `:FORWARD ${c.forwardPolicy} [0:0]`,
    ':OUTPUT ACCEPT [0:0]',
    ...filterChains.map((n) => `:${n} - [0:0]`),
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------- flows

export type FlowProto = 'tcp' | 'udp' | 'icmp' | 'gre';

/** Who starts a flow, and the address and port it sends to. 'gw' clients are the gateway's own stack. */
export interface FlowSpec {
  proto: FlowProto;
  /** A peer's address, or one of the gateway's (its stack sends). */
  client: string;
  dst: string;
  sport: number;
  /** TCP/UDP destination port; ICMP: unused (sport is the echo id). */
  dport: number;
}

export type Step =
  | { kind: 'c2s' | 's2c'; flow: number; gap: number; flags: number; size: number; ttl: number; df: boolean; badSum: boolean }
  | { kind: 'err'; flow: number; gap: number; side: 'server' | 'router' | 'client'; type: number; code: number; whole: boolean }
  | { kind: 'flush'; gap: number; filter: ConnFilter }
  | { kind: 'tick'; gap: number };

export interface GwScenario {
  topology: GwTopology;
  /** ipset save text loaded before the rules. */
  ipsets?: string;
  rules: string;
  /** conntrack.max set before the rules are loaded (the table's arrays are sized from it). */
  maxBefore?: number;
  /** ... or after. */
  maxAfter?: number;
  flows: FlowSpec[];
  steps: Step[];
}

/** Gaps between steps: mostly none, sometimes past the 30 s (UDP, ICMP), 120 s and 600 s timeouts. */
const arbGap = fc.constantFrom(0, 0, 0, 0, 1, 10, 500, 2000, 3000, 31_000, 121_000, 600_000);

/** Client ports that clash (the same port from two hosts to one server), and ones in each NAT class. */
const arbSport = fc.constantFrom(40000, 40000, 40001, 40002, 1000, 700, 500, 33434, 61000);

function arbFlow(t: GwTopology, c: RuleChoices): fc.Arbitrary<FlowSpec> {
  const lan = ['10.1.0.10', '10.1.0.11'];
  const ctr = ['172.17.0.2', '172.17.0.3'];
  const outside = Object.keys(t.peers).filter((ip) => t.peers[ip].link === 'eth0' && ip !== ROUTER_IP);
  const gwAddrs = t.local;
  const pair = (from: string[], to: string[]) => fc.record({ client: fc.constantFrom(...from), dst: fc.constantFrom(...to) });
  const route = fc.oneof(
    { weight: 6, arbitrary: pair([...lan, ...ctr], outside) }, // out through NAT
    { weight: 3, arbitrary: pair(outside, [WAN_IP]) }, // to published ports or the gateway itself
    { weight: 1, arbitrary: pair(outside, gwAddrs) },
    { weight: 2, arbitrary: pair(lan, ctr) }, // between inside networks
    { weight: 1, arbitrary: pair(ctr, lan) },
    { weight: 1, arbitrary: pair(outside, [...lan, ...ctr]) }, // straight in
    { weight: 1, arbitrary: pair(lan, [WAN_IP, LAN_GW]) }, // inside to the gateway (DNAT from inside)
    { weight: 1, arbitrary: pair([WAN_IP], outside) }, // the gateway's own stack
    { weight: 1, arbitrary: pair([DOCKER_GW], ctr) },
    { weight: 1, arbitrary: pair([WAN_IP, LAN_GW], [WAN_IP]) }, // the gateway to its own published port (nat OUTPUT)
  );
  const published = c.dnat.length ? [8080, 5353, 2222] : [];
  // Ports the REJECT rules are about.
  if (c.forward.includes('reject') || c.input.includes('reject') || c.output.includes('reject')) published.push(8080, 443);
  return fc
    .record({
      route,
      proto: fc.constantFrom<FlowProto>('tcp', 'tcp', 'tcp', 'udp', 'udp', 'udp', 'icmp', 'icmp', 'gre'),
      sport: arbSport,
      dport: fc.constantFrom(53, 80, 443, 22, ...published, ...published),
    })
    .map(({ route: r, proto, sport, dport }) => ({
      // GRE only between other hosts: the gateway's own protocol unreachable about it would be an ICMP error about GRE.
      proto: proto === 'gre' && (gwAddrs.includes(r.client) || gwAddrs.includes(r.dst)) ? 'udp' : proto,
      client: r.client,
      dst: r.dst,
      // The gateway's own sockets use ports of their own (no clash with what it masquerades).
      sport: gwAddrs.includes(r.client) ? 50000 + (sport % 97) : sport,
      dport: proto === 'udp' && dport === 8080 ? 5353 : proto === 'tcp' && dport === 5353 ? 8080 : dport,
    }));
}

type StepDraft = Omit<Extract<Step, { kind: 'c2s' | 's2c' }>, 'flow' | 'gap'> | Omit<Extract<Step, { kind: 'err' }>, 'flow' | 'gap'>;

const S = TCP_SYN;
const A = TCP_ACK;
const TCP_SCRIPT: [kind: 'c2s' | 's2c', flags: number][] = [
  ['c2s', S], ['s2c', S | A], ['c2s', A], ['c2s', TCP_PSH | A], ['s2c', TCP_PSH | A], ['c2s', TCP_FIN | A], ['s2c', A], ['s2c', TCP_FIN | A], ['c2s', A],
];
const ODD_FLAGS = [TCP_RST, TCP_RST | A, S | TCP_FIN, 0, TCP_FIN, S, S | A, A];

const arbPacketOpts = fc.record({
  size: fc.constantFrom(0, 0, 10, 100, 100, 1450),
  ttl: fc.constantFrom(64, 64, 64, 64, 64, 64, 64, 64, 1),
  df: fc.boolean(),
  badSum: fc.constantFrom(false, false, false, false, false, false, false, false, false, false, false, true),
});

/** The steps of one flow, in order. */
function arbFlowSteps(f: FlowSpec): fc.Arbitrary<StepDraft[]> {
  const base: fc.Arbitrary<[('c2s' | 's2c'), number][]> =
    f.proto === 'tcp'
      ? fc
          .record({
            upto: fc.integer({ min: 1, max: TCP_SCRIPT.length }),
            odd: fc.option(fc.record({ at: fc.nat(9), dir: fc.constantFrom('c2s' as const, 's2c' as const), flags: fc.constantFrom(...ODD_FLAGS) }), { nil: undefined, freq: 3 }),
          })
          .map(({ upto, odd }) => {
            const s = TCP_SCRIPT.slice(0, upto);
            if (odd) s.splice(Math.min(odd.at, s.length), 0, [odd.dir, odd.flags]);
            return s;
          })
      : fc.array(fc.constantFrom<'c2s' | 's2c'>('c2s', 's2c', 's2c'), { minLength: 0, maxLength: 5 }).map((r) => [['c2s', 0], ...r.map((k) => [k, 0])] as [('c2s' | 's2c'), number][]);
  // ICMP errors: the server (or a router on its side) about what it saw, or the
  // client about a reply. Not about GRE, nor by the client about echo replies
  // (the engine does not relate those: see test/nat.test.ts).
  const sides: ('server' | 'router' | 'client')[] = f.proto === 'gre' ? [] : f.proto === 'icmp' ? ['server', 'router'] : ['server', 'router', 'client'];
  const err = fc.record({
    side: fc.constantFrom(...(sides.length ? sides : ['server' as const])),
    tc: fc.constantFrom([3, 3], [3, 1], [3, 0], [3, 4], [11, 0]),
    whole: fc.boolean(),
    at: fc.nat(12),
  });
  return fc
    .record({ base, opts: fc.array(arbPacketOpts, { minLength: 12, maxLength: 12 }), errs: sides.length ? fc.array(err, { maxLength: 2 }) : fc.constant([]) })
    .map(({ base: b, opts, errs }) => {
      const steps: StepDraft[] = b.map(([kind, flags], i) => ({ kind, flags, ...opts[i % opts.length] }));
      // Nothing the gateway would send an ICMP error about for GRE or echo
      // replies (no TTL 1; echo replies small): the engine's error about the
      // first rewrites the quoted GRE header, and it does not relate one
      // about the second to its connection (see test/nat.test.ts).
      for (const st of steps) {
        if (st.kind === 'err' || !(f.proto === 'gre' || (f.proto === 'icmp' && st.kind === 's2c'))) continue;
        st.ttl = 64;
        st.size = Math.min(st.size, 100);
      }
      for (const e of errs) {
        const at = Math.max(1, Math.min(e.at, steps.length));
        steps.splice(at, 0, { kind: 'err', side: e.side, type: e.tc[0], code: e.tc[1], whole: e.whole });
      }
      return steps;
    });
}

const arbFlushFilter: fc.Arbitrary<ConnFilter> = fc.constantFrom<ConnFilter>(
  {}, { proto: 'udp' }, { proto: 'tcp', dport: 8080 }, { proto: 'udp', dport: 5353 }, { src: '10.1.0.10' }, { replyDst: WAN_IP }, { proto: 'icmp' },
);

/** Random flows for a gateway, interleaved, with gaps, a few flushes and bare ticks. */
export function arbSteps(t: GwTopology, c: RuleChoices, maxFlows = 5, minFlows = 1): fc.Arbitrary<{ flows: FlowSpec[]; steps: Step[] }> {
  return fc
    .array(arbFlow(t, c), { minLength: minFlows, maxLength: maxFlows })
    .chain((flows) =>
      fc.record({
        flows: fc.constant(flows),
        perFlow: fc.tuple(...flows.map(arbFlowSteps)),
        order: fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 }),
        gaps: fc.array(arbGap, { minLength: 64, maxLength: 64 }),
        extras: fc.array(fc.record({ at: fc.nat(60), step: fc.oneof(fc.record({ kind: fc.constant('flush' as const), filter: arbFlushFilter }), fc.constant({ kind: 'tick' as const })) }), { maxLength: 2 }),
      }),
    )
    .map(({ flows, perFlow, order, gaps, extras }) => {
      // Interleave: each step gets a key; keys ascend within a flow.
      const keyed: { key: number; step: Step }[] = [];
      let n = 0;
      perFlow.forEach((drafts, flow) => {
        const keys = drafts.map((_, i) => order[(n + i) % order.length] + i / 100).sort((a, b) => a - b);
        drafts.forEach((d, i) => keyed.push({ key: keys[i], step: { ...d, flow, gap: 0 } as Step }));
        n += drafts.length;
      });
      keyed.sort((a, b) => a.key - b.key);
      const steps = keyed.map((k, i) => ({ ...k.step, gap: gaps[i % gaps.length] }) as Step);
      for (const e of extras) steps.splice(Math.min(e.at, steps.length), 0, { ...e.step, gap: 0 } as Step);
      return { flows, steps };
    });
}

export function arbGwScenario(maxFlows = 5, minFlows = 1): fc.Arbitrary<GwScenario> {
  return fc
    .record({ gw: arbGwChoices, rules: arbRuleChoices, max: fc.constantFrom<[('before' | 'after' | 'none'), number]>(['none', 0], ['none', 0], ['none', 0], ['before', 2], ['before', 4], ['after', 3]) })
    .chain(({ gw, rules, max }) => {
      const topology = buildGateway(gw);
      return arbSteps(topology, rules, maxFlows, minFlows).map(({ flows, steps }) => {
        const sc: GwScenario = { topology, ipsets: GW_IPSETS, rules: buildRules(rules, topology), flows, steps };
        if (max[0] === 'before') sc.maxBefore = max[1];
        if (max[0] === 'after') sc.maxAfter = max[1];
        return Object.defineProperty(sc, fc.toStringMethod, { value: () => describeGwScenario(sc), enumerable: false });
      });
    });
}

export function describeGwScenario(sc: GwScenario): string {
  const t = sc.topology;
  const lines = [`links ${t.links.map((l) => `${l.name}${l.master ? `@${l.master}` : ''}${l.mtu && l.mtu !== 1500 ? `/mtu${l.mtu}` : ''}`).join(' ')}`];
  lines.push(`addrs ${t.addrs.map((a) => `${a.dev}:${a.cidr}`).join(' ')}; listens ${t.listens.map((l) => `${l.proto}/${l.port}`).join(' ')}`);
  if (sc.maxBefore) lines.push(`conntrack.max = ${sc.maxBefore} (before rules)`);
  if (sc.maxAfter) lines.push(`conntrack.max = ${sc.maxAfter} (after rules)`);
  if (sc.ipsets) lines.push(sc.ipsets.trim());
  lines.push(sc.rules.trim());
  sc.flows.forEach((f, i) => lines.push(`flow ${i}: ${f.proto} ${f.client}:${f.sport} -> ${f.dst}:${f.dport}`));
  for (const s of sc.steps) lines.push(`  +${s.gap} ${JSON.stringify(s)}`);
  return lines.join('\n');
}

// --------------------------------------------------------------------- driver

/** How a packet gets to the gateway: a frame on a link, or its own stack sending it. */
type Sender = { via: 'rx'; link: string; mac: string; gwMac: string } | { via: 'send' };

interface Seen {
  /** The IPv4 packet as it arrived (header first). */
  ip: Uint8Array;
  /** Who received it, to answer from. */
  by: Sender;
}

interface FlowState {
  spec: FlowSpec;
  /** The last packet of the flow the server side received, and the last the client side received. */
  atServer?: Seen;
  atClient?: Seen;
  cseq: number;
  sseq: number;
  echoSeq: number;
}

/** What the driver does for a step: a batch for the hosts (and what it waits to see), a flush, or nothing. */
export type DriverAction =
  | { kind: 'batch'; batch: Batch; watch?: { flow: number; side: 'atServer' | 'atClient'; tag: number } }
  | { kind: 'flush'; now: number; filter: ConnFilter };

const PROTO_NUM: Record<FlowProto, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP, gre: IPPROTO_GRE };

export class FlowDriver {
  now = 0;
  private tag = 1;
  private ipId = 0x100;
  readonly flows: FlowState[];

  constructor(private readonly sc: GwScenario) {
    this.flows = sc.flows.map((spec, i) => ({ spec, cseq: 1000 * (i + 1), sseq: 500_000 * (i + 1), echoSeq: 0 }));
  }

  private senderFor(ip: string): Sender | undefined {
    if (this.sc.topology.local.includes(ip)) return { via: 'send' };
    const p = this.sc.topology.peers[ip];
    return p ? { via: 'rx', link: p.link, mac: p.mac, gwMac: p.gwMac } : undefined;
  }

  private batchFor(s: Sender, ip: Uint8Array): { batch: Batch; tag: number } {
    const tag = this.tag++;
    if (s.via === 'send') return { batch: { kind: 'send', now: this.now, packets: [{ packet: ip, tag }] }, tag };
    const frame = ethernet(parseMac(s.gwMac), parseMac(s.mac), ETH_P_IP, ip);
    return { batch: { kind: 'receive', now: this.now, frames: [{ link: s.link, frame, tag }] }, tag };
  }

  /** The next action, or undefined when the step cannot happen (nothing seen to reply to). */
  step(s: Step): DriverAction | undefined {
    this.now += s.gap;
    if (s.kind === 'tick') return { kind: 'batch', batch: { kind: 'tick', now: this.now } };
    if (s.kind === 'flush') return { kind: 'flush', now: this.now, filter: s.filter };
    const f = this.flows[s.flow];
    if (s.kind === 'err') return this.error(f, s);
    let src: number, dst: number, sport: number, dport: number, from: Sender | undefined;
    if (s.kind === 'c2s') {
      from = this.senderFor(f.spec.client);
      [src, dst, sport, dport] = [parseIPv4(f.spec.client), parseIPv4(f.spec.dst), f.spec.sport, f.spec.dport];
    } else {
      // The reply goes back to where the request came from, as the server saw it.
      const seen = f.atServer;
      if (!seen) return undefined;
      from = seen.by;
      [src, dst] = [get32(seen.ip, 16), get32(seen.ip, 12)];
      const l4 = seen.ip.subarray((seen.ip[0] & 15) * 4);
      [sport, dport] = f.spec.proto === 'icmp' ? [get16(l4, 4), 0] : [get16(l4, 2), get16(l4, 0)];
    }
    if (!from) return undefined;
    const payload = this.payload(f, s, src, dst, sport, dport);
    const ip = ipv4({ src, dst, proto: PROTO_NUM[f.spec.proto], ttl: s.ttl, df: s.df, id: this.ipId++ & 0xffff }, payload);
    if (s.badSum && payload.length > 0) ip[ip.length - 1] ^= 0x5a;
    const { batch, tag } = this.batchFor(from, ip);
    return { kind: 'batch', batch, watch: { flow: s.flow, side: s.kind === 'c2s' ? 'atServer' : 'atClient', tag } };
  }

  private payload(f: FlowState, s: Extract<Step, { kind: 'c2s' | 's2c' }>, src: number, dst: number, sport: number, dport: number): Uint8Array {
    const data = new Uint8Array(Math.min(s.size, 1400)).map((_, i) => (i * 7 + f.cseq) & 0xff);
    const c2s = s.kind === 'c2s';
    switch (f.spec.proto) {
      case 'tcp': {
        const seq = c2s ? f.cseq : f.sseq;
        const ack = c2s ? f.sseq : f.cseq;
        const grow = data.length + (s.flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
        if (c2s) f.cseq = (f.cseq + grow) >>> 0;
        else f.sseq = (f.sseq + grow) >>> 0;
        return tcpSegment(src, dst, { sport, dport, seq, ack, flags: s.flags }, data);
      }
      case 'udp':
        return udpSegment(src, dst, sport, dport, data);
      case 'icmp': {
        const seq = c2s ? ++f.echoSeq : f.echoSeq;
        return icmpMessage(c2s ? 8 : 0, 0, ((sport << 16) | seq) >>> 0, data);
      }
      case 'gre':
        return Uint8Array.of(0, 0, 0x08, 0x00, ...data.subarray(0, 64));
    }
  }

  /** An ICMP error about the last packet one side saw, from that side (or a router on the server's side). */
  private error(f: FlowState, s: Extract<Step, { kind: 'err' }>): DriverAction | undefined {
    const seen = s.side === 'client' ? f.atClient : f.atServer;
    if (!seen) return undefined;
    const quotedSrc = get32(seen.ip, 12);
    let outerSrc = get32(seen.ip, 16);
    let from: Sender = seen.by;
    if (s.side === 'router') {
      // A router beyond the outside link says so about a packet it was passing on.
      if (seen.by.via !== 'rx' || seen.by.link !== 'eth0' || formatIPv4(outerSrc) === ROUTER_IP) return undefined;
      const r = this.sc.topology.peers[ROUTER_IP];
      from = { via: 'rx', link: r.link, mac: r.mac, gwMac: r.gwMac };
      outerSrc = parseIPv4(ROUTER_IP);
    }
    const ihl = (seen.ip[0] & 15) * 4;
    const quote = s.whole ? seen.ip.subarray(0, Math.min(seen.ip.length, 548)) : seen.ip.subarray(0, Math.min(seen.ip.length, ihl + 8));
    const rest = s.type === 3 && s.code === 4 ? 1280 : 0;
    const ip = ipv4({ src: outerSrc, dst: quotedSrc, proto: IPPROTO_ICMP, ttl: 64, id: this.ipId++ & 0xffff }, icmpMessage(s.type, s.code, rest, quote));
    // What the other side makes of the error is not remembered: replies and errors stay about the flow's own packets.
    return { kind: 'batch', batch: this.batchFor(from, ip).batch };
  }

  /**
   * Learns from a batch's outputs what the other side of the flow received:
   * the packet with the batch's tag as it left (on the link of the host it
   * is for) or as the gateway's stack got it.
   */
  observe(a: Extract<DriverAction, { kind: 'batch' }>, outputs: Output[]): void {
    const w = a.watch;
    if (!w) return;
    const f = this.flows[w.flow];
    const mine = outputs.filter((o) => o.tag === w.tag && o.kind !== 'drop');
    let best: Seen | undefined;
    for (const o of mine) {
      if (o.kind === 'local') {
        best ??= { ip: o.packet.slice(), by: { via: 'send' } };
        continue;
      }
      if (o.kind !== 'tx' || get16(o.frame, 12) !== ETH_P_IP) continue;
      const ip = o.frame.slice(ETH_HLEN);
      if ((get16(ip, 6) & 0x1fff) !== 0) continue; // later fragments: no header to answer
      const peer = this.sc.topology.peers[formatIPv4(get32(ip, 16))];
      const by: Sender = peer ? { via: 'rx', link: peer.link, mac: peer.mac, gwMac: peer.gwMac } : { via: 'rx', link: o.link, mac: formatMac(o.frame, 0), gwMac: formatMac(o.frame, 6) };
      if (peer && peer.link !== o.link) {
        best ??= { ip, by };
        continue;
      }
      best = { ip, by };
      break;
    }
    if (best) f[w.side] = best;
  }
}

/**
 * Many connections at once (more slots than early drop looks at,
 * a table that grows, early drop scanning many slots): 70-150 flows from the
 * inside out through MASQUERADE, each with its own source port, opened in a
 * burst, some answered, then time passes in steps across the UDP and ICMP
 * timeouts while the flows go on.
 */
export function arbManyConns(): fc.Arbitrary<GwScenario> {
  return fc
    .record({
      gw: arbGwChoices,
      n: fc.integer({ min: 70, max: 150 }),
      protos: fc.array(fc.constantFrom<FlowProto>('udp', 'udp', 'tcp', 'icmp'), { minLength: 150, maxLength: 150 }),
      clients: fc.array(fc.constantFrom('10.1.0.10', '10.1.0.11', '172.17.0.2', '172.17.0.3'), { minLength: 150, maxLength: 150 }),
      answered: fc.array(fc.boolean(), { minLength: 150, maxLength: 150 }),
      max: fc.constantFrom<[('before' | 'after' | 'none'), number]>(['none', 0], ['before', 100], ['before', 40], ['after', 60]),
      later: fc.array(fc.record({ gap: fc.constantFrom(1000, 2000, 10_000, 31_000), flow: fc.nat(149), kind: fc.constantFrom('c2s' as const, 's2c' as const) }), { minLength: 20, maxLength: 60 }),
    })
    .map(({ gw, n, protos, clients, answered, max, later }) => {
      const topology = buildGateway(gw);
      const rules = buildRules({ masq: ['lan', 'docker'], dnat: [], forwardPolicy: 'ACCEPT', forward: ['invalid'], input: [], output: [] }, topology);
      const servers = ['8.8.8.8', '1.1.1.1', '203.0.113.10'];
      const flows: FlowSpec[] = Array.from({ length: n }, (_, i) => ({ proto: protos[i], client: clients[i], dst: servers[i % 3], sport: 30000 + i, dport: 53 }));
      const pkt = { size: 10, ttl: 64, df: false, badSum: false };
      const open = (f: FlowSpec) => (f.proto === 'tcp' ? TCP_SYN : 0);
      const steps: Step[] = [];
      flows.forEach((f, i) => steps.push({ kind: 'c2s', flow: i, gap: i % 10 === 0 ? 100 : 0, flags: open(f), ...pkt }));
      flows.forEach((f, i) => answered[i] && steps.push({ kind: 's2c', flow: i, gap: 0, flags: f.proto === 'tcp' ? TCP_SYN | TCP_ACK : 0, ...pkt }));
      for (const l of later) {
        const i = l.flow % n;
        const f = flows[i];
        steps.push({ kind: l.kind, flow: i, gap: l.gap, flags: f.proto === 'tcp' ? (l.kind === 'c2s' ? TCP_ACK : TCP_SYN | TCP_ACK) : 0, ...pkt });
      }
      const sc: GwScenario = { topology, rules, flows, steps };
      if (max[0] === 'before') sc.maxBefore = max[1];
      if (max[0] === 'after') sc.maxAfter = max[1];
      return Object.defineProperty(sc, fc.toStringMethod, { value: () => describeGwScenario(sc), enumerable: false });
    });
}

/**
 * Sources that come back: a few inside clients, most from one port, to a
 * few servers through MASQUERADE, so that a source's port is moved by a
 * clash and its next connections find that mapping (find_appropriate_src),
 * sometimes after it has expired.
 */
export function arbSourceReuse(): fc.Arbitrary<GwScenario> {
  const clients = ['10.1.0.10', '10.1.0.11', '172.17.0.2', '172.17.0.3'];
  const servers = ['8.8.8.8', '1.1.1.1', '203.0.113.10'];
  return fc
    .record({
      gw: arbGwChoices,
      masq: fc.constantFrom<RuleChoices['masq']>(['lan', 'docker'], ['lan', 'docker', 'ports'], ['chain'], ['snat', 'docker']),
      flows: fc.array(
        fc.record({
          proto: fc.constantFrom<FlowProto>('udp', 'udp', 'tcp', 'icmp'),
          client: fc.constantFrom(...clients),
          dst: fc.constantFrom(...servers),
          sport: fc.constantFrom(40000, 40000, 40000, 40001),
          dport: fc.constantFrom(53, 80),
        }),
        { minLength: 3, maxLength: 12 },
      ),
      answered: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      gaps: fc.array(fc.constantFrom(0, 0, 0, 10, 31_000), { minLength: 12, maxLength: 12 }),
    })
    .map(({ gw, masq, flows, answered, gaps }) => {
      const topology = buildGateway(gw);
      const rules = buildRules({ masq, dnat: [], forwardPolicy: 'ACCEPT', forward: [], input: [], output: [] }, topology);
      const pkt = { size: 10, ttl: 64, df: false, badSum: false };
      const steps: Step[] = [];
      flows.forEach((f, i) => {
        steps.push({ kind: 'c2s', flow: i, gap: gaps[i], flags: f.proto === 'tcp' ? TCP_SYN : 0, ...pkt });
        if (answered[i]) steps.push({ kind: 's2c', flow: i, gap: 0, flags: f.proto === 'tcp' ? TCP_SYN | TCP_ACK : 0, ...pkt });
      });
      const sc: GwScenario = { topology, rules, flows, steps };
      return Object.defineProperty(sc, fc.toStringMethod, { value: () => describeGwScenario(sc), enumerable: false });
    });
}
