// The compiled rule engine (src/netfilter/compile.ts + assembly/tables/rules.ts)
// on real rule sets, and against the reference model (test/model/iptables.ts)
// on random rulesets and packets: same verdict, same deciding rule.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CTS_ESTABLISHED, CTS_NEW, NATF_PORTS, NATF_RANDOM, NATF_RANDOM_FULLY, PK_NO_LINK, RC_SIZE, RS_CHAINS, RS_MAGIC, RS_SIZE, RU_SIZE,
  RULES_MAGIC, RS_RULES, TGT_ACCEPT, TGT_DNAT, TGT_DROP, TGT_MASQUERADE, TGT_RETURN,
} from '../../src/engine/layout.gen.js';
import { CHAIN_IDS, compileRuleset, CT_STATE_BITS, splitVerdict, TARGET_NAMES, type CompiledRuleset } from '../../src/netfilter/compile.js';
import { emptyRuleset, formatRuleset, parseIptables, RulesetError, type Ruleset, type TableName } from '../../src/netfilter/iptables.js';
import { initialState, modelRun, type ModelEnv, type ModelPacket, type RuleState } from '../model/iptables.js';
import { modelInSet } from '../model/ipset.js';
import { compileIpsets } from '../../src/netfilter/ipset.js';
import { ADDR_TYPES, arbLadder, arbPacket, arbRuleset, LINKS, SETS, type ArbPacket } from './arb.js';
import { CALICO_SAVE, DOCKER_SAVE } from './fixtures.js';
import { RulesWasm, type PacketKeys } from './rules-wasm.js';

let wasm: RulesWasm;
beforeAll(async () => {
  wasm = await RulesWasm.create();
});

const ip = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0) >>> 0;

/** Runs a chain through the data plane; returns the verdict and where its rule came from. */
function run(c: CompiledRuleset, table: TableName, chain: string, k: Partial<PacketKeys>) {
  wasm.load(c);
  const keys: PacketKeys = {
    src: 0, dst: 0, sport: 0, dport: 0, proto: 6, ctstate: CTS_NEW, in: PK_NO_LINK, out: PK_NO_LINK,
    srcLocal: false, dstLocal: false, ...k,
  };
  const v = wasm.run(CHAIN_IDS[table][chain], keys);
  const { kind, offset } = splitVerdict(v);
  const at = c.ruleAt(offset);
  return { v, kind: TARGET_NAMES[kind], chain: at?.chain, index: at?.index, rule: at?.rule };
}

