// The matches of the protocols' headers: tcp and udp ports and TCP flags,
// icmp types and codes, multiport's port lists.
import type { PortMatch } from './ir.js';
import { bang, parsePorts, portText, type M, type Module, type OptionReader, type Fail } from './match-values.js';

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


export const tcp: Module<M<'tcp'>> = {
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

export const udp: Module<M<'udp'>> = {
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

export const icmp: Module<M<'icmp'>> = {
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

export const multiport: Module<M<'multiport'>> = {
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
