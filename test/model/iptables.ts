// Reference model of iptables rule evaluation (ipt_do_table), written to be
// obviously right rather than fast: recursive, straight over the IR of
// src/netfilter/ir.ts, each match tested in the order the rule gives it as
// the kernel's xt_* match functions do, every matching rule counted.

import { ADDR_TYPES, protoNumber, type AddrType, type CtState, type Match, type Rule, type Ruleset, type TableName } from '../../src/netfilter/iptables.js';

/** One direction of a connection: addresses, and ports (TCP/UDP) or id << 16 | type << 8 | code (ICMP) in `ports`. */
export interface ModelTupleView {
  src: number;
  dst: number;
  /** The source port (echo id). */
  sport: number;
  /** The destination port (type << 8 | code for ICMP). */
  dport: number;
}

/** What -m conntrack and CONNMARK see of the packet's connection. */
export interface ModelConnView {
  proto: number;
  orig: ModelTupleView;
  reply: ModelTupleView;
  seenReply: boolean;
  assured: boolean;
  confirmed: boolean;
  srcNat: boolean;
  dstNat: boolean;
  /** ms at which it expires (absolute). */
  timeout: number;
  /** ct->mark: CONNMARK changes it in place. */
  mark: number;
}

export interface ModelPacket {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** IP protocol number. */
  proto: number;
  ctstate: CtState;
  /** Ingress / egress interface name, null when there is none. */
  in: string | null;
  out: string | null;
  /** Address types (RTN_* names): the host's answer, and the ingress and egress links' (xt_addrtype). */
  srcType?: { any: AddrType; in: AddrType; out: AddrType };
  dstType?: { any: AddrType; in: AddrType; out: AddrType };
  /** Kept for the rule-engine tests: LOCAL or UNICAST for srcType/dstType when those are not given. */
  srcLocal?: boolean;
  dstLocal?: boolean;
  /** A fragment other than the first (no ports to match). */
  frag?: boolean;
  /** skb->mark; MARK and CONNMARK --restore-mark change it. */
  mark?: number;
  /** Bytes, for the counters. */
  len?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  conn?: ModelConnView;
  /** The packet goes in the reply direction of conn. */
  reply?: boolean;
  /** rpfilter's facts about the route back to the source. */
  rpf?: { always: boolean; unicast: boolean; local: boolean; dev: boolean };
  /** ms (-m limit, --ctexpire). */
  now?: number;
  /** Out: a NOTRACK target matched. */
  untracked?: boolean;
  /** Out: LOG targets that matched. */
  logs?: number;
}

/** What an evaluation reads and keeps between packets: counters and match state per rule, ipsets, random numbers. */
export interface ModelEnv {
  /** Per-rule state by rule; a chain's policy by `table chain`. */
  state(rule: Rule | string): RuleState;
  /** Whether the packet is in the set (ip_set_test). */
  inSet?(name: string, dirs: ('src' | 'dst')[], p: ModelPacket): boolean;
  /** The next random u32 (-m statistic --mode random). */
  random?(): number;
}

export interface RuleState {
  packets: number;
  bytes: number;
  /** -m limit: credit, and the time of the last look (undefined: never). */
  credit: number;
  prev?: number;
  /** -m statistic --mode nth */
  nth: number;
}

/** A rule's state as loaded: its counters, -m limit's full credit (xt_limit's checkentry), -m statistic's nth at --packet. */
export function initialState(r: Rule | undefined, given?: { packets: number; bytes: number }): RuleState {
  const s: RuleState = { packets: given?.packets ?? 0, bytes: given?.bytes ?? 0, credit: 0, nth: 0 };
  for (const m of r?.matches ?? []) {
    if (m.m === 'limit') s.credit = credits((m.avg * m.burst) >>> 0);
    if (m.m === 'statistic' && m.mode === 'nth') s.nth = m.packet;
  }
  return s;
}

/** An environment with fresh state for every rule (the rule-engine tests: one packet at a time, state not compared). */
export function freshEnv(): ModelEnv {
  const m = new Map<Rule | string, RuleState>();
  return {
    state: (r) => {
      let s = m.get(r);
      if (!s) m.set(r, (s = initialState(typeof r === 'string' ? undefined : r)));
      return s;
    },
    inSet: () => false,
    random: () => 0,
  };
}

export type ModelKind = 'ACCEPT' | 'DROP' | 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REJECT' | 'RETURN';

/** The verdict and the deciding rule: index === the chain's rule count means its policy (or falling off a user chain). */
export interface ModelVerdict {
  kind: ModelKind;
  chain: string;
  index: number;
}

/** Jumps nest at most this deep; one more decides DROP (the engine's limit). */
export const MODEL_MAX_DEPTH = 16;

/** xt_limit, HZ 1000: credits a millisecond. */
const CREDITS_PER_MS = 32;

function inPrefix(addr: number, net: number, plen: number): boolean {
  return plen === 0 || addr >>> (32 - plen) === net >>> (32 - plen);
}