describe('compiled rules: Docker', () => {
  const links = ['lo', 'eth0', 'docker0', 'veth1a2b3c'];
  const [, ETH0, DOCKER0] = [0, 1, 2];
  const c = compileRuleset(parseIptables(DOCKER_SAVE), links);
  const C2 = ip('172.17.0.2');
  const HOST = ip('192.168.0.10');
  const CLIENT = ip('203.0.113.7');

  it('FORWARD: published port in, unpublished dropped by the policy, replies and outbound accepted', () => {
    const inbound = { src: CLIENT, dst: C2, in: ETH0, out: DOCKER0, proto: 6, dport: 80, sport: 40000 };
    expect(run(c, 'filter', 'FORWARD', inbound)).toMatchObject({ kind: 'ACCEPT', chain: 'DOCKER', index: 0 });
    expect(run(c, 'filter', 'FORWARD', { ...inbound, dport: 22 })).toMatchObject({ kind: 'DROP', chain: 'FORWARD', index: 6 });
    expect(run(c, 'filter', 'FORWARD', { ...inbound, proto: 17 })).toMatchObject({ kind: 'DROP', chain: 'FORWARD', index: 6 });
    expect(run(c, 'filter', 'FORWARD', { ...inbound, dport: 22, ctstate: CTS_ESTABLISHED })).toMatchObject({ kind: 'ACCEPT', chain: 'FORWARD', index: 2 });
    expect(run(c, 'filter', 'FORWARD', { src: C2, dst: CLIENT, in: DOCKER0, out: ETH0 })).toMatchObject({ kind: 'ACCEPT', chain: 'FORWARD', index: 4 });
    expect(run(c, 'filter', 'FORWARD', { src: C2, dst: C2 + 1, in: DOCKER0, out: DOCKER0 })).toMatchObject({ kind: 'ACCEPT', chain: 'FORWARD', index: 5 });
    // eth0 -> eth0 traffic is not Docker's: the policy.
    expect(run(c, 'filter', 'FORWARD', { in: ETH0, out: ETH0 })).toMatchObject({ kind: 'DROP', chain: 'FORWARD', index: 6 });
    // INPUT has no rules: its policy, decided by its terminating rule.
    expect(run(c, 'filter', 'INPUT', { in: ETH0, dstLocal: true })).toMatchObject({ kind: 'ACCEPT', chain: 'INPUT', index: 0, rule: undefined });
  });

  it('nat: DNAT of the published port with its parameters, MASQUERADE out, RETURN from docker0', () => {
    const r = run(c, 'nat', 'PREROUTING', { src: CLIENT, dst: HOST, dstLocal: true, in: ETH0, proto: 6, dport: 8080 });
    expect(r).toMatchObject({ kind: 'DNAT', chain: 'DOCKER', index: 1 });
    expect(wasm.nat(r.v)).toEqual({ addr: C2, addrHi: C2, hasPorts: true, portLo: 80, portHi: 80, random: false, flags: NATF_PORTS });
    // A later fragment has no ports: the port match does not take it, inverted or not.
    expect(run(c, 'nat', 'PREROUTING', { src: CLIENT, dst: HOST, dstLocal: true, in: ETH0, proto: 6, dport: 8080, frag: true })).toMatchObject({ kind: 'ACCEPT', chain: 'PREROUTING', index: 1 });
    // Not local, or another port: PREROUTING's policy.
    expect(run(c, 'nat', 'PREROUTING', { dst: HOST, in: ETH0, dport: 8080 })).toMatchObject({ kind: 'ACCEPT', chain: 'PREROUTING', index: 1 });
    expect(run(c, 'nat', 'PREROUTING', { dst: HOST, dstLocal: true, in: ETH0, dport: 8081 })).toMatchObject({ kind: 'ACCEPT', chain: 'PREROUTING', index: 1 });
    // From the bridge: DOCKER returns at once.
    expect(run(c, 'nat', 'PREROUTING', { dst: HOST, dstLocal: true, in: DOCKER0, dport: 8080 })).toMatchObject({ kind: 'ACCEPT', chain: 'PREROUTING', index: 1 });
    // Locally originated to the host's own address: OUTPUT has no -i, so `! -i docker0` matches.
    expect(run(c, 'nat', 'OUTPUT', { src: HOST, dst: HOST, srcLocal: true, dstLocal: true, dport: 8080 })).toMatchObject({ kind: 'DNAT', chain: 'DOCKER', index: 1 });
    expect(run(c, 'nat', 'OUTPUT', { dst: ip('127.0.0.1'), dstLocal: true, dport: 8080 })).toMatchObject({ kind: 'ACCEPT', chain: 'OUTPUT', index: 1 });
    const m = run(c, 'nat', 'POSTROUTING', { src: C2, dst: CLIENT, in: DOCKER0, out: ETH0 });
    expect(m).toMatchObject({ kind: 'MASQUERADE', chain: 'POSTROUTING', index: 0 });
    expect(wasm.nat(m.v)).toMatchObject({ addr: 0, hasPorts: false, random: false, flags: 0 });
    expect(run(c, 'nat', 'POSTROUTING', { src: C2, dst: C2 + 1, out: DOCKER0, dport: 443 })).toMatchObject({ kind: 'ACCEPT', chain: 'POSTROUTING', index: 2 });
    // Hairpin: the container to itself through the published port.
    expect(run(c, 'nat', 'POSTROUTING', { src: C2, dst: C2, out: DOCKER0, dport: 80 })).toMatchObject({ kind: 'MASQUERADE', chain: 'POSTROUTING', index: 1 });
  });

  it('interface patterns for links that do not exist match nothing; the caller recompiles when links change', () => {
    const rs = parseIptables(`*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -i cali+ -j DROP\n-A FORWARD ! -o vxlan.calico -j ACCEPT\nCOMMIT\n`);
    const before = compileRuleset(rs, ['eth0']);
    expect(run(before, 'filter', 'FORWARD', { in: 0, out: 0 })).toMatchObject({ kind: 'ACCEPT', index: 1 });
    // A link index the blob was not compiled for is treated as no interface.
    expect(run(before, 'filter', 'FORWARD', { in: 1, out: 1 })).toMatchObject({ kind: 'ACCEPT', index: 1 });
    const after = compileRuleset(rs, ['eth0', 'cali0123456789a', 'vxlan.calico']);
    expect(run(after, 'filter', 'FORWARD', { in: 1, out: 0 })).toMatchObject({ kind: 'DROP', index: 0 });
    expect(run(after, 'filter', 'FORWARD', { in: 0, out: 2 })).toMatchObject({ kind: 'ACCEPT', index: 2 });
  });
});

