// iptables rules as text: `iptables-save` output read as iptables-restore
// reads it, into the IR of ./ir.ts, and printed back as iptables-save prints
// it (formatRuleset; with counters as `iptables-save -c`).
//
// Tables raw, mangle, nat and filter with their builtin chains, user chains,
// policies and counters. Commands -A, -I, -D, -R, -N, -F, -X, -P and chain
// lines. Rules: -s/-d, -i/-o (with the `+` wildcard), -p, the matches of
// ./matches.ts, -j with the targets of ./targets.ts, -g; each can be
// inverted with `!` as iptables-save prints it.
//
// Parsing is all-or-nothing: the first line it cannot take throws a
// RulesetError naming the line number and quoting the line, and nothing is
// returned. validateRuleset applies the same whole-ruleset checks (jumps,
// loops, where targets may be) to an IR built by other means.
import { formatIPv4 } from '../packet/addr.js';
import {
  BUILTIN_CHAINS, PROTOCOLS, TABLES, protoNumber,
  type Chain, type Counters, type Match, type MatchName, type Policy, type Rule, type Ruleset, type Table, type TableName,
} from './ir.js';
import {
  MODULES, OTHER_MATCHES, checkMatch, newMatch, parseCidr, parseMatchOption, printMatch, takesOption, type Fail,
} from './matches.js';
import { OTHER_TARGETS, TARGETS, TARGET_OPTIONS, parseTarget, printTarget } from './targets.js';

export * from './ir.js';

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

/** IFNAMSIZ - 1 */
const IFNAME_MAX = 15;
/** XT_EXTENSION_MAXNAMELEN - 1 */
const CHAIN_NAME_MAX = 28;

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

// ---------------------------------------------------------------------------
// Parsing

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

/** The protocol as a rule keeps it: tcp, udp and icmp by name whatever the spelling, others as written. */
function protoOf(v: string, fail: Fail): string | undefined {
  const p = protoNumber(v);
  if (p === undefined) fail(`unsupported protocol "${v}" (want a number or one of ${Object.keys(PROTOCOLS).join(', ')})`);
  if (p === 0) return undefined; // all
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : v;
}

/** Options of the protocols' own matches, loaded without -m as iptables does after -p. */
const IMPLICIT: Record<string, MatchName> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp' };
const PORT_OPTIONS = new Set(['--sport', '--source-port', '--dport', '--destination-port']);

