// What the match modules are built of: the shape of a module (its options,
// check and save printing) and the values their options take (addresses,
// ports, numbers, marks, names, strings), read and printed as iptables does.
import { maskOf, parseIPv4 } from '../packet/addr.js';
import type { Match, MatchName } from './ir.js';

export type Fail = (what: string) => never;

/** Reads one option's value; `invert` is whether a `!` came before the option. */
export interface OptionReader {
  value(): string;
  invert: boolean;
  opt: string;
  fail: Fail;
}

export interface Module<M extends Match> {
  create(): M;
  /** Options and how each is taken into the match. */
  options: Record<string, (m: M, r: OptionReader) => void>;
  /** Checks the match once the rule is read (options that must be there, or together). */
  check?(m: M, fail: Fail): void;
  /** The words iptables-save prints after `-m NAME`. */
  print(m: M): string;
}

/** The match of module K. */
export type M<K extends MatchName> = Extract<Match, { m: K }>;

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
export const bang = (invert: boolean | undefined): string => (invert ? '! ' : '');
export const portText = (p: { lo: number; hi: number }): string => (p.lo === p.hi ? `${p.lo}` : `${p.lo}:${p.hi}`);

/**
 * A string as xtables_save_string prints it: bare when it is only letters,
 * digits, `_` and `-`; else in double quotes with `"`, `\` and `'` escaped.
 */
export function saveString(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return `"${s.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

export function names<T extends string>(list: string, known: readonly T[], what: string, fail: Fail): T[] {
  const set = new Set<string>();
  for (const s of list.split(',')) {
    if (!(known as readonly string[]).includes(s)) fail(`unsupported ${what} "${s}" (want ${known.join(', ')})`);
    set.add(s);
  }
  return known.filter((s) => set.has(s));
}
