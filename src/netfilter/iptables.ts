// iptables rules, the subset podnet runs: `iptables-save` text in, a plain
// intermediate representation (IR) out, and back (formatRuleset).
//
// Tables `filter` (INPUT, FORWARD, OUTPUT) and `nat` (PREROUTING, INPUT,
// OUTPUT, POSTROUTING), user chains, jumps, RETURN, policies. Matches: -s/-d,
// -i/-o (with the `+` wildcard), -p tcp|udp|icmp, --sport/--dport,
// -m conntrack --ctstate (and the older -m state --state), -m addrtype
// --src-type/--dst-type LOCAL, -m comment --comment (kept, no effect); each
// can be inverted with `!` as iptables-save prints it. Targets: ACCEPT,
// DROP, RETURN, a user chain, DNAT, SNAT, MASQUERADE; a rule without -j only
// matches (iptables allows it: a counter).
//
// Parsing is all-or-nothing: the first line it cannot take throws a
// RulesetError naming the line number and quoting the line, and nothing is
// returned. validateRuleset applies the same whole-ruleset checks (jumps,
// loops, where NAT targets may be) to an IR built by other means.
import { maskOf, parseIPv4, formatIPv4 } from '../packet/addr.js';

export type TableName = 'filter' | 'nat';
export type Policy = 'ACCEPT' | 'DROP';
export type Proto = 'tcp' | 'udp' | 'icmp';
/** Connection tracking states, in the order iptables prints them. */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'] as const;
export type CtState = (typeof CT_STATES)[number];

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
export interface AddrTypeMatch {
  type: 'LOCAL';
  invert: boolean;
}

export type Target =
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  /** A rule without -j: matching it does nothing (iptables counts it). */
  | { kind: 'NONE' }
  | { kind: 'JUMP'; chain: string }
  | { kind: 'DNAT'; addr: number; addrHi?: number; portLo?: number; portHi?: number; random?: boolean }
  | { kind: 'SNAT'; addr: number; addrHi?: number; portLo?: number; portHi?: number; random?: boolean; randomFully?: boolean }
  | { kind: 'MASQUERADE'; portLo?: number; portHi?: number; random: boolean; randomFully?: boolean };
export type TargetKind = Target['kind'];

export interface Rule {
  src?: AddrMatch;
  dst?: AddrMatch;
  in?: IfaceMatch;
  out?: IfaceMatch;
  proto?: Proto;
  protoInvert?: boolean;
  sport?: PortMatch;
  dport?: PortMatch;
  /** Distinct states in CT_STATES order. */
  ctstate?: CtState[];
  ctstateInvert?: boolean;
  srcType?: AddrTypeMatch;
  dstType?: AddrTypeMatch;
  comment?: string;
  target: Target;
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
  rules: Rule[];
  /** Line that declared it (0 when defaulted or built otherwise). */
  line?: number;
}

export interface Table {
  chains: Map<string, Chain>;
}

export interface Ruleset {
  tables: { filter: Table; nat: Table };
  /**
   * The tables a load gave, in the order iptables-save prints them; a host
   * that never loaded a table has none (iptables-save prints nothing for it).
   * Undefined: all of them.
   */
  present?: TableName[];
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

export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** Names -j understands that are not chains (the supported ones and some common others). */
const TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE']);
const OTHER_TARGETS = new Set([
  'REJECT', 'LOG', 'MARK', 'CONNMARK', 'QUEUE', 'NFQUEUE', 'REDIRECT', 'NETMAP', 'TPROXY', 'CT', 'NOTRACK',
  'TRACE', 'TCPMSS', 'TOS', 'TTL', 'DSCP', 'CLASSIFY', 'NFLOG', 'ULOG', 'AUDIT', 'CHECKSUM', 'SET', 'MIRROR',
]);
const PROTO_NUMBERS: Record<string, Proto> = { '1': 'icmp', '6': 'tcp', '17': 'udp' };
/** IFNAMSIZ - 1 */
const IFNAME_MAX = 15;
/** XT_EXTENSION_MAXNAMELEN - 1 */
const CHAIN_NAME_MAX = 28;

/** A ruleset with the builtin chains only, every policy ACCEPT. */
export function emptyRuleset(): Ruleset {
  return { tables: { filter: emptyTable('filter'), nat: emptyTable('nat') } };
}

/** What a host has before its first load: empty tables, none of them present. */
export function noRuleset(): Ruleset {
  return { ...emptyRuleset(), present: [] };
}

const TABLE_ORDER: readonly TableName[] = ['nat', 'filter'];

/** A table whose chains can change without touching t's (rules are shared: they are never changed in place). */
function copyTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [n, c] of t.chains) chains.set(n, { ...c, rules: c.rules.slice() });
  return { chains };
}

function emptyTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name]) chains.set(c, { name: c, builtin: true, policy: 'ACCEPT', rules: [] });
  return { chains };
}

// ---------------------------------------------------------------------------
// Parsing

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
      if (name !== 'filter' && name !== 'nat') fail(`unsupported table "${name}" (only filter and nat)`);
      const t = name as TableName;
      if (seen.has(t)) fail(`table "${t}" appears twice`);
      seen.add(t);
      const table = opts.noflush && base ? copyTable(base.tables[t]) : emptyTable(t);
      rs.tables[t] = table;
      cur = { name: t, table, line: n, text: raw, declared: new Set() };
      continue;
    }
    if (!cur) fail('a rule or chain outside a table (no *filter or *nat before it)');
    const { name: tname, table, declared } = cur!;
    if (line === 'COMMIT') {
      checkTable(tname, table);
      cur = null;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/.exec(line);
      if (!m) fail('malformed chain line (want ":NAME POLICY [packets:bytes]")');
      const [, cname, pol] = m!;
      const builtin = BUILTIN_CHAINS[tname].includes(cname);
      if (declared.has(cname)) fail(`chain "${cname}" declared twice`);
      declared.add(cname);
      if (builtin) {
        const c = table.chains.get(cname)!;
        if (pol !== 'ACCEPT' && pol !== 'DROP') fail(`policy "${pol}" of built-in chain "${cname}" is not ACCEPT or DROP`);
        c.policy = pol as Policy;
        c.line = n;
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
    if (toks.length > 0 && /^\[\d+:\d+\]$/.test(toks[0])) toks.shift();
    const cmd = toks[0];
    if (cmd === '-N' || cmd === '--new-chain') {
      if (toks.length !== 2) fail('-N takes one chain name');
      if (BUILTIN_CHAINS[tname].includes(toks[1])) fail(`chain "${toks[1]}" is built in`);
      declareChain(table, toks[1], n, fail);
      continue;
    }
    if (cmd === '-P' || cmd === '--policy') {
      if (toks.length !== 3) fail('-P takes a chain and a policy');
      const c = table.chains.get(toks[1]);
      if (!c || !c.builtin) fail(`-P needs a built-in chain of table "${tname}", not "${toks[1]}"`);
      if (toks[2] !== 'ACCEPT' && toks[2] !== 'DROP') fail(`policy "${toks[2]}" is not ACCEPT or DROP`);
      c!.policy = toks[2] as Policy;
      continue;
    }
    if (cmd !== '-A' && cmd !== '--append') fail(`unknown command "${cmd}" (want -A, -N, -P, :CHAIN, COMMIT)`);
    if (toks.length < 2) fail('-A without a chain');
    const chain = table.chains.get(toks[1]);
    if (!chain) fail(`unknown chain "${toks[1]}" in table "${tname}"`);
    const rule = parseRule(toks.slice(2), fail);
    rule.line = n;
    rule.text = raw;
    checkRuleIn(tname, chain!.name, rule, fail);
    chain!.rules.push(rule);
  }
  if (cur) {
    throw new RulesetError(`line ${cur.line}: table "${cur.name}" has no COMMIT in "${cur.text}"`, cur.line, cur.text);
  }
  if (base && seen.size === 0) return base;
  if (rs.present) rs.present = TABLE_ORDER.filter((t) => seen.has(t) || rs.present!.includes(t));
  return rs;
}

