// Compiles a ruleset (the IR of ./ir.ts) into the blob that
// assembly/tables/rules.ts evaluates. The format is described in
// assembly/tables/rules-layout.ts; in short: a header, a chain table indexed
// by chain id (the fourteen builtin chains, then the user chains), fixed-size
// 64-byte rules with each chain's rules contiguous and closed by a
// terminating match-all rule carrying the policy (or RETURN), extension
// records for the matches that do not fit a rule, then the interface
// tables: for each distinct (pattern, invert) one byte per link index, so
// `-i cali+` costs one load at run time.
//
// The common matches (interfaces, protocol, addresses, ports, ctstate, one
// mark) sit in the rule itself and are tested first. That reorders them
// against the others, which only matters when a match has state (-m limit,
// -m statistic): a rule with one keeps every match in its place, as
// extension records tested in the order they were written.
//
// Interface patterns are compiled against the link names given; a pattern
// naming no existing link matches nothing (its invert everything). When
// links come or go the caller compiles again.

import * as L from '../engine/layout.gen.js';
import {
  BUILTIN_CHAINS, CT_STATES, REJECT_WITH, TABLES, protoNumber,
  type CtState, type Match, type Rule, type Ruleset, type TableName,
} from './ir.js';
import { RulesetError } from './iptables.js';
import { ADDR_TYPES } from './ir.js';
import { maskOf } from '../packet/addr.js';

/** Builtin chain ids, as rulesRun takes them. */
export const CHAIN_IDS: Record<TableName, Record<string, number>> = {
  filter: { INPUT: L.CHAIN_FILTER_INPUT, FORWARD: L.CHAIN_FILTER_FORWARD, OUTPUT: L.CHAIN_FILTER_OUTPUT },
  nat: { PREROUTING: L.CHAIN_NAT_PREROUTING, INPUT: L.CHAIN_NAT_INPUT, OUTPUT: L.CHAIN_NAT_OUTPUT, POSTROUTING: L.CHAIN_NAT_POSTROUTING },
  raw: { PREROUTING: L.CHAIN_RAW_PREROUTING, OUTPUT: L.CHAIN_RAW_OUTPUT },
  mangle: {
    PREROUTING: L.CHAIN_MANGLE_PREROUTING, INPUT: L.CHAIN_MANGLE_INPUT, FORWARD: L.CHAIN_MANGLE_FORWARD,
    OUTPUT: L.CHAIN_MANGLE_OUTPUT, POSTROUTING: L.CHAIN_MANGLE_POSTROUTING,
  },
};

export const CT_STATE_BITS: Record<CtState, number> = {
  NEW: L.CTS_NEW,
  ESTABLISHED: L.CTS_ESTABLISHED,
  RELATED: L.CTS_RELATED,
  INVALID: L.CTS_INVALID,
  UNTRACKED: L.CTS_UNTRACKED,
  SNAT: L.CTS_SNAT,
  DNAT: L.CTS_DNAT,
};

/** --ctstatus names as the data plane's connection status bits (EXPECTED: never set). */
const CT_STATUS_BITS: Record<string, number> = { EXPECTED: 0x80, SEEN_REPLY: L.CS_SEEN_REPLY, ASSURED: L.CS_ASSURED, CONFIRMED: L.CS_LIVE };

const KIND: Record<string, number> = {
  ACCEPT: L.TGT_ACCEPT, DROP: L.TGT_DROP, DNAT: L.TGT_DNAT, SNAT: L.TGT_SNAT, MASQUERADE: L.TGT_MASQUERADE, REJECT: L.TGT_REJECT,
  RETURN: L.TGT_RETURN, JUMP: L.TGT_JUMP, GOTO: L.TGT_GOTO, NONE: L.TGT_NONE, MARK: L.TGT_MARK, CONNMARK: L.TGT_CONNMARK,
  NOTRACK: L.TGT_NOTRACK, LOG: L.TGT_LOG,
};
/** Target kind names by TGT_* value. */
export const TARGET_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KIND).map(([k, v]) => [v, k]));