describe('compiled rules: Calico-like', () => {
  const links = ['eth0', 'tunl0', 'cali1234567890a', 'cali0000000000b'];
  const c = compileRuleset(parseIptables(CALICO_SAVE), links);
  const POD = ip('10.244.0.5');
  const OTHER = ip('10.244.1.9');

  it('dispatches on cali+ and the workload interface', () => {
    // To the pod on 8080 from the pool: accepted by its policy.
    expect(run(c, 'filter', 'FORWARD', { src: OTHER, dst: POD, in: 1, out: 2, dport: 8080 })).toMatchObject({ kind: 'ACCEPT', chain: 'cali-tw-cali1234567890a', index: 2 });
    // From outside the pool: dropped at the end of its policy.
    expect(run(c, 'filter', 'FORWARD', { src: ip('8.8.8.8'), dst: POD, in: 0, out: 2, dport: 8080 })).toMatchObject({ kind: 'DROP', chain: 'cali-tw-cali1234567890a', index: 3 });
    // To a cali interface with no policy chain: the dispatch chain's DROP.
    expect(run(c, 'filter', 'FORWARD', { src: OTHER, dst: POD, in: 1, out: 3, dport: 8080 })).toMatchObject({ kind: 'DROP', chain: 'cali-to-wl-dispatch', index: 1 });
    // From the pod: its chain returns, then cali-FORWARD's to-workload check does not apply, then -i cali+ ACCEPT.
    expect(run(c, 'filter', 'FORWARD', { src: POD, dst: ip('1.1.1.1'), in: 2, out: 0, proto: 17, dport: 53 })).toMatchObject({ kind: 'ACCEPT', chain: 'cali-fw-cali1234567890a', index: 2 });
    expect(run(c, 'filter', 'FORWARD', { src: POD, dst: ip('1.1.1.1'), in: 2, out: 0, dport: 443 })).toMatchObject({ kind: 'ACCEPT', chain: 'cali-FORWARD', index: 2 });
    expect(run(c, 'filter', 'FORWARD', { src: POD, in: 2, out: 0, ctstate: CT_STATE_BITS.INVALID })).toMatchObject({ kind: 'DROP', chain: 'cali-fw-cali1234567890a', index: 1 });
    // Neither side a workload: FORWARD's policy.
    expect(run(c, 'filter', 'FORWARD', { in: 0, out: 1 })).toMatchObject({ kind: 'ACCEPT', chain: 'FORWARD', index: 1 });
  });

  it('natOutgoing: MASQUERADE --random-fully leaving the pool, nothing inside it', () => {
    const m = run(c, 'nat', 'POSTROUTING', { src: POD, dst: ip('1.1.1.1'), out: 0 });
    expect(m).toMatchObject({ kind: 'MASQUERADE', chain: 'cali-nat-outgoing', index: 0 });
    expect(wasm.nat(m.v)).toMatchObject({ random: true, flags: NATF_RANDOM_FULLY, hasPorts: false });
    expect(run(c, 'nat', 'POSTROUTING', { src: POD, dst: OTHER, out: 1 })).toMatchObject({ kind: 'ACCEPT', chain: 'POSTROUTING', index: 1 });
  });
});

