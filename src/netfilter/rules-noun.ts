// The host's `rules` noun (iptables-restore in, iptables-save out, compiled
// into the data plane with the per-rule state it keeps: counters, limits)
// and its `ipset` noun (ipset restore in, ipset save out, a lookup blob the
// rules' -m set reads).
import * as L from '../engine/layout.gen.js';
import { compileRuleset, user2credits, type CompiledRuleset } from './compile.js';
import { formatRule, formatRuleset, noRuleset, parseIptables, type Counters, type Rule, type Ruleset, type TableName } from './iptables.js';
import { compileIpsets, formatIpsets, parseIpsets, SET_DIMS, type Ipsets, type IpsetType } from './ipset.js';
import type { ConntrackNoun, NetfilterHost } from './nouns.js';

/** -m statistic's random numbers start here unless told otherwise (xorshift32 needs a non-zero state). */
const DEFAULT_SEED = 0x2545f491;

interface Region {
  ptr: number;
  size: number;
}

export class IpsetNoun {
  private sets: Ipsets = new Map();
  /** Set index by name: indexes never change, so compiled rules stay valid as sets come and go. */
  private readonly index = new Map<string, number>();
  private blob?: Region;
  /** Whether rules refer to a set (such a set cannot be destroyed). */
  inUse: (name: string) => boolean = () => false;

  constructor(private readonly host: NetfilterHost, private readonly conntrack: ConntrackNoun) {}

  /**
   * Applies `ipset save` output (or an `ipset restore` script: create, add,
   * del, flush, destroy, swap) of hash:ip, hash:net, hash:ip,port and
   * list:set sets. A set it creates that exists is replaced by the new one.
   * A line it cannot take is an error naming the line; the sets stay.
   */
  load(text: string): void {
    if (typeof text !== 'string') throw new Error(`ipset load: the sets must be ipset save text, got ${JSON.stringify(text) ?? String(text)}`);
    const sets = parseIpsets(text, this.sets, (n) => this.inUse(n));
    for (const name of sets.keys()) if (!this.index.has(name)) this.index.set(name, this.index.size);
    this.sets = sets;
    this.publish();
  }

  /** The sets as `ipset save` prints them. */
  save(): string {
    return formatIpsets(this.sets);
  }

  /** The sets: name, type and members as ipset save prints them. */
  list(): { name: string; type: IpsetType; members: string[] }[] {
    return [...this.sets.values()].map((s) => ({ name: s.name, type: s.type, members: [...s.members.keys()] }));
  }

  /** ipset destroy NAME. */
  destroy(name: string): void {
    this.load(`destroy ${name}`);
  }

  has(name: string): boolean {
    return this.sets.has(name);
  }

  /** The data plane's index of a set (rules are compiled with it). */
  indexOf(name: string): number | undefined {
    return this.index.get(name);
  }

  dims(name: string): number | undefined {
    const s = this.sets.get(name);
    return s && SET_DIMS[s.type];
  }

  /** The blob's address, once netfilter exists on the host (0 before any set). */
  get ptr(): number {
    return this.blob?.ptr ?? 0;
  }

  /** A new blob, then the pointer the data plane reads, then the old one goes. */
  private publish(): void {
    const e = this.host.engine;
    const bytes = compileIpsets(this.sets, (n) => this.index.get(n), this.index.size);
    const ptr = e.alloc(bytes.length);
    e.u8.set(bytes, ptr);
    if (this.conntrack.enabled) e.dv.setUint32(this.conntrack.region() + L.CT_SETS, ptr, true);
    if (this.blob) e.arena.release(this.blob.ptr, this.blob.size);
    this.blob = { ptr, size: bytes.length };
  }
}

export class RulesNoun {
  private ruleset: Ruleset = noRuleset();
  private compiled?: CompiledRuleset;
  private blob?: Region;
  private state?: Region;
  private compiledFor = '';
  private seed = DEFAULT_SEED;

  constructor(private readonly host: NetfilterHost, private readonly conntrack: ConntrackNoun, private readonly ipset: IpsetNoun) {
    ipset.inUse = (name) => this.refersTo(name);
    conntrack.onCreate = (ct) => {
      const dv = host.engine.dv;
      dv.setUint32(ct + L.CT_RNG, this.seed, true);
      dv.setUint32(ct + L.CT_SETS, ipset.ptr, true);
    };
  }

  /**
   * Loads `iptables-save` text (this subset) as iptables-restore does: the
   * tables it names replace theirs, the others stay; with `noflush` (as
   * --noflush) the tables it names keep their rules and its lines apply on
   * top. Counters given (`[packets:bytes]`) are taken. A line it cannot take
   * is an error naming the line, and the rules in force stay as they were.
   */
  load(text: string, opts: { noflush?: boolean } = {}): void {
    if (typeof text !== 'string') throw new Error(`rules load: the rules must be iptables-save text, got ${JSON.stringify(text) ?? String(text)}`);
    if (opts === null || typeof opts !== 'object') throw new Error(`rules load: the options must be an object ({ noflush?: boolean }), got ${JSON.stringify(opts) ?? String(opts)}`);
    const rs = parseIptables(text, { base: this.ruleset, noflush: opts.noflush === true, sets: (n) => this.ipset.has(n) });
    if (rs === this.ruleset) return;
    this.install(rs, opts.noflush === true);
  }

  /**
   * The rules in force, as `iptables-save` prints them, with the counters
   * the data plane kept; `{ counters: true }` prints each rule's too, as
   * `iptables-save -c`.
   */
  save(opts: { counters?: boolean } = {}): string {
    return formatRuleset(this.ruleset, { counters: (t, c, i) => this.counters(t, c, i), ruleCounters: opts.counters === true });
  }