/** xt_limit with HZ 1000: CREDITS_PER_JIFFY = POW2_BELOW32(0xffffffff / (HZ * 86400)) = 32. */
export const LIMIT_CREDITS_PER_MS = 32;
/** user2credits: a rate's average (x XT_LIMIT_SCALE seconds) in credits. */
export function user2credits(user: number): number {
  const hz = 1000 * LIMIT_CREDITS_PER_MS;
  if (user > Math.floor(0xffffffff / hz)) return (Math.floor(user / 10000) * hz) >>> 0;
  return Math.floor((user * hz) / 10000) >>> 0;
}

/** Where a rule of the blob came from. index === chain's rule count: its terminating rule (policy or fall-through RETURN). */
export interface RulePlace {
  table: TableName;
  chain: string;
  index: number;
  /** The IR rule; undefined for a terminating rule. */
  rule?: Rule;
}

export interface CompiledRuleset {
  blob: Uint8Array;
  /** Rule structs, terminating ones included (the per-rule state has one entry each). */
  nrules: number;
  /** Every rule struct in blob order. */
  places: RulePlace[];
  /** The rule at a byte offset of the blob (a verdict's rule offset). */
  ruleAt(offset: number): RulePlace | undefined;
  /** The index (blob order) of a chain's rule i (its rule count: the terminating rule). */
  ruleIndex(table: TableName, chain: string, i: number): number | undefined;
  /** A chain's id (builtin: CHAIN_IDS; user chains follow). */
  chainId(table: TableName, chain: string): number | undefined;
}

/** Splits a verdict word into its kind and the deciding rule's offset. */
export function splitVerdict(v: number): { kind: number; offset: number } {
  return { kind: v & L.VERDICT_KIND_MASK, offset: v >>> L.VERDICT_RULE_SHIFT };
}

/** Whether interface `name` ('' = none) matches pattern `pat` (a trailing + is a prefix wildcard). */
export function ifaceMatches(pat: string, name: string): boolean {
  return pat.endsWith('+') ? name.startsWith(pat.slice(0, -1)) : name === pat;
}

