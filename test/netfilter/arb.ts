// Random rulesets within podnet's iptables subset, valid by construction
// (NAT targets only where iptables allows them, -i/-o only where there is
// such a device, ports only after -p tcp|udp, jumps acyclic), and random
// packet keys likely to hit the rules' addresses, ports and interfaces.
import fc from 'fast-check';
import { maskOf } from '../../src/packet/addr.js';
import {
  BUILTIN_CHAINS, CT_STATES, emptyRuleset,
  type Chain, type CtState, type Rule, type Ruleset, type TableName, type Target,
} from '../../src/netfilter/iptables.js';

/** Link names by index, as compileRuleset gets them. */
export const LINKS = ['lo', 'eth0', 'docker0', 'cali1234', 'cali99', 'veth0a', 'tunl0', 'eth1'];
const PATTERNS = ['eth0', 'docker0', 'cali+', 'cali1234', '+', 'veth+', 'nosuch0', 'eth+', 'cali99+', 'lo', 'e+'];
const NETS: [number, number][] = [
  [0x0a000000, 8], [0x0a010000, 16], [0x0a010200, 24], [0x0a010203, 32], [0xac110000, 16], [0xac110002, 32],
  [0, 0], [0x7f000000, 8], [0xc0a80000, 16], [0xc0a8000c, 30],
];
const PORTS: [number, number][] = [[80, 80], [443, 443], [53, 53], [1000, 2000], [0, 0], [65535, 65535], [0, 1023], [8080, 8080], [1, 65535]];

const arbNet = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NETS) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })) },
).map(([a, p]) => ({ addr: (a & maskOf(p)) >>> 0, plen: p }));
const arbAddrMatch = fc.record({ net: arbNet, invert: fc.boolean() }).map(({ net, invert }) => ({ ...net, invert }));
const arbIface = fc.record({ name: fc.constantFrom(...PATTERNS), invert: fc.boolean() });
const arbPortMatch = fc.record({
  r: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PORTS) }, { weight: 1, arbitrary: fc.tuple(fc.nat(65535), fc.nat(65535)) }),
  invert: fc.boolean(),
}).map(({ r: [a, b], invert }) => ({ lo: Math.min(a, b), hi: Math.max(a, b), invert }));
const arbCtstate = fc.subarray([...CT_STATES], { minLength: 1 });

interface Ctx {
  table: TableName;
  chain: string;
  /** User chains this chain may jump to. */
  jumps: string[];
  /** NAT kinds allowed here. */
  nat: ('DNAT' | 'SNAT' | 'MASQUERADE')[];
}