  /** The counters of rule i of a chain (i = its rule count: the policy's). */
  counters(table: TableName, chain: string, i: number): Counters | undefined {
    const k = this.compiled?.ruleIndex(table, chain, i);
    if (k === undefined || !this.state) return undefined;
    const dv = this.host.engine.dv;
    const at = this.state.ptr + k * L.RST_SIZE;
    return { packets: Number(dv.getBigUint64(at + L.RST_PACKETS, true)), bytes: Number(dv.getBigUint64(at + L.RST_BYTES, true)) };
  }

  /**
   * Where a verdict's deciding rule (its offset in the compiled rules) is:
   * its table, chain and index, and the rule as iptables-save writes it
   * (no text for a chain's policy or end). For traces.
   */
  ruleAt(offset: number): { table: TableName; chain: string; index: number; text?: string } | undefined {
    const p = this.compiled?.ruleAt(offset);
    if (!p) return undefined;
    return { table: p.table, chain: p.chain, index: p.index, ...(p.rule ? { text: formatRule(p.chain, p.rule) } : {}) };
  }

  /** The seed of -m statistic --mode random's numbers (the same seed, the same picks). */
  get randomSeed(): number {
    return this.seed;
  }

  set randomSeed(n: number) {
    if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) throw new Error(`rules: randomSeed must be 1..${0xffffffff}, got ${n}`);
    this.seed = n;
    if (this.conntrack.enabled) this.host.engine.dv.setUint32(this.conntrack.region() + L.CT_RNG, n, true);
  }

  /** Recompiles when the links changed (interface patterns are per link). */
  refresh(): void {
    if (!this.blob) return;
    const names = this.host.linkNames().join('\0');
    if (names !== this.compiledFor) this.install(this.ruleset, true);
  }

  /** Whether a rule in force names set `name`. */
  refersTo(name: string): boolean {
    for (const t of Object.values(this.ruleset.tables)) {
      for (const c of t.chains.values()) for (const r of c.rules) if ((r.matches ?? []).some((m) => m.m === 'set' && m.name === name)) return true;
    }
    return false;
  }

  /**
   * Compiles and publishes rs with its per-rule state: a rule kept from the
   * rules in force keeps its state; a new one starts from the counters it
   * was loaded with. A policy keeps its counters when its table was not
   * replaced (or with keep, as --noflush and recompiles do), unless the text
   * gave some.
   */
  private install(rs: Ruleset, keep: boolean): void {
    const h = this.host;
    const e = h.engine;
    const names = h.linkNames();
    const compiled = compileRuleset(rs, names, (n) => this.ipset.indexOf(n) ?? 0);
    const state = new Uint8Array(compiled.nrules * L.RST_SIZE);
    const sdv = new DataView(state.buffer);
    const old = this.snapshot();
    compiled.places.forEach((p, k) => {
      const at = k * L.RST_SIZE;
      let kept: Uint8Array | undefined;
      let given: Counters | undefined;
      if (p.rule) {
        kept = old.rules.get(p.rule);
        given = p.rule.counters;
      } else {
        const untouched = rs.tables[p.table] === this.ruleset.tables[p.table];
        given = untouched ? undefined : rs.tables[p.table].chains.get(p.chain)!.counters;
        if (!given && (untouched || keep)) kept = old.policies.get(`${p.table}\0${p.chain}`);
      }
      if (kept) {
        state.set(kept, at);
        return;
      }
      if (given) {
        sdv.setBigUint64(at + L.RST_PACKETS, BigInt(given.packets), true);
        sdv.setBigUint64(at + L.RST_BYTES, BigInt(given.bytes), true);
      }
      if (p.rule) initMatchState(p.rule, sdv, at);
    });
    const ct = this.conntrack.region();
    const blobPtr = e.alloc(compiled.blob.length);
    e.u8.set(compiled.blob, blobPtr);
    const statePtr = e.alloc(state.length);
    e.u8.set(state, statePtr);
    // The state first, then the rules that index it.
    e.dv.setUint32(ct + L.CT_RSTATE, statePtr, true);
    e.dv.setUint32(ct + L.CT_RULES, blobPtr, true);
    if (this.blob) e.arena.release(this.blob.ptr, this.blob.size);
    if (this.state) e.arena.release(this.state.ptr, this.state.size);
    this.blob = { ptr: blobPtr, size: compiled.blob.length };
    this.state = { ptr: statePtr, size: state.length };
    this.compiled = compiled;
    this.ruleset = rs;
    this.compiledFor = names.join('\0');
  }

  /** The data plane's per-rule state now, by rule (and by chain for the policies). */
  private snapshot(): { rules: Map<Rule, Uint8Array>; policies: Map<string, Uint8Array> } {
    const rules = new Map<Rule, Uint8Array>();
    const policies = new Map<string, Uint8Array>();
    if (!this.compiled || !this.state) return { rules, policies };
    const u8 = this.host.engine.u8;
    this.compiled.places.forEach((p, k) => {
      const bytes = u8.slice(this.state!.ptr + k * L.RST_SIZE, this.state!.ptr + (k + 1) * L.RST_SIZE);
      if (p.rule) rules.set(p.rule, bytes);
      else policies.set(`${p.table}\0${p.chain}`, bytes);
    });
    return { rules, policies };
  }
}

/** A new rule's -m limit starts with full credit (xt_limit's checkentry); -m statistic --mode nth at --packet. */
function initMatchState(r: Rule, dv: DataView, at: number): void {
  for (const m of r.matches ?? []) {
    if (m.m === 'limit') dv.setUint32(at + L.RST_CREDIT, user2credits((m.avg * m.burst) >>> 0), true);
    if (m.m === 'statistic' && m.mode === 'nth') dv.setUint32(at + L.RST_NTH, m.packet, true);
  }
}