/** Extension records of one rule, as bytes. */
class Ext {
  readonly bytes: number[] = [];
  private rec(type: number, flags: number, payload: number[]): void {
    const size = 4 + payload.length;
    this.bytes.push(type, flags, size & 255, size >> 8, ...payload);
  }
  static u16 = (v: number) => [v & 255, (v >> 8) & 255];
  static u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];

  ports(src: boolean, lo: number, hi: number, invert: boolean) {
    this.rec(L.X_PORTS, (src ? L.XF_SRC : L.XF_DST) | (invert ? L.XF_INV : 0), [...Ext.u16(lo), ...Ext.u16(hi)]);
  }
  add(m: Match, setIndex: (name: string) => number): void {
    const inv = (b: boolean | undefined) => (b ? L.XF_INV : 0);
    switch (m.m) {
      case 'tcp': case 'udp':
        if (m.sport) this.ports(true, m.sport.lo, m.sport.hi, m.sport.invert);
        if (m.dport) this.ports(false, m.dport.lo, m.dport.hi, m.dport.invert);
        if (m.m === 'tcp' && m.flags) this.rec(L.X_TCPFLAGS, inv(m.flags.invert), [m.flags.mask, m.flags.comp, 0, 0]);
        return;
      case 'icmp':
        this.rec(L.X_ICMP, inv(m.invert), [m.type, m.codeLo, m.codeHi, 0]);
        return;
      case 'state':
        this.rec(L.X_CTSTATE, inv(m.state.invert), [stateMask(m.state.states), 0, 0, 0]);
        return;
      case 'conntrack': {
        const sf = m.state ? L.XF_STATEFUL : 0;
        if (m.state) this.rec(L.X_CTSTATE, inv(m.state.invert), [stateMask(m.state.states), 0, 0, 0]);
        if (m.ctproto) this.rec(L.X_CTPROTO, sf | inv(m.ctproto.invert), [m.ctproto.proto, 0, 0, 0]);
        const addrs = [['origsrc', L.CTW_ORIG_SRC], ['origdst', L.CTW_ORIG_DST], ['replsrc', L.CTW_REPL_SRC], ['repldst', L.CTW_REPL_DST]] as const;
        for (const [k, w] of addrs) {
          const a = m[k];
          if (a) this.rec(L.X_CTADDR, sf | inv(a.invert), [w, 0, 0, 0, ...Ext.u32(a.addr), ...Ext.u32(maskOf(a.plen))]);
        }
        const ports = [['origsrcport', L.CTW_ORIG_SRC], ['origdstport', L.CTW_ORIG_DST], ['replsrcport', L.CTW_REPL_SRC], ['repldstport', L.CTW_REPL_DST]] as const;
        for (const [k, w] of ports) {
          const p = m[k];
          if (p) this.rec(L.X_CTPORT, sf | inv(p.invert), [w, 0, ...Ext.u16(p.lo), ...Ext.u16(p.hi), 0, 0]);
        }
        if (m.status) this.rec(L.X_CTSTATUS, sf | inv(m.status.invert), [m.status.statuses.reduce((b, s) => b | CT_STATUS_BITS[s], 0), 0, 0, 0]);
        if (m.expire) this.rec(L.X_CTEXPIRE, sf | inv(m.expire.invert), [...Ext.u32(m.expire.lo), ...Ext.u32(m.expire.hi)]);
        if (m.dir) this.rec(L.X_CTDIR, sf, [m.dir === 'REPLY' ? 1 : 0, 0, 0, 0]);
        return;
      }
      case 'addrtype': {
        let f = 0;
        if (m.src) f |= L.XF_SRC | (m.src.invert ? L.XF_SRC_INV : 0);
        if (m.dst) f |= L.XF_DST | (m.dst.invert ? L.XF_DST_INV : 0);
        if (m.limitIn) f |= L.XF_LIMIT_IN;
        if (m.limitOut) f |= L.XF_LIMIT_OUT;
        const bits = (t?: { types: readonly string[] }) => (t ? t.types.reduce((b, x) => b | (1 << ADDR_TYPES.indexOf(x as never)), 0) : 0);
        this.rec(L.X_ADDRTYPE, f, [...Ext.u16(bits(m.src)), ...Ext.u16(bits(m.dst))]);
        return;
      }
      case 'comment':
        return;
      case 'set': {
        const dirs = m.dirs.reduce((b, d, i) => b | (d === 'dst' ? 1 << i : 0), 0);
        this.rec(L.X_SET, inv(m.invert), [...Ext.u16(setIndex(m.name)), m.dirs.length, dirs]);
        return;
      }
      case 'mark':
        this.rec(L.X_MARK, inv(m.invert), [...Ext.u32(m.value), ...Ext.u32(m.mask)]);
        return;
      case 'connmark':
        this.rec(L.X_CONNMARK, inv(m.invert), [...Ext.u32(m.value), ...Ext.u32(m.mask)]);
        return;
      case 'multiport': {
        const side = m.which === 'sports' ? L.XF_SRC : m.which === 'dports' ? L.XF_DST : L.XF_SRC | L.XF_DST;
        this.rec(L.X_MULTIPORT, side | inv(m.invert), [...Ext.u16(m.ports.length), 0, 0, ...m.ports.flatMap((p) => [...Ext.u16(p.lo), ...Ext.u16(p.hi)])]);
        return;
      }
      case 'limit':
        this.rec(L.X_LIMIT, 0, [...Ext.u32(user2credits(m.avg)), ...Ext.u32(user2credits((m.avg * m.burst) >>> 0))]);
        return;
      case 'statistic':
        if (m.mode === 'random') this.rec(L.X_RANDOM, inv(m.invert), Ext.u32(m.probability));
        else this.rec(L.X_NTH, inv(m.invert), Ext.u32(m.every - 1));
        return;
      case 'rpfilter':
        this.rec(L.X_RPFILTER, inv(m.invert) | (m.loose ? L.XF_LOOSE : 0) | (m.acceptLocal ? L.XF_ACCEPT_LOCAL : 0), []);
        return;
    }
  }
}