function arbRule(c: Ctx): fc.Arbitrary<Rule> {
  const noIn = c.chain === 'OUTPUT' || c.chain === 'POSTROUTING';
  const noOut = c.chain === 'PREROUTING' || (c.chain === 'INPUT');
  const opt = <T>(a: fc.Arbitrary<T>, p = 0.3): fc.Arbitrary<T | undefined> =>
    fc.oneof({ weight: Math.round((1 - p) * 10), arbitrary: fc.constant(undefined) }, { weight: Math.round(p * 10), arbitrary: a });
  const kinds: string[] = ['ACCEPT', 'DROP', 'RETURN', 'NONE'];
  if (c.jumps.length) kinds.push('JUMP', 'JUMP', 'JUMP');
  kinds.push(...c.nat, ...c.nat);
  return fc
    .record({
      src: opt(arbAddrMatch),
      dst: opt(arbAddrMatch),
      in: noIn ? fc.constant(undefined) : opt(arbIface, 0.4),
      out: noOut ? fc.constant(undefined) : opt(arbIface, 0.4),
      proto: opt(fc.record({ p: fc.constantFrom('tcp', 'udp', 'icmp', 'tcp', 'udp'), inv: fc.boolean() }), 0.5),
      sport: opt(arbPortMatch, 0.3),
      dport: opt(arbPortMatch, 0.5),
      ct: opt(fc.record({ s: arbCtstate, inv: fc.boolean() }), 0.3),
      srcType: opt(fc.boolean(), 0.2),
      dstType: opt(fc.boolean(), 0.2),
      kind: fc.constantFrom(...kinds),
      jump: c.jumps.length ? fc.constantFrom(...c.jumps) : fc.constant(''),
      natAddr: fc.tuple(fc.constantFrom(0xac110002, 0x0a000001, 0xc0a8000c), fc.nat(3)),
      natPorts: opt(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.nat(100)), 0.5),
      random: fc.boolean(),
      fully: fc.boolean(),
      comment: opt(fc.constantFrom('cali:abc', 'has "quotes" and \\ backslash', 'two words'), 0.1),
    })
    .map((g) => {
      const r: Rule = { target: { kind: 'NONE' }, line: 0, text: '' };
      if (g.src) r.src = g.src;
      if (g.dst) r.dst = g.dst;
      if (g.in) r.in = g.in;
      if (g.out) r.out = g.out;
      if (g.proto) {
        r.proto = g.proto.p as 'tcp' | 'udp' | 'icmp';
        if (g.proto.inv) r.protoInvert = true;
      }
      const l4 = (r.proto === 'tcp' || r.proto === 'udp') && !r.protoInvert;
      if (l4 && g.sport) r.sport = g.sport;
      if (l4 && g.dport) r.dport = g.dport;
      if (g.ct) {
        r.ctstate = g.ct.s as CtState[];
        if (g.ct.inv) r.ctstateInvert = true;
      }
      if (g.srcType !== undefined) r.srcType = { type: 'LOCAL', invert: g.srcType };
      if (g.dstType !== undefined) r.dstType = { type: 'LOCAL', invert: g.dstType };
      if (g.comment !== undefined) r.comment = g.comment;
      const ports = l4 && g.natPorts ? { portLo: g.natPorts[0], portHi: Math.min(65535, g.natPorts[0] + g.natPorts[1]) } : {};
      let t: Target;
      switch (g.kind) {
        case 'JUMP':
          t = { kind: 'JUMP', chain: g.jump };
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
        default:
          t = { kind: g.kind as 'ACCEPT' | 'DROP' | 'RETURN' | 'NONE' };
      }
      r.target = t;
      return r;
    });
}

/**
 * A ruleset. User chains of filter: F0..Fn, each jumping only to later
 * ones (so no loops); of nat: P0.. (reached from PREROUTING and OUTPUT, may
 * DNAT) and Q0.. (reached from INPUT and POSTROUTING, may SNAT/MASQUERADE).
 */
export function arbRuleset(opts: { maxUser?: number; maxRules?: number } = {}): fc.Arbitrary<Ruleset> {
  const maxUser = opts.maxUser ?? 5;
  const maxRules = opts.maxRules ?? 6;
  return fc
    .record({
      nf: fc.nat(maxUser),
      np: fc.nat(Math.ceil(maxUser / 2)),
      nq: fc.nat(Math.ceil(maxUser / 2)),
      policies: fc.array(fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'), { minLength: 7, maxLength: 7 }),
    })
    .chain(({ nf, np, nq, policies }) => {
      const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
      const F = names('F', nf);
      const P = names('P', np);
      const Q = names('Q-x', nq);
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
      return fc.tuple(...plan.map((p) => fc.array(arbRule(p.ctx), { maxLength: maxRules }))).map((ruleLists) => {
        const rs = emptyRuleset();
        let pi = 0;
        for (const t of ['filter', 'nat'] as const) for (const c of rs.tables[t].chains.values()) c.policy = policies[pi++];
        for (const u of F) rs.tables.filter.chains.set(u, { name: u, builtin: false, rules: [] });
        for (const u of [...P, ...Q]) rs.tables.nat.chains.set(u, { name: u, builtin: false, rules: [] });
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

export const arbPacket: fc.Arbitrary<ArbPacket> = fc.record({
  src: arbPktAddr,
  dst: arbPktAddr,
  sport: arbPktPort,
  dport: arbPktPort,
  proto: fc.constantFrom(6, 17, 1, 6, 17, 47, 0),
  ctstate: fc.constantFrom(...CT_STATES),
  in: arbLink,
  out: arbLink,
  srcLocal: fc.boolean(),
  dstLocal: fc.boolean(),
  frag: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
