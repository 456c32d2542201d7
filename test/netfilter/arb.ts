// Random rulesets within podnet's iptables subset, valid by construction
// (targets only in the tables and chains iptables allows them, -i/-o only
// where there is such a device, ports only after -p tcp|udp, jumps and
// gotos acyclic, sets that exist), with the matches and targets real rule
// sets use; and random packet keys likely to hit the rules' addresses,
// ports, interfaces, marks and sets.
import fc from 'fast-check';
import { maskOf } from '../../src/packet/addr.js';
import {
  ADDR_TYPES, BUILTIN_CHAINS, CT_STATES, STATE_STATES, TABLES, emptyRuleset,
  type AddrType, type Chain, type CtState, type Match, type Rule, type Ruleset, type TableName, type Target,
} from '../../src/netfilter/iptables.js';
import { parseIpsets } from '../../src/netfilter/ipset.js';

/** Link names by index, as compileRuleset gets them. */
export const LINKS = ['lo', 'eth0', 'docker0', 'cali1234', 'cali99', 'veth0a', 'tunl0', 'eth1'];
const PATTERNS = ['eth0', 'docker0', 'cali+', 'cali1234', '+', 'veth+', 'nosuch0', 'eth+', 'cali99+', 'lo', 'e+'];
const NETS: [number, number][] = [
  [0x0a000000, 8], [0x0a010000, 16], [0x0a010200, 24], [0x0a010203, 32], [0xac110000, 16], [0xac110002, 32],
  [0, 0], [0x7f000000, 8], [0xc0a80000, 16], [0xc0a8000c, 30],
];
const PORTS: [number, number][] = [[80, 80], [443, 443], [53, 53], [1000, 2000], [0, 0], [65535, 65535], [0, 1023], [8080, 8080], [1, 65535]];
const MARKS: [number, number][] = [[0x10000, 0x10000], [0, 0x10000], [0x40000, 0x40000], [0x1, 0xffffffff], [0, 0xf0000], [0x4000, 0x4000]];

/** The sets the random rules name: one of each type (list:set over two of them). */
export const SETS_TEXT = `create net4 hash:net family inet hashsize 1024 maxelem 65536
add net4 10.0.0.0/8
add net4 10.1.0.0/16 nomatch
add net4 172.17.0.0/16
create ips4 hash:ip family inet hashsize 1024 maxelem 65536
add ips4 10.1.2.3
add ips4 172.17.0.2
add ips4 192.168.0.12
create ports4 hash:ip,port family inet hashsize 1024 maxelem 65536
add ports4 172.17.0.2,tcp:80
add ports4 10.1.2.3,udp:53
add ports4 10.1.2.3,tcp:1000
create both4 list:set size 8
add both4 ips4
add both4 ports4
`;
export const SETS = parseIpsets(SETS_TEXT, new Map());
const SET_NAMES = [...SETS.keys()];

const arbNet = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NETS) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })) },
).map(([a, p]) => ({ addr: (a & maskOf(p)) >>> 0, plen: p }));
const arbAddrMatch = fc.record({ net: arbNet, invert: fc.boolean() }).map(({ net, invert }) => ({ ...net, invert }));
const arbIface = fc.record({ name: fc.constantFrom(...PATTERNS), invert: fc.boolean() });
const arbRange = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PORTS) }, { weight: 1, arbitrary: fc.tuple(fc.nat(65535), fc.nat(65535)) })
  .map(([a, b]) => ({ lo: Math.min(a, b), hi: Math.max(a, b) }));
const arbPortMatch = fc.record({ r: arbRange, invert: fc.boolean() }).map(({ r, invert }) => ({ ...r, invert }));
const subset = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const arbTypes = fc.record({ types: subset(['UNICAST', 'LOCAL', 'BROADCAST', 'MULTICAST'] as AddrType[]), invert: fc.boolean() })
  .map(({ types, invert }) => ({ types: ADDR_TYPES.filter((t) => types.includes(t)), invert }));

interface Ctx {
  table: TableName;
  chain: string;
  /** User chains this chain may jump or go to. */
  jumps: string[];
  /** NAT kinds allowed here. */
  nat: ('DNAT' | 'SNAT' | 'MASQUERADE')[];
}

/**
 * A match for a rule of chain c; those of a protocol (tcp, udp, icmp,
 * multiport) come as that protocol's, and the rule keeps them only when its
 * -p says so.
 */
