// The rules as data (and RulesetError, what bad rules throw): what
// ./iptables.ts reads from iptables-save text and ./iptables-save.ts prints
// back, what compile.ts turns into the data plane's tables and what the
// reference model (test/model/iptables.ts) evaluates.
//
// A rule is ip_packet_match's fields (addresses, interfaces, protocol) and
// then its matches in the order they were given (iptables-save prints them
// in that order), then its target.

export type TableName = 'filter' | 'nat' | 'raw' | 'mangle';
/** Tables in the order iptables-save prints them here. */
export const TABLES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];
export type Policy = 'ACCEPT' | 'DROP';

/** A protocol as written after -p (a name of the protocols table, or a number). */
export type Proto = string;

/** Connection tracking states, in the order iptables prints them; SNAT and DNAT for -m conntrack only. */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
export type CtState = (typeof CT_STATES)[number];
/** -m state knows these. */
export const STATE_STATES: readonly CtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'];
/** --ctstatus bits, in the order iptables prints them. */
export const CT_STATUSES = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;
export type CtStatus = (typeof CT_STATUSES)[number];
/** Address types (RTN_*), index = type number, as xt_addrtype names them. */
export const ADDR_TYPES = [
  'UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE',
] as const;
export type AddrType = (typeof ADDR_TYPES)[number];

export interface AddrMatch {
  /** Network address, host byte order, masked to plen. */
  addr: number;
  plen: number;
  invert: boolean;
}
export interface IfaceMatch {
  /** Interface name; a trailing `+` matches every name with that prefix. */
  name: string;
  invert: boolean;
}
export interface PortMatch {
  lo: number;
  hi: number;
  invert: boolean;
}
export interface StateMatch {
  /** Distinct states in CT_STATES order. */
  states: CtState[];
  invert: boolean;
}
export interface TypesMatch {
  /** Distinct types in ADDR_TYPES order. */
  types: AddrType[];
  invert: boolean;
}

export type Match =
  | { m: 'tcp'; sport?: PortMatch; dport?: PortMatch; flags?: { mask: number; comp: number; invert: boolean } }
  | { m: 'udp'; sport?: PortMatch; dport?: PortMatch }
  /** type 255: any. Codes codeLo..codeHi (0..255 when none was given). */
  | { m: 'icmp'; type: number; codeLo: number; codeHi: number; invert: boolean }
  | {
      m: 'conntrack';
      state?: StateMatch;
      ctproto?: { proto: number; invert: boolean };
      origsrc?: AddrMatch;
      origdst?: AddrMatch;
      replsrc?: AddrMatch;
      repldst?: AddrMatch;
      origsrcport?: PortMatch;
      origdstport?: PortMatch;
      replsrcport?: PortMatch;
      repldstport?: PortMatch;
      status?: { statuses: CtStatus[]; invert: boolean };
      /** Seconds left. */
      expire?: { lo: number; hi: number; invert: boolean };
      dir?: 'ORIGINAL' | 'REPLY';
    }
  | { m: 'state'; state: StateMatch }
  | { m: 'addrtype'; src?: TypesMatch; dst?: TypesMatch; limitIn?: boolean; limitOut?: boolean }
  | { m: 'comment'; comment: string }
  /** dirs: one per dimension the match gives (src,dst...). */
  | { m: 'set'; name: string; dirs: ('src' | 'dst')[]; invert: boolean }
  | { m: 'mark'; value: number; mask: number; invert: boolean }
  | { m: 'connmark'; value: number; mask: number; invert: boolean }
  /** Up to 15 ports, a range counting 2. */
  | { m: 'multiport'; which: 'sports' | 'dports' | 'ports'; ports: { lo: number; hi: number }[]; invert: boolean }
  /** avg: seconds per packet x XT_LIMIT_SCALE (10000), as xt_rateinfo holds it. */
  | { m: 'limit'; avg: number; burst: number }
  /** probability: the u32 the kernel compares with (p x 2^31, rounded). */
  | { m: 'statistic'; mode: 'random'; probability: number; invert: boolean }
  | { m: 'statistic'; mode: 'nth'; every: number; packet: number; invert: boolean }
  | { m: 'rpfilter'; loose: boolean; validmark: boolean; acceptLocal: boolean; invert: boolean };
export type MatchName = Match['m'];

/** REJECT's --reject-with, as iptables-save names them. */
export const REJECT_WITH = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
  'tcp-reset': 256,
} as const;
export type RejectWith = keyof typeof REJECT_WITH;

