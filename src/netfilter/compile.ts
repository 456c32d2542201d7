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
// Interface patterns are compiled against the link names given; a pattern
// naming no existing link matches nothing (its invert everything). When
// links come or go the caller compiles again.
//
// One rule's struct and extension records are written by ./compile-rule.ts;
// here, the chain table, the rules' places and the interface tables.
import * as L from '../engine/layout.gen.js';
import { BUILTIN_CHAINS, CT_STATES, TABLES, type Rule, type Ruleset, type TableName } from './ir.js';
import { RulesetError } from './iptables.js';
import { needsOf, splitMatches, writeRule, type Core } from './compile-rule.js';

export { CT_STATE_BITS, LIMIT_CREDITS_PER_MS, TARGET_NAMES, user2credits } from './compile-rule.js';

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