function stateMask(states: readonly CtState[]): number {
  return states.reduce((m, s) => m | CT_STATE_BITS[s], 0);
}

/** What packet keys a match reads beyond the basic ones (RS_NEEDS). */
function needsOf(m: Match): number {
  if (m.m === 'addrtype') return L.NEED_ADDRTYPE;
  if (m.m === 'rpfilter') return L.NEED_RPF;
  if (m.m === 'icmp' || (m.m === 'tcp' && m.flags)) return L.NEED_L4;
  return 0;
}

/**
 * Compiles a ruleset for a host whose links, by index, are named `links`;
 * `setIndex` gives the data plane's index of an ipset. Throws RulesetError
 * for a jump to a missing chain or a loop (what the blob cannot express);
 * where targets sit is validateRuleset's business.
 */
export function compileRuleset(rs: Ruleset, links: readonly string[], setIndex: (name: string) => number = () => 0): CompiledRuleset {
  // Chain ids: builtin ones fixed, then the user chains of each table.
  type Entry = { table: TableName; name: string; rules: Rule[]; policy: number; builtin: boolean };
  const entries: Entry[] = [];
  const ids = new Map<string, number>(); // `${table}\0${name}` -> id
  for (const table of TABLES) {
    for (const name of BUILTIN_CHAINS[table]) {
      const c = rs.tables[table].chains.get(name);
      const policy = c?.policy === 'DROP' ? L.TGT_DROP : L.TGT_ACCEPT;
      entries[CHAIN_IDS[table][name]] = { table, name, rules: c?.rules ?? [], policy, builtin: true };
      ids.set(`${table}\0${name}`, CHAIN_IDS[table][name]);
    }
  }
  for (const table of ['filter', 'nat', 'raw', 'mangle'] as const) {
    for (const c of rs.tables[table].chains.values()) {
      if (c.builtin) continue;
      ids.set(`${table}\0${c.name}`, entries.length);
      entries.push({ table, name: c.name, rules: c.rules, policy: L.TGT_RETURN, builtin: false });
    }
  }
  checkJumps(entries, ids);

  const nlinks = links.length;
  const tabSize = (nlinks + 1 + 3) & ~3;
  const chainsOff = L.RS_HDR_SIZE;
  const rulesOff = align(chainsOff + entries.length * L.RC_SIZE, 64);
  const firstRule: number[] = [];
  let nrules = 0;
  for (const e of entries) {
    firstRule.push(rulesOff + nrules * L.RU_SIZE);
    nrules += e.rules.length + 1;
  }
  const extOff = rulesOff + nrules * L.RU_SIZE;
  // Extension records first (their offsets go into the rules), then the interface tables.
  const ext: number[] = [];
  const extAt = new Map<Rule, number>();
  let needs = 0;
  const coreOf = new Map<Rule, Core>();
  for (const e of entries) {
    for (const r of e.rules) {
      const core = splitMatches(r, setIndex);
      coreOf.set(r, core);
      for (const m of r.matches ?? []) needs |= needsOf(m);
      if (core.ext.bytes.length) {
        extAt.set(r, extOff + ext.length);
        ext.push(...core.ext.bytes, 0, 0, 0, 0);
      }
    }
  }
  const tabsOff = align(extOff + ext.length, 4);
  const tabs = new Map<string, number>();
  const tabBytes: Uint8Array[] = [];
  const tabFor = (name: string, invert: boolean): number => {
    const key = `${invert ? '!' : ''}${name}`;
    let off = tabs.get(key);
    if (off === undefined) {
      const t = new Uint8Array(tabSize);
      for (let i = 0; i < nlinks; i++) t[i] = ifaceMatches(name, links[i]) !== invert ? 1 : 0;
      t[nlinks] = ifaceMatches(name, '') !== invert ? 1 : 0;
      off = tabsOff + tabBytes.length * tabSize;
      tabs.set(key, off);
      tabBytes.push(t);
    }
    return off;
  };
  for (const e of entries) {
    for (const r of e.rules) {
      if (r.in) tabFor(r.in.name, r.in.invert);
      if (r.out) tabFor(r.out.name, r.out.invert);
    }
  }
  const size = tabsOff + tabBytes.length * tabSize;
  if (size >= 2 ** (32 - L.VERDICT_RULE_SHIFT)) throw new RangeError(`rules: compiled ruleset too large (${size} bytes)`);

  const blob = new Uint8Array(size);
  const dv = new DataView(blob.buffer);
  let active = 0;
  for (let id = 0; id < L.CHAINS_BUILTIN; id++) if (entries[id].rules.length || entries[id].policy === L.TGT_DROP) active |= 1 << id;
  dv.setUint32(L.RS_MAGIC, L.RULES_MAGIC, true);
  dv.setUint32(L.RS_SIZE, size, true);
  dv.setUint32(L.RS_NLINKS, nlinks, true);
  dv.setUint32(L.RS_NCHAINS, entries.length, true);
  dv.setUint32(L.RS_NRULES, nrules, true);
  dv.setUint32(L.RS_CHAINS, chainsOff, true);
  dv.setUint32(L.RS_RULES, rulesOff, true);
  dv.setUint32(L.RS_IFTABS, tabsOff, true);
  dv.setUint32(L.RS_EXT, extOff, true);
  dv.setUint32(L.RS_ACTIVE, active, true);
  dv.setUint32(L.RS_NEEDS, needs, true);
  let counted = 0;
  for (const t of rs.present ?? TABLES) for (const name of BUILTIN_CHAINS[t]) counted |= 1 << CHAIN_IDS[t][name];
  dv.setUint32(L.RS_COUNTED, counted, true);
  blob.set(ext, extOff);
  tabBytes.forEach((t, i) => blob.set(t, tabsOff + i * tabSize));

  const places: RulePlace[] = [];
  entries.forEach((e, id) => {
    const c = chainsOff + id * L.RC_SIZE;
    dv.setUint32(c + L.RC_RULES, firstRule[id], true);
    dv.setUint32(c + L.RC_COUNT, e.rules.length, true);
    dv.setUint32(c + L.RC_POLICY, e.policy, true);
    dv.setUint32(c + L.RC_FLAGS, e.builtin ? L.RCF_BUILTIN : 0, true);
    e.rules.forEach((r, i) => {
      const at = firstRule[id] + i * L.RU_SIZE;
      const to = (r.target as { chain?: string }).chain;
      writeRule(dv, at, r, coreOf.get(r)!, extAt.get(r) ?? 0, to === undefined ? 0 : firstRule[ids.get(`${e.table}\0${to}`) ?? 0], tabFor);
      places.push({ table: e.table, chain: e.name, index: i, rule: r });
    });
    // The terminating rule: matches everything, decides the policy (or returns).
    dv.setUint8(firstRule[id] + e.rules.length * L.RU_SIZE + L.RU_KIND, e.policy);
    places.push({ table: e.table, chain: e.name, index: e.rules.length });
  });

  return {
    blob,
    nrules,
    places,
    ruleAt(offset: number) {
      if (offset < rulesOff || offset >= extOff || (offset - rulesOff) % L.RU_SIZE !== 0) return undefined;
      return places[(offset - rulesOff) / L.RU_SIZE];
    },
    ruleIndex(table: TableName, chain: string, i: number) {
      const id = ids.get(`${table}\0${chain}`);
      if (id === undefined || i < 0 || i > entries[id].rules.length) return undefined;
      return (firstRule[id] - rulesOff) / L.RU_SIZE + i;
    },
    chainId(table: TableName, chain: string) {
      return ids.get(`${table}\0${chain}`);
    },
  };
}

