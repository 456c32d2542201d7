// One rule's words (what follows `-A CHAIN`) read into a Rule: -s/-d, -i/-o
// (with the `+` wildcard), -p, the matches of ./matches.ts, -j with the
// targets of ./targets.ts, -g; each can be inverted with `!` as
// iptables-save prints it.
import { PROTOCOLS, protoNumber, type Match, type MatchName, type Rule } from './ir.js';
import { MODULES, OTHER_MATCHES, checkMatch, newMatch, parseCidr, parseMatchOption, takesOption, type Fail } from './matches.js';
import { TARGET_OPTIONS, parseTarget } from './targets.js';

/** IFNAMSIZ - 1 */
const IFNAME_MAX = 15;

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
