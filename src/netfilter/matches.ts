// The -m matches of iptables rules: each module's options as iptables takes
// them and as iptables-save prints them back (the save functions of
// iptables' extensions/libxt_*.c, option by option).
//
// The modules themselves live by kind: ./match-protocols.ts (tcp, udp, icmp,
// multiport), ./match-conntrack.ts (conntrack, state, mark, connmark),
// ./match-addresses.ts (addrtype, set, rpfilter), ./match-rates.ts (limit,
// statistic); here are comment, the table of them all and the entry points.
import type { Match, MatchName } from './ir.js';
import { saveString, type Fail, type M, type Module, type OptionReader } from './match-values.js';
import { icmp, multiport, tcp, udp } from './match-protocols.js';
import { conntrack, markModule, state } from './match-conntrack.js';
import { addrtype, rpfilter, set } from './match-addresses.js';
import { limit, statistic } from './match-rates.js';

export {
  hex, parseCidr, parseIp, parseMarkMask, parsePort, parsePorts, parseU32, saveString, type Fail, type OptionReader,
} from './match-values.js';
export { LIMIT_SCALE } from './match-rates.js';

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