/** The matches a rule keeps in its own struct, and the rest as extension records. */
interface Core {
  sport?: { lo: number; hi: number; invert: boolean };
  dport?: { lo: number; hi: number; invert: boolean };
  ctstate?: { mask: number; invert: boolean };
  mark?: { value: number; mask: number; invert: boolean };
  ext: Ext;
}

function splitMatches(r: Rule, setIndex: (name: string) => number): Core {
  const core: Core = { ext: new Ext() };
  const ms = r.matches ?? [];
  // A match with state keeps every match in its place (see the top of the file).
  const inOrder = ms.some((m) => m.m === 'limit' || m.m === 'statistic');
  for (const m of ms) {
    if (!inOrder) {
      if ((m.m === 'tcp' || m.m === 'udp') && !core.sport && !core.dport && (m.sport || m.dport)) {
        core.sport = m.sport;
        core.dport = m.dport;
        if (m.m === 'tcp' && m.flags) core.ext.add({ m: 'tcp', flags: m.flags }, setIndex);
        continue;
      }
      if ((m.m === 'state' || (m.m === 'conntrack' && m.state)) && !core.ctstate) {
        const st = m.m === 'state' ? m.state : m.state!;
        core.ctstate = { mask: stateMask(st.states), invert: st.invert };
        if (m.m === 'conntrack') {
          // The rest of it still passes without a connection, as it had --ctstate (XF_STATEFUL).
          const from = core.ext.bytes.length;
          core.ext.add({ ...m, state: undefined }, setIndex);
          markStateful(core.ext.bytes, from);
        }
        continue;
      }
      if (m.m === 'mark' && !core.mark) {
        core.mark = m;
        continue;
      }
    }
    core.ext.add(m, setIndex);
  }
  return core;
}

