// iptables-save text read as iptables-restore reads it, into the IR of
// ./ir.ts. Tables raw, mangle, nat and filter with their builtin chains, user
// chains, policies and counters. Commands -A, -I, -D, -R, -N, -F, -X, -P and
// chain lines; a rule's words are read by ./parse-rule.ts, checked by
// ./ruleset-checks.ts, and printed back by ./iptables-save.ts.
//
// Parsing is all-or-nothing: the first line it cannot take throws a
// RulesetError naming the line number and quoting the line, and nothing is
// returned. validateRuleset applies the same whole-ruleset checks (jumps,
// loops, where targets may be) to an IR built by other means.
import {
  BUILTIN_CHAINS, RulesetError, TABLES, emptyRuleset, emptyTable,
  type Chain, type Counters, type Policy, type Rule, type Ruleset, type Table, type TableName,
} from './ir.js';
import type { Fail } from './matches.js';
import { OTHER_TARGETS, TARGETS } from './targets.js';
import { parseRule } from './parse-rule.js';
import { checkRuleIn, checkTable } from './ruleset-checks.js';
import { formatRule } from './iptables-save.js';

// One door to the rules as text: the IR, one rule's words, the checks and the printing.
export * from './ir.js';
export { parseRule } from './parse-rule.js';
export { validateRuleset } from './ruleset-checks.js';
export { formatIp, formatRule, formatRuleset, userChains, type CounterSource, type FormatOptions } from './iptables-save.js';

export interface ParseOptions {
  /**
   * The rules in force, as iptables-restore finds the kernel's: tables the
   * text does not name are kept from it. Not changed: the result is a new
   * ruleset sharing its untouched parts.
   */
  base?: Ruleset;
  /** iptables-restore --noflush: the tables the text names keep their rules (a user chain it declares is flushed). */
  noflush?: boolean;
  /** Whether an ipset of that name exists; a rule naming one that does not is refused, as iptables-restore refuses it. */
  sets?: (name: string) => boolean;
}

/** XT_EXTENSION_MAXNAMELEN - 1 */
const CHAIN_NAME_MAX = 28;

/**
 * A table whose chains can change without touching t's (rules are shared:
 * they are never changed in place). The policies' load-time counters stay
 * behind: the data plane has the live ones.
 */
function copyTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [n, c] of t.chains) {
    const { counters: _, ...rest } = c;
    chains.set(n, { ...rest, rules: c.rules.slice() });
  }
  return { chains };
}

const COUNTERS = /^\[(\d+):(\d+)\]$/;

function countersOf(s: string): Counters {
  const m = COUNTERS.exec(s)!;
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}

/**
 * Reads `iptables-save` output of the subset, as iptables-restore does: with
 * a base, the tables the text does not name are the base's. Throws
 * RulesetError on the first line it cannot take. A text naming no table
 * gives the base back unchanged.
 */