/** Parses the words after `-A CHAIN`. */
export function parseRule(t: string[], fail: Fail): Rule {
  const r: Rule = { target: { kind: 'NONE' }, line: 0, text: '' };
  const matches: Match[] = [];
  let target: string | null = null;
  let goto = false;
  const topts: Record<string, string | true> = {};
  let i = 0;
  const value = (opt: string): string => {
    if (i >= t.length || t[i] === '!' || (t[i].startsWith('-') && t[i].length > 1 && !/^-\d/.test(t[i]))) fail(`option "${opt}" needs a value`);
    return t[i++];
  };
  const once = (present: unknown, opt: string) => {
    if (present !== undefined) fail(`option "${opt}" given twice`);
  };
  while (i < t.length) {
    let invert = false;
    if (t[i] === '!') {
      invert = true;
      i++;
      if (i >= t.length) fail('"!" at the end of the line');
    }
    const opt = t[i++];
    const noInvert = () => {
      if (invert) fail(`option "${opt}" cannot be inverted`);
    };
    switch (opt) {
      case '-s': case '--source': case '--src':
        once(r.src, '-s');
        r.src = { ...parseCidr(value(opt), fail), invert };
        continue;
      case '-d': case '--destination': case '--dst':
        once(r.dst, '-d');
        r.dst = { ...parseCidr(value(opt), fail), invert };
        continue;
      case '-i': case '--in-interface':
        once(r.in, '-i');
        r.in = { name: parseIface(value(opt), fail), invert };
        continue;
      case '-o': case '--out-interface':
        once(r.out, '-o');
        r.out = { name: parseIface(value(opt), fail), invert };
        continue;
      case '-p': case '--protocol': {
        once(r.proto, '-p');
        const p = protoOf(value(opt).toLowerCase(), fail);
        if (p !== undefined) {
          r.proto = p;
          if (invert) r.protoInvert = true;
        }
        continue;
      }
      case '-m': case '--match': {
        noInvert();
        const m = value(opt);
        if (!(m in MODULES)) fail(OTHER_MATCHES.has(m) ? `unsupported match "-m ${m}"` : `unknown match "-m ${m}"`);
        matches.push(newMatch(m as MatchName));
        continue;
      }
      case '-j': case '--jump': case '-g': case '--goto':
        noInvert();
        if (target !== null) fail(`option "${opt.startsWith('-g') || opt === '--goto' ? '-g' : '-j'}" given twice (or -j and -g)`);
        target = value(opt);
        goto = opt === '-g' || opt === '--goto';
        continue;
      case '-f': case '--fragment':
        fail('unsupported option "-f"');
    }
    if (opt in TARGET_OPTIONS) {
      noInvert();
      if (target === null) fail(`unknown option "${opt}" (a target option before -j)`);
      if (opt in topts) fail(`option "${opt}" given twice`);
      topts[opt] = TARGET_OPTIONS[opt] === 'flag' ? true : value(opt);
      continue;
    }
    let m: Match | undefined;
    for (let k = matches.length - 1; k >= 0 && !m; k--) if (takesOption(matches[k].m, opt)) m = matches[k];
    if (!m) {
      const implicit = r.proto !== undefined && !r.protoInvert ? IMPLICIT[r.proto] : undefined;
      if (implicit && takesOption(implicit, opt)) {
        m = newMatch(implicit);
        matches.push(m);
      } else if (PORT_OPTIONS.has(opt)) {
        fail(`"${opt.startsWith('--d') ? '--dport' : '--sport'}" needs "-p tcp" or "-p udp"`);
      } else {
        const owner = (Object.keys(MODULES) as MatchName[]).find((k) => takesOption(k, opt));
        fail(owner ? `unknown option "${opt}" (needs "-m ${owner}" before it)` : `unknown option "${opt}"`);
      }
    }
    parseMatchOption(m!, { opt, invert, fail, value: () => value(opt) });
  }
  for (const m of matches) {
    checkMatch(m, fail);
    const need = m.m === 'tcp' || m.m === 'udp' || m.m === 'icmp' ? m.m : undefined;
    if (need && (r.proto !== need || r.protoInvert)) fail(`"-m ${m.m}" needs "-p ${need}"`);
    if (m.m === 'multiport' && (r.protoInvert || r.proto === undefined || ![6, 17, 132, 136].includes(protoNumber(r.proto)!))) {
      fail('"-m multiport" needs "-p tcp", "-p udp", "-p sctp" or "-p udplite"');
    }
  }
  if (matches.length) r.matches = matches;
  r.target = parseTarget(target, goto, topts, r, fail);
  return r;
}

function parseIface(s: string, fail: Fail): string {
  if (s.length === 0 || s.length > IFNAME_MAX) fail(`bad interface name "${s}" (1..${IFNAME_MAX} characters)`);
  if (/[\s/]/.test(s)) fail(`bad interface name "${s}"`);
  return s;
}

// ---------------------------------------------------------------------------
// Checks

const NO_IN = ['OUTPUT', 'POSTROUTING'];
const NO_OUT = ['PREROUTING', 'INPUT'];

/** Rules that must hold wherever the rule sits (iptables checks them at -A). */
function checkRuleIn(table: TableName, chain: string, r: Rule, fail: Fail): void {
  const k = r.target.kind;
  if ((k === 'DNAT' || k === 'SNAT' || k === 'MASQUERADE') && table !== 'nat') fail(`${k} is only valid in the nat table`);
  if (k === 'REJECT' && table !== 'filter') fail('REJECT is only valid in the filter table');
  if (k === 'NOTRACK' && table !== 'raw') fail(`${r.target.kind === 'NOTRACK' ? r.target.name : k} is only valid in the raw table`);
  if (k === 'JUMP' || k === 'GOTO') {
    const c = (r.target as { chain: string }).chain;
    if (BUILTIN_CHAINS[table].includes(c)) fail(`cannot jump to built-in chain "${c}"`);
  }
  // iptables refuses -i where there is no input device, -o where there is no output device.
  if (r.in && NO_IN.includes(chain)) fail(`"-i" is not valid in ${chain}`);
  if (r.out && NO_OUT.includes(chain)) fail(`"-o" is not valid in ${chain}`);
  for (const m of r.matches ?? []) {
    if (m.m === 'rpfilter' && table !== 'raw' && table !== 'mangle') fail('"-m rpfilter" is only valid in the raw and mangle tables');
    if (m.m === 'rpfilter' && BUILTIN_CHAINS[table].includes(chain) && chain !== 'PREROUTING') fail(`"-m rpfilter" is only valid in PREROUTING, not ${chain}`);
    if (m.m === 'addrtype' && m.limitIn && NO_IN.includes(chain)) fail(`"--limit-iface-in" is not valid in ${chain}`);
    if (m.m === 'addrtype' && m.limitOut && NO_OUT.includes(chain)) fail(`"--limit-iface-out" is not valid in ${chain}`);
  }
}

