// The -j targets of iptables rules: their options as iptables takes them and
// as iptables-save prints them back (extensions/libxt_*.c, libipt_*.c).
import { REJECT_WITH, protoNumber, type RejectWith, type Rule, type Target } from './ir.js';
import { formatIPv4 } from '../packet/addr.js';
import { hex, parseIp, parseMarkMask, parsePort, parseU32, saveString, type Fail } from './matches.js';

/** Options of the targets: whether each takes a value. */
export const TARGET_OPTIONS: Record<string, 'value' | 'flag'> = {
  '--to-destination': 'value', '--to-source': 'value', '--to-ports': 'value', '--to': 'value',
  '--random': 'flag', '--random-fully': 'flag', '--persistent': 'flag',
  '--reject-with': 'value',
  '--log-prefix': 'value', '--log-level': 'value', '--log-tcp-sequence': 'flag', '--log-tcp-options': 'flag',
  '--log-ip-options': 'flag', '--log-uid': 'flag', '--log-macdecode': 'flag',
  '--set-xmark': 'value', '--set-mark': 'value', '--and-mark': 'value', '--or-mark': 'value', '--xor-mark': 'value',
  '--save-mark': 'flag', '--restore-mark': 'flag', '--mask': 'value', '--nfmask': 'value', '--ctmask': 'value',
  '--notrack': 'flag', '--zone': 'value', '--helper': 'value', '--ctevents': 'value', '--expevents': 'value', '--timeout': 'value',
};

/** Targets podnet runs; a name not here and not in OTHER_TARGETS is a chain. */
export const TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE', 'REJECT', 'LOG', 'MARK', 'CONNMARK', 'CT', 'NOTRACK']);
/** Targets iptables knows but podnet does not run (named in the error). */
export const OTHER_TARGETS = new Set([
  'QUEUE', 'NFQUEUE', 'REDIRECT', 'NETMAP', 'TPROXY', 'TRACE', 'TCPMSS', 'TOS', 'TTL', 'DSCP', 'CLASSIFY', 'NFLOG', 'ULOG',
  'AUDIT', 'CHECKSUM', 'SET', 'MIRROR', 'SYNPROXY', 'TEE', 'IDLETIMER', 'HMARK', 'CLUSTERIP', 'ECN', 'SECMARK', 'CONNSECMARK',
]);

const REJECT_ALIASES: Record<string, RejectWith> = {
  'net-unreach': 'icmp-net-unreachable', 'host-unreach': 'icmp-host-unreachable', 'proto-unreach': 'icmp-proto-unreachable',
  'port-unreach': 'icmp-port-unreachable', 'net-prohib': 'icmp-net-prohibited', 'host-prohib': 'icmp-host-prohibited',
  'admin-prohib': 'icmp-admin-prohibited', 'tcp-rst': 'tcp-reset',
};
const LOG_LEVELS: Record<string, number> = { emerg: 0, alert: 1, crit: 2, error: 3, err: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };
const LOG_FLAGS = ['tcp-sequence', 'tcp-options', 'ip-options', 'uid', 'macdecode'] as const;

/** Whether a rule's protocol is TCP or UDP, not inverted (what ports need). */
function tcpOrUdp(r: Rule): boolean {
  return !r.protoInvert && (r.proto !== undefined && [6, 17].includes(protoNumber(r.proto) ?? -1));
}

