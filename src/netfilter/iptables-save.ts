// A ruleset printed as iptables-save prints it (with counters as
// `iptables-save -c`), and one rule as it appears there.
import { formatIPv4 } from '../packet/addr.js';
import { BUILTIN_CHAINS, TABLES, type Chain, type Counters, type Rule, type Ruleset, type Table, type TableName } from './ir.js';
import { printMatch } from './matches.js';
import { printTarget } from './targets.js';

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