/** Marks the X_CT* records from byte `from` on stateful. */
function markStateful(b: number[], from: number): void {
  for (let at = from; at < b.length; at += b[at + 2] | (b[at + 3] << 8)) {
    const t = b[at];
    if (t >= L.X_CTADDR && t <= L.X_CTDIR) b[at + 1] |= L.XF_STATEFUL;
  }
}

function writeRule(
  dv: DataView, at: number, r: Rule, core: Core, extAt: number, jumpTo: number, tabFor: (name: string, invert: boolean) => number,
): void {
  let f = 0;
  if (r.in) {
    f |= L.RF_IN;
    dv.setUint32(at + L.RU_IN, tabFor(r.in.name, r.in.invert), true);
  }
  if (r.out) {
    f |= L.RF_OUT;
    dv.setUint32(at + L.RU_OUT, tabFor(r.out.name, r.out.invert), true);
  }
  if (r.proto) {
    f |= L.RF_PROTO | (r.protoInvert ? L.RF_PROTO_INV : 0);
    dv.setUint8(at + L.RU_PROTO, protoNumber(r.proto)!);
  }
  if (r.src) {
    f |= L.RF_SRC | (r.src.invert ? L.RF_SRC_INV : 0);
    dv.setUint32(at + L.RU_SRC, (r.src.addr & maskOf(r.src.plen)) >>> 0, true);
    dv.setUint32(at + L.RU_SMASK, maskOf(r.src.plen), true);
  }
  if (r.dst) {
    f |= L.RF_DST | (r.dst.invert ? L.RF_DST_INV : 0);
    dv.setUint32(at + L.RU_DST, (r.dst.addr & maskOf(r.dst.plen)) >>> 0, true);
    dv.setUint32(at + L.RU_DMASK, maskOf(r.dst.plen), true);
  }
  if (core.sport) {
    f |= L.RF_SPORT | (core.sport.invert ? L.RF_SPORT_INV : 0);
    dv.setUint16(at + L.RU_SPORT_LO, core.sport.lo, true);
    dv.setUint16(at + L.RU_SPORT_SPAN, core.sport.hi - core.sport.lo, true);
  }
  if (core.dport) {
    f |= L.RF_DPORT | (core.dport.invert ? L.RF_DPORT_INV : 0);
    dv.setUint16(at + L.RU_DPORT_LO, core.dport.lo, true);
    dv.setUint16(at + L.RU_DPORT_SPAN, core.dport.hi - core.dport.lo, true);
  }
  if (core.ctstate) {
    f |= L.RF_CTSTATE | (core.ctstate.invert ? L.RF_CTSTATE_INV : 0);
    dv.setUint8(at + L.RU_CTSTATE, core.ctstate.mask);
  }
  if (core.mark) {
    f |= L.RF_MARK | (core.mark.invert ? L.RF_MARK_INV : 0);
    dv.setUint32(at + L.RU_MARK, core.mark.value >>> 0, true);
    dv.setUint32(at + L.RU_MARK_MASK, core.mark.mask >>> 0, true);
  }
  if (extAt) {
    f |= L.RF_EXT;
    dv.setUint32(at + L.RU_EXT, extAt, true);
  }
  dv.setUint32(at + L.RU_FLAGS, f, true);
  const t = r.target;
  dv.setUint8(at + L.RU_KIND, KIND[t.kind]);
  switch (t.kind) {
    case 'JUMP': case 'GOTO':
      dv.setUint32(at + L.RU_JUMP, jumpTo, true);
      break;
    case 'DNAT': case 'SNAT': case 'MASQUERADE': {
      let nf = 0;
      if (t.kind !== 'MASQUERADE') {
        dv.setUint32(at + L.RU_T0, t.addr >>> 0, true);
        dv.setUint32(at + L.RU_T1, (t.addrHi ?? t.addr) >>> 0, true);
      }
      if (t.portLo !== undefined) {
        nf |= L.NATF_PORTS;
        dv.setUint32(at + L.RU_NAT_PORTS, (t.portLo | ((t.portHi ?? t.portLo) << 16)) >>> 0, true);
      }
      if (t.random) nf |= L.NATF_RANDOM;
      if (t.kind !== 'DNAT' && t.randomFully) nf |= L.NATF_RANDOM_FULLY;
      dv.setUint8(at + L.RU_TFLAGS, nf);
      break;
    }
    case 'REJECT':
      dv.setUint32(at + L.RU_T0, REJECT_WITH[t.with], true);
      break;
    case 'MARK':
      dv.setUint32(at + L.RU_T0, t.value >>> 0, true);
      dv.setUint32(at + L.RU_T1, t.mask >>> 0, true);
      break;
    case 'CONNMARK':
      dv.setUint8(at + L.RU_TFLAGS, t.mode === 'set' ? L.CM_SET : t.mode === 'save' ? L.CM_SAVE : L.CM_RESTORE);
      dv.setUint32(at + L.RU_T0, (t.mode === 'set' ? t.value : t.nfmask) >>> 0, true);
      dv.setUint32(at + L.RU_T1, (t.mode === 'set' ? t.mask : t.ctmask) >>> 0, true);
      break;
  }
}

