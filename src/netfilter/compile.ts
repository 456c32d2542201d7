// Compiles a ruleset (the IR of ./iptables.ts) into the blob that
// assembly/tables/rules.ts evaluates. The format is described in
// assembly/tables/rules-layout.ts; in short: a header, a chain table indexed
// by chain id (the seven builtin chains, then the user chains), fixed-size
// 64-byte rules with each chain's rules contiguous and closed by a
// terminating match-all rule carrying the policy (or RETURN), then the
// interface tables: for each distinct (pattern, invert) one byte per link
// index, so `-i cali+` costs one load at run time.
//
// Interface patterns are compiled against the link names given; a pattern
// naming no existing link matches nothing (its invert everything). When
// links come or go the caller compiles again.

import {
  AT_DST_LOCAL, AT_SRC_LOCAL, CTS_ESTABLISHED, CTS_INVALID, CTS_NEW, CTS_RELATED, CTS_UNTRACKED,
  NATF_PORTS, NATF_RANDOM, NATF_RANDOM_FULLY, RC_COUNT, RC_FLAGS, RC_POLICY, RC_RULES, RC_SIZE, RCF_BUILTIN,
  RF_ADDRTYPE, RF_CTSTATE, RF_DPORT, RF_DPORT_INV, RF_DST, RF_DST_INV, RF_IN, RF_OUT, RF_PROTO, RF_PROTO_INV, RF_SPORT,
  RF_SPORT_INV, RF_SRC, RF_SRC_INV, RS_CHAINS, RS_HDR_SIZE, RS_IFTABS, RS_MAGIC, RS_NCHAINS, RS_NLINKS, RS_NRULES,
  RS_RULES, RS_SIZE, RU_AT_CARE, RU_AT_WANT, RU_CTSTATE, RU_DMASK, RU_DPORT_LO, RU_DPORT_SPAN, RU_DST, RU_FLAGS, RU_IN,
  RU_JUMP, RU_KIND, RU_NAT_ADDR, RU_NAT_ADDR_HI, RU_NAT_FLAGS, RU_NAT_PORT_HI, RU_NAT_PORT_LO, RU_OUT, RU_PROTO, RU_SIZE,
  RU_SMASK, RU_SPORT_LO, RU_SPORT_SPAN, RU_SRC, RULES_MAGIC, TGT_ACCEPT, TGT_DNAT, TGT_DROP, TGT_JUMP, TGT_MASQUERADE,
  TGT_NONE, TGT_RETURN, TGT_SNAT, VERDICT_KIND_MASK, VERDICT_RULE_SHIFT,
} from '../engine/layout.gen.js';
import { BUILTIN_CHAINS, RulesetError, type CtState, type Rule, type Ruleset, type TableName } from './iptables.js';
import { maskOf } from '../packet/addr.js';

/** Builtin chain ids, as rulesRun takes them. */
export const CHAIN_IDS: Record<TableName, Record<string, number>> = {
  filter: { INPUT: 0, FORWARD: 1, OUTPUT: 2 },
  nat: { PREROUTING: 3, INPUT: 4, OUTPUT: 5, POSTROUTING: 6 },
};

export const CT_STATE_BITS: Record<CtState, number> = {
  NEW: CTS_NEW,
  ESTABLISHED: CTS_ESTABLISHED,
  RELATED: CTS_RELATED,
  INVALID: CTS_INVALID,
  UNTRACKED: CTS_UNTRACKED,
};
const ALL_STATES = CTS_NEW | CTS_ESTABLISHED | CTS_RELATED | CTS_INVALID | CTS_UNTRACKED;

const PROTO_NUM = { tcp: 6, udp: 17, icmp: 1 } as const;

const KIND: Record<string, number> = {
  ACCEPT: TGT_ACCEPT, DROP: TGT_DROP, DNAT: TGT_DNAT, SNAT: TGT_SNAT, MASQUERADE: TGT_MASQUERADE,
  RETURN: TGT_RETURN, JUMP: TGT_JUMP, NONE: TGT_NONE,
};
/** Target kind names by TGT_* value. */
export const TARGET_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KIND).map(([k, v]) => [v, k]));

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
  /** The rule at a byte offset of the blob (a verdict's rule offset). */
  ruleAt(offset: number): RulePlace | undefined;
  /** A chain's id (builtin: CHAIN_IDS; user chains follow). */
  chainId(table: TableName, chain: string): number | undefined;
}