function arbMatch(c: Ctx): fc.Arbitrary<Match> {
  const noIn = c.chain === 'OUTPUT' || c.chain === 'POSTROUTING';
  const noOut = c.chain === 'PREROUTING' || c.chain === 'INPUT';
  const kinds: fc.Arbitrary<Match>[] = [
    fc.record({ s: subset(CT_STATES), inv: fc.boolean() }).map(({ s, inv }) => ({ m: 'conntrack', state: { states: CT_STATES.filter((x) => s.includes(x)) as CtState[], invert: inv } }) as Match),
    fc.record({ s: subset(STATE_STATES), inv: fc.boolean() }).map(({ s, inv }) => ({ m: 'state', state: { states: STATE_STATES.filter((x) => s.includes(x)), invert: inv } }) as Match),
    fc.record({ src: fc.option(arbTypes, { nil: undefined }), dst: fc.option(arbTypes, { nil: undefined }), lim: fc.constantFrom(0, 0, 1, 2) })
      .filter((x) => !!(x.src || x.dst))
      .map(({ src, dst, lim }) => {
        const m: Match = { m: 'addrtype' };
        if (src) m.src = src;
        if (dst) m.dst = dst;
        if (lim === 1 && !noIn) m.limitIn = true;
        if (lim === 2 && !noOut) m.limitOut = true;
        return m;
      }),
    fc.constantFrom('cali:abc', 'has "quotes" and \\ backslash', 'two words', 'plain-word').map((comment) => ({ m: 'comment', comment }) as Match),
    fc.record({ name: fc.constantFrom(...SET_NAMES), dirs: fc.array(fc.constantFrom<'src' | 'dst'>('src', 'dst'), { minLength: 1, maxLength: 3 }), invert: fc.boolean() })
      .map((x) => ({ m: 'set', ...x }) as Match),
    fc.record({ mv: fc.constantFrom(...MARKS), invert: fc.boolean() }).map(({ mv, invert }) => ({ m: 'mark', value: mv[0], mask: mv[1], invert }) as Match),
    fc.record({ mv: fc.constantFrom(...MARKS), invert: fc.boolean() }).map(({ mv, invert }) => ({ m: 'connmark', value: mv[0], mask: mv[1], invert }) as Match),
    fc.record({
      origdst: fc.option(arbAddrMatch, { nil: undefined }),
      origdstport: fc.option(arbPortMatch, { nil: undefined }),
      replsrc: fc.option(arbAddrMatch, { nil: undefined }),
      ctproto: fc.option(fc.record({ proto: fc.constantFrom(6, 17, 1), invert: fc.boolean() }), { nil: undefined }),
      status: fc.option(fc.record({ statuses: fc.subarray(['SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const), invert: fc.boolean() }), { nil: undefined }),
      expire: fc.option(fc.record({ lo: fc.constantFrom(0, 10, 100), hi: fc.constantFrom(100, 1000, 500000), invert: fc.boolean() }), { nil: undefined }),
      dir: fc.option(fc.constantFrom<'ORIGINAL' | 'REPLY'>('ORIGINAL', 'REPLY'), { nil: undefined }),
      state: fc.option(fc.record({ s: subset(CT_STATES), inv: fc.boolean() }), { nil: undefined }),
    }).map((x) => {
      const m: Match = { m: 'conntrack' };
      if (x.state) m.state = { states: CT_STATES.filter((s) => x.state!.s.includes(s)) as CtState[], invert: x.state.inv };
      if (x.ctproto) m.ctproto = x.ctproto;
      if (x.origdst) m.origdst = x.origdst;
      if (x.replsrc) m.replsrc = x.replsrc;
      if (x.origdstport) m.origdstport = x.origdstport;
      if (x.status) m.status = { statuses: ['SEEN_REPLY', 'ASSURED', 'CONFIRMED'].filter((s) => x.status!.statuses.includes(s as never)) as never, invert: x.status.invert };
      if (x.expire) m.expire = { ...x.expire, hi: Math.max(x.expire.lo, x.expire.hi) };
      if (x.dir) m.dir = x.dir;
      if (Object.keys(m).length === 1) m.state = { states: ['NEW'], invert: false };
      return m;
    }),
    fc.record({ avg: fc.constantFrom(10000, 100000, 200000, 12000000), burst: fc.constantFrom(1, 5, 10) }).map((x) => ({ m: 'limit', ...x }) as Match),
    fc.oneof(
      fc.record({ probability: fc.constantFrom(0, 0x40000000, 0x55555555, 0x80000000), invert: fc.boolean() }).map((x) => ({ m: 'statistic', mode: 'random', ...x }) as Match),
      fc.record({ every: fc.integer({ min: 1, max: 4 }), p: fc.nat(3), invert: fc.boolean() }).map((x) => ({ m: 'statistic', mode: 'nth', every: x.every, packet: x.p % x.every, invert: x.invert }) as Match),
    ),
  ];
  {
    kinds.push(
      fc.record({ tcp: fc.boolean(), sport: fc.option(arbPortMatch, { nil: undefined }), dport: fc.option(arbPortMatch, { nil: undefined }), flags: fc.option(fc.record({ mask: fc.constantFrom(0x17, 0x3f, 0x02), comp: fc.constantFrom(0x02, 0x12, 0), invert: fc.boolean() }), { nil: undefined }) })
        .map(({ tcp, sport, dport, flags }) => {
          const m: Match = tcp ? { m: 'tcp' } : { m: 'udp' };
          if (sport) m.sport = sport;
          if (dport) m.dport = dport;
          if (flags && m.m === 'tcp') m.flags = flags;
          if (!sport && !dport && !(m.m === 'tcp' && m.flags)) m.dport = { lo: 80, hi: 80, invert: false };
          return m;
        }),
      fc.record({ which: fc.constantFrom<'sports' | 'dports' | 'ports'>('sports', 'dports', 'ports'), ports: fc.array(arbRange, { minLength: 1, maxLength: 5 }), invert: fc.boolean() })
        .map((x) => ({ m: 'multiport', ...x }) as Match),
    );
  }
  {
    kinds.push(fc.record({ t: fc.constantFrom([8, 0, 255], [3, 0, 255], [3, 4, 4], [255, 0, 255], [0, 0, 255], [11, 0, 255]), invert: fc.boolean() })
      .map(({ t, invert }) => ({ m: 'icmp', type: t[0], codeLo: t[1], codeHi: t[2], invert }) as Match));
  }
  if ((c.table === 'raw' || c.table === 'mangle') && c.chain === 'PREROUTING') {
    kinds.push(fc.record({ loose: fc.boolean(), validmark: fc.boolean(), acceptLocal: fc.boolean(), invert: fc.boolean() }).map((x) => ({ m: 'rpfilter', ...x }) as Match));
  }
  return fc.oneof(...kinds);
}

function arbRule(c: Ctx): fc.Arbitrary<Rule> {
  const noIn = c.chain === 'OUTPUT' || c.chain === 'POSTROUTING';
  const noOut = c.chain === 'PREROUTING' || c.chain === 'INPUT';
  const opt = <T>(a: fc.Arbitrary<T>, p = 0.3): fc.Arbitrary<T | undefined> =>
    fc.oneof({ weight: Math.round((1 - p) * 10), arbitrary: fc.constant(undefined) }, { weight: Math.round(p * 10), arbitrary: a });
  const kinds: string[] = ['ACCEPT', 'DROP', 'RETURN', 'NONE', 'MARK', 'CONNMARK', 'LOG'];
  if (c.jumps.length) kinds.push('JUMP', 'JUMP', 'JUMP', 'GOTO');
  kinds.push(...c.nat, ...c.nat);
  if (c.table === 'filter') kinds.push('REJECT');
  if (c.table === 'raw') kinds.push('NOTRACK', 'NOTRACK');
  return fc
    .record({
      src: opt(arbAddrMatch),
      dst: opt(arbAddrMatch),
      in: noIn ? fc.constant(undefined) : opt(arbIface, 0.4),
      out: noOut ? fc.constant(undefined) : opt(arbIface, 0.4),
      proto: opt(fc.record({ p: fc.constantFrom('tcp', 'udp', 'icmp', 'tcp', 'udp', '47'), inv: fc.boolean() }), 0.5),
      ms: fc.oneof({ weight: 2, arbitrary: fc.constant([] as Match[]) }, { weight: 3, arbitrary: fc.array(arbMatch(c), { minLength: 1, maxLength: 3 }) }),
      kind: fc.constantFrom(...kinds),
      jump: c.jumps.length ? fc.constantFrom(...c.jumps) : fc.constant(''),
      natAddr: fc.tuple(fc.constantFrom(0xac110002, 0x0a000001, 0xc0a8000c), fc.nat(3)),
      natPorts: opt(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.nat(100)), 0.5),
      random: fc.boolean(),
      fully: fc.boolean(),
      mark: fc.constantFrom(...MARKS),
      cm: fc.constantFrom('set', 'save', 'restore'),
      reject: fc.constantFrom('icmp-port-unreachable', 'icmp-host-prohibited', 'icmp-net-unreachable', 'tcp-reset'),
      logPrefix: fc.constantFrom(undefined, '[UFW BLOCK] ', 'x'),
    })
    .map((g) => {
      const r: Rule = { target: { kind: 'NONE' }, line: 0, text: '' };
      if (g.src) r.src = g.src;
      if (g.dst) r.dst = g.dst;
      if (g.in) r.in = g.in;
      if (g.out) r.out = g.out;
      if (g.proto) {
        r.proto = g.proto.p;
        if (g.proto.inv) r.protoInvert = true;
      }
      const proto = r.protoInvert ? undefined : r.proto;
      {
        // The protocol's matches only with their -p; one -m limit and one nth statistic a rule (their state is the rule's).
        const seen = new Set<string>();
        const kept = g.ms.filter((m) => {
          if (m.m === 'tcp' || m.m === 'udp' || m.m === 'icmp') return proto === m.m;
          if (m.m === 'multiport') return proto === 'tcp' || proto === 'udp';
          const k = m.m === 'limit' ? 'limit' : m.m === 'statistic' && m.mode === 'nth' ? 'nth' : '';
          if (!k) return true;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
        const rule: Rule = { ...r };
        if (kept.length) rule.matches = kept;
        const l4 = (r.proto === 'tcp' || r.proto === 'udp') && !r.protoInvert;
        const ports = l4 && g.natPorts ? { portLo: g.natPorts[0], portHi: Math.min(65535, g.natPorts[0] + g.natPorts[1]) } : {};
        let t: Target;
        switch (g.kind) {
          case 'JUMP': case 'GOTO':
            t = { kind: g.kind, chain: g.jump };
            break;
          case 'DNAT':
            t = { kind: 'DNAT', addr: g.natAddr[0], ...ports };
            if (g.natAddr[1] > 0) t.addrHi = g.natAddr[0] + g.natAddr[1];
            if (g.random) t.random = true;
            break;
          case 'SNAT':
            t = { kind: 'SNAT', addr: g.natAddr[0], ...ports };
            if (g.natAddr[1] > 0) t.addrHi = g.natAddr[0] + g.natAddr[1];
            if (g.random) t.random = true;
            if (g.fully) t.randomFully = true;
            break;
          case 'MASQUERADE':
            t = { kind: 'MASQUERADE', random: g.random, ...ports };
            if (g.fully) t.randomFully = true;
            break;
          case 'MARK':
            t = { kind: 'MARK', value: g.mark[0], mask: g.mark[1] };
            break;
          case 'CONNMARK':
            t = g.cm === 'set' ? { kind: 'CONNMARK', mode: 'set', value: g.mark[0], mask: g.mark[1] } : { kind: 'CONNMARK', mode: g.cm as 'save' | 'restore', nfmask: g.mark[1], ctmask: (g.mark[1] | 0x1) >>> 0 };
            break;
          case 'LOG':
            t = g.logPrefix ? { kind: 'LOG', prefix: g.logPrefix } : { kind: 'LOG' };
            break;
          case 'REJECT':
            t = { kind: 'REJECT', with: g.reject === 'tcp-reset' && !(r.proto === 'tcp' && !r.protoInvert) ? 'icmp-port-unreachable' : (g.reject as never) };
            break;
          case 'NOTRACK':
            t = { kind: 'NOTRACK', name: g.random ? 'CT' : 'NOTRACK' };
            break;
          default:
            t = { kind: g.kind as 'ACCEPT' | 'DROP' | 'RETURN' | 'NONE' };
        }
        rule.target = t;
        return rule;
      }
    });
}

/**
 * A ruleset over the four tables. User chains of filter: F0..Fn, each
 * jumping only to later ones (so no loops); of nat: P0.. (reached from
 * PREROUTING and OUTPUT, may DNAT) and Q0.. (reached from INPUT and
 * POSTROUTING, may SNAT/MASQUERADE); of raw R0.. and mangle M0...
 */
export function arbRuleset(opts: { maxUser?: number; maxRules?: number } = {}): fc.Arbitrary<Ruleset> {
  const maxUser = opts.maxUser ?? 5;
  const maxRules = opts.maxRules ?? 4;
  return fc
    .record({
      nf: fc.nat(maxUser),
      np: fc.nat(Math.ceil(maxUser / 2)),
      nq: fc.nat(Math.ceil(maxUser / 2)),
      nr: fc.nat(2),
      nm: fc.nat(2),
      policies: fc.array(fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'), { minLength: 14, maxLength: 14 }),
    })
    .chain(({ nf, np, nq, nr, nm, policies }) => {
      const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
      const F = names('F', nf);
      const P = names('P', np);
      const Q = names('Q-x', nq);
      const R = names('R', nr);
      const M = names('M', nm);
      const plan: { table: TableName; chain: string; ctx: Ctx }[] = [];
      const add = (table: TableName, chain: string, jumps: string[], nat: Ctx['nat']) =>
        plan.push({ table, chain, ctx: { table, chain, jumps, nat } });
      for (const b of BUILTIN_CHAINS.filter) add('filter', b, F, []);
      F.forEach((f, i) => add('filter', f, F.slice(i + 1), []));
      add('nat', 'PREROUTING', P, ['DNAT']);
      add('nat', 'INPUT', Q, ['SNAT', 'MASQUERADE']);
      add('nat', 'OUTPUT', P, ['DNAT']);
      add('nat', 'POSTROUTING', Q, ['SNAT', 'MASQUERADE']);
      P.forEach((p, i) => add('nat', p, P.slice(i + 1), ['DNAT']));
      Q.forEach((q, i) => add('nat', q, Q.slice(i + 1), ['SNAT', 'MASQUERADE']));
      for (const b of BUILTIN_CHAINS.raw) add('raw', b, R, []);
      R.forEach((x, i) => add('raw', x, R.slice(i + 1), []));
      for (const b of BUILTIN_CHAINS.mangle) add('mangle', b, M, []);
      M.forEach((x, i) => add('mangle', x, M.slice(i + 1), []));
      // raw and mangle get fewer rules: real rule sets keep most of theirs in filter and nat.
      const most = (t: TableName) => (t === 'raw' || t === 'mangle' ? Math.ceil(maxRules / 2) : maxRules);
      return fc.tuple(...plan.map((p) => fc.array(arbRule(p.ctx), { maxLength: most(p.table) }))).map((ruleLists) => {
        const rs = emptyRuleset();
        let pi = 0;
        for (const t of TABLES) for (const c of rs.tables[t].chains.values()) c.policy = policies[pi++];
        for (const u of F) rs.tables.filter.chains.set(u, { name: u, builtin: false, rules: [] });
        for (const u of [...P, ...Q]) rs.tables.nat.chains.set(u, { name: u, builtin: false, rules: [] });
        for (const u of R) rs.tables.raw.chains.set(u, { name: u, builtin: false, rules: [] });
        for (const u of M) rs.tables.mangle.chains.set(u, { name: u, builtin: false, rules: [] });
        plan.forEach((p, i) => {
          (rs.tables[p.table].chains.get(p.chain) as Chain).rules = ruleLists[i];
        });
        return rs;
      });
    });
}

/** A ladder: FORWARD jumps to L0, Li to Li+1, ..., so deep nesting (past the depth limit) is exercised. */
export function arbLadder(): fc.Arbitrary<Ruleset> {
  return fc
    .record({ n: fc.integer({ min: 12, max: 22 }), policy: fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP') })
    .chain(({ n, policy }) => {
      const L = Array.from({ length: n }, (_, i) => `L${i}`);
      const chains = ['FORWARD', ...L];
      // Chain i may jump to the next two rungs.
      const ctx = (c: string, i: number): Ctx => ({ table: 'filter', chain: c, jumps: L.slice(i, i + 2), nat: [] });
      return fc.tuple(...chains.map((c, i) => fc.array(arbRule(ctx(c, i)), { maxLength: 4 }))).map((lists) => {
        const rs = emptyRuleset();
        rs.tables.filter.chains.get('FORWARD')!.policy = policy;
        for (const l of L) rs.tables.filter.chains.set(l, { name: l, builtin: false, rules: [] });
        chains.forEach((c, i) => {
          // First a jump down the ladder, so deep walks happen.
          const down: Rule[] = i < n ? [{ target: { kind: 'JUMP', chain: L[i] }, line: 0, text: '' }] : [];
          rs.tables.filter.chains.get(c)!.rules = [...down, ...lists[i]];
        });
        return rs;
      });
    });
}

/** RTN_* values a packet's addresses can have. */
const TYPE_NUMS = [1, 2, 3, 5];

export interface ArbConn {
  proto: number;
  orig: [number, number, number];
  reply: [number, number, number];
  /** CS_* bits (SEEN_REPLY 1, ASSURED 2, SRC_NAT 8, DST_NAT 16, LIVE 32). */
  status: number;
  timeout: number;
  mark: number;
}

export interface ArbPacket {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  ctstate: CtState;
  /** Link index, or -1 for none, or an index past the links (a link the blob was not compiled for). */
  in: number;
  out: number;
  srcLocal: boolean;
  dstLocal: boolean;
  frag: boolean;
  srcType: [number, number, number];
  dstType: [number, number, number];
  mark: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  rpf: number;
  len: number;
  /** Time since the previous packet, ms. */
  gap: number;
  conn?: ArbConn;
  reply: boolean;
}

const arbPktAddr = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...NETS), fc.integer({ min: -2, max: 5 })).map(([[a], d]) => (a + d) >>> 0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const arbPktPort = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PORTS), fc.integer({ min: -1, max: 1 }), fc.boolean()).map(([[lo, hi], d, h]) => Math.max(0, Math.min(65535, (h ? hi : lo) + d))) },
  { weight: 1, arbitrary: fc.nat(65535) },
);
const arbLink = fc.oneof(
  { weight: 6, arbitrary: fc.nat(LINKS.length - 1) },
  { weight: 2, arbitrary: fc.constant(-1) },
  { weight: 1, arbitrary: fc.constant(LINKS.length + 3) },
);
const arbType = fc.constantFrom(...TYPE_NUMS);
const arbTuple = fc.tuple(arbPktAddr, arbPktAddr, fc.tuple(arbPktPort, arbPktPort).map(([a, b]) => ((a << 16) | b) >>> 0));
const arbConn: fc.Arbitrary<ArbConn> = fc.record({
  proto: fc.constantFrom(6, 17, 1),
  orig: arbTuple,
  reply: arbTuple,
  status: fc.subarray([1, 2, 8, 16, 32]).map((b) => b.reduce((x, y) => x | y, 0)),
  timeout: fc.constantFrom(0, 5000, 50_000, 600_000_000),
  mark: fc.oneof(fc.constantFrom(0, 0x10000, 0x40000, 1), fc.nat()),
});

export const arbPacket: fc.Arbitrary<ArbPacket> = fc.record({
  src: arbPktAddr,
  dst: arbPktAddr,
  sport: arbPktPort,
  dport: arbPktPort,
  proto: fc.constantFrom(6, 17, 1, 6, 17, 47, 0),
  ctstate: fc.constantFrom(...(CT_STATES.filter((s) => s !== 'SNAT' && s !== 'DNAT') as CtState[])),
  in: arbLink,
  out: arbLink,
  srcLocal: fc.boolean(),
  dstLocal: fc.boolean(),
  frag: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  srcType: fc.tuple(arbType, arbType, arbType),
  dstType: fc.tuple(arbType, arbType, arbType),
  mark: fc.oneof(fc.constantFrom(0, 0, 0x10000, 0x40000, 0x50000, 1, 0x4000), fc.nat()),
  tcpFlags: fc.oneof(fc.constantFrom(0x02, 0x12, 0x10, 0x04, 0x11), fc.nat(255)),
  icmpType: fc.constantFrom(0, 3, 8, 11, 5),
  icmpCode: fc.constantFrom(0, 1, 3, 4),
  rpf: fc.nat(15),
  len: fc.integer({ min: 20, max: 1500 }),
  gap: fc.constantFrom(0, 0, 1, 10, 100, 1000, 60_000),
  conn: fc.option(arbConn, { nil: undefined }),
  reply: fc.boolean(),
});

export { ADDR_TYPES, CT_STATES };