/** Jumps and gotos must name a user chain of the same table, and the jump graph must have no cycle. */
function checkJumps(entries: { table: TableName; name: string; rules: Rule[]; builtin: boolean }[], ids: Map<string, number>): void {
  const fail = (r: Rule, chain: string, i: number, what: string): never => {
    if (r.line > 0) throw new RulesetError(`line ${r.line}: ${what} in "${r.text}"`, r.line, r.text);
    throw new RulesetError(`rule ${i + 1} of chain ${chain}: ${what}`, 0, r.text);
  };
  const state = new Uint8Array(entries.length); // 1 on the path, 2 done
  const visit = (id: number): void => {
    state[id] = 1;
    const e = entries[id];
    e.rules.forEach((r, i) => {
      if (r.target.kind !== 'JUMP' && r.target.kind !== 'GOTO') return;
      const to = ids.get(`${e.table}\0${r.target.chain}`);
      if (to === undefined || entries[to].builtin) fail(r, e.name, i, `jump to unknown chain or target "${r.target.chain}"`);
      if (state[to!] === 1) fail(r, e.name, i, `chain loop through "${r.target.chain}"`);
      if (state[to!] === 0) visit(to!);
    });
    state[id] = 2;
  };
  for (let id = 0; id < entries.length; id++) if (state[id] === 0) visit(id);
}

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

export { CT_STATES };