function declareChain(table: Table, name: string, n: number, fail: (w: string) => never): void {
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

/** Parses the words after `-A CHAIN`. */
function parseRule(t: string[], fail: (w: string) => never): Rule {
  const r: Rule = { target: { kind: 'NONE' }, line: 0, text: '' };
  const mods = new Set<string>(); // loaded -m matches
  let target: string | null = null;
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
        break;
      case '-d': case '--destination': case '--dst':
        once(r.dst, '-d');
        r.dst = { ...parseCidr(value(opt), fail), invert };
        break;
      case '-i': case '--in-interface':
        once(r.in, '-i');
        r.in = { name: parseIface(value(opt), fail), invert };
        break;
      case '-o': case '--out-interface':
        once(r.out, '-o');
        r.out = { name: parseIface(value(opt), fail), invert };
        break;
      case '-p': case '--protocol': {
        once(r.proto, '-p');
        const v = value(opt).toLowerCase();
        const p = PROTO_NUMBERS[v] ?? (v === 'tcp' || v === 'udp' || v === 'icmp' ? v : undefined);
        if (!p) fail(`unsupported protocol "${v}" (only tcp, udp, icmp)`);
        r.proto = p;
        if (invert) r.protoInvert = true;
        break;
      }
      case '-m': case '--match': {
        noInvert();
        const m = value(opt);
        if (!['tcp', 'udp', 'conntrack', 'state', 'addrtype', 'comment'].includes(m)) fail(`unsupported match "-m ${m}"`);
        if ((m === 'tcp' || m === 'udp') && (r.proto !== m || r.protoInvert)) fail(`"-m ${m}" needs "-p ${m}" before it`);
        mods.add(m);
        break;
      }
      case '--sport': case '--source-port': case '--source-ports':
      case '--dport': case '--destination-port': case '--destination-ports': {
        const dst = opt.startsWith('--d');
        const name = dst ? '--dport' : '--sport';
        if (!r.proto || r.protoInvert || (r.proto !== 'tcp' && r.proto !== 'udp')) fail(`"${name}" needs "-p tcp" or "-p udp"`);
        // iptables loads the protocol's match implicitly after -p tcp|udp.
        once(dst ? r.dport : r.sport, name);
        const pr = { ...parsePorts(value(opt), fail), invert };
        if (dst) r.dport = pr;
        else r.sport = pr;
        break;
      }
      case '--ctstate': case '--state': {
        const mod = opt === '--ctstate' ? 'conntrack' : 'state';
        if (!mods.has(mod)) fail(`unknown option "${opt}" (needs "-m ${mod}" before it)`);
        once(r.ctstate, opt);
        const names = value(opt).split(',');
        const set = new Set<string>();
        for (const s of names) {
          if (!(CT_STATES as readonly string[]).includes(s)) fail(`unsupported state "${s}" (want ${CT_STATES.join(', ')})`);
          set.add(s);
        }
        r.ctstate = CT_STATES.filter((s) => set.has(s));
        if (invert) r.ctstateInvert = true;
        break;
      }
      case '--src-type': case '--dst-type': {
        if (!mods.has('addrtype')) fail(`unknown option "${opt}" (needs "-m addrtype" before it)`);
        const v = value(opt);
        if (v !== 'LOCAL') fail(`unsupported address type "${v}" (only LOCAL)`);
        if (opt === '--src-type') {
          once(r.srcType, opt);
          r.srcType = { type: 'LOCAL', invert };
        } else {
          once(r.dstType, opt);
          r.dstType = { type: 'LOCAL', invert };
        }
        break;
      }
      case '--comment':
        noInvert();
        if (!mods.has('comment')) fail(`unknown option "${opt}" (needs "-m comment" before it)`);
        once(r.comment, opt);
        if (i >= t.length) fail('option "--comment" needs a value');
        r.comment = t[i++];
        break;
      case '-j': case '--jump':
        noInvert();
        if (target !== null) fail('option "-j" given twice');
        target = value(opt);
        break;
      case '--to-destination': case '--to-source': case '--to-ports': case '--to':
        noInvert();
        if (target === null) fail(`unknown option "${opt}" (a target option before -j)`);
        if (opt in topts) fail(`option "${opt}" given twice`);
        topts[opt] = value(opt);
        break;
      case '--random': case '--random-fully': case '--persistent':
        noInvert();
        if (target === null) fail(`unknown option "${opt}" (a target option before -j)`);
        if (opt === '--persistent') fail('unsupported option "--persistent"');
        if (opt in topts) fail(`option "${opt}" given twice`);
        topts[opt] = true;
        break;
      default:
        fail(`unknown option "${opt}"`);
    }
  }
  r.target = parseTarget(target, topts, r, fail);
  return r;
}

