// What each trace event says (assembly/trace/events.ts numbers them and
// lists the words each carries): the stage that records it, the Linux
// function it follows, and the decision, in words.
import * as L from '../engine/layout.gen.js';
import { describe, describeIp } from '../packet/craft.js';
import { formatIPv4 } from '../packet/addr.js';
import { TCP_STATE_NAMES } from '../netfilter/tcp-states.js';
import { CHAIN_IDS, TARGET_NAMES } from '../netfilter/compile.js';

/** A record of the trace buffer, as the data plane wrote it. */
export interface RawEvent {
  ev: number;
  /** The host struct. */
  host: number;
  wave: number;
  timeMs: number;
  /** TR_A.. : the event's five words. */
  words: number[];
  /** The packet or table entry it carries. */
  bytes: Uint8Array;
}

/** What the formatter needs to know of the host an event happened on. */
export interface HostView {
  /** A link's name by index. */
  link(index: number): string;
  /** A link's MAC by index. */
  mac(index: number): string;
  /** The rule of the host's ruleset at a verdict's offset, as iptables-save writes it. */
  rule(offset: number): string;
}

export interface EventKind {
  /** A short name: 'route', 'nf-chain', ... */
  name: string;
  /** The pipeline stage (assembly/stages/ file) that records it. */
  stage: string;
  /** The Linux function it follows. */
  fn: string;
  text(r: RawEvent, h: HostView): string;
}

const ip = formatIPv4;
const PROTOS: Record<number, string> = { 1: 'icmp', 4: 'ipip', 6: 'tcp', 17: 'udp' };
const NUD: Record<number, string> = { [L.NUD_INCOMPLETE]: 'INCOMPLETE', [L.NUD_REACHABLE]: 'REACHABLE', [L.NUD_FAILED]: 'FAILED', [L.NUD_PERMANENT]: 'PERMANENT' };
const CT_STATES: Record<number, string> = { [L.CTS_NEW]: 'NEW', [L.CTS_ESTABLISHED]: 'ESTABLISHED', [L.CTS_RELATED]: 'RELATED', [L.CTS_INVALID]: 'INVALID', [L.CTS_UNTRACKED]: 'UNTRACKED' };
/** Builtin chains by id, `table CHAIN`. */
const CHAINS: Record<number, string> = Object.fromEntries(Object.entries(CHAIN_IDS).flatMap(([table, chains]) => Object.entries(chains).map(([chain, id]) => [id, `${table} ${chain}`])));
const ICMP_ERRORS: Record<number, string> = { 3: 'destination unreachable', 11: 'time exceeded', 12: 'parameter problem' };
const UNREACH: Record<number, string> = { 0: 'net', 1: 'host', 2: 'protocol', 3: 'port', 4: 'fragmentation needed', 13: 'administratively prohibited' };