/** The builtin chains of a table each chain can be reached from. */
function reachedFrom(t: Table): Map<string, Set<string>> {
  const from = new Map<string, Set<string>>();
  for (const c of t.chains.values()) from.set(c.name, new Set());
  for (const b of t.chains.values()) {
    if (!b.builtin) continue;
    const stack = [b.name];
    const seen = new Set<string>(stack);
    while (stack.length) {
      const c = t.chains.get(stack.pop()!)!;
      from.get(c.name)!.add(b.name);
      for (const r of c.rules) {
        if (r.target.kind !== 'JUMP' && r.target.kind !== 'GOTO') continue;
        const to = r.target.chain;
        if (t.chains.has(to) && !seen.has(to)) {
          seen.add(to);
          stack.push(to);
        }
      }
    }
  }
  return from;
}

function ruleFail(r: Rule, chain: string, index: number): Fail {
  return (what: string) => {
    if (r.line > 0) throw new RulesetError(`line ${r.line}: ${what} in "${r.text}"`, r.line, r.text);
    throw new RulesetError(`rule ${index + 1} of chain ${chain}: ${what}`, 0, r.text);
  };
}

/** Whole-table checks: jumps to missing chains, loops, where NAT targets and rpfilter may be, sets that do not exist. */
function checkTable(name: TableName, t: Table, sets?: (name: string) => boolean): void {
  for (const c of t.chains.values()) {
    c.rules.forEach((r, i) => {
      if ((r.target.kind === 'JUMP' || r.target.kind === 'GOTO') && !t.chains.has(r.target.chain)) {
        ruleFail(r, c.name, i)(`jump to unknown chain or target "${r.target.chain}"`);
      }
      if (sets) {
        for (const m of r.matches ?? []) {
          if (m.m === 'set' && !sets(m.name)) ruleFail(r, c.name, i)(`set "${m.name}" doesn't exist (ipset.load it first)`);
        }
      }
    });
  }
  // Loops: depth-first search over the jump graph; a jump to a chain on the current path closes one.
  const state = new Map<string, 1 | 2>(); // 1 on the path, 2 done
  const path: string[] = [];
  const visit = (cn: string): void => {
    state.set(cn, 1);
    path.push(cn);
    const c = t.chains.get(cn)!;
    c.rules.forEach((r, i) => {
      if (r.target.kind !== 'JUMP' && r.target.kind !== 'GOTO') return;
      const to = r.target.chain;
      const s = state.get(to);
      if (s === 1) {
        const loop = [...path.slice(path.indexOf(to)), to].map((x) => `"${x}"`).join(' -> ');
        ruleFail(r, cn, i)(`chain loop ${loop}`);
      }
      if (s === undefined) visit(to);
    });
    path.pop();
    state.set(cn, 2);
  };
  for (const c of t.chains.values()) if (!state.has(c.name)) visit(c.name);
  const from = reachedFrom(t);
  for (const c of t.chains.values()) {
    const bs = from.get(c.name)!;
    c.rules.forEach((r, i) => {
      const k = r.target.kind;
      const ok = name !== 'nat' ? null : k === 'DNAT' ? ['PREROUTING', 'OUTPUT'] : k === 'SNAT' || k === 'MASQUERADE' ? ['POSTROUTING', 'INPUT'] : null;
      if (ok) {
        const bad = [...bs].filter((b) => !ok.includes(b));
        if (bad.length) {
          const via = c.builtin ? '' : ` (chain "${c.name}" is reached from ${bad.join(', ')})`;
          ruleFail(r, c.name, i)(`${k} is only valid in ${ok.join(' and ')} and chains reached from them${via}`);
        }
      }
      if (!c.builtin && (r.matches ?? []).some((m) => m.m === 'rpfilter')) {
        const bad = [...bs].filter((b) => b !== 'PREROUTING');
        if (bad.length) ruleFail(r, c.name, i)(`"-m rpfilter" is only valid in PREROUTING (chain "${c.name}" is reached from ${bad.join(', ')})`);
      }
    });
  }
}

