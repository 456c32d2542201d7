// The matches that look a packet's addresses up: addrtype (the route type of
// each address), set (membership of an ipset) and rpfilter (the reverse path).
import { ADDR_TYPES, type AddrType } from './ir.js';
import { bang, names, type M, type Module, type OptionReader } from './match-values.js';

// ------------------------------------------------------------------ addrtype

export const addrtype: Module<M<'addrtype'>> = {
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

/** IPSET_MAXNAMELEN - 1 */
const SET_NAME_MAX = 31;

export const set: Module<M<'set'>> = {
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

export const rpfilter: Module<M<'rpfilter'>> = {
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