/** The target named by -j (or -g) with its options; null: no -j. */
export function parseTarget(name: string | null, goto: boolean, o: Record<string, string | true>, r: Rule, fail: Fail): Target {
  const allow = (...ok: string[]) => {
    for (const k of Object.keys(o)) if (!ok.includes(k)) fail(`unknown option "${k}" for target ${name}`);
  };
  const portsNeedProto = () => {
    if (!tcpOrUdp(r)) fail(`${name} with ports needs "-p tcp" or "-p udp"`);
  };
  if (name === null) {
    allow();
    return { kind: 'NONE' };
  }
  if (goto) {
    allow();
    if (TARGETS.has(name) || OTHER_TARGETS.has(name)) fail(`-g needs a chain, not the target "${name}"`);
    return { kind: 'GOTO', chain: name };
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
    case 'REJECT': {
      allow('--reject-with');
      const v = o['--reject-with'];
      const w = typeof v !== 'string' ? 'icmp-port-unreachable' : v in REJECT_WITH ? (v as RejectWith) : REJECT_ALIASES[v];
      if (!w) fail(`bad --reject-with "${v}" (want ${Object.keys(REJECT_WITH).join(', ')})`);
      if (w === 'tcp-reset' && (r.protoInvert || r.proto === undefined || protoNumber(r.proto) !== 6)) fail('REJECT --reject-with tcp-reset needs "-p tcp"');
      return { kind: 'REJECT', with: w };
    }
    case 'LOG': {
      allow('--log-prefix', '--log-level', ...LOG_FLAGS.map((f) => `--log-${f}`));
      const t: Target & { kind: 'LOG' } = { kind: 'LOG' };
      const prefix = o['--log-prefix'];
      if (typeof prefix === 'string' && prefix !== '') {
        if (prefix.length > 29) fail('--log-prefix longer than 29 characters');
        t.prefix = prefix;
      }
      const level = o['--log-level'];
      if (typeof level === 'string') {
        const n = /^[0-7]$/.test(level) ? Number(level) : LOG_LEVELS[level];
        if (n === undefined) fail(`bad --log-level "${level}"`);
        if (n !== 4) t.level = n; // 4 (warning) is the default iptables-save leaves out

      }
      const opts = LOG_FLAGS.filter((f) => o[`--log-${f}`]);
      if (opts.length) t.options = opts;
      return t;
    }
    case 'MARK': case 'CONNMARK': {
      const xmark = xmarkOf(o, fail);
      if (name === 'MARK') {
        allow('--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark');
        if (!xmark) fail('MARK needs --set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark');
        return { kind: 'MARK', ...xmark! };
      }
      allow('--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark', '--save-mark', '--restore-mark', '--mask', '--nfmask', '--ctmask');
      const save = o['--save-mark'] === true;
      const restore = o['--restore-mark'] === true;
      if ([!!xmark, save, restore].filter(Boolean).length !== 1) fail('CONNMARK needs one of --set-xmark (or --set-mark ...), --save-mark, --restore-mark');
      if (xmark) {
        if (o['--mask'] || o['--nfmask'] || o['--ctmask']) fail('CONNMARK --set-xmark takes no mask options');
        return { kind: 'CONNMARK', mode: 'set', ...xmark };
      }
      const mask = typeof o['--mask'] === 'string' ? parseU32(o['--mask'] as string, 'mask', fail) : 0xffffffff;
      if (o['--mask'] && (o['--nfmask'] || o['--ctmask'])) fail('CONNMARK: --mask, or --nfmask and --ctmask');
      return {
        kind: 'CONNMARK', mode: save ? 'save' : 'restore',
        nfmask: typeof o['--nfmask'] === 'string' ? parseU32(o['--nfmask'] as string, 'mask', fail) : mask,
        ctmask: typeof o['--ctmask'] === 'string' ? parseU32(o['--ctmask'] as string, 'mask', fail) : mask,
      };
    }
    case 'CT': {
      for (const k of Object.keys(o)) if (k !== '--notrack') fail(`unsupported option "${k}" for target CT (only --notrack)`);
      if (!o['--notrack']) fail('CT needs --notrack (the only CT option podnet runs)');
      return { kind: 'NOTRACK', name: 'CT' };
    }
    case 'NOTRACK':
      allow();
      return { kind: 'NOTRACK', name: 'NOTRACK' };
    default:
      allow();
      if (OTHER_TARGETS.has(name)) fail(`unsupported target "${name}"`);
      return { kind: 'JUMP', chain: name };
  }
}

/** The xmark forms of MARK and CONNMARK, as libxt_MARK/CONNMARK turn them into value/mask. */
function xmarkOf(o: Record<string, string | true>, fail: Fail): { value: number; mask: number } | undefined {
  const forms = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'].filter((k) => k in o);
  if (forms.length > 1) fail(`${forms.join(' and ')} together`);
  if (!forms.length) return undefined;
  const v = o[forms[0]] as string;
  switch (forms[0]) {
    case '--set-xmark':
      return parseMarkMask(v, fail);
    case '--set-mark': {
      const { value, mask } = parseMarkMask(v, fail);
      return { value, mask: (value | mask) >>> 0 };
    }
    case '--and-mark':
      return { value: 0, mask: ~parseU32(v, 'mark', fail) >>> 0 };
    case '--or-mark': {
      const b = parseU32(v, 'mark', fail);
      return { value: b, mask: b };
    }
    default:
      return { value: parseU32(v, 'mark', fail), mask: 0 };
  }
}

/** `-j ...` or `-g ...` as iptables-save prints it; '' for no target. */
export function printTarget(t: Target): string {
  const ports = (lo?: number, hi?: number) => (lo === undefined ? '' : lo === hi ? `:${lo}` : `:${lo}-${hi}`);
  const range = (a: number, b?: number) => formatIPv4(a) + (b === undefined ? '' : `-${formatIPv4(b)}`);
  const w: string[] = [];
  switch (t.kind) {
    case 'NONE':
      return '';
    case 'JUMP':
      return `-j ${t.chain}`;
    case 'GOTO':
      return `-g ${t.chain}`;
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
    case 'REJECT':
      w.push(`-j REJECT --reject-with ${t.with}`);
      break;
    case 'LOG':
      w.push('-j LOG');
      if (t.prefix) w.push(`--log-prefix ${saveString(t.prefix)}`);
      if (t.level !== undefined && t.level !== 4) w.push(`--log-level ${t.level}`);
      for (const f of LOG_FLAGS) if (t.options?.includes(f)) w.push(`--log-${f}`);
      break;
    case 'MARK':
      w.push(`-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`);
      break;
    case 'CONNMARK':
      if (t.mode === 'set') w.push(`-j CONNMARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`);
      else w.push(`-j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`);
      break;
    case 'NOTRACK':
      w.push(t.name === 'CT' ? '-j CT --notrack' : '-j NOTRACK');
      break;
    default:
      w.push(`-j ${t.kind}`);
  }
  return w.join(' ');
}