/**
 * Checks an IR built by other means as parseIptables checks text: targets
 * and matches where they may be, jumps, loops. Throws RulesetError.
 */
export function validateRuleset(rs: Ruleset): void {
  for (const name of TABLES) {
    const t = rs.tables[name];
    if (!t) throw new RulesetError(`table ${name} missing`, 0, '');
    for (const b of BUILTIN_CHAINS[name]) {
      const c = t.chains.get(b);
      if (!c || !c.builtin) throw new RulesetError(`table ${name}: built-in chain ${b} missing`, 0, '');
      if (c.policy !== 'ACCEPT' && c.policy !== 'DROP') throw new RulesetError(`table ${name}: chain ${b} has no policy`, 0, '');
    }
    for (const c of t.chains.values()) {
      if (c.builtin && !BUILTIN_CHAINS[name].includes(c.name)) throw new RulesetError(`table ${name}: "${c.name}" is not a built-in chain`, 0, '');
      c.rules.forEach((r, i) => checkRuleIn(name, c.name, r, ruleFail(r, c.name, i)));
    }
    checkTable(name, t);
  }
}

// ---------------------------------------------------------------------------
// Formatting

/** An address as iptables-save prints it. */
export const formatIp = formatIPv4;

function bang(invert: boolean | undefined): string {
  return invert ? '! ' : '';
}

/** One rule as iptables-save prints it, from `-A CHAIN` on. */
export function formatRule(chain: string, r: Rule): string {
  const w: string[] = ['-A', chain];
  if (r.src) w.push(`${bang(r.src.invert)}-s ${formatIp(r.src.addr)}/${r.src.plen}`);
  if (r.dst) w.push(`${bang(r.dst.invert)}-d ${formatIp(r.dst.addr)}/${r.dst.plen}`);
  if (r.in) w.push(`${bang(r.in.invert)}-i ${r.in.name}`);
  if (r.out) w.push(`${bang(r.out.invert)}-o ${r.out.name}`);
  if (r.proto) w.push(`${bang(r.protoInvert)}-p ${r.proto}`);
  for (const m of r.matches ?? []) w.push(printMatch(m));
  const t = printTarget(r.target);
  if (t) w.push(t);
  return w.join(' ');
}

/** Counters to print: those the data plane kept, by table, chain and rule index (the chain's rule count: its policy). */
export type CounterSource = (table: TableName, chain: string, index: number) => Counters | undefined;

export interface FormatOptions {
  /** Where the counters come from; default: those the rules were loaded with. */
  counters?: CounterSource;
  /** Each rule's counters before it, as `iptables-save -c` prints them. */
  ruleCounters?: boolean;
}

/** User chains in the order iptables-save lists them (libiptc keeps them sorted by name, byte by byte). */
export function userChains(t: Table): Chain[] {
  return [...t.chains.values()].filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The ruleset as iptables-save prints it (raw, mangle, nat, filter; only the tables present). */
export function formatRuleset(rs: Ruleset, opts: FormatOptions = {}): string {
  const out: string[] = [];
  const counted = (table: TableName, c: Chain, i: number, own?: Counters) => {
    const x = opts.counters?.(table, c.name, i) ?? own ?? { packets: 0, bytes: 0 };
    return `[${x.packets}:${x.bytes}]`;
  };
  for (const name of rs.present ?? TABLES) {
    const t = rs.tables[name];
    const builtins = BUILTIN_CHAINS[name].map((b) => t.chains.get(b)!);
    const chains = [...builtins, ...userChains(t)];
    out.push(`*${name}`);
    for (const c of builtins) out.push(`:${c.name} ${c.policy ?? 'ACCEPT'} ${counted(name, c, c.rules.length, c.counters)}`);
    for (const c of chains) if (!c.builtin) out.push(`:${c.name} - [0:0]`);
    for (const c of chains) {
      c.rules.forEach((r, i) => out.push(opts.ruleCounters ? `${counted(name, c, i, r.counters)} ${formatRule(c.name, r)}` : formatRule(c.name, r)));
    }
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}