/** Splits a verdict word into its kind and the deciding rule's offset. */
export function splitVerdict(v: number): { kind: number; offset: number } {
  return { kind: v & VERDICT_KIND_MASK, offset: v >>> VERDICT_RULE_SHIFT };
}

/** Whether interface `name` ('' = none) matches pattern `pat` (a trailing + is a prefix wildcard). */
export function ifaceMatches(pat: string, name: string): boolean {
  return pat.endsWith('+') ? name.startsWith(pat.slice(0, -1)) : name === pat;
}

/**
 * Compiles a ruleset for a host whose links, by index, are named `links`.
 * Throws RulesetError for a jump to a missing chain or a loop (what the blob
 * cannot express); where NAT targets sit is validateRuleset's business.
 */
export function compileRuleset(rs: Ruleset, links: readonly string[]): CompiledRuleset {
  // Chain ids: builtin ones fixed, then the user chains of filter, then of nat.
  type Entry = { table: TableName; name: string; rules: Rule[]; policy: number; builtin: boolean };
  const entries: Entry[] = [];
  const ids = new Map<string, number>(); // `${table}\0${name}` -> id
  for (const table of ['filter', 'nat'] as const) {
    for (const name of BUILTIN_CHAINS[table]) {
      const c = rs.tables[table].chains.get(name);
      const policy = c?.policy === 'DROP' ? TGT_DROP : TGT_ACCEPT;
      ids.set(`${table}\0${name}`, entries.length);
      entries.push({ table, name, rules: c?.rules ?? [], policy, builtin: true });
    }
  }
  for (const table of ['filter', 'nat'] as const) {
    for (const c of rs.tables[table].chains.values()) {
      if (c.builtin) continue;
      ids.set(`${table}\0${c.name}`, entries.length);
      entries.push({ table, name: c.name, rules: c.rules, policy: TGT_RETURN, builtin: false });
    }
  }
  checkJumps(entries, ids);

  const nlinks = links.length;
  const tabSize = (nlinks + 1 + 3) & ~3;
  const chainsOff = RS_HDR_SIZE;
  const rulesOff = align(chainsOff + entries.length * RC_SIZE, 64);
  const firstRule: number[] = [];
  let nrules = 0;
  for (const e of entries) {
    firstRule.push(rulesOff + nrules * RU_SIZE);
    nrules += e.rules.length + 1;
  }
  const tabsOff = rulesOff + nrules * RU_SIZE;
  // Interface tables, one per distinct (pattern, invert).
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
  if (size >= 2 ** (32 - VERDICT_RULE_SHIFT)) throw new RangeError(`rules: compiled ruleset too large (${size} bytes)`);

  const blob = new Uint8Array(size);
  const dv = new DataView(blob.buffer);
  dv.setUint32(RS_MAGIC, RULES_MAGIC, true);
  dv.setUint32(RS_SIZE, size, true);
  dv.setUint32(RS_NLINKS, nlinks, true);
  dv.setUint32(RS_NCHAINS, entries.length, true);
  dv.setUint32(RS_NRULES, nrules, true);
  dv.setUint32(RS_CHAINS, chainsOff, true);
  dv.setUint32(RS_RULES, rulesOff, true);
  dv.setUint32(RS_IFTABS, tabsOff, true);
  tabBytes.forEach((t, i) => blob.set(t, tabsOff + i * tabSize));

  const places: RulePlace[] = [];
  entries.forEach((e, id) => {
    const c = chainsOff + id * RC_SIZE;
    dv.setUint32(c + RC_RULES, firstRule[id], true);
    dv.setUint32(c + RC_COUNT, e.rules.length, true);
    dv.setUint32(c + RC_POLICY, e.policy, true);
    dv.setUint32(c + RC_FLAGS, e.builtin ? RCF_BUILTIN : 0, true);
    e.rules.forEach((r, i) => {
      const at = firstRule[id] + i * RU_SIZE;
      writeRule(dv, at, r, firstRule[ids.get(`${e.table}\0${(r.target as { chain?: string }).chain}`) ?? 0], tabFor);
      places.push({ table: e.table, chain: e.name, index: i, rule: r });
    });
    // The terminating rule: matches everything, decides the policy (or returns).
    dv.setUint32(firstRule[id] + e.rules.length * RU_SIZE + RU_KIND, e.policy, true);
    places.push({ table: e.table, chain: e.name, index: e.rules.length });
  });

  return {
    blob,
    ruleAt(offset: number) {
      if (offset < rulesOff || offset >= tabsOff || (offset - rulesOff) % RU_SIZE !== 0) return undefined;
      return places[(offset - rulesOff) / RU_SIZE];
    },
    chainId(table: TableName, chain: string) {
      return ids.get(`${table}\0${chain}`);
    },
  };
}

