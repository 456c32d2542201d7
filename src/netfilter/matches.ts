// The -m matches of iptables rules: each module's options as iptables takes
// them and as iptables-save prints them back (the save functions of
// iptables' extensions/libxt_*.c, option by option).
import { maskOf, parseIPv4, formatIPv4 } from '../packet/addr.js';
import {
  ADDR_TYPES, CT_STATES, CT_STATUSES, STATE_STATES, protoNumber,
  type AddrMatch, type AddrType, type CtState, type CtStatus, type Match, type MatchName, type PortMatch,
} from './ir.js';

export type Fail = (what: string) => never;

/** Reads one option's value; `invert` is whether a `!` came before the option. */
export interface OptionReader {
  value(): string;
  invert: boolean;
  opt: string;
  fail: Fail;
}

interface Module<M extends Match> {
  create(): M;
  /** Options and how each is taken into the match. */
  options: Record<string, (m: M, r: OptionReader) => void>;
  /** Checks the match once the rule is read (options that must be there, or together). */
  check?(m: M, fail: Fail): void;
  /** The words iptables-save prints after `-m NAME`. */
  print(m: M): string;
}

// ------------------------------------------------------------------ values

export function parseIp(s: string, fail: Fail): number {
  try {
    return parseIPv4(s);
  } catch {
    return fail(`bad address "${s}"`);
  }
}

export function parseCidr(s: string, fail: Fail): { addr: number; plen: number } {
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

export function parsePort(s: string, fail: Fail): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) fail(`bad port "${s}"`);
  return Number(s);
}

/** port, lo:hi, :hi or lo: */
export function parsePorts(s: string, fail: Fail): { lo: number; hi: number } {
  const m = /^(\d*)(?::(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && m[2] === undefined)) fail(`bad port or range "${s}"`);
  const lo = m![1] === '' ? 0 : parsePort(m![1], fail);
  const hi = m![2] === undefined ? lo : m![2] === '' ? 65535 : parsePort(m![2], fail);
  if (hi < lo) fail(`bad port range "${s}" (first port above the last)`);
  return { lo, hi };
}

/** An unsigned 32-bit number as strtoul(s, 0) reads it: 0x.. hex, else decimal. */
export function parseU32(s: string, what: string, fail: Fail): number {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(s) || Number(s) > 0xffffffff) fail(`bad ${what} "${s}"`);
  return Number(s) >>> 0;
}

/** value[/mask], mask defaulting to all ones. */
export function parseMarkMask(s: string, fail: Fail): { value: number; mask: number } {
  const [v, m, ...rest] = s.split('/');
  if (rest.length) fail(`bad mark "${s}"`);
  return { value: parseU32(v, 'mark', fail), mask: m === undefined ? 0xffffffff : parseU32(m, 'mask', fail) };
}

export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const bang = (invert: boolean | undefined): string => (invert ? '! ' : '');
const portText = (p: { lo: number; hi: number }): string => (p.lo === p.hi ? `${p.lo}` : `${p.lo}:${p.hi}`);

/**
 * A string as xtables_save_string prints it: bare when it is only letters,
 * digits, `_` and `-`; else in double quotes with `"`, `\` and `'` escaped.
 */