function ifaceMatch(pattern: string, name: string | null): boolean {
  const n = name ?? '';
  return pattern.endsWith('+') ? n.startsWith(pattern.slice(0, -1)) : n === pattern;
}

const inRange = (v: number, r: { lo: number; hi: number }) => v >= r.lo && v <= r.hi;

/** user2credits of xt_limit with HZ 1000. */
export function credits(user: number): number {
  const hz = 1000 * CREDITS_PER_MS;
  if (user > Math.floor(0xffffffff / hz)) return (Math.floor(user / 10000) * hz) >>> 0;
  return Math.floor((user * hz) / 10000) >>> 0;
}

function types(p: ModelPacket, side: 'src' | 'dst'): { any: AddrType; in: AddrType; out: AddrType } {
  const t = side === 'src' ? p.srcType : p.dstType;
  if (t) return t;
  const local = side === 'src' ? p.srcLocal : p.dstLocal;
  const x: AddrType = local ? 'LOCAL' : 'UNICAST';
  return { any: x, in: x, out: x };
}

/** The connection's state bits as conntrack_mt sees them: the packet's state, and SNAT/DNAT of its connection. */
function stateHit(p: ModelPacket, states: readonly CtState[]): boolean {
  if (states.includes(p.ctstate)) return true;
  return !!p.conn && ((p.conn.srcNat && states.includes('SNAT')) || (p.conn.dstNat && states.includes('DNAT')));
}

/** One match (xt_*_mt), in the rule's order; r is its rule (for per-rule state). */
function matchOne(m: Match, p: ModelPacket, r: Rule, env: ModelEnv): boolean {
  switch (m.m) {
    case 'tcp': case 'udp':
      if (p.frag) return false;
      if (m.sport && inRange(p.sport, m.sport) === m.sport.invert) return false;
      if (m.dport && inRange(p.dport, m.dport) === m.dport.invert) return false;
      if (m.m === 'tcp' && m.flags && (((p.tcpFlags ?? 0) & m.flags.mask) === m.flags.comp) === m.flags.invert) return false;
      return true;
    case 'icmp':
      if (p.frag) return false;
      return (m.type === 255 || (p.icmpType === m.type && (p.icmpCode ?? 0) >= m.codeLo && (p.icmpCode ?? 0) <= m.codeHi)) !== m.invert;
    case 'state':
      return stateHit(p, m.state.states) !== m.state.invert;
    case 'conntrack': {
      if (m.state && stateHit(p, m.state.states) === m.state.invert) return false;
      const c = p.conn;
      if (!c) return !!m.state;
      const t = (w: 'origsrc' | 'origdst' | 'replsrc' | 'repldst') => {
        const tuple = w.startsWith('orig') ? c.orig : c.reply;
        return w.endsWith('src') ? tuple.src : tuple.dst;
      };
      if (m.dir && (m.dir === 'REPLY') !== !!p.reply) return false;
      for (const w of ['origsrc', 'origdst', 'replsrc', 'repldst'] as const) {
        const a = m[w];
        if (a && inPrefix(t(w), a.addr, a.plen) === a.invert) return false;
      }
      if (m.ctproto && (c.proto === m.ctproto.proto) === m.ctproto.invert) return false;
      for (const w of ['origsrcport', 'origdstport', 'replsrcport', 'repldstport'] as const) {
        const pm = m[w];
        if (!pm) continue;
        const tuple = w.startsWith('orig') ? c.orig : c.reply;
        const port = w.includes('src') ? tuple.sport : tuple.dport;
        if (inRange(port, pm) === pm.invert) return false;
      }
      if (m.status) {
        const has = (s: string) => (s === 'SEEN_REPLY' && c.seenReply) || (s === 'ASSURED' && c.assured) || (s === 'CONFIRMED' && c.confirmed);
        if (m.status.statuses.some(has) === m.status.invert) return false;
      }
      if (m.expire) {
        const left = c.confirmed ? Math.max(0, Math.floor((c.timeout - (p.now ?? 0)) / 1000)) : 0;
        if (inRange(left, m.expire) === m.expire.invert) return false;
      }
      return true;
    }
    case 'addrtype': {
      const pick = (x: { any: AddrType; in: AddrType; out: AddrType }) => (m.limitIn ? x.in : m.limitOut ? x.out : x.any);
      if (m.src && m.src.types.includes(pick(types(p, 'src'))) === m.src.invert) return false;
      if (m.dst && m.dst.types.includes(pick(types(p, 'dst'))) === m.dst.invert) return false;
      return true;
    }
    case 'comment':
      return true;
    case 'set':
      return (env.inSet?.(m.name, m.dirs, p) ?? false) !== m.invert;
    case 'mark':
      return (((p.mark ?? 0) & m.mask) >>> 0 === m.value >>> 0) !== m.invert;
    case 'connmark':
      return !!p.conn && ((p.conn.mark & m.mask) >>> 0 === m.value >>> 0) !== m.invert;
    case 'multiport': {
      if (p.frag) return false;
      const hit = m.ports.some((r) => (m.which !== 'dports' && inRange(p.sport, r)) || (m.which !== 'sports' && inRange(p.dport, r)));
      return hit !== m.invert;
    }
    case 'limit': {
      const s = env.state(r);
      const now = p.now ?? 0;
      const cap = credits((m.avg * m.burst) >>> 0);
      let credit = s.credit;
      if (s.prev !== undefined) credit += (now - s.prev) * CREDITS_PER_MS;
      credit = Math.min(credit, cap);
      s.prev = now;
      const ok = credit >= credits(m.avg);
      s.credit = ok ? credit - credits(m.avg) : credit;
      return ok;
    }
    case 'statistic': {
      if (m.mode === 'random') return (((env.random?.() ?? 0) & 0x7fffffff) < m.probability) !== m.invert;
      const s = env.state(r);
      s.nth = s.nth === m.every - 1 ? 0 : s.nth + 1;
      return (s.nth === 0) !== m.invert;
    }
    case 'rpfilter': {
      const f = p.rpf ?? { always: false, unicast: false, local: false, dev: false };
      const ok = f.always || ((f.unicast || (f.local && m.acceptLocal)) && (f.dev || m.loose));
      return ok !== m.invert;
    }
  }
}