export function parseIptables(text: string, opts: ParseOptions = {}): Ruleset {
  const base = opts.base;
  const rs: Ruleset = base ? { tables: { ...base.tables }, present: base.present } : emptyRuleset();
  const seen = new Set<TableName>();
  let cur: { name: TableName; table: Table; line: number; text: string; declared: Set<string> } | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i];
    const line = raw.trim();
    const fail = (what: string): never => {
      throw new RulesetError(`line ${n}: ${what} in "${raw}"`, n, raw);
    };
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (cur) fail(`table "${line.slice(1)}" starts before COMMIT of table "${cur.name}"`);
      const name = line.slice(1);
      if (!(TABLES as readonly string[]).includes(name)) fail(`unsupported table "${name}" (want raw, mangle, nat or filter)`);
      const t = name as TableName;
      if (seen.has(t)) fail(`table "${t}" appears twice`);
      seen.add(t);
      const table = opts.noflush && base ? copyTable(base.tables[t]) : emptyTable(t);
      rs.tables[t] = table;
      cur = { name: t, table, line: n, text: raw, declared: new Set() };
      continue;
    }
    if (!cur) fail('a rule or chain outside a table (no *filter, *nat, *mangle or *raw before it)');
    const { name: tname, table, declared } = cur!;
    if (line === 'COMMIT') {
      checkTable(tname, table, opts.sets);
      cur = null;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+(\[\d+:\d+\]))?$/.exec(line);
      if (!m) fail('malformed chain line (want ":NAME POLICY [packets:bytes]")');
      const [, cname, pol, counters] = m!;
      const builtin = BUILTIN_CHAINS[tname].includes(cname);
      if (declared.has(cname)) fail(`chain "${cname}" declared twice`);
      declared.add(cname);
      if (builtin) {
        const c = table.chains.get(cname)!;
        if (pol !== 'ACCEPT' && pol !== 'DROP') fail(`policy "${pol}" of built-in chain "${cname}" is not ACCEPT or DROP`);
        table.chains.set(cname, { ...c, policy: pol as Policy, line: n, ...(counters ? { counters: countersOf(counters) } : {}) });
      } else {
        if (pol !== '-') fail(`user chain "${cname}" cannot have a policy ("${pol}"; iptables-save prints "-")`);
        const old = table.chains.get(cname);
        // --noflush: declaring a chain that exists flushes it, as iptables-restore does.
        if (old && !old.builtin) table.chains.set(cname, { ...old, rules: [], line: n });
        else declareChain(table, cname, n, fail);
      }
      continue;
    }
    let toks: string[];
    try {
      toks = tokenize(line);
    } catch (e) {
      return fail((e as Error).message);
    }
    // `iptables-save -c` puts the counters first.
    let counters: Counters | undefined;
    if (toks.length > 0 && COUNTERS.test(toks[0])) counters = countersOf(toks.shift()!);
    command(tname, table, toks, n, raw, counters, fail);
  }
  if (cur) {
    throw new RulesetError(`line ${cur.line}: table "${cur.name}" has no COMMIT in "${cur.text}"`, cur.line, cur.text);
  }
  if (base && seen.size === 0) return base;
  if (rs.present) rs.present = TABLES.filter((t) => seen.has(t) || rs.present!.includes(t));
  return rs;
}