describe('compiled rules: mechanics', () => {
  it('NAT parameters: ranges, ports, random', () => {
    const c = compileRuleset(parseIptables(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING DROP [0:0]
-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1-10.0.0.4:5000-5010 --random
-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.1:1024-2047
-A POSTROUTING -p udp -j MASQUERADE --to-ports 20000-30000 --random
COMMIT
`), []);
    const d = run(c, 'nat', 'PREROUTING', { proto: 17 });
    expect(d.kind).toBe('DNAT');
    expect(wasm.nat(d.v)).toEqual({ addr: ip('10.0.0.1'), addrHi: ip('10.0.0.4'), hasPorts: true, portLo: 5000, portHi: 5010, random: true, flags: NATF_PORTS | NATF_RANDOM });
    const s = run(c, 'nat', 'POSTROUTING', { proto: 6 });
    expect(s.kind).toBe('SNAT');
    expect(wasm.nat(s.v)).toEqual({ addr: ip('192.168.0.1'), addrHi: ip('192.168.0.1'), hasPorts: true, portLo: 1024, portHi: 2047, random: false, flags: NATF_PORTS });
    const m = run(c, 'nat', 'POSTROUTING', { proto: 17 });
    expect(m.kind).toBe('MASQUERADE');
    expect(wasm.nat(m.v)).toMatchObject({ hasPorts: true, portLo: 20000, portHi: 30000, random: true });
    expect(run(c, 'nat', 'POSTROUTING', { proto: 1 })).toMatchObject({ kind: 'DROP', index: 2 });
  });

  it('RETURN in a builtin chain applies the policy; a jump past the depth limit drops', () => {
    const rs = parseIptables(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -j RETURN
-A INPUT -j ACCEPT
COMMIT
`);
    const c = compileRuleset(rs, []);
    expect(run(c, 'filter', 'INPUT', { proto: 6 })).toMatchObject({ kind: 'DROP', chain: 'INPUT', index: 2 });
    expect(run(c, 'filter', 'INPUT', { proto: 17 })).toMatchObject({ kind: 'ACCEPT', chain: 'INPUT', index: 1 });
    // 17 nested chains: the 17th jump is one too many.
    const deep = emptyRuleset();
    const names = Array.from({ length: 18 }, (_, i) => `C${i}`);
    for (const n of names) deep.tables.filter.chains.set(n, { name: n, builtin: false, rules: [] });
    deep.tables.filter.chains.get('FORWARD')!.rules.push({ target: { kind: 'JUMP', chain: 'C0' }, line: 0, text: '' });
    names.slice(0, -1).forEach((n, i) => deep.tables.filter.chains.get(n)!.rules.push({ target: { kind: 'JUMP', chain: names[i + 1] }, line: 0, text: '' }));
    deep.tables.filter.chains.get('C17')!.rules.push({ target: { kind: 'ACCEPT' }, line: 0, text: '' });
    deep.tables.filter.chains.get('C15')!.rules.unshift({ proto: 'udp', target: { kind: 'ACCEPT' }, line: 0, text: '' });
    const d = compileRuleset(deep, []);
    expect(run(d, 'filter', 'FORWARD', { proto: 6 })).toMatchObject({ kind: 'DROP', chain: 'C15', index: 1 });
    expect(run(d, 'filter', 'FORWARD', { proto: 17 })).toMatchObject({ kind: 'ACCEPT', chain: 'C15', index: 0 });
  });

  it('blob header and chain table', () => {
    const c = compileRuleset(parseIptables(DOCKER_SAVE), ['eth0', 'docker0']);
    const dv = new DataView(c.blob.buffer);
    expect(dv.getUint32(RS_MAGIC, true)).toBe(RULES_MAGIC);
    expect(dv.getUint32(RS_SIZE, true)).toBe(c.blob.length);
    expect(c.chainId('filter', 'FORWARD')).toBe(1);
    expect(c.chainId('nat', 'POSTROUTING')).toBe(6);
    expect(c.chainId('filter', 'DOCKER')).toBe(14);
    expect(c.chainId('nat', 'DOCKER')).toBe(18);
    const chains = dv.getUint32(RS_CHAINS, true);
    const fwd = chains + 1 * RC_SIZE;
    expect(dv.getUint32(fwd + 4, true)).toBe(6); // RC_COUNT
    expect(dv.getUint32(fwd + 8, true)).toBe(TGT_DROP); // RC_POLICY
    const first = dv.getUint32(fwd, true);
    expect(c.ruleAt(first)).toMatchObject({ table: 'filter', chain: 'FORWARD', index: 0 });
    expect(c.ruleAt(first + 6 * RU_SIZE)).toMatchObject({ table: 'filter', chain: 'FORWARD', index: 6 });
    expect(c.ruleAt(first + 6 * RU_SIZE)!.rule).toBeUndefined();
    expect(c.ruleAt(first + 1)).toBeUndefined();
    expect(TGT_ACCEPT).not.toBe(TGT_RETURN);
    expect(TGT_DNAT).toBeLessThan(TGT_MASQUERADE + 1);
    expect(c.ruleIndex('filter', 'FORWARD', 6)).toBe((first - dv.getUint32(RS_RULES, true)) / RU_SIZE + 6);
  });

  it('a user chain run directly returns RETURN when it falls off', () => {
    const c = compileRuleset(parseIptables(DOCKER_SAVE), ['eth0', 'docker0']);
    wasm.load(c);
    const v = wasm.run(c.chainId('filter', 'DOCKER-USER')!, { src: 0, dst: 0, sport: 0, dport: 0, proto: 6, ctstate: 1, in: 0, out: 1, srcLocal: false, dstLocal: false });
    expect(splitVerdict(v).kind).toBe(TGT_RETURN);
    expect(c.ruleAt(splitVerdict(v).offset)).toMatchObject({ chain: 'DOCKER-USER', index: 1 });
  });

  it('refuses IR with loops or jumps to missing chains', () => {
    const rs = emptyRuleset();
    rs.tables.filter.chains.set('A', { name: 'A', builtin: false, rules: [{ target: { kind: 'JUMP', chain: 'A' }, line: 0, text: '' }] });
    expect(() => compileRuleset(rs, [])).toThrow(RulesetError);
    rs.tables.filter.chains.get('A')!.rules = [{ target: { kind: 'JUMP', chain: 'B' }, line: 0, text: '' }];
    expect(() => compileRuleset(rs, [])).toThrow(/unknown chain or target "B"/);
  });
});

// ---------------------------------------------------------------------------
// Differential: compiled blob + data plane against the model.

const CHAINS: [TableName, string][] = [
  ['filter', 'INPUT'], ['filter', 'FORWARD'], ['filter', 'OUTPUT'],
  ['nat', 'PREROUTING'], ['nat', 'INPUT'], ['nat', 'OUTPUT'], ['nat', 'POSTROUTING'],
  ['raw', 'PREROUTING'], ['raw', 'OUTPUT'],
  ['mangle', 'PREROUTING'], ['mangle', 'INPUT'], ['mangle', 'FORWARD'], ['mangle', 'OUTPUT'], ['mangle', 'POSTROUTING'],
];

/** CS_* bits of an arbitrary connection's status. */
const CS = { SEEN_REPLY: 1, ASSURED: 2, SRC_NAT: 8, DST_NAT: 16, LIVE: 32 };

function toKeys(p: ArbPacket, now: number): PacketKeys {
  const link = (i: number) => (i < 0 ? PK_NO_LINK : i);
  let ctstate = CT_STATE_BITS[p.ctstate];
  if (p.conn && p.conn.status & CS.SRC_NAT) ctstate |= CT_STATE_BITS.SNAT;
  if (p.conn && p.conn.status & CS.DST_NAT) ctstate |= CT_STATE_BITS.DNAT;
  return { ...p, ctstate, in: link(p.in), out: link(p.out), now, conn: p.conn && { ...p.conn } };
}

function toModel(p: ArbPacket, now: number): ModelPacket {
  const name = (i: number) => (i < 0 || i >= LINKS.length ? null : LINKS[i]);
  const types = (t: [number, number, number]) => ({ any: ADDR_TYPES[t[0]], in: ADDR_TYPES[t[1]], out: ADDR_TYPES[t[2]] });
  const tuple = (t: [number, number, number]) => ({ src: t[0], dst: t[1], sport: t[2] >>> 16, dport: t[2] & 0xffff });
  const c = p.conn;
  return {
    ...p, in: name(p.in), out: name(p.out), now,
    srcType: types(p.srcType), dstType: types(p.dstType),
    rpf: { always: !!(p.rpf & 1), unicast: !!(p.rpf & 2), local: !!(p.rpf & 4), dev: !!(p.rpf & 8) },
    conn: c && {
      proto: c.proto, orig: tuple(c.orig), reply: tuple(c.reply), seenReply: !!(c.status & CS.SEEN_REPLY), assured: !!(c.status & CS.ASSURED),
      confirmed: !!(c.status & CS.LIVE), srcNat: !!(c.status & CS.SRC_NAT), dstNat: !!(c.status & CS.DST_NAT), timeout: c.timeout, mark: c.mark,
    },
  };
}

/** A model environment that keeps state across packets, over the arbitraries' sets, with the engine's random numbers. */
function modelEnv(seed: number): ModelEnv {
  const state = new Map<unknown, RuleState>();
  let x = seed;
  return {
    state: (r) => {
      let s = state.get(r);
      if (!s) state.set(r, (s = initialState(typeof r === 'string' ? undefined : r)));
      return s;
    },
    inSet: (name, dirs, p) => modelInSet(SETS, name, dirs, p),
    random: () => {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      return x;
    },
  };
}

let cases = 0;
/** What the differential runs reached: verdict kinds, drops by the depth limit, marks set, logs. */
const seen = new Map<string, number>();
const bump = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
const SEED = 0x2545f491;
let setsLoaded = false;

/**
 * Runs every packet through every chain on both, in order (state carries
 * over: counters, limits, nth counts, random numbers): same verdict, same
 * deciding rule, same mark, NOTRACK, LOG and connection mark; then the same
 * counters on every rule.
 */
function compare(rs: Ruleset, packets: ArbPacket[], chains: [TableName, string][] = CHAINS): void {
  if (!setsLoaded) {
    const names = [...SETS.keys()];
    wasm.loadSets(compileIpsets(SETS, (n) => names.indexOf(n), names.length));
    setsLoaded = true;
  }
  const names = [...SETS.keys()];
  const c = compileRuleset(rs, LINKS, (n) => names.indexOf(n));
  wasm.load(c, SEED);
  const env = modelEnv(SEED);
  const places = new Map(c.places.map((p, k) => [p, k]));
  let now = 0;
  for (const p of packets) {
    now += p.gap;
    for (const [table, chain] of chains) {
      const mp = toModel(p, now);
      const connView = mp.conn;
      const want = modelRun(rs, table, chain, mp, env);
      const got = wasm.runFull(CHAIN_IDS[table][chain], toKeys(p, now));
      const { kind, offset } = splitVerdict(got.verdict);
      const at = c.ruleAt(offset);
      const verdict = { kind: TARGET_NAMES[kind], chain: at?.chain, index: at?.index };
      cases++;
      const r = rs.tables[table].chains.get(want.chain)!.rules[want.index];
      bump(want.kind === 'DROP' && r?.target.kind === 'JUMP' ? 'DEPTH' : `${want.kind}${r ? '' : '-policy'}`);
      if ((mp.mark ?? 0) !== p.mark) bump('mark-set');
      if (mp.logs) bump('logged');
      if (mp.untracked) bump('notrack');
      const where = `${table}/${chain} for ${JSON.stringify(p)} at ${now}`;
      if (verdict.kind !== want.kind || verdict.chain !== want.chain || verdict.index !== want.index || at?.table !== table) {
        throw new Error(`${where}: engine ${JSON.stringify(verdict)}, model ${JSON.stringify(want)}\n${formatRuleset(rs)}\npackets ${JSON.stringify(packets)}`);
      }
      if (got.mark !== (mp.mark ?? 0) >>> 0 || got.notrack !== !!mp.untracked || got.logs !== (mp.logs ?? 0) || got.connMark !== connView?.mark) {
        const g = { mark: got.mark, notrack: got.notrack, logs: got.logs, connMark: got.connMark };
        const w = { mark: (mp.mark ?? 0) >>> 0, notrack: !!mp.untracked, logs: mp.logs ?? 0, connMark: connView?.mark };
        throw new Error(`${where}: engine did ${JSON.stringify(g)}, model ${JSON.stringify(w)}\n${formatRuleset(rs)}`);
      }
    }
  }
  for (const [p, k] of places) {
    const chain = rs.tables[p.table].chains.get(p.chain)!;
    if (!p.rule && !chain.builtin) continue; // a user chain's end counts in the engine only
    const s = env.state(p.rule ?? `${p.table} ${p.chain}`);
    const got = wasm.counters(k);
    if (got.packets !== s.packets || got.bytes !== s.bytes) {
      throw new Error(`counters of ${p.table}/${p.chain} #${p.index}: engine ${JSON.stringify(got)}, model ${s.packets}:${s.bytes}\n${formatRuleset(rs)}`);
    }
  }
}

describe('differential: data plane vs model', () => {
  it('random rulesets and packets agree on the verdict and the deciding rule', () => {
    cases = 0;
    seen.clear();
    fc.assert(
      fc.property(arbRuleset(), fc.array(arbPacket, { minLength: 1, maxLength: 12 }), (rs, packets) => compare(rs, packets)),
      { numRuns: 300 },
    );
    expect(cases).toBeGreaterThan(20000);
    for (const k of ['ACCEPT', 'DROP', 'DNAT', 'SNAT', 'MASQUERADE', 'REJECT', 'ACCEPT-policy', 'DROP-policy', 'mark-set', 'logged', 'notrack']) expect(seen.get(k) ?? 0, k).toBeGreaterThan(100);
    console.log(`rules differential: ${cases} cases`, Object.fromEntries(seen));
  });

  it('bigger rulesets', () => {
    fc.assert(
      fc.property(arbRuleset({ maxUser: 10, maxRules: 20 }), fc.array(arbPacket, { minLength: 10, maxLength: 40 }), (rs, packets) => compare(rs, packets)),
      { numRuns: 60 },
    );
  });

  it('deep jump ladders, past the depth limit', () => {
    seen.clear();
    fc.assert(
      fc.property(arbLadder(), fc.array(arbPacket, { minLength: 1, maxLength: 12 }), (rs, packets) => compare(rs, packets, [['filter', 'FORWARD']])),
      { numRuns: 250 },
    );
    expect(seen.get('DEPTH') ?? 0).toBeGreaterThan(100);
    console.log('rules ladder:', Object.fromEntries(seen));
  });

  it('the real rule sets over random packets', () => {
    const docker = parseIptables(DOCKER_SAVE);
    const calico = parseIptables(CALICO_SAVE);
    fc.assert(
      fc.property(fc.array(arbPacket, { minLength: 1, maxLength: 20 }), (packets) => {
        compare(docker, packets);
        compare(calico, packets);
      }),
      { numRuns: 300 },
    );
  });
});
