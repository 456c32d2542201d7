// What a kernel case is: one host's links, addresses, routes, neighbours and
// sysctls, and the frames sent into it step by step. The same description
// builds a podnet Host (./podnet.ts) and a Linux network namespace
// (./linux.ts); what each sends back is compared (./compare.ts).
import fc from 'fast-check';
import type { RouteSpec } from '../../src/host.js';
import { showFrame } from '../model/show.js';

export interface KLink {
  name: string;
  type: 'veth' | 'bridge';
  mac: string;
  mtu?: number;
  up?: boolean;
  master?: string;
  proxyArp?: boolean;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
}

export interface KSetup {
  /** net.ipv4.ip_forward */
  forwarding: boolean;
  links: KLink[];
  /** In the order `ip addr add` runs them: the first of a subnet is its primary. */
  addrs: { dev: string; cidr: string }[];
  routes: RouteSpec[];
  /** Permanent entries (`ip neigh replace ... nud permanent`). */
  neighs: { ip: string; mac: string; dev: string }[];
  /** net.ipv4.conf.all.accept_source_route (off unless said). */
  acceptSourceRoute?: boolean;
  /** net.ipv4.ipfrag_time, seconds (Linux's default, 30, unless said). */
  ipfragTime?: number;
  /** iptables-save text loaded into the host (iptables-restore; rules.load). */
  rules?: string;
}

export interface KFrame {
  link: string;
  frame: Uint8Array;
}

/** A UDP datagram the host's own stack sends (an unbound-address socket on sport, broadcasts allowed). */
export interface KSend {
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
}

/** Datagrams the host sends, then frames sent to it, `gap` ms after the previous step (the first step's gap counts from 0). */
export interface KStep {
  gap: number;
  sends?: KSend[];
  frames: KFrame[];
}

export interface KCase {
  setup: KSetup;
  steps: KStep[];
}

/** A frame one side sent out of a link; `generated`: podnet made it itself, or the host's stack sent it (its IP ID is the host's choice). */
export interface KOut {
  link: string;
  frame: Uint8Array;
  generated?: boolean;
}

/** The links frames enter and leave by: every link that is not a bridge. */
export function wireLinks(s: KSetup): string[] {
  return s.links.filter((l) => l.type !== 'bridge').map((l) => l.name);
}

/** The case as lines of `ip` and frames, for reports. */
export function describeCase(c: KCase): string {
  const s = c.setup;
  return [
    `forwarding ${s.forwarding ? 1 : 0}${s.acceptSourceRoute ? ', accept_source_route 1' : ''}${s.ipfragTime ? `, ipfrag_time ${s.ipfragTime}` : ''}`,
    ...s.links.map((l) => `link ${l.name} ${l.type} ${l.mac}${l.mtu ? ` mtu ${l.mtu}` : ''}${l.master ? ` master ${l.master}` : ''}${l.up === false ? ' down' : ''}${l.proxyArp ? ' proxy_arp' : ''}${l.hairpin ? ' hairpin' : ''}${l.learning === false ? ' nolearning' : ''}${l.flood === false ? ' noflood' : ''}`),
    ...s.addrs.map((a) => `addr ${a.cidr} dev ${a.dev}`),
    ...s.routes.map((r) => `route ${r.type ? `${r.type} ` : ''}${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.onlink ? ' onlink' : ''}${r.src ? ` src ${r.src}` : ''}${r.metric ? ` metric ${r.metric}` : ''}`),
    ...s.neighs.map((n) => `neigh ${n.ip} ${n.mac} dev ${n.dev}`),
    ...(s.rules ? s.rules.trim().split('\n').map((l) => `rules ${l}`) : []),
    ...c.steps.flatMap((st, i) => [
      ...(st.sends ?? []).map((d) => `step ${i} (+${st.gap} ms) the host sends udp ${d.sport}>${d.dst}:${d.dport} ${d.payload.length}B`),
      ...st.frames.map((f) => `step ${i} (+${st.gap} ms) in ${f.link}: ${showFrame(f.frame)}`),
    ]),
  ].join('\n');
}

/** Gives a generated case a readable form in fast-check's counterexample report. */
export function printable(c: KCase): KCase {
  Object.defineProperty(c, fc.toStringMethod, { value: () => `\n${describeCase(c)}\n`, enumerable: false });
  return c;
}