export type Target =
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  /** A rule without -j: matching it does nothing (iptables counts it). */
  | { kind: 'NONE' }
  | { kind: 'JUMP'; chain: string }
  /** -g: to the chain, and its RETURN goes back to where the current chain was called from. */
  | { kind: 'GOTO'; chain: string }
  | { kind: 'DNAT'; addr: number; addrHi?: number; portLo?: number; portHi?: number; random?: boolean }
  | { kind: 'SNAT'; addr: number; addrHi?: number; portLo?: number; portHi?: number; random?: boolean; randomFully?: boolean }
  | { kind: 'MASQUERADE'; portLo?: number; portHi?: number; random: boolean; randomFully?: boolean }
  | { kind: 'REJECT'; with: RejectWith }
  /** Counted and traced; level 0-7 (4, warning, unless given). */
  | { kind: 'LOG'; prefix?: string; level?: number; options?: ('tcp-sequence' | 'tcp-options' | 'ip-options' | 'uid' | 'macdecode')[] }
  /** The packet's mark becomes (mark & ~mask) ^ value (--set-xmark; the other forms are written this way). */
  | { kind: 'MARK'; value: number; mask: number }
  | { kind: 'CONNMARK'; mode: 'set'; value: number; mask: number }
  | { kind: 'CONNMARK'; mode: 'save' | 'restore'; nfmask: number; ctmask: number }
  /** -j CT --notrack, or the older -j NOTRACK: the packet is untracked. */
  | { kind: 'NOTRACK'; name: 'CT' | 'NOTRACK' };
export type TargetKind = Target['kind'];

export interface Counters {
  packets: number;
  bytes: number;
}

export interface Rule {
  src?: AddrMatch;
  dst?: AddrMatch;
  in?: IfaceMatch;
  out?: IfaceMatch;
  proto?: Proto;
  protoInvert?: boolean;
  /** The -m matches (and the protocol's own), in the order given. */
  matches?: Match[];
  target: Target;
  /** `[packets:bytes]` it was loaded with (iptables-save -c). */
  counters?: Counters;
  /** 1-based line of the text it came from (0 when built otherwise). */
  line: number;
  /** That line as written. */
  text: string;
}

export interface Chain {
  name: string;
  builtin: boolean;
  /** Builtin chains only. */
  policy?: Policy;
  /** Builtin chains: the policy's counters it was loaded with. */
  counters?: Counters;
  rules: Rule[];
  /** Line that declared it (0 when defaulted or built otherwise). */
  line?: number;
}

export interface Table {
  chains: Map<string, Chain>;
}

export interface Ruleset {
  tables: Record<TableName, Table>;
  /**
   * The tables a load gave, in the order iptables-save prints them; a host
   * that never loaded a table has none (iptables-save prints nothing for it).
   * Undefined: all of them.
   */
  present?: TableName[];
}

export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};

/** Protocol names iptables takes after -p, and their numbers (the common part of /etc/protocols). */
export const PROTOCOLS: Record<string, number> = {
  all: 0, icmp: 1, igmp: 2, ipencap: 4, ipv4: 4, 'ip-encap': 4, tcp: 6, egp: 8, udp: 17, gre: 47, esp: 50, ah: 51,
  ospf: 89, pim: 103, vrrp: 112, sctp: 132, udplite: 136,
};

/** The number of a protocol as written (a name of PROTOCOLS or a number 0-255); undefined when unknown. */
export function protoNumber(p: Proto): number | undefined {
  if (/^\d{1,3}$/.test(p)) return Number(p) <= 255 ? Number(p) : undefined;
  return PROTOCOLS[p];
}

/** The matches of a rule of kind k. */
export function matchesOf<K extends MatchName>(r: Rule, k: K): Extract<Match, { m: K }>[] {
  return (r.matches ?? []).filter((m): m is Extract<Match, { m: K }> => m.m === k);
}

/** A rule's TCP/UDP port matches, whichever module holds them (the first of each). */
export function portsOf(r: Rule): { sport?: PortMatch; dport?: PortMatch } {
  for (const m of r.matches ?? []) if ((m.m === 'tcp' || m.m === 'udp') && (m.sport || m.dport)) return { sport: m.sport, dport: m.dport };
  return {};
}

/** A ruleset error; the message names the line and quotes it. */
export class RulesetError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly text: string,
  ) {
    super(message);
    this.name = 'RulesetError';
  }
}

/** A ruleset with every table present, builtin chains only, every policy ACCEPT. */
export function emptyRuleset(): Ruleset {
  return { tables: { filter: emptyTable('filter'), nat: emptyTable('nat'), raw: emptyTable('raw'), mangle: emptyTable('mangle') } };
}

/** What a host has before its first load: empty tables, none of them present. */
export function noRuleset(): Ruleset {
  return { ...emptyRuleset(), present: [] };
}

export function emptyTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name]) chains.set(c, { name: c, builtin: true, policy: 'ACCEPT', rules: [] });
  return { chains };
}