/** One command line of a table (-A, -I, -D, -R, -N, -F, -X, -P). */
function command(tname: TableName, table: Table, toks: string[], n: number, raw: string, counters: Counters | undefined, fail: Fail): void {
  const cmd = toks[0];
  const chainArg = (what: string): Chain => {
    if (toks.length < 2) fail(`${cmd} without a chain`);
    const c = table.chains.get(toks[1]);
    if (!c) fail(`unknown chain "${toks[1]}" in table "${tname}"${what}`);
    return c!;
  };
  const ruleFrom = (words: string[], chain: Chain): Rule => {
    const rule = parseRule(words, fail);
    Object.assign(rule, { line: n, text: raw }, counters ? { counters } : {});
    checkRuleIn(tname, chain.name, rule, fail);
    return rule;
  };
  const position = (c: Chain, s: string, extra = 0): number => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > c.rules.length + extra) fail(`bad rule number "${s}" (chain "${c.name}" has ${c.rules.length} rules)`);
    return Number(s) - 1;
  };
  const replace = (c: Chain, rules: Rule[]) => table.chains.set(c.name, { ...c, rules });
  switch (cmd) {
    case '-N': case '--new-chain':
      if (toks.length !== 2) fail('-N takes one chain name');
      if (BUILTIN_CHAINS[tname].includes(toks[1])) fail(`chain "${toks[1]}" is built in`);
      declareChain(table, toks[1], n, fail);
      return;
    case '-P': case '--policy': {
      if (toks.length !== 3) fail('-P takes a chain and a policy');
      const c = table.chains.get(toks[1]);
      if (!c || !c.builtin) fail(`-P needs a built-in chain of table "${tname}", not "${toks[1]}"`);
      if (toks[2] !== 'ACCEPT' && toks[2] !== 'DROP') fail(`policy "${toks[2]}" is not ACCEPT or DROP`);
      table.chains.set(c!.name, { ...c!, policy: toks[2] as Policy });
      return;
    }
    case '-A': case '--append': {
      const c = chainArg('');
      replace(c, [...c.rules, ruleFrom(toks.slice(2), c)]);
      return;
    }
    case '-I': case '--insert': {
      const c = chainArg('');
      const hasNum = toks.length > 2 && /^\d+$/.test(toks[2]);
      const at = hasNum ? position(c, toks[2], 1) : 0;
      const rules = c.rules.slice();
      rules.splice(at, 0, ruleFrom(toks.slice(hasNum ? 3 : 2), c));
      replace(c, rules);
      return;
    }
    case '-R': case '--replace': {
      const c = chainArg('');
      if (toks.length < 3) fail('-R takes a chain, a rule number and a rule');
      const at = position(c, toks[2]);
      const rules = c.rules.slice();
      rules[at] = ruleFrom(toks.slice(3), c);
      replace(c, rules);
      return;
    }
    case '-D': case '--delete': {
      const c = chainArg('');
      if (toks.length === 3 && /^\d+$/.test(toks[2])) {
        const at = position(c, toks[2]);
        replace(c, c.rules.filter((_, i) => i !== at));
        return;
      }
      // By specification: the first rule that prints the same.
      const want = formatRule(c.name, parseRule(toks.slice(2), fail));
      const at = c.rules.findIndex((r) => formatRule(c.name, r) === want);
      if (at < 0) fail(`no rule "${want}" to delete in chain "${c.name}"`);
      replace(c, c.rules.filter((_, i) => i !== at));
      return;
    }
    case '-F': case '--flush': {
      if (toks.length > 2) fail('-F takes at most a chain');
      const targets = toks.length === 2 ? [chainArg('')] : [...table.chains.values()];
      for (const c of targets) replace(c, []);
      return;
    }
    case '-X': case '--delete-chain': {
      if (toks.length > 2) fail('-X takes at most a chain');
      const users = toks.length === 2 ? [chainArg('')] : [...table.chains.values()].filter((c) => !c.builtin);
      for (const c of users) {
        if (c.builtin) fail(`cannot delete built-in chain "${c.name}"`);
        if (toks.length === 2 && c.rules.length) fail(`chain "${c.name}" is not empty`);
      }
      for (const c of users) {
        const refs = [...table.chains.values()].filter((o) => !users.includes(o) && o.rules.some((r) => (r.target.kind === 'JUMP' || r.target.kind === 'GOTO') && r.target.chain === c.name));
        if (refs.length) fail(`chain "${c.name}" is still referenced from "${refs[0].name}"`);
      }
      for (const c of users) table.chains.delete(c.name);
      return;
    }
    default:
      fail(`unknown command "${cmd}" (want -A, -I, -D, -R, -N, -F, -X, -P, :CHAIN, COMMIT)`);
  }
}

function declareChain(table: Table, name: string, n: number, fail: Fail): void {
  if (table.chains.has(name)) fail(`chain "${name}" already exists`);
  if (!/^[^\s!-][^\s]*$/.test(name)) fail(`bad chain name "${name}"`);
  if (name.length > CHAIN_NAME_MAX) fail(`chain name "${name}" is longer than ${CHAIN_NAME_MAX} characters`);
  if (TARGETS.has(name) || OTHER_TARGETS.has(name) || name === 'NONE') fail(`chain name "${name}" is a target's name`);
  table.chains.set(name, { name, builtin: false, rules: [], line: n });
}

/** Splits a line into words; double quotes group, backslash escapes inside them. */
function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let tok = '';
    while (i < line.length && !/\s/.test(line[i])) {
      if (line[i] === '"') {
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < line.length) i++;
          tok += line[i++];
        }
        if (i >= line.length) throw new Error('unterminated quote');
        i++;
      } else {
        tok += line[i++];
      }
    }
    out.push(tok);
  }
  return out;
}