export function saveString(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return `"${s.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function names<T extends string>(list: string, known: readonly T[], what: string, fail: Fail): T[] {
  const set = new Set<string>();
  for (const s of list.split(',')) {
    if (!(known as readonly string[]).includes(s)) fail(`unsupported ${what} "${s}" (want ${known.join(', ')})`);
    set.add(s);
  }
  return known.filter((s) => set.has(s));
}

// ----------------------------------------------------------------- tcp, udp

const TCP_FLAGS: [string, number][] = [['FIN', 1], ['SYN', 2], ['RST', 4], ['PSH', 8], ['ACK', 16], ['URG', 32]];

function parseTcpFlags(s: string, fail: Fail): number {
  let f = 0;
  for (const n of s.split(',')) {
    if (n === 'ALL') f |= 0x3f;
    else if (n === 'NONE') continue;
    else {
      const x = TCP_FLAGS.find(([k]) => k === n);
      if (!x) fail(`unknown TCP flag "${n}"`);
      f |= x![1];
    }
  }
  return f;
}

/** print_tcpf: the flags by name, lowest bit first; NONE for none. */
function printTcpFlags(f: number): string {
  const out = TCP_FLAGS.filter(([, b]) => f & b).map(([k]) => k);
  return out.length ? out.join(',') : 'NONE';
}

function portOption<M extends { sport?: PortMatch; dport?: PortMatch }>(key: 'sport' | 'dport') {
  return (m: M, r: OptionReader) => {
    if (m[key]) r.fail(`option "--${key}" given twice`);
    m[key] = { ...parsePorts(r.value(), r.fail), invert: r.invert };
  };
}

function printPorts(m: { sport?: PortMatch; dport?: PortMatch }): string[] {
  const w: string[] = [];
  if (m.sport) w.push(`${bang(m.sport.invert)}--sport ${portText(m.sport)}`);
  if (m.dport) w.push(`${bang(m.dport.invert)}--dport ${portText(m.dport)}`);
  return w;
}

type M<K extends MatchName> = Extract<Match, { m: K }>;

const tcp: Module<M<'tcp'>> = {
  create: () => ({ m: 'tcp' }),
  options: {
    '--sport': portOption('sport'), '--source-port': portOption('sport'),
    '--dport': portOption('dport'), '--destination-port': portOption('dport'),
    '--tcp-flags': (m, r) => {
      if (m.flags) r.fail('option "--tcp-flags" given twice');
      const mask = parseTcpFlags(r.value(), r.fail);
      const comp = parseTcpFlags(r.value(), r.fail);
      m.flags = { mask, comp, invert: r.invert };
    },
    '--syn': (m, r) => {
      if (m.flags) r.fail('option "--syn" given with --tcp-flags');
      m.flags = { mask: 0x17, comp: 0x02, invert: r.invert };
    },
  },
  print: (m) => {
    const w = printPorts(m);
    if (m.flags) w.push(`${bang(m.flags.invert)}--tcp-flags ${printTcpFlags(m.flags.mask)} ${printTcpFlags(m.flags.comp)}`);
    return w.join(' ');
  },
};

const udp: Module<M<'udp'>> = {
  create: () => ({ m: 'udp' }),
  options: {
    '--sport': portOption('sport'), '--source-port': portOption('sport'),
    '--dport': portOption('dport'), '--destination-port': portOption('dport'),
  },
  print: (m) => printPorts(m).join(' '),
};

// --------------------------------------------------------------------- icmp

/** iptables' icmp type names: type, and code (-1: every code). */
const ICMP_NAMES: Record<string, [number, number]> = {
  any: [255, -1], 'echo-reply': [0, -1], pong: [0, -1], 'destination-unreachable': [3, -1], 'network-unreachable': [3, 0],
  'host-unreachable': [3, 1], 'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5], 'network-unknown': [3, 6], 'host-unknown': [3, 7], 'network-prohibited': [3, 9],
  'host-prohibited': [3, 10], 'TOS-network-unreachable': [3, 11], 'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13], 'host-precedence-violation': [3, 14], 'precedence-cutoff': [3, 15],
  'source-quench': [4, -1], redirect: [5, -1], 'network-redirect': [5, 0], 'host-redirect': [5, 1],
  'TOS-network-redirect': [5, 2], 'TOS-host-redirect': [5, 3], 'echo-request': [8, -1], ping: [8, -1],
  'router-advertisement': [9, -1], 'router-solicitation': [10, -1], 'time-exceeded': [11, -1], 'ttl-exceeded': [11, -1],
  'ttl-zero-during-transit': [11, 0], 'ttl-zero-during-reassembly': [11, 1], 'parameter-problem': [12, -1],
  'ip-header-bad': [12, 0], 'required-option-missing': [12, 1], 'timestamp-request': [13, -1], 'timestamp-reply': [14, -1],
  'address-mask-request': [17, -1], 'address-mask-reply': [18, -1],
};

const icmp: Module<M<'icmp'>> = {
  create: () => ({ m: 'icmp', type: -1, codeLo: 0, codeHi: 255, invert: false }),
  options: {
    '--icmp-type': (m, r) => {
      if (m.type >= 0) r.fail('option "--icmp-type" given twice');
      const v = r.value();
      let type: number;
      let code = -1;
      const named = ICMP_NAMES[v];
      if (named) [type, code] = named;
      else {
        const x = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(v);
        if (!x || Number(x[1]) > 255 || (x[2] !== undefined && Number(x[2]) > 255)) r.fail(`bad ICMP type "${v}"`);
        type = Number(x![1]);
        if (x![2] !== undefined) code = Number(x![2]);
      }
      Object.assign(m, { type, codeLo: code < 0 ? 0 : code, codeHi: code < 0 ? 255 : code, invert: r.invert });
    },
  },
  check: (m, fail) => {
    if (m.type < 0) fail('"-m icmp" needs "--icmp-type"');
  },
  print: (m) => {
    if (m.type === 255) return `${bang(m.invert)}--icmp-type any`;
    const code = m.codeLo !== 0 || m.codeHi !== 255 ? `/${m.codeLo}` : '';
    return `${bang(m.invert)}--icmp-type ${m.type}${code}`;
  },
};

// ------------------------------------------------------- conntrack, state

function ctAddr(key: 'origsrc' | 'origdst' | 'replsrc' | 'repldst') {
  return (m: M<'conntrack'>, r: OptionReader) => {
    if (m[key]) r.fail(`option "--ct${key}" given twice`);
    m[key] = { ...parseCidr(r.value(), r.fail), invert: r.invert };
  };
}
function ctPort(key: 'origsrcport' | 'origdstport' | 'replsrcport' | 'repldstport') {
  return (m: M<'conntrack'>, r: OptionReader) => {
    if (m[key]) r.fail(`option "--ct${key}" given twice`);
    m[key] = { ...parsePorts(r.value(), r.fail), invert: r.invert };
  };
}

/** conntrack_dump_addr: no "/32". */
const ctAddrText = (a: AddrMatch): string => `${formatIPv4(a.addr)}${a.plen === 32 ? '' : `/${a.plen}`}`;

const conntrack: Module<M<'conntrack'>> = {
  create: () => ({ m: 'conntrack' }),
  options: {
    '--ctstate': (m, r) => {
      if (m.state) r.fail('option "--ctstate" given twice');
      m.state = { states: names<CtState>(r.value(), CT_STATES, 'state', r.fail), invert: r.invert };
    },
    '--ctproto': (m, r) => {
      if (m.ctproto) r.fail('option "--ctproto" given twice');
      const v = r.value().toLowerCase();
      const p = protoNumber(v);
      if (p === undefined || p === 0) r.fail(`bad protocol "${v}"`);
      m.ctproto = { proto: p!, invert: r.invert };
    },
    '--ctorigsrc': ctAddr('origsrc'), '--ctorigdst': ctAddr('origdst'), '--ctreplsrc': ctAddr('replsrc'), '--ctrepldst': ctAddr('repldst'),
    '--ctorigsrcport': ctPort('origsrcport'), '--ctorigdstport': ctPort('origdstport'),
    '--ctreplsrcport': ctPort('replsrcport'), '--ctrepldstport': ctPort('repldstport'),
    '--ctstatus': (m, r) => {
      if (m.status) r.fail('option "--ctstatus" given twice');
      const v = r.value();
      m.status = { statuses: v === 'NONE' ? [] : names<CtStatus>(v, CT_STATUSES, 'status', r.fail), invert: r.invert };
    },
    '--ctexpire': (m, r) => {
      if (m.expire) r.fail('option "--ctexpire" given twice');
      const v = r.value();
      const x = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(v);
      if (!x) r.fail(`bad expiry "${v}"`);
      const lo = Number(x![1]);
      const hi = x![2] === undefined ? lo : Number(x![2]);
      if (hi < lo || hi > 0xffffffff) r.fail(`bad expiry "${v}"`);
      m.expire = { lo, hi, invert: r.invert };
    },
    '--ctdir': (m, r) => {
      if (m.dir) r.fail('option "--ctdir" given twice');
      if (r.invert) r.fail('option "--ctdir" cannot be inverted');
      const v = r.value();
      if (v !== 'ORIGINAL' && v !== 'REPLY') r.fail(`bad direction "${v}" (ORIGINAL or REPLY)`);
      m.dir = v as 'ORIGINAL' | 'REPLY';
    },
  },
  check: (m, fail) => {
    if (Object.keys(m).length === 1) fail('"-m conntrack" needs an option');
  },
  print: (m) => {
    const w: string[] = [];
    if (m.state) w.push(`${bang(m.state.invert)}--ctstate ${m.state.states.join(',')}`);
    if (m.ctproto) w.push(`${bang(m.ctproto.invert)}--ctproto ${m.ctproto.proto}`);
    for (const k of ['origsrc', 'origdst', 'replsrc', 'repldst'] as const) {
      const a = m[k];
      if (a) w.push(`${bang(a.invert)}--ct${k} ${ctAddrText(a)}`);
    }
    for (const k of ['origsrcport', 'origdstport', 'replsrcport', 'repldstport'] as const) {
      const p = m[k];
      if (p) w.push(`${bang(p.invert)}--ct${k} ${portText(p)}`);
    }
    if (m.status) w.push(`${bang(m.status.invert)}--ctstatus ${m.status.statuses.length ? m.status.statuses.join(',') : 'NONE'}`);
    if (m.expire) w.push(`${bang(m.expire.invert)}--ctexpire ${m.expire.lo === m.expire.hi ? m.expire.lo : `${m.expire.lo}:${m.expire.hi}`}`);
    if (m.dir) w.push(`--ctdir ${m.dir}`);
    return w.join(' ');
  },
};

const state: Module<M<'state'>> = {
  create: () => ({ m: 'state', state: { states: [], invert: false } }),
  options: {
    '--state': (m, r) => {
      if (m.state.states.length) r.fail('option "--state" given twice');
      m.state = { states: names<CtState>(r.value(), STATE_STATES, 'state', r.fail), invert: r.invert };
    },
  },
  check: (m, fail) => {
    if (!m.state.states.length) fail('"-m state" needs "--state"');
  },
  print: (m) => `${bang(m.state.invert)}--state ${m.state.states.join(',')}`,
};

// ------------------------------------------------------------------ addrtype

const addrtype: Module<M<'addrtype'>> = {
  create: () => ({ m: 'addrtype' }),
  options: {
    '--src-type': (m, r) => {
      if (m.src) r.fail('option "--src-type" given twice');
      m.src = { types: names<AddrType>(r.value(), ADDR_TYPES, 'address type', r.fail), invert: r.invert };
    },
    '--dst-type': (m, r) => {
      if (m.dst) r.fail('option "--dst-type" given twice');
      m.dst = { types: names<AddrType>(r.value(), ADDR_TYPES, 'address type', r.fail), invert: r.invert };
    },
    '--limit-iface-in': (m, r) => {
      if (r.invert) r.fail('option "--limit-iface-in" cannot be inverted');
      m.limitIn = true;
    },
    '--limit-iface-out': (m, r) => {
      if (r.invert) r.fail('option "--limit-iface-out" cannot be inverted');
      m.limitOut = true;
    },
  },
  check: (m, fail) => {
    if (!m.src && !m.dst) fail('"-m addrtype" needs "--src-type" or "--dst-type"');
    if (m.limitIn && m.limitOut) fail('"--limit-iface-in" and "--limit-iface-out" together');
  },
  print: (m) => {
    const w: string[] = [];
    if (m.src) w.push(`${bang(m.src.invert)}--src-type ${m.src.types.join(',')}`);
    if (m.dst) w.push(`${bang(m.dst.invert)}--dst-type ${m.dst.types.join(',')}`);
    if (m.limitIn) w.push('--limit-iface-in');
    if (m.limitOut) w.push('--limit-iface-out');
    return w.join(' ');
  },
};

// -------------------------------------------------------------- the others

const comment: Module<M<'comment'>> = {
  create: () => ({ m: 'comment', comment: '' }),
  options: {
    '--comment': (m, r) => {
      if (r.invert) r.fail('option "--comment" cannot be inverted');
      const v = r.value();
      if (v.length > 255) r.fail('comment longer than 255 characters');
      m.comment = v;
    },
  },
  print: (m) => `--comment ${saveString(m.comment)}`,
};

/** IPSET_MAXNAMELEN - 1 */
const SET_NAME_MAX = 31;

const set: Module<M<'set'>> = {
  create: () => ({ m: 'set', name: '', dirs: [], invert: false }),
  options: {
    '--match-set': (m, r) => {
      if (m.name) r.fail('option "--match-set" given twice');
      const name = r.value();
      if (name.length > SET_NAME_MAX) r.fail(`set name "${name}" is longer than ${SET_NAME_MAX} characters`);
      const flags = r.value().split(',');
      if (flags.length > 6 || flags.some((f) => f !== 'src' && f !== 'dst')) r.fail(`bad set flags "${flags.join(',')}" (src or dst, one per dimension)`);
      Object.assign(m, { name, dirs: flags, invert: r.invert });
    },
  },
  check: (m, fail) => {
    if (!m.name) fail('"-m set" needs "--match-set"');
  },
  print: (m) => `${bang(m.invert)}--match-set ${m.name} ${m.dirs.join(',')}`,
};

/** print_mark: the mask only when it is not all ones. */
const markText = (value: number, mask: number): string => (mask === 0xffffffff ? hex(value) : `${hex(value)}/${hex(mask)}`);

type MarkMatch = { m: 'mark' | 'connmark'; value: number; mask: number; invert: boolean };
function markModule<K extends 'mark' | 'connmark'>(k: K): Module<M<K>> {
  return {
    create: () => ({ m: k, value: 0, mask: 0, invert: false }) as M<K>,
    options: {
      '--mark': (m: MarkMatch, r: OptionReader) => {
        if (m.mask !== 0 || m.value !== 0) r.fail('option "--mark" given twice');
        const { value, mask } = parseMarkMask(r.value(), r.fail);
        Object.assign(m, { value, mask, invert: r.invert }); // compared as given: (mark & mask) == value
      },
    },
    print: (m: MarkMatch) => `${bang(m.invert)}--mark ${markText(m.value, m.mask)}`,
  } as Module<M<K>>;
}

const multiport: Module<M<'multiport'>> = {
  create: () => ({ m: 'multiport', which: 'dports', ports: [], invert: false }),
  options: Object.fromEntries(
    (
      [['--sports', 'sports'], ['--source-ports', 'sports'], ['--dports', 'dports'], ['--destination-ports', 'dports'], ['--ports', 'ports']] as const
    ).map(([opt, which]) => [
      opt,
      (m: M<'multiport'>, r: OptionReader) => {
        if (m.ports.length) r.fail('multiport: only one of --sports, --dports, --ports');
        const list = r.value().split(',');
        const ports = list.map((p) => parsePorts(p, r.fail));
        // XT_MULTI_PORTS: 15 slots, a range taking two.
        if (ports.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0) > 15) r.fail('multiport: too many ports specified (at most 15)');
        Object.assign(m, { which, ports, invert: r.invert });
      },
    ]),
  ),
  check: (m, fail) => {
    if (!m.ports.length) fail('"-m multiport" needs --sports, --dports or --ports');
  },
  print: (m) => `${bang(m.invert)}--${m.which} ${m.ports.map(portText).join(',')}`,
};

/** XT_LIMIT_SCALE */
export const LIMIT_SCALE = 10000;
const RATES: [string, number][] = [['day', LIMIT_SCALE * 86400], ['hour', LIMIT_SCALE * 3600], ['min', LIMIT_SCALE * 60], ['sec', LIMIT_SCALE]];

function parseRate(s: string, fail: Fail): number {
  const [n, unit] = s.split('/');
  let mult = 1;
  if (unit !== undefined) {
    const u = unit.toLowerCase();
    const m = u === '' ? undefined : [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]].find(([w]) => (w as string).startsWith(u));
    if (!m) fail(`bad rate "${s}" (N/sec, /minute, /hour or /day)`);
    mult = m![1] as number;
  }
  if (!/^\d+$/.test(n) || Number(n) === 0) fail(`bad rate "${s}"`);
  const avg = Math.floor((LIMIT_SCALE * mult) / Number(n));
  if (avg === 0) fail(`rate "${s}" too fast`);
  return avg;
}

/** print_rate */
function rateText(avg: number): string {
  let i = 1;
  for (; i < RATES.length; i++) if (avg > RATES[i][1] || Math.floor(RATES[i][1] / avg) < RATES[i][1] % avg) break;
  return `${Math.floor(RATES[i - 1][1] / avg)}/${RATES[i - 1][0]}`;
}

const limit: Module<M<'limit'>> = {
  create: () => ({ m: 'limit', avg: (LIMIT_SCALE * 3600) / 3, burst: 5 }),
  options: {
    '--limit': (m, r) => {
      if (r.invert) r.fail('option "--limit" cannot be inverted');
      m.avg = parseRate(r.value(), r.fail);
    },
    '--limit-burst': (m, r) => {
      if (r.invert) r.fail('option "--limit-burst" cannot be inverted');
      const v = r.value();
      if (!/^\d{1,5}$/.test(v) || Number(v) === 0 || Number(v) > 10000) r.fail(`bad burst "${v}" (1..10000)`);
      m.burst = Number(v);
    },
  },
  print: (m) => `--limit ${rateText(m.avg)}${m.burst !== 5 ? ` --limit-burst ${m.burst}` : ''}`,
};

type Statistic = M<'statistic'>;
const statistic: Module<Statistic> = {
  create: () => ({ m: 'statistic', mode: 'random', probability: -1, invert: false }),
  options: {
    '--mode': (m, r) => {
      if (r.invert) r.fail('option "--mode" cannot be inverted');
      const v = r.value();
      if (v === 'nth') {
        delete (m as { probability?: number }).probability;
        Object.assign(m, { mode: 'nth', every: 0, packet: 0 });
      }
      else if (v !== 'random') r.fail(`bad mode "${v}" (random or nth)`);
    },
    '--probability': (m, r) => {
      if (m.mode !== 'random') r.fail('"--probability" needs "--mode random"');
      const v = r.value();
      const p = Number(v);
      if (!/^[\d.]+$/.test(v) || !(p >= 0 && p <= 1)) r.fail(`bad probability "${v}" (0..1)`);
      Object.assign(m, { probability: Math.round(0x80000000 * p), invert: r.invert });
    },
    '--every': (m, r) => {
      if (m.mode !== 'nth') r.fail('"--every" needs "--mode nth"');
      const v = r.value();
      if (!/^\d{1,10}$/.test(v) || Number(v) === 0 || Number(v) > 0xffffffff) r.fail(`bad --every "${v}"`);
      Object.assign(m, { every: Number(v), invert: r.invert });
    },
    '--packet': (m, r) => {
      if (m.mode !== 'nth') r.fail('"--packet" needs "--mode nth"');
      if (r.invert) r.fail('option "--packet" cannot be inverted');
      const v = r.value();
      if (!/^\d{1,10}$/.test(v)) r.fail(`bad --packet "${v}"`);
      (m as Extract<Statistic, { mode: 'nth' }>).packet = Number(v);
    },
  },
  check: (m, fail) => {
    if (m.mode === 'random' && m.probability < 0) fail('"--mode random" needs "--probability"');
    if (m.mode === 'nth' && (m.every === 0 || m.packet >= m.every)) fail('"--mode nth" needs "--every N" and a "--packet" below N');
  },
  print: (m) => m.mode === 'random'
    ? `--mode random ${bang(m.invert)}--probability ${(m.probability / 0x80000000).toFixed(11)}`
    : `--mode nth ${bang(m.invert)}--every ${m.every} --packet ${m.packet}`,
};

const rpfilter: Module<M<'rpfilter'>> = {
  create: () => ({ m: 'rpfilter', loose: false, validmark: false, acceptLocal: false, invert: false }),
  options: Object.fromEntries(
    ([['--loose', 'loose'], ['--validmark', 'validmark'], ['--accept-local', 'acceptLocal'], ['--invert', 'invert']] as const).map(([opt, key]) => [
      opt,
      (m: M<'rpfilter'>, r: OptionReader) => {
        if (r.invert) r.fail(`option "${opt}" cannot be inverted`);
        m[key] = true;
      },
    ]),
  ),
  print: (m) => [m.loose && '--loose', m.validmark && '--validmark', m.acceptLocal && '--accept-local', m.invert && '--invert'].filter(Boolean).join(' '),
};

export const MODULES: { [K in MatchName]: Module<M<K>> } = {
  tcp, udp, icmp, conntrack, state, addrtype, comment, set, mark: markModule('mark'), connmark: markModule('connmark'),
  multiport, limit, statistic, rpfilter,
};

/** Matches iptables knows but podnet does not run (named in the error). */
export const OTHER_MATCHES = new Set([
  'recent', 'hashlimit', 'connlimit', 'owner', 'physdev', 'iprange', 'length', 'ttl', 'tos', 'dscp', 'mac', 'string',
  'u32', 'policy', 'socket', 'cgroup', 'bpf', 'quota', 'time', 'helper', 'devgroup', 'pkttype', 'ipvs', 'realm', 'sctp', 'esp', 'ah',
]);

/** The words iptables-save prints for a match, `-m NAME` first. */
export function printMatch(m: Match): string {
  const body = (MODULES[m.m] as Module<Match>).print(m);
  return body ? `-m ${m.m} ${body}` : `-m ${m.m}`;
}

/** Whether the options of module `name` include `opt`. */
export function takesOption(name: MatchName, opt: string): boolean {
  return opt in MODULES[name].options;
}

export function newMatch(name: MatchName): Match {
  return MODULES[name].create();
}

export function parseMatchOption(m: Match, r: OptionReader): void {
  (MODULES[m.m] as Module<Match>).options[r.opt](m, r);
}

export function checkMatch(m: Match, fail: Fail): void {
  (MODULES[m.m] as Module<Match>).check?.(m, fail);
}
