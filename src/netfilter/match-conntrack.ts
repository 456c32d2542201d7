// The matches of a packet's connection and marks: conntrack and state (its
// conntrack entry's state, tuples, status and expiry), mark (the packet's)
// and connmark (its connection's).
import { formatIPv4 } from '../packet/addr.js';
import { CT_STATES, CT_STATUSES, STATE_STATES, protoNumber, type AddrMatch, type CtState, type CtStatus } from './ir.js';
import { bang, hex, names, parseCidr, parseMarkMask, parsePorts, portText, type M, type Module, type OptionReader } from './match-values.js';

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

export const conntrack: Module<M<'conntrack'>> = {
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

export const state: Module<M<'state'>> = {
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

/** print_mark: the mask only when it is not all ones. */
const markText = (value: number, mask: number): string => (mask === 0xffffffff ? hex(value) : `${hex(value)}/${hex(mask)}`);

type MarkMatch = { m: 'mark' | 'connmark'; value: number; mask: number; invert: boolean };
export function markModule<K extends 'mark' | 'connmark'>(k: K): Module<M<K>> {
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