function parseTarget(name: string | null, o: Record<string, string | true>, r: Rule, fail: (w: string) => never): Target {
  const allow = (...ok: string[]) => {
    for (const k of Object.keys(o)) if (!ok.includes(k)) fail(`unknown option "${k}" for target ${name}`);
  };
  const portsNeedProto = () => {
    if (!r.proto || r.protoInvert || (r.proto !== 'tcp' && r.proto !== 'udp')) fail(`${name} with ports needs "-p tcp" or "-p udp"`);
  };
  if (name === null) {
    allow();
    return { kind: 'NONE' };
  }
  switch (name) {
    case 'ACCEPT': case 'DROP': case 'RETURN':
      allow();
      return { kind: name };
    case 'DNAT': case 'SNAT': {
      const key = name === 'DNAT' ? '--to-destination' : '--to-source';
      allow(key, '--random', ...(name === 'SNAT' ? ['--random-fully'] : []));
      const v = o[key];
      if (typeof v !== 'string') fail(`${name} needs "${key}"`);
      const m = /^(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+))?(?::(\d+)(?:-(\d+))?)?$/.exec(v as string);
      if (!m) fail(`bad ${key} "${v}" (want ip[-ip][:port[-port]])`);
      const t: Target & { kind: 'DNAT' | 'SNAT' } = { kind: name, addr: parseIp(m![1], fail) };
      if (m![2] !== undefined) {
        t.addrHi = parseIp(m![2], fail);
        if (t.addrHi < t.addr) fail(`bad address range "${m![1]}-${m![2]}"`);
      }
      if (m![3] !== undefined) {
        portsNeedProto();
        const lo = parsePort(m![3], fail);
        const hi = m![4] !== undefined ? parsePort(m![4], fail) : lo;
        if (hi < lo) fail(`bad port range "${m![3]}-${m![4]}"`);
        t.portLo = lo;
        t.portHi = hi;
      }
      if (o['--random']) t.random = true;
      if (o['--random-fully']) (t as { randomFully?: boolean }).randomFully = true;
      return t;
    }
    case 'MASQUERADE': {
      allow('--to-ports', '--random', '--random-fully');
      const t: Target & { kind: 'MASQUERADE' } = { kind: 'MASQUERADE', random: o['--random'] === true };
      if (o['--random-fully']) t.randomFully = true;
      const v = o['--to-ports'];
      if (typeof v === 'string') {
        portsNeedProto();
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        if (!m) fail(`bad --to-ports "${v}" (want port[-port])`);
        const lo = parsePort(m![1], fail);
        const hi = m![2] !== undefined ? parsePort(m![2], fail) : lo;
        if (hi < lo) fail(`bad port range "${v}"`);
        t.portLo = lo;
        t.portHi = hi;
      }
      return t;
    }
    default:
      allow();
      if (OTHER_TARGETS.has(name)) fail(`unsupported target "${name}"`);
      return { kind: 'JUMP', chain: name };
  }
}

function parseIp(s: string, fail: (w: string) => never): number {
  try {
    return parseIPv4(s);
  } catch {
    return fail(`bad address "${s}"`);
  }
}

function parseCidr(s: string, fail: (w: string) => never): { addr: number; plen: number } {
  const [ip, len, ...rest] = s.split('/');
  if (rest.length) fail(`bad address "${s}"`);
  const addr = parseIp(ip, fail);
  let plen = 32;
  if (len !== undefined) {
    if (/^\d{1,2}$/.test(len) && Number(len) <= 32) plen = Number(len);
    else if (len.includes('.')) {
      // A dotted mask must be contiguous ones.
      const m = parseIp(len, fail);
      plen = Math.clz32(~m >>> 0);
      if (m !== maskOf(plen)) fail(`non-contiguous netmask "${len}"`);
    } else fail(`bad prefix length "${len}"`);
  }
  return { addr: (addr & maskOf(plen)) >>> 0, plen };
}