function writeRule(dv: DataView, at: number, r: Rule, jumpTo: number, tabFor: (name: string, invert: boolean) => number): void {
  let f = 0;
  if (r.in) {
    f |= RF_IN;
    dv.setUint32(at + RU_IN, tabFor(r.in.name, r.in.invert), true);
  }
  if (r.out) {
    f |= RF_OUT;
    dv.setUint32(at + RU_OUT, tabFor(r.out.name, r.out.invert), true);
  }
  if (r.proto) {
    f |= RF_PROTO | (r.protoInvert ? RF_PROTO_INV : 0);
    dv.setUint32(at + RU_PROTO, PROTO_NUM[r.proto], true);
  }
  if (r.src) {
    f |= RF_SRC | (r.src.invert ? RF_SRC_INV : 0);
    dv.setUint32(at + RU_SRC, (r.src.addr & maskOf(r.src.plen)) >>> 0, true);
    dv.setUint32(at + RU_SMASK, maskOf(r.src.plen), true);
  }
  if (r.dst) {
    f |= RF_DST | (r.dst.invert ? RF_DST_INV : 0);
    dv.setUint32(at + RU_DST, (r.dst.addr & maskOf(r.dst.plen)) >>> 0, true);
    dv.setUint32(at + RU_DMASK, maskOf(r.dst.plen), true);
  }
  if (r.sport) {
    f |= RF_SPORT | (r.sport.invert ? RF_SPORT_INV : 0);
    dv.setUint16(at + RU_SPORT_LO, r.sport.lo, true);
    dv.setUint16(at + RU_SPORT_SPAN, r.sport.hi - r.sport.lo, true);
  }
  if (r.dport) {
    f |= RF_DPORT | (r.dport.invert ? RF_DPORT_INV : 0);
    dv.setUint16(at + RU_DPORT_LO, r.dport.lo, true);
    dv.setUint16(at + RU_DPORT_SPAN, r.dport.hi - r.dport.lo, true);
  }
  if (r.ctstate) {
    f |= RF_CTSTATE;
    let m = 0;
    for (const s of r.ctstate) m |= CT_STATE_BITS[s];
    dv.setUint8(at + RU_CTSTATE, r.ctstateInvert ? ALL_STATES & ~m : m);
  }
  if (r.srcType || r.dstType) {
    f |= RF_ADDRTYPE;
    let care = 0;
    let want = 0;
    if (r.srcType) {
      care |= AT_SRC_LOCAL;
      if (!r.srcType.invert) want |= AT_SRC_LOCAL;
    }
    if (r.dstType) {
      care |= AT_DST_LOCAL;
      if (!r.dstType.invert) want |= AT_DST_LOCAL;
    }
    dv.setUint8(at + RU_AT_CARE, care);
    dv.setUint8(at + RU_AT_WANT, want);
  }
  dv.setUint32(at + RU_FLAGS, f, true);
  const t = r.target;
  dv.setUint32(at + RU_KIND, KIND[t.kind], true);
  if (t.kind === 'JUMP') dv.setUint32(at + RU_JUMP, jumpTo, true);
  if (t.kind === 'DNAT' || t.kind === 'SNAT' || t.kind === 'MASQUERADE') {
    let nf = 0;
    if (t.kind !== 'MASQUERADE') {
      dv.setUint32(at + RU_NAT_ADDR, t.addr >>> 0, true);
      dv.setUint32(at + RU_NAT_ADDR_HI, (t.addrHi ?? t.addr) >>> 0, true);
    }
    if (t.portLo !== undefined) {
      nf |= NATF_PORTS;
      dv.setUint16(at + RU_NAT_PORT_LO, t.portLo, true);
      dv.setUint16(at + RU_NAT_PORT_HI, t.portHi ?? t.portLo, true);
    }
    if (t.random) nf |= NATF_RANDOM;
    if (t.kind !== 'DNAT' && t.randomFully) nf |= NATF_RANDOM_FULLY;
    dv.setUint8(at + RU_NAT_FLAGS, nf);
  }
}

/** Jumps must name a user chain of the same table, and the jump graph must have no cycle. */
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
      if (r.target.kind !== 'JUMP') return;
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