const mac = (lo: number, hi: number): string =>
  [lo & 255, (lo >>> 8) & 255, (lo >>> 16) & 255, lo >>> 24, hi & 255, (hi >>> 8) & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** `ip route get` for a route event: a dst, the route's type, device, gateway and source. */
function route(r: RawEvent, h: HostView, srcWord: string): string {
  const [dst, type, dev, gw, src] = r.words;
  const d = ip(dst);
  const from = src ? ` ${srcWord} ${ip(src)}` : '';
  switch (type) {
    case 0:
      return `${d}: no route (network unreachable)`;
    case L.RT_LOCAL:
      return `local ${d} dev ${h.link(dev)}${from}`;
    case L.RT_BROADCAST:
      return `broadcast ${d} dev ${h.link(dev)}${from}`;
    case L.RT_BLACKHOLE:
      return `blackhole ${d}`;
    case L.RT_UNREACHABLE:
      return `unreachable ${d}`;
    case L.RT_PROHIBIT:
      return `prohibit ${d}`;
    default:
      return `${d}${gw ? ` via ${ip(gw)}` : ''} dev ${h.link(dev)}${from}`;
  }
}

function icmpError(type: number, code: number, info: number): string {
  const what = ICMP_ERRORS[type] ?? `type ${type}`;
  if (type === 3) return `${what}, ${UNREACH[code] ?? `code ${code}`}${code === 4 ? ` (mtu ${info})` : ''}`;
  return code ? `${what}, code ${code}` : what;
}

/** A tuple of a connection as conntrack -L writes it. */
function tuple(dv: DataView, at: number, proto: number): string {
  const src = ip(dv.getUint32(at, true));
  const dst = ip(dv.getUint32(at + 4, true));
  const ports = dv.getUint32(at + 8, true);
  if (proto === 6 || proto === 17) return `src=${src} dst=${dst} sport=${ports >>> 16} dport=${ports & 0xffff}`;
  if (proto === 1) return `src=${src} dst=${dst} type=${(ports >>> 8) & 255} code=${ports & 255} id=${ports >>> 16}`;
  return `src=${src} dst=${dst}`;
}

function connection(r: RawEvent): string {
  const [state, conn, dir] = r.words;
  const name = CT_STATES[state] ?? `state ${state}`;
  if (conn === 0 || r.bytes.length < L.CONN_SIZE) return `${name}${state === L.CTS_INVALID ? ' (not tracked)' : ''}`;
  const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  const proto = dv.getUint8(L.CN_PROTO);
  const tcp = proto === 6 ? ` ${TCP_STATE_NAMES[dv.getUint8(L.CN_TCP)] ?? ''}` : '';
  const way = dir === 0 ? 'original' : 'reply';
  return `${name}, ${way} direction of connection #${conn - 1}: ${PROTOS[proto] ?? proto}${tcp} ${tuple(dv, L.CN_ORIG, proto)} ${tuple(dv, L.CN_REPLY, proto)}`;
}

function nat(r: RawEvent): string {
  const [dst, src, tdst, ports, proto] = r.words;
  const port = (p: number) => (proto === 6 || proto === 17 ? `:${p}` : proto === 1 ? ` id ${p}` : '');
  // The other direction's tuple: its source is what this packet's destination becomes, and the reverse.
  if (dst) return `DNAT: destination becomes ${ip(src)}${port(proto === 1 ? ports >>> 16 : ports >>> 16)}`;
  return `SNAT: source becomes ${ip(tdst)}${port(proto === 1 ? ports >>> 16 : ports & 0xffff)}`;
}

export const EVENTS: Record<number, EventKind> = {
  [L.EV_RX]: { name: 'rx', stage: 'ethernet-input', fn: 'netif_receive_skb', text: (r, h) => `${h.link(r.words[0])}: ${describe(r.bytes)}` },
  [L.EV_ORIGINATE]: { name: 'originate', stage: 'ip4-output', fn: 'ip_local_out', text: (r) => `from a socket: ${describeIp(r.bytes)}` },
  [L.EV_TX]: { name: 'tx', stage: 'link-output', fn: 'dev_queue_xmit', text: (r, h) => `${h.link(r.words[0])}: ${describe(r.bytes)}` },
  [L.EV_DELIVER]: { name: 'deliver', stage: 'ip4-local', fn: 'ip_local_deliver_finish', text: (r) => `to a socket: ${describeIp(r.bytes)}` },
  [L.EV_DROP]: { name: 'drop', stage: 'drop', fn: 'kfree_skb_reason', text: (r) => `dropped: ${L.DROP_NAMES[r.words[0]] ?? `reason ${r.words[0]}`}` },
  [L.EV_CONSUME]: { name: 'consume', stage: 'consume', fn: 'consume_skb', text: () => 'used up by the host' },
  [L.EV_BR_FORWARD]: { name: 'bridge-forward', stage: 'bridge', fn: 'br_forward', text: (r, h) => `out of port ${h.link(r.words[0])} (fdb)` },
  [L.EV_BR_FLOOD]: {
    name: 'bridge-flood', stage: 'bridge', fn: 'br_flood',
    text: (r, h) => `${h.link(r.words[0])} floods it to its ports${r.words[1] === 0xffff ? '' : ` but ${h.link(r.words[1])}`} (broadcast, or no fdb entry)`,
  },
  [L.EV_BR_LOCAL]: { name: 'bridge-local', stage: 'bridge', fn: 'br_pass_frame_up', text: (r, h) => `up to ${h.link(r.words[0])}: for the host` },
  [L.EV_ROUTE_INPUT]: { name: 'route', stage: 'ip4-input', fn: 'ip_route_input_noref', text: (r, h) => route(r, h, 'src') },
  [L.EV_ROUTE_OUTPUT]: { name: 'route', stage: 'ip4-output', fn: 'ip_route_output_key', text: (r, h) => route(r, h, 'src') },
  [L.EV_FORWARD]: { name: 'forward', stage: 'ip4-forward', fn: 'ip_forward', text: (r, h) => `ttl now ${r.words[0]}, out ${h.link(r.words[1])} (mtu ${r.words[2]})` },
  [L.EV_LOCAL]: { name: 'local', stage: 'ip4-local', fn: 'ip_local_deliver', text: (r) => `for this host: ${PROTOS[r.words[0]] ?? `protocol ${r.words[0]}`} to ${ip(r.words[1])}` },
  [L.EV_ECHO_REPLY]: { name: 'echo-reply', stage: 'ip4-local', fn: 'icmp_echo', text: () => 'echo request: answered' },
  [L.EV_TCP_RESET]: { name: 'tcp-reset', stage: 'ip4-local', fn: 'tcp_v4_send_reset', text: () => 'no socket: answered with a RST' },
  [L.EV_ICMP_ERROR]: {
    name: 'icmp-error', stage: 'icmp-error', fn: 'icmp_send',
    text: (r) => `sends ICMP ${icmpError(r.words[0], r.words[1], r.words[3])} to ${ip(r.words[2])}`,
  },
  [L.EV_FRAGMENT]: { name: 'fragment', stage: 'fragment', fn: 'ip_do_fragment', text: (r) => `${r.words[2]} bytes into ${r.words[0]} fragments for mtu ${r.words[1]}` },
  [L.EV_ENCAP]: {
    name: 'encap', stage: 'ipip', fn: 'ip_tunnel_xmit',
    text: (r, h) => `into ${h.link(r.words[0])}: outer ${ip(r.words[1])} > ${ip(r.words[2])} ttl ${r.words[3]}, out ${h.link(r.words[4])}`,
  },
  [L.EV_DECAP]: { name: 'decap', stage: 'ipip', fn: 'ipip_rcv', text: (r, h) => `out of ${h.link(r.words[0])}: outer ${ip(r.words[1])} > ${ip(r.words[2])} removed` },
  [L.EV_DECAP_REJECT]: { name: 'decap-refused', stage: 'ipip', fn: 'ipip_rcv', text: (r) => `IPIP from ${ip(r.words[1])}: not a peer the tunnel accepts` },
  [L.EV_ARP]: {
    name: 'arp', stage: 'arp', fn: 'arp_process',
    text: (r, h) => `${h.link(r.words[0])}: ${r.words[1] === 1 ? `who-has ${ip(r.words[3])} tell ${ip(r.words[2])}` : r.words[1] === 2 ? `reply ${ip(r.words[2])}` : `op ${r.words[1]}`}`,
  },
  [L.EV_ARP_REPLY]: {
    name: 'arp-reply', stage: 'arp', fn: 'arp_send',
    text: (r, h) => `answers ${ip(r.words[2])}: ${ip(r.words[1])} is-at ${h.mac(r.words[0])}${r.words[3] ? ' (proxy ARP)' : ''}`,
  },
  [L.EV_ARP_SOLICIT]: { name: 'arp-request', stage: 'arp', fn: 'arp_solicit', text: (r, h) => `asks who-has ${ip(r.words[1])} tell ${ip(r.words[2])} on ${h.link(r.words[0])}` },
  [L.EV_NEIGH_UPDATE]: { name: 'neigh-update', stage: 'arp', fn: 'neigh_update', text: (r, h) => `${ip(r.words[1])} dev ${h.link(r.words[0])} lladdr ${mac(r.words[2], r.words[3])}: learnt` },
  [L.EV_NEIGH_OUTPUT]: {
    name: 'neigh', stage: 'neigh-output', fn: 'neigh_resolve_output',
    text: (r, h) => `${ip(r.words[1])} dev ${h.link(r.words[0])} lladdr ${mac(r.words[2], r.words[3])} ${NUD[r.words[4]] ?? ''}`.trimEnd(),
  },
  [L.EV_NEIGH_QUEUE]: {
    name: 'neigh-queue', stage: 'neigh-output', fn: '__neigh_event_send',
    text: (r, h) => `${ip(r.words[1])} dev ${h.link(r.words[0])} ${NUD[r.words[4]] ?? ''}: waits for ARP (${r.words[2]} queued)`,
  },
  [L.EV_CONNTRACK]: { name: 'conntrack', stage: 'netfilter', fn: 'nf_conntrack_in', text: (r) => connection(r) },
  [L.EV_NF_CHAIN]: {
    name: 'chain', stage: 'netfilter', fn: 'ipt_do_table',
    text: (r, h) => {
      const v = r.words[1];
      return `${CHAINS[r.words[0]] ?? `chain ${r.words[0]}`}: ${TARGET_NAMES[v & L.VERDICT_KIND_MASK] ?? `verdict ${v & L.VERDICT_KIND_MASK}`} by ${h.rule(v >>> L.VERDICT_RULE_SHIFT)}`;
    },
  },
  [L.EV_NAT]: { name: 'nat', stage: 'netfilter', fn: 'nf_nat_packet', text: (r) => nat(r) },
  [L.EV_ICMP_RATELIMIT]: {
    name: 'icmp-ratelimit', stage: 'icmp-error', fn: 'icmpv4_xrlim_allow',
    text: (r) => `ICMP ${icmpError(r.words[0], r.words[1], 0)} to ${ip(r.words[2])} not sent: rate limited`,
  },
  [L.EV_FRAG_QUEUE]: {
    name: 'defrag-queue', stage: 'defrag', fn: 'ip_frag_queue',
    text: (r) => `fragment of bytes ${r.words[0]}..${r.words[1]} waits for the rest (${r.words[2]} of ${r.words[3]}${r.words[2] < r.words[3] ? '+' : ''} bytes in)`,
  },
  [L.EV_REASSEMBLED]: { name: 'reassembled', stage: 'defrag', fn: 'ip_frag_reasm', text: (r) => `${r.words[0]} fragments made whole: ${r.words[1]} bytes` },
};

/** The kind of an event, or a stand-in for a number this version does not know. */
export function eventKind(ev: number): EventKind {
  return EVENTS[ev] ?? { name: `event-${ev}`, stage: '?', fn: '?', text: () => `event ${ev}` };
}