function parseIface(s: string, fail: (w: string) => never): string {
  if (s.length === 0 || s.length > IFNAME_MAX) fail(`bad interface name "${s}" (1..${IFNAME_MAX} characters)`);
  if (/[\s/]/.test(s)) fail(`bad interface name "${s}"`);
  return s;
}

function parsePort(s: string, fail: (w: string) => never): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) fail(`bad port "${s}"`);
  return Number(s);
}

function parsePorts(s: string, fail: (w: string) => never): { lo: number; hi: number } {
  const m = /^(\d*)(?::(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && m[2] === undefined)) fail(`bad port or range "${s}"`);
  const lo = m![1] === '' ? 0 : parsePort(m![1], fail);
  const hi = m![2] === undefined ? lo : m![2] === '' ? 65535 : parsePort(m![2], fail);
  if (hi < lo) fail(`bad port range "${s}" (first port above the last)`);
  return { lo, hi };
}

// ---------------------------------------------------------------------------
// Checks

/** Rules that must hold wherever the rule sits (iptables checks them at -A). */
function checkRuleIn(table: TableName, chain: string, r: Rule, fail: (w: string) => never): void {
  const k = r.target.kind;
  if ((k === 'DNAT' || k === 'SNAT' || k === 'MASQUERADE') && table !== 'nat') fail(`${k} is only valid in the nat table`);
  if (k === 'JUMP') {
    const c = (r.target as { chain: string }).chain;
    if (BUILTIN_CHAINS[table].includes(c)) fail(`cannot jump to built-in chain "${c}"`);
  }
  // iptables refuses -i where there is no input device, -o where there is no output device.
  if (r.in && (chain === 'OUTPUT' || chain === 'POSTROUTING')) fail(`"-i" is not valid in ${chain}`);
  if (r.out && (chain === 'PREROUTING' || (chain === 'INPUT'))) fail(`"-o" is not valid in ${chain}`);
  if ((r.sport || r.dport) && (r.protoInvert || (r.proto !== 'tcp' && r.proto !== 'udp'))) {
    fail(`"${r.sport ? '--sport' : '--dport'}" needs "-p tcp" or "-p udp"`);
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
        if (r.target.kind !== 'JUMP') continue;
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

function ruleFail(r: Rule, chain: string, index: number): (w: string) => never {
  return (what: string) => {
    if (r.line > 0) throw new RulesetError(`line ${r.line}: ${what} in "${r.text}"`, r.line, r.text);
    throw new RulesetError(`rule ${index + 1} of chain ${chain}: ${what}`, 0, r.text);
  };
}

/** Whole-table checks: jumps to missing chains, loops, where NAT targets may be. */
function checkTable(name: TableName, t: Table): void {
  for (const c of t.chains.values()) {
    c.rules.forEach((r, i) => {
      if (r.target.kind === 'JUMP' && !t.chains.has(r.target.chain)) {
        ruleFail(r, c.name, i)(`jump to unknown chain or target "${r.target.chain}"`);
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
      if (r.target.kind !== 'JUMP') return;
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
  if (name !== 'nat') return;
  const from = reachedFrom(t);
  for (const c of t.chains.values()) {
    const bs = from.get(c.name)!;
    c.rules.forEach((r, i) => {
      const k = r.target.kind;
      const ok = k === 'DNAT' ? ['PREROUTING', 'OUTPUT'] : k === 'SNAT' || k === 'MASQUERADE' ? ['POSTROUTING', 'INPUT'] : null;
      if (!ok) return;
      const bad = [...bs].filter((b) => !ok.includes(b));
      if (bad.length) {
        const via = c.builtin ? '' : ` (chain "${c.name}" is reached from ${bad.join(', ')})`;
        ruleFail(r, c.name, i)(`${k} is only valid in ${ok.join(' and ')} and chains reached from them${via}`);
      }
    });
  }
}

/**
 * Checks an IR built by other means as parseIptables checks text: targets
 * and matches where they may be, jumps, loops. Throws RulesetError.
 */
export function validateRuleset(rs: Ruleset): void {
  for (const name of ['filter', 'nat'] as const) {
    const t = rs.tables[name];
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

/** As xtables_save_string: always in double quotes, `"` and `\` escaped. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One rule as iptables-save prints it, from `-A CHAIN` on. */
export function formatRule(chain: string, r: Rule): string {
  const w: string[] = ['-A', chain];
  if (r.src) w.push(`${bang(r.src.invert)}-s ${formatIp(r.src.addr)}/${r.src.plen}`);
  if (r.dst) w.push(`${bang(r.dst.invert)}-d ${formatIp(r.dst.addr)}/${r.dst.plen}`);
  if (r.in) w.push(`${bang(r.in.invert)}-i ${r.in.name}`);
  if (r.out) w.push(`${bang(r.out.invert)}-o ${r.out.name}`);
  if (r.proto) w.push(`${bang(r.protoInvert)}-p ${r.proto}`);
  if (r.sport || r.dport) {
    w.push(`-m ${r.proto}`);
    const ports = (p: PortMatch) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}:${p.hi}`);
    if (r.sport) w.push(`${bang(r.sport.invert)}--sport ${ports(r.sport)}`);
    if (r.dport) w.push(`${bang(r.dport.invert)}--dport ${ports(r.dport)}`);
  }
  if (r.ctstate) w.push(`-m conntrack ${bang(r.ctstateInvert)}--ctstate ${r.ctstate.join(',')}`);
  if (r.srcType || r.dstType) {
    w.push('-m addrtype');
    if (r.srcType) w.push(`${bang(r.srcType.invert)}--src-type ${r.srcType.type}`);
    if (r.dstType) w.push(`${bang(r.dstType.invert)}--dst-type ${r.dstType.type}`);
  }
  if (r.comment !== undefined) w.push(`-m comment --comment ${quote(r.comment)}`);
  const t = r.target;
  const ports = (lo?: number, hi?: number) => (lo === undefined ? '' : lo === hi ? `:${lo}` : `:${lo}-${hi}`);
  const range = (a: number, b?: number) => formatIp(a) + (b === undefined ? '' : `-${formatIp(b)}`);
  switch (t.kind) {
    case 'NONE':
      break;
    case 'JUMP':
      w.push(`-j ${t.chain}`);
      break;
    case 'DNAT':
      w.push(`-j DNAT --to-destination ${range(t.addr, t.addrHi)}${ports(t.portLo, t.portHi)}`);
      if (t.random) w.push('--random');
      break;
    case 'SNAT':
      w.push(`-j SNAT --to-source ${range(t.addr, t.addrHi)}${ports(t.portLo, t.portHi)}`);
      if (t.random) w.push('--random');
      if (t.randomFully) w.push('--random-fully');
      break;
    case 'MASQUERADE':
      w.push('-j MASQUERADE');
      if (t.portLo !== undefined) w.push(`--to-ports ${ports(t.portLo, t.portHi).slice(1)}`);
      if (t.random) w.push('--random');
      if (t.randomFully) w.push('--random-fully');
      break;
    default:
      w.push(`-j ${t.kind}`);
  }
  return w.join(' ');
}

/** The ruleset as iptables-save prints it (nat, then filter; only the tables present). */
export function formatRuleset(rs: Ruleset): string {
  const out: string[] = [];
  for (const name of rs.present ?? TABLE_ORDER) {
    const t = rs.tables[name];
    out.push(`*${name}`);
    for (const b of BUILTIN_CHAINS[name]) out.push(`:${b} ${t.chains.get(b)?.policy ?? 'ACCEPT'} [0:0]`);
    for (const c of t.chains.values()) if (!c.builtin) out.push(`:${c.name} - [0:0]`);
    for (const c of t.chains.values()) for (const r of c.rules) out.push(formatRule(c.name, r));
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}