/** Whether rule r matches packet p (ip_packet_match, then each match in order). */
export function ruleMatches(r: Rule, p: ModelPacket, env: ModelEnv = freshEnv()): boolean {
  if (r.src && inPrefix(p.src, r.src.addr, r.src.plen) === r.src.invert) return false;
  if (r.dst && inPrefix(p.dst, r.dst.addr, r.dst.plen) === r.dst.invert) return false;
  if (r.in && ifaceMatch(r.in.name, p.in) === r.in.invert) return false;
  if (r.out && ifaceMatch(r.out.name, p.out) === r.out.invert) return false;
  if (r.proto && (p.proto === protoNumber(r.proto)) === !!r.protoInvert) return false;
  for (const m of r.matches ?? []) if (!matchOne(m, p, r, env)) return false;
  return true;
}

function count(env: ModelEnv, key: Rule | string, p: ModelPacket): void {
  const s = env.state(key);
  s.packets++;
  s.bytes += p.len ?? 0;
}

/**
 * Runs a chain of a table for a packet. In a builtin chain, falling off the
 * end or RETURN applies the policy; in a user chain started directly, either
 * gives RETURN. MARK, CONNMARK, NOTRACK and LOG act on p and go on.
 */
export function modelRun(rs: Ruleset, table: TableName, chain: string, p: ModelPacket, env: ModelEnv = freshEnv()): ModelVerdict {
  const t = rs.tables[table];
  const start = t.chains.get(chain);
  if (!start) throw new Error(`no chain ${table}/${chain}`);
  const end = (): ModelVerdict => {
    if (start.builtin) count(env, `${table} ${chain}`, p);
    return { kind: start.builtin ? (start.policy ?? 'ACCEPT') : 'RETURN', chain, index: start.rules.length };
  };
  // Returns a verdict, or null when the chain returns to its caller (or, with goto, to its caller's).
  const walk = (name: string, depth: number): ModelVerdict | null => {
    const c = t.chains.get(name)!;
    for (let i = 0; i < c.rules.length; i++) {
      const r = c.rules[i];
      if (!ruleMatches(r, p, env)) continue;
      count(env, r, p);
      const tg = r.target;
      switch (tg.kind) {
        case 'NONE':
          continue;
        case 'RETURN':
          return null;
        case 'JUMP': {
          if (depth === MODEL_MAX_DEPTH) return { kind: 'DROP', chain: name, index: i };
          const v = walk(tg.chain, depth + 1);
          if (v) return v;
          continue;
        }
        case 'GOTO':
          return walk(tg.chain, depth);
        case 'MARK':
          p.mark = (((p.mark ?? 0) & ~tg.mask) ^ tg.value) >>> 0;
          continue;
        case 'CONNMARK':
          if (!p.conn) continue;
          if (tg.mode === 'set') p.conn.mark = ((p.conn.mark & ~tg.mask) ^ tg.value) >>> 0;
          else if (tg.mode === 'save') p.conn.mark = ((p.conn.mark & ~tg.ctmask) ^ ((p.mark ?? 0) & tg.nfmask)) >>> 0;
          else p.mark = (((p.mark ?? 0) & ~tg.nfmask) ^ (p.conn.mark & tg.ctmask)) >>> 0;
          continue;
        case 'NOTRACK':
          p.untracked = true;
          p.ctstate = 'UNTRACKED';
          p.conn = undefined;
          continue;
        case 'LOG':
          p.logs = (p.logs ?? 0) + 1;
          continue;
        default:
          return { kind: tg.kind, chain: name, index: i };
      }
    }
    return null;
  };
  return walk(chain, 0) ?? end();
}

export { ADDR_TYPES };
