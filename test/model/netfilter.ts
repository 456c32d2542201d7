// The reference model of netfilter for one host: connection tracking
// (nf_conntrack), NAT (nf_nat) and the filter/nat hooks, written to be read
// beside net/netfilter rather than to be fast. Connections are plain objects
// in a Map keyed by tuple strings; the rules are evaluated by ./iptables.ts
// straight over the IR of src/netfilter/iptables.ts.
//
// Where podnet's engine (assembly/stages/netfilter.ts) makes a choice Linux
// leaves open (the pseudo-random start of the NAT port search, which
// connection a full table evicts, a garbage collector that visits 2
// connections for each new one, slot reuse), the model makes the same choice, so
// that both can be compared packet for packet. Where the engine departs from
// Linux, the model follows Linux unless the departure is listed in `Quirks`
// (each quirk is one `if` below, named after the engine's behaviour; the
// differential tests turn them on, and the tests of the bugs turn them off).
//
// Simplifications the model shares with the engine, on purpose: no
// reassembly (every fragment is untracked, INVALID, and rules read no ports
// from any fragment); TCP without window tracking and without what
// nf_conntrack_tcp_packet does around the state table (see
// assembly/tables/conntrack-tcp.ts); a NAT range's first address only;
// packets the host sends to itself go from OUTPUT straight to INPUT (no
// POSTROUTING on a loopback); nat INPUT heeds SNAT only. ModelHost has no
// IPIP links, so the tunnel's outer packets are not modelled.
import {
  BUILTIN_CHAINS, formatRuleset, parseIptables, noRuleset, type AddrType, type Counters, type CtState, type Rule, type Ruleset, type TableName,
} from '../../src/netfilter/iptables.js';
import { TCP_STATE_NAMES } from '../../src/netfilter/tcp-states.js';
import * as tcpct from './conntrack-tcp.js';
import type { ModelHost } from './host.js';
import { initialState, modelRun, type ModelPacket, type RuleState } from './iptables.js';
import type { Link } from './links.js';
import {
  IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, checksum, formatIPv4, get16, get32, l4Checksum, parseIPv4, put16, put32,
} from './wire.js';
import { icmpError, tcpReset } from './icmp.js';
import { modelInSet } from './ipset.js';
import { REJECT_WITH, type RejectWith } from '../../src/netfilter/ir.js';

// ------------------------------------------------------------------ constants

/** Default timeouts (nf_conntrack_proto_*.c), ms. */
export const UDP_TIMEOUT_MS = 30_000;
export const UDP_STREAM_TIMEOUT_MS = 120_000;
/** A UDP flow that has seen a reply and is this old is a stream (ASSURED). */
export const UDP_STREAM_AFTER_MS = 2_000;
export const ICMP_TIMEOUT_MS = 30_000;
export const GENERIC_TIMEOUT_MS = 600_000;
/** nf_conntrack_max's default on a big machine. */
export const DEFAULT_MAX = 262_144;
/** The engine's table starts with room for this many and doubles between batches. */
const INITIAL_CAP = 1024;
/** The garbage collector looks at this many slots per new connection (gc_worker's budget). */
const GC_PER_NEW = 2;
/** early_drop looks at this many slots for one that is not ASSURED. */
const EVICT_SCAN = 64;

const ICMP_ECHOREPLY = 0;
const ICMP_ECHO = 8;
/** invmap of nf_conntrack_proto_icmp.c: each query type and its reply (echo, timestamp, info, address mask). */
const ICMP_INVMAP: Record<number, number> = { [ICMP_ECHO]: ICMP_ECHOREPLY, [ICMP_ECHOREPLY]: ICMP_ECHO, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };
/** The requests icmp_new lets start a connection. */
const ICMP_QUERIES = new Set([ICMP_ECHO, 13, 15, 17]);
/** icmp_is_err: destination unreachable, source quench, redirect, time exceeded, parameter problem. */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

// --------------------------------------------------------------------- quirks

/**
 * Behaviours of the engine that differ from Linux, reproduced on request.
 * Each is described in the final report of the tests (test/nat.test.ts) with a
 * reproducer; when the engine is fixed, the quirk goes.
 */
export interface Quirks {
  /**
   * The engine marks ICMP and other non-TCP/UDP connections ASSURED once they
   * see a reply; Linux's nf_conntrack_icmp_packet and generic_packet never set
   * IPS_ASSURED (such connections stay evictable by early_drop).
   */
  assureOnReply?: boolean;
  /**
   * nf_nat_icmp_reply_translation restores the quoted packet through
   * l4proto_manip_pkt, which updates the quoted TCP/UDP checksum (and an
   * echo's ICMP checksum) for the address and port it puts back. The engine
   * restores addresses and ports but leaves the quoted L4 checksum stale.
   */
  staleQuotedChecksum?: boolean;
  /**
   * nf_nat_setup_info sets IPS_SRC_NAT / IPS_DST_NAT only when the mapping
   * changes the tuple; the engine sets them for every SNAT/MASQUERADE/DNAT
   * verdict, identity mappings (MASQUERADE of the host's own address, port
   * kept) included.
   */
  natFlagsWhenUnchanged?: boolean;
  /**
   * A first packet no SNAT rule maps still gets a SRC manip in Linux, the
   * null binding (nf_nat_alloc_null_binding): when its reply tuple is taken,
   * get_unique_tuple moves its source port. The engine has none: the
   * connection enters the table with a reply tuple another one holds.
   */
  noNullBinding?: boolean;
  /**
   * Without --to-ports, Linux keeps the source port whenever the new tuple
   * is unique; the engine keeps it only when it lies in its own class's
   * search range (so 0 and 512-599 are always moved).
   */
  keepOnlyInClass?: boolean;
  /**
   * udp_error and tcp_error make a packet INVALID when its header is cut
   * short or says it is longer than it is (UDP length field; TCP data
   * offset), at every hook. The engine reads the ports and carries on.
   */
  lenientHeaders?: boolean;
}

/** The engine's departures from Linux that the differential tests accept (and report). */
export const ENGINE_QUIRKS: Quirks = {};

// --------------------------------------------------------------------- tuples

/**
 * One direction of a connection, as nf_conntrack_tuple holds it: addresses
 * and, for TCP/UDP, ports; for ICMP the echo identifier stands where the
 * source port is (src.u.icmp.id) and type << 8 | code where the destination
 * port is (dst.u.icmp.type, .code); other protocols have neither (0).
 */
export interface Tuple {
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

export function tupleKey(proto: number, t: Tuple): string {
  return `${proto} ${formatIPv4(t.src)}:${t.sport} > ${formatIPv4(t.dst)}:${t.dport}`;
}

/** The 32 bits the engine keeps for a tuple's ports (it hashes and compares them whole). */
function portsWord(t: Tuple): number {
  return ((t.sport << 16) | t.dport) >>> 0;
}

const ihlOf = (ip: Uint8Array): number => (ip[0] & 0x0f) * 4;
const isFragment = (ip: Uint8Array): boolean => (get16(ip, 6) & 0x3fff) !== 0;
const isLaterFragment = (ip: Uint8Array): boolean => (get16(ip, 6) & 0x1fff) !== 0;

/** The tuple of an IPv4 packet (nf_ct_get_tuple), or undefined when its L4 header is too short to have one. */
function tupleOf(ip: Uint8Array): Tuple | undefined {
  const ihl = ihlOf(ip);
  const n = ip.length;
  const t: Tuple = { src: get32(ip, 12), dst: get32(ip, 16), sport: 0, dport: 0 };
  const proto = ip[9];
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    if (n < ihl + 4) return undefined;
    t.sport = get16(ip, ihl);
    t.dport = get16(ip, ihl + 2);
  } else if (proto === IPPROTO_ICMP) {
    if (n < ihl + 8) return undefined;
    t.sport = get16(ip, ihl + 4); // identifier
    t.dport = get16(ip, ihl); // type << 8 | code
  }
  return t;
}

/**
 * nf_ct_invert_tuple: addresses swapped; TCP/UDP ports swapped; an ICMP
 * query becomes its reply (invmap), id and code kept.
 * Undefined when ICMP has no inverse (no such query).
 */
function invert(proto: number, t: Tuple): Tuple | undefined {
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return { src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
  if (proto === IPPROTO_ICMP) {
    const type = t.dport >> 8;
    const code = t.dport & 0xff;
    const inv = ICMP_INVMAP[type] ?? -1;
    if (inv < 0) return undefined;
    return { src: t.dst, dst: t.src, sport: t.sport, dport: (inv << 8) | code };
  }
  return { src: t.dst, dst: t.src, sport: 0, dport: 0 };
}

// ----------------------------------------------------------------- checksums

/** RFC 1624 eqn. 3: the checksum after a 16-bit word changes from `old` to `now`. */
export function csumReplace16(check: number, old: number, now: number): number {
  let s = (~check & 0xffff) + (~old & 0xffff) + (now & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** The same for a 32-bit field (an address), high word first. */
export function csumReplace32(check: number, old: number, now: number): number {
  return csumReplace16(csumReplace16(check, old >>> 16, now >>> 16), old & 0xffff, now & 0xffff);
}

/** udp_error / tcp_error: whether the L4 header is whole and agrees with the packet's length. */
function l4HeaderSane(ip: Uint8Array): boolean {
  const seg = ip.subarray(ihlOf(ip));
  if (ip[9] === IPPROTO_UDP) return seg.length >= 8 && get16(seg, 4) >= 8 && get16(seg, 4) <= seg.length;
  if (ip[9] === IPPROTO_TCP) return seg.length >= 20 && (seg[12] >> 4) * 4 >= 20 && (seg[12] >> 4) * 4 <= seg.length;
  return true;
}

/** nf_conntrack_checksum at PREROUTING: whether the L4 checksum is wrong. */
function l4ChecksumBad(ip: Uint8Array): boolean {
  const ihl = ihlOf(ip);
  const seg = ip.subarray(ihl);
  const proto = ip[9];
  if (proto === IPPROTO_ICMP) return checksum(seg) !== 0;
  if (proto === IPPROTO_UDP) {
    if (seg.length < 8 || get16(seg, 6) === 0) return false; // no checksum
    return l4Checksum(get32(ip, 12), get32(ip, 16), proto, seg) !== 0;
  }
  if (proto === IPPROTO_TCP) {
    if (seg.length < 20) return true;
    return l4Checksum(get32(ip, 12), get32(ip, 16), proto, seg) !== 0;
  }
  return false;
}

// ---------------------------------------------------------------- connections

export interface Conn {
  /** The engine's slot for it (the order `conntrack -L` lists in, and early_drop's scan). */
  slot: number;
  proto: number;
  orig: Tuple;
  reply: Tuple;
  /** TCP: the tcp_conntracks state. */
  tcp: number;
  /** Absolute time (ms) it expires at. */
  timeout: number;
  start: number;
  packets: number;
  seenReply: boolean;
  assured: boolean;
  srcNat: boolean;
  dstNat: boolean;
  /** ct->mark (CONNMARK). */
  mark: number;
  /** In the table (confirmed); before, only the packet that created it knows it. */
  confirmed: boolean;
  /** Creation order (Linux's bysource chains put the newest first). */
  seq: number;
}

/** The packet in hand: its connection, the direction it goes, its state for the rules. */
interface PacketCt {
  conn?: Conn;
  dir: 0 | 1;
  state: CtState;
}

export interface SavedNf {
  pending?: Conn;
  pkt: PacketCt;
  mark: number;
  untracked: boolean;
  attached: boolean;
}

const freshState = initialState;

// The shapes conntrack.list() and flush() take and give, the engine's own.
export type { ConnTuple, ConnInfo, ConnFilter } from '../../src/netfilter/nouns.js';
import type { ConnTuple, ConnInfo, ConnFilter } from '../../src/netfilter/nouns.js';

const PROTO_NAMES: Record<number, 'tcp' | 'udp' | 'icmp'> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

type NatTarget = Extract<Rule['target'], { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' }>;

/** Where SNAT may put the source: one address (the first of a rule's range, as the engine takes it), ports lo..hi (0: none given). */
interface SnatRange {
  addr: number;
  lo: number;
  hi: number;
  random: boolean;
}

function snatRange(addr: number, t: NatTarget): SnatRange {
  const lo = t.portLo ?? 0;
  return { addr, lo, hi: t.portHi ?? lo, random: t.kind !== 'DNAT' ? !!t.random || !!t.randomFully : !!t.random };
}

// ------------------------------------------------------------------- the model

export class ModelNetfilter {
  /** Rules loaded: until then a host has no netfilter at all. */
  active = false;
  ruleset: Ruleset = noRuleset();
  quirks: Quirks;

  // The table. Slots are the engine's connection array: a deleted
  // connection's slot goes on a free list (last freed, first reused).
  private slots: (Conn | undefined)[] = [];
  private free: number[] = [];
  private cap = 0;
  private maxConns = DEFAULT_MAX;
  private gcAt = 0;
  /** Confirmed connections by both their tuples. Several under one key only after a clash (see clashes). */
  private readonly byTuple = new Map<string, { conn: Conn; dir: 0 | 1 }[]>();
  /** Tuples already in the table when a connection holding them was confirmed (Linux refuses those connections). */
  readonly clashes: string[] = [];
  count = 0;
  private created = 0;

  /** The connection the packet in hand created, not yet confirmed. */
  private pending?: Conn;
  private pkt: PacketCt = { dir: 0, state: 'INVALID' };
  /** skb->mark of the packet in hand. */
  private mark = 0;
  /** A NOTRACK target made the packet in hand untracked. */
  private untracked = false;
  /** The packet in hand carries the connection of the packet it answers (nf_ct_attach): conntrack leaves it be. */
  private attached = false;
  /** Per-rule state (counters, -m limit, -m statistic nth), by rule; a policy's by `table chain`. */
  private ruleState = new Map<Rule | string, RuleState>();
  /** -m statistic --mode random's xorshift32 state. */
  randomSeed = 0x2545f491;
  private rng = 0x2545f491;

  constructor(private readonly h: ModelHost, quirks: Quirks = {}) {
    this.quirks = quirks;
  }

  // ------------------------------------------------------------ control API

  /**
   * rules.load: iptables-restore of iptables-save text of the subset; a bad
   * line throws and changes nothing. A rule kept keeps its state; a new one
   * starts from the counters it was given; a policy keeps its counters unless
   * its table was replaced (not with noflush) or the text gave some.
   */
  load(text: string, opts: { noflush?: boolean } = {}): void {
    const rs = parseIptables(text, { base: this.ruleset, noflush: opts.noflush === true, sets: (n) => this.h.ipsets.has(n) });
    if (rs === this.ruleset) return;
    const old = this.ruleState;
    this.ruleState = new Map();
    for (const table of Object.keys(rs.tables) as TableName[]) {
      const untouched = rs.tables[table] === this.ruleset.tables[table];
      for (const c of rs.tables[table].chains.values()) {
        for (const r of c.rules) {
          const kept = old.get(r);
          this.ruleState.set(r, kept ?? freshState(r, r.counters));
        }
        if (!c.builtin) continue;
        const key = `${table} ${c.name}`;
        const given = untouched ? undefined : c.counters;
        const kept = !given && (untouched || opts.noflush) ? old.get(key) : undefined;
        this.ruleState.set(key, kept ?? freshState(undefined, given));
      }
    }
    this.ruleset = rs;
    if (!this.active) {
      this.active = true;
      this.cap = Math.min(INITIAL_CAP, this.maxConns);
    }
  }

  /** rules.save: iptables-save of the rules in force, with the counters kept (each rule's too with counters). */
  saveRules(opts: { counters?: boolean } = {}): string {
    return formatRuleset(this.ruleset, {
      ruleCounters: opts.counters === true,
      counters: (t, c, i) => {
        const chain = this.ruleset.tables[t].chains.get(c)!;
        const s = i === chain.rules.length ? this.ruleState.get(`${t} ${c}`) : this.ruleState.get(chain.rules[i]);
        return s ? { packets: s.packets, bytes: s.bytes } : undefined;
      },
    });
  }

  /** Whether a rule in force names set `name` (such a set cannot be destroyed). */
  refersTo(name: string): boolean {
    for (const t of Object.values(this.ruleset.tables)) {
      for (const c of t.chains.values()) for (const r of c.rules) if ((r.matches ?? []).some((m) => m.m === 'set' && m.name === name)) return true;
    }
    return false;
  }

  setRandomSeed(n: number): void {
    this.randomSeed = n;
    this.rng = n;
  }

  get max(): number {
    return this.maxConns;
  }

  set max(n: number) {
    if (!Number.isInteger(n) || n < 1 || n > 1 << 22) throw new Error(`conntrack: max must be 1..${1 << 22}, got ${n}`);
    this.maxConns = n;
  }

  /** Like `conntrack -L`: the live connections in slot order, expired ones hidden. */
  list(now = 0): ConnInfo[] {
    const out: ConnInfo[] = [];
    for (const c of this.slots) {
      if (!c || !c.confirmed) continue;
      const left = c.timeout - now;
      if (left <= 0) continue;
      out.push(this.info(c, left));
    }
    return out;
  }

  /** conntrack -D: deletes the connections the filter matches (all, without one); returns how many. */
  flush(filter: ConnFilter = {}): number {
    const want = {
      proto: filter.proto === undefined ? undefined : ({ icmp: 1, tcp: 6, udp: 17 } as const)[filter.proto],
      src: filter.src === undefined ? undefined : parseIPv4(filter.src),
      dst: filter.dst === undefined ? undefined : parseIPv4(filter.dst),
      replySrc: filter.replySrc === undefined ? undefined : parseIPv4(filter.replySrc),
      replyDst: filter.replyDst === undefined ? undefined : parseIPv4(filter.replyDst),
    };
    if (filter.proto !== undefined && want.proto === undefined) throw new Error(`conntrack flush: unknown protocol "${filter.proto}"`);
    let n = 0;
    for (const c of [...this.slots]) {
      if (!c || !c.confirmed) continue;
      const ports = c.proto === IPPROTO_TCP || c.proto === IPPROTO_UDP;
      if (want.proto !== undefined && c.proto !== want.proto) continue;
      if (want.src !== undefined && c.orig.src !== want.src) continue;
      if (want.dst !== undefined && c.orig.dst !== want.dst) continue;
      if (filter.sport !== undefined && (!ports || c.orig.sport !== filter.sport)) continue;
      if (filter.dport !== undefined && (!ports || c.orig.dport !== filter.dport)) continue;
      if (want.replySrc !== undefined && c.reply.src !== want.replySrc) continue;
      if (want.replyDst !== undefined && c.reply.dst !== want.replyDst) continue;
      this.forget(c);
      n++;
    }
    return n;
  }

  /** Slots ever handed out (the engine's CT_USED). */
  get usedSlots(): number {
    return this.slots.length;
  }

  /** Every connection in the table, confirmed ones only (for property tests). */
  connections(): Conn[] {
    return this.slots.filter((c): c is Conn => !!c && c.confirmed);
  }

  private info(c: Conn, left: number): ConnInfo {
    const tuple = (t: Tuple): ConnTuple => {
      const out: ConnTuple = { src: formatIPv4(t.src), dst: formatIPv4(t.dst) };
      if (c.proto === IPPROTO_TCP || c.proto === IPPROTO_UDP) Object.assign(out, { sport: t.sport, dport: t.dport });
      if (c.proto === IPPROTO_ICMP) Object.assign(out, { id: t.sport, type: t.dport >> 8, code: t.dport & 0xff });
      return out;
    };
    return {
      proto: PROTO_NAMES[c.proto] ?? c.proto,
      ...(c.proto === IPPROTO_TCP ? { state: TCP_STATE_NAMES[c.tcp] } : {}),
      orig: tuple(c.orig),
      reply: tuple(c.reply),
      timeoutMs: left,
      assured: c.assured,
      seenReply: c.seenReply,
      snat: c.srcNat,
      dnat: c.dstNat,
      packets: c.packets,
      mark: c.mark,
    };
  }

  // ------------------------------------------------------------------ batches

  /** Between batches the table grows (the engine's commit): doubled once half full or out of fresh slots, up to max. */
  grow(): void {
    if (!this.active) return;
    if ((this.slots.length >= this.cap || this.count * 2 >= this.cap) && this.cap < this.maxConns) this.cap = Math.min(this.cap * 2, this.maxConns);
  }

  /**
   * The collector: for each new connection it visits GC_PER_NEW slots from
   * where it stopped and forgets the expired connections there, so what it
   * frees depends on the traffic, never on how it was cut into batches.
   */
  private collect(now: number): void {
    const used = this.slots.length;
    if (used === 0) return;
    let i = this.gcAt;
    for (let k = 0; k < GC_PER_NEW; k++) {
      if (i >= used) i = 0;
      const c = this.slots[i];
      if (c && c.confirmed && now >= c.timeout) this.forget(c);
      i++;
    }
    this.gcAt = i;
  }

  /** A new packet in hand (received or sent): nothing known of it yet, mark 0. */
  reset(): void {
    this.pkt = { dir: 0, state: 'INVALID' };
    this.mark = 0;
    this.untracked = false;
    this.attached = false;
  }

  /** skb_scrub_packet (a tunnel's encap or decap): tracked anew, the mark stays. */
  scrub(): void {
    const mark = this.mark;
    this.reset();
    this.mark = mark;
  }

  /**
   * Around a packet the host makes while handling another (ICMP error,
   * reset): the other's state survives it, and the new one starts afresh
   * (mark 0), or with attach as a RELATED reply of the other's connection
   * (nf_ct_attach).
   */
  save(attach = false): SavedNf {
    const s: SavedNf = { pending: this.pending, pkt: this.pkt, mark: this.mark, untracked: this.untracked, attached: this.attached };
    const tracked = !this.untracked && this.pkt.state !== 'INVALID';
    const conn = this.pkt.conn;
    this.reset();
    if (attach && tracked && conn) {
      this.pkt = { conn, dir: s.pkt.dir === 0 ? 1 : 0, state: 'RELATED' };
      this.attached = true;
    }
    return s;
  }

  restore(s: SavedNf): void {
    this.pending = s.pending;
    this.pkt = s.pkt;
    this.mark = s.mark;
    this.untracked = s.untracked;
    this.attached = s.attached;
  }

  /** The packet in hand is dropped: a connection it started never was. */
  abort(): void {
    if (!this.active || this.attached) return;
    const p = this.pending;
    if (p && p === this.pkt.conn) {
      this.pending = undefined;
      this.forget(p);
      this.pkt = { ...this.pkt, conn: undefined };
    }
  }

  // -------------------------------------------------------------- the table

  private find(proto: number, t: Tuple): { conn: Conn; dir: 0 | 1 } | undefined {
    return this.byTuple.get(tupleKey(proto, t))?.[0];
  }

  /** find, but what has run out of time is gone (nf_ct_is_expired): found, it is forgotten on the spot. */
  private findLive(proto: number, t: Tuple): { conn: Conn; dir: 0 | 1 } | undefined {
    const hit = this.find(proto, t);
    if (hit && this.expired(hit.conn)) {
      this.forget(hit.conn);
      return undefined;
    }
    return hit;
  }

  /** A slot for a new connection: the last freed, else a fresh one while the array has room. */
  private allocSlot(): number {
    if (this.free.length) return this.free.pop()!;
    if (this.slots.length >= this.cap) return -1;
    this.slots.push(undefined);
    return this.slots.length - 1;
  }

  /** __nf_conntrack_confirm: into the table, findable by both tuples. */
  private link(c: Conn): void {
    for (const [dir, t] of [[0, c.orig], [1, c.reply]] as const) {
      const key = tupleKey(c.proto, t);
      const list = this.byTuple.get(key) ?? [];
      if (list.length) this.clashes.push(`${key} (${dir ? 'reply' : 'original'} of a new connection; ${list[0].dir ? 'reply' : 'original'} of one at slot ${list[0].conn.slot})`);
      list.push({ conn: c, dir });
      this.byTuple.set(key, list);
    }
    c.confirmed = true;
    this.count++;
  }

  /** Deletes a connection, confirmed or not; its slot is free again. */
  private forget(c: Conn): void {
    if (c.confirmed) {
      for (const t of [c.orig, c.reply]) {
        const key = tupleKey(c.proto, t);
        const list = (this.byTuple.get(key) ?? []).filter((e) => e.conn !== c);
        if (list.length) this.byTuple.set(key, list);
        else this.byTuple.delete(key);
      }
      c.confirmed = false;
      this.count--;
    }
    this.slots[c.slot] = undefined;
    this.free.push(c.slot);
  }

  private expired(c: Conn): boolean {
    return this.h.now >= c.timeout;
  }

  /**
   * early_drop: from a slot chosen by the new tuple, the first of 64 that is
   * confirmed and expired (gone already) or, failing that, not ASSURED goes.
   */
  private evict(t: Tuple): boolean {
    const used = this.slots.length;
    const start = ((t.src ^ t.dst ^ portsWord(t)) >>> 0) % (used === 0 ? 1 : used);
    for (let k = 0; k < EVICT_SCAN && k < used; k++) {
      const c = this.slots[(start + k) % used];
      if (c && c.confirmed && this.expired(c)) {
        this.forget(c);
        return true;
      }
      if (c && c.confirmed && !c.assured) {
        this.forget(c);
        this.h.stage('conntrack_evicted');
        return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------ nf_conntrack_in

  /**
   * Finds or starts the packet's connection and sets its state. False when the
   * packet must be dropped (the table is full and nothing could be evicted).
   */
  private conntrackIn(ip: Uint8Array, checkL4: boolean): boolean {
    this.pkt = { dir: 0, state: 'INVALID' };
    if (isFragment(ip)) return true; // not reassembled: untracked
    const t = tupleOf(ip);
    if (!t) return true;
    const proto = ip[9];
    if ((!this.quirks.lenientHeaders && !l4HeaderSane(ip)) || (checkL4 && l4ChecksumBad(ip))) {
      this.h.stage('conntrack_invalid');
      return true;
    }
    const l4 = ip.subarray(ihlOf(ip));
    if (proto === IPPROTO_ICMP && ICMP_ERROR_TYPES.has(l4[0])) return this.related(ip);
    const hit = this.findLive(proto, t);
    if (hit) {
      if (!this.update(hit.conn, hit.dir, l4)) {
        this.h.stage('conntrack_invalid');
        return true;
      }
      this.pkt = { conn: hit.conn, dir: hit.dir, state: hit.dir === 1 || hit.conn.seenReply ? 'ESTABLISHED' : 'NEW' };
      return true;
    }
    // A new connection, if this packet may start one.
    let tcp = tcpct.TCP_CONNTRACK_NONE;
    if (proto === IPPROTO_TCP) {
      if (!tcpct.flagsValid(l4[13])) return true;
      tcp = tcpct.nextState(tcpct.TCP_CONNTRACK_NONE, 0, l4[13]);
      if (tcp >= tcpct.TCP_CONNTRACK_MAX) return true; // invalid or ignored: no connection
    } else if (proto === IPPROTO_ICMP) {
      if (!ICMP_QUERIES.has(l4[0])) return true; // icmp_new: only requests start a connection
    }
    const reply = invert(proto, t);
    if (!reply) return true;
    this.collect(this.h.now);
    if (this.count >= this.maxConns && !this.evict(t)) return false;
    const slot = this.allocSlot();
    if (slot < 0) return false;
    const now = this.h.now;
    const c: Conn = {
      slot, proto, orig: t, reply, tcp,
      timeout: now + this.timeoutOf(proto, tcp, false),
      start: now, packets: 1,
      seenReply: false, assured: false, srcNat: false, dstNat: false, mark: 0, confirmed: false, seq: this.created++,
    };
    this.slots[slot] = c;
    this.pending = c;
    this.h.stage('conntrack_new');
    this.pkt = { conn: c, dir: 0, state: 'NEW' };
    return true;
  }

  private timeoutOf(proto: number, tcp: number, stream: boolean): number {
    if (proto === IPPROTO_TCP) return tcpct.timeoutMs(tcp);
    if (proto === IPPROTO_UDP) return stream ? UDP_STREAM_TIMEOUT_MS : UDP_TIMEOUT_MS;
    if (proto === IPPROTO_ICMP) return ICMP_TIMEOUT_MS;
    return GENERIC_TIMEOUT_MS;
  }

  /** A packet of a known connection (nf_conntrack_*_packet): state, timeout, flags. False: INVALID. */
  private update(c: Conn, dir: 0 | 1, l4: Uint8Array): boolean {
    const now = this.h.now;
    c.packets++;
    if (c.proto === IPPROTO_TCP) {
      const flags = l4[13];
      if (!tcpct.flagsValid(flags)) return false;
      const old = c.tcp;
      const next = tcpct.nextState(old, dir, flags);
      if (next === tcpct.TCP_CONNTRACK_MAX) return false; // sIV
      if (next !== tcpct.TCP_CONNTRACK_IGNORE) {
        c.tcp = next;
        // The handshake seen through: ASSURED (tcp_packet).
        if (old === tcpct.TCP_CONNTRACK_SYN_RECV && next === tcpct.TCP_CONNTRACK_ESTABLISHED) c.assured = true;
        c.timeout = now + tcpct.timeoutMs(next);
        // nf_conntrack_tcp_packet: a RST before any reply was seen ends the connection at once (nf_ct_kill).
        if (flags & 0x04 && !c.seenReply) c.timeout = now;
      }
    } else if (c.proto === IPPROTO_UDP) {
      // nf_conntrack_udp_packet: replies seen and 2 s old: a stream, ASSURED, the long timeout.
      const stream = c.seenReply && now - c.start >= UDP_STREAM_AFTER_MS;
      if (stream) c.assured = true;
      c.timeout = now + this.timeoutOf(c.proto, 0, stream);
    } else {
      c.timeout = now + this.timeoutOf(c.proto, 0, false);
    }
    if (dir === 1) c.seenReply = true;
    if (this.quirks.assureOnReply && c.proto !== IPPROTO_TCP && c.proto !== IPPROTO_UDP && dir === 1) c.assured = true;
    return true;
  }

  /**
   * nf_conntrack_inet_error: an ICMP error is RELATED to the connection whose
   * tuple is the quoted packet's, inverted, when the error goes where that
   * direction goes (outer destination == the found tuple's destination).
   */
  private related(ip: Uint8Array): boolean {
    const ihl = ihlOf(ip);
    const len = ip.length - ihl;
    const inner = ip.subarray(ihl + 8);
    if (len < 8 + 20 + 8 || inner[0] >> 4 !== 4) return true;
    const innerIhl = ihlOf(inner);
    if (len < 8 + innerIhl + 8) return true;
    const proto = inner[9];
    const quoted: Tuple = { src: get32(inner, 12), dst: get32(inner, 16), sport: 0, dport: 0 };
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      quoted.sport = get16(inner, innerIhl);
      quoted.dport = get16(inner, innerIhl + 2);
    } else if (proto === IPPROTO_ICMP) {
      quoted.sport = get16(inner, innerIhl + 4);
      quoted.dport = get16(inner, innerIhl);
    }
    const wanted = invert(proto, quoted);
    if (!wanted) return true;
    const hit = this.findLive(proto, wanted);
    if (!hit) return true;
    const dirTuple = hit.dir === 0 ? hit.conn.orig : hit.conn.reply;
    if (get32(ip, 16) !== dirTuple.dst) return true;
    this.pkt = { conn: hit.conn, dir: hit.dir, state: 'RELATED' };
    this.h.stage('conntrack_related');
    return true;
  }

  // ------------------------------------------------------------------ rules

  /**
   * Runs a builtin chain for the packet as it is now; the verdict, the
   * deciding rule and, for NAT, its target. A table never loaded has no
   * chains to run (and counts nothing).
   */
  private chain(table: TableName, chain: string, ip: Uint8Array, inDev: Link | undefined, outDev: Link | undefined): { kind: string; target?: NatTarget; rule?: Rule } {
    if (this.ruleset.present && !this.ruleset.present.includes(table)) return { kind: 'ACCEPT' };
    const ch = this.ruleset.tables[table].chains.get(chain)!;
    if (ch.rules.length === 0) {
      // Nothing to walk: the policy counts the packet and decides.
      const s = this.stateOf(`${table} ${chain}`);
      s.packets++;
      s.bytes += ip.length;
      return { kind: ch.policy ?? 'ACCEPT' };
    }
    const ihl = ihlOf(ip);
    const proto = ip[9];
    const c = this.pkt.conn;
    const later = isLaterFragment(ip);
    const model = this;
    const p: ModelPacket = {
      src: get32(ip, 12),
      dst: get32(ip, 16),
      sport: 0,
      dport: 0,
      proto,
      ctstate: this.pkt.state,
      in: inDev ? inDev.name : null,
      out: outDev ? outDev.name : null,
      get srcType() {
        return model.addrTypes(get32(ip, 12), inDev, outDev);
      },
      get dstType() {
        return model.addrTypes(get32(ip, 16), inDev, outDev);
      },
      frag: later,
      mark: this.mark,
      len: ip.length,
      now: this.h.now,
      reply: this.pkt.dir === 1,
      conn: c && {
        get mark() {
          return c.mark;
        },
        set mark(v: number) {
          c.mark = v;
        },
        proto: c.proto, orig: c.orig, reply: c.reply, seenReply: c.seenReply, assured: c.assured, confirmed: c.confirmed,
        srcNat: c.srcNat, dstNat: c.dstNat, timeout: c.timeout,
      },
    };
    // The engine reads no ports from any fragment, the first included (its ports then count as 0).
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && ip.length >= ihl + 4 && !isFragment(ip)) {
      p.sport = get16(ip, ihl);
      p.dport = get16(ip, ihl + 2);
    }
    if (!later && proto === IPPROTO_TCP && ip.length >= ihl + 20) p.tcpFlags = ip[ihl + 13];
    if (!later && proto === IPPROTO_ICMP && ip.length >= ihl + 2) [p.icmpType, p.icmpCode] = [ip[ihl], ip[ihl + 1]];
    if (inDev && chain === 'PREROUTING') p.rpf = this.reversePath(p.src, p.dst, inDev);
    const v = modelRun(this.ruleset, table, chain, p, {
      state: (r) => this.stateOf(r),
      inSet: (name, dirs, pkt) => modelInSet(this.h.ipsets, name, dirs, pkt),
      random: () => {
        let x = this.rng;
        x = (x ^ (x << 13)) >>> 0;
        x = (x ^ (x >>> 17)) >>> 0;
        x = (x ^ (x << 5)) >>> 0;
        this.rng = x;
        return x;
      },
    });
    this.mark = p.mark ?? 0;
    if (p.untracked) this.untracked = true;
    for (let i = 0; i < (p.logs ?? 0); i++) this.h.stage('nf_log');
    const rule = this.ruleset.tables[table].chains.get(v.chain)?.rules[v.index];
    const target = rule && (rule.target.kind === 'DNAT' || rule.target.kind === 'SNAT' || rule.target.kind === 'MASQUERADE') ? rule.target : undefined;
    return { kind: v.kind, target, rule };
  }

  private stateOf(r: Rule | string): RuleState {
    let s = this.ruleState.get(r);
    if (!s) this.ruleState.set(r, (s = { packets: 0, bytes: 0, credit: 0, nth: 0 }));
    return s;
  }

  /** inet_dev_addr_type: the host's answer, and as the ingress and egress links see it. */
  addrTypes(a: number, inDev: Link | undefined, outDev: Link | undefined): { any: AddrType; in: AddrType; out: AddrType } {
    const routes = this.h.routes;
    if (a === 0 || a === 0xffffffff) return { any: 'BROADCAST', in: 'BROADCAST', out: 'BROADCAST' };
    if (a >>> 28 === 0xe) return { any: 'MULTICAST', in: 'MULTICAST', out: 'MULTICAST' };
    const local = routes.addrs.find((x) => x.ip === a);
    const bcast = routes.addrs.find((x) => x.plen < 31 && (x.ip | (0xffffffff >>> x.plen)) >>> 0 === a);
    const hit = local ?? bcast;
    if (!hit) return { any: 'UNICAST', in: 'UNICAST', out: 'UNICAST' };
    const t: AddrType = local ? 'LOCAL' : 'BROADCAST';
    return { any: t, in: hit.dev === inDev ? t : 'UNICAST', out: hit.dev === outDev ? t : 'UNICAST' };
  }

  /** rpfilter_mt's facts: the route back to src, and whether it leaves by the ingress link. */
  private reversePath(src: number, dst: number, inDev: Link): { always: boolean; unicast: boolean; local: boolean; dev: boolean } {
    if (src === 0 && (dst === 0xffffffff || (dst & 0xffffff00) >>> 0 === 0xe0000000)) return { always: true, unicast: false, local: false, dev: false };
    const r = this.h.routes.resolve(src);
    return { always: false, unicast: r?.type === 'unicast', local: r?.type === 'local', dev: !!r && r.dev === inDev };
  }

  /** Whether the packet in hand started its connection (nat rules run for that packet only). */
  private first(): Conn | undefined {
    const c = this.pkt.conn;
    return c && this.pkt.state === 'NEW' && this.pending === c && !this.attached ? c : undefined;
  }

  /** nf_conntrack_in, unless the packet is untracked or carries a connection already. */
  private track(ip: Uint8Array, checkL4: boolean): boolean {
    if (this.attached) return true;
    if (this.untracked) {
      this.pkt = { dir: 0, state: 'UNTRACKED' };
      return true;
    }
    return this.conntrackIn(ip, checkL4);
  }

  /**
   * REJECT: the ICMP error (from the packet's destination when it was for
   * this host) or the TCP reset (carrying the connection), then the drop.
   */
  private reject(ip: Uint8Array, rule: Rule, local: boolean, checkL4: boolean): string {
    this.h.stage('nf_reject');
    const dst = get32(ip, 16);
    if (isLaterFragment(ip) || dst === 0xffffffff || dst >>> 28 === 0xe) return 'NETFILTER_DROP';
    if (checkL4 && l4ChecksumBad(ip)) return 'NETFILTER_DROP';
    const w = (rule.target as { with: RejectWith }).with;
    if (w === 'tcp-reset') {
      const ihl = ihlOf(ip);
      if (ip[9] === IPPROTO_TCP && ip.length >= ihl + 20 && !(ip[ihl + 13] & 0x04)) tcpReset(this.h, ip, undefined, true);
    } else {
      icmpError(this.h, ip, { tag: 0, cast: 'host' }, 3, REJECT_WITH[w], 0, local ? dst : 0);
    }
    return 'NETFILTER_DROP';
  }

  /** A filter chain's verdict as a hook's answer. */
  private filtered(v: { kind: string; rule?: Rule }, ip: Uint8Array, local: boolean, checkL4: boolean): string | undefined {
    if (v.kind === 'DROP') return 'NETFILTER_DROP';
    if (v.kind === 'REJECT') return this.reject(ip, v.rule!, local, checkL4);
    return undefined;
  }

  // -------------------------------------------------------------------- NAT

  private setupDnat(c: Conn, t: NatTarget): void {
    if (t.kind === 'MASQUERADE') return;
    const before = c.reply;
    c.reply = { ...c.reply, src: t.addr };
    if (t.portLo && (c.proto === IPPROTO_TCP || c.proto === IPPROTO_UDP)) c.reply.sport = t.portLo;
    if (this.quirks.natFlagsWhenUnchanged || c.reply.src !== before.src || c.reply.sport !== before.sport) c.dstNat = true;
  }

  /** nf_nat_used_tuple: another live connection holds this reply tuple (an expired one found there is collected). */
  private taken(proto: number, t: Tuple): boolean {
    return this.findLive(proto, t) !== undefined;
  }

  /**
   * The source part of the reply tuple (its destination) after SNAT to
   * `range` (get_unique_tuple for NF_NAT_MANIP_SRC): the current source when
   * in range and unique; else the mapping the same source already has
   * (find_appropriate_src); else the range's address with the port kept when
   * that is unique; else a port searched in the port's class (or the range)
   * by nf_nat_l4proto_unique_tuple. False: no free port.
   */
  private setupSnat(c: Conn, range: SnatRange): boolean {
    const proto = c.proto;
    const icmp = proto === IPPROTO_ICMP;
    const hasPorts = proto === IPPROTO_TCP || proto === IPPROTO_UDP || icmp;
    const before = c.reply;
    const curSrc = before.dst;
    const curPort = icmp ? before.sport : before.dport;
    const withSrc = (addr: number, port: number): Tuple => (!hasPorts ? { ...before, dst: addr } : icmp ? { ...before, dst: addr, sport: port } : { ...before, dst: addr, dport: port });
    const done = (t: Tuple): boolean => {
      c.reply = t;
      if (this.quirks.natFlagsWhenUnchanged || t.dst !== before.dst || t.sport !== before.sport || t.dport !== before.dport) c.srcNat = true;
      return true;
    };
    if (!hasPorts) {
      // Other protocols have no port to move: the tuple is unique or nothing is.
      const t = withSrc(range.addr, 0);
      return this.taken(proto, t) ? false : done(t);
    }
    const specified = range.lo !== 0;
    const portIn = (p: number) => !specified || (p >= range.lo && p <= range.hi);
    // A source not already in the range keeps the mapping it has (an in-range one is kept below when unique).
    if (!range.random && !(curSrc === range.addr && portIn(curPort))) {
      const m = this.sourceMapping(c, range, withSrc);
      if (m && !this.taken(proto, m)) return done(m);
    }
    // nf_nat_l4proto_unique_tuple's range: the rule's ports, else the port's class.
    let min: number;
    let size: number;
    if (specified) [min, size] = [range.lo, range.hi - range.lo + 1];
    else if (icmp) [min, size] = [0, 65536];
    else if (curPort < 512) [min, size] = [1, 511];
    else if (curPort < 1024) [min, size] = [600, 424];
    else [min, size] = [1024, 64512];
    const inClass = curPort >= min && curPort - min < size;
    const mayKeep = specified || !this.quirks.keepOnlyInClass ? portIn(curPort) : inClass;
    if (!range.random && mayKeep && !this.taken(proto, withSrc(range.addr, curPort))) return done(withSrc(range.addr, curPort));
    // The search: the engine's deterministic stand-in for Linux's random start,
    // hashed from the original tuple; 128 tries, then fresh starts with 64, 32, 16, 8.
    let h = (Math.imul(c.orig.src, 0x9e3779b1) ^ Math.imul(c.orig.dst, 0x85ebca6b) ^ Math.imul(portsWord(c.orig), 0xc2b2ae35)) >>> 0;
    if (range.random) h = Math.imul(h ^ 0x5bd1e995, 0x27d4eb2f) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    let off = h % size;
    let attempts = Math.min(size, 128);
    for (;;) {
      for (let k = 0; k < attempts; k++) {
        const port = min + ((off + k) % size);
        if (!this.taken(proto, withSrc(range.addr, port))) {
          if (inClass) this.h.stage('nat_port_taken');
          return done(withSrc(range.addr, port));
        }
      }
      if (attempts >= size || attempts < 16) return false;
      attempts >>= 1;
      h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
      h = (h ^ (h >>> 15)) >>> 0;
      off = h % size;
    }
  }

  /**
   * find_appropriate_src: the newest live connection from the same source
   * address and port (echo id) whose source was mapped into the range; its
   * mapping, for this connection's reply tuple.
   */
  private sourceMapping(c: Conn, range: SnatRange, withSrc: (addr: number, port: number) => Tuple): Tuple | undefined {
    const icmp = c.proto === IPPROTO_ICMP;
    let best: Conn | undefined;
    for (const o of this.connections()) {
      if (o.proto !== c.proto || o.orig.src !== c.orig.src || o.orig.sport !== c.orig.sport || this.expired(o)) continue;
      const port = icmp ? o.reply.sport : o.reply.dport;
      if (o.reply.dst !== range.addr || (range.lo !== 0 && (port < range.lo || port > range.hi))) continue;
      if (!best || o.seq > best.seq) best = o;
    }
    if (!best) return undefined;
    return withSrc(best.reply.dst, icmp ? best.reply.sport : best.reply.dport);
  }

  /**
   * nf_nat_alloc_null_binding for the SRC manip of a first packet no rule
   * mapped: the source stays, unless the reply tuple is taken; then its port
   * moves as a SNAT to its own address would move it.
   */
  private nullBinding(c: Conn): boolean {
    if (this.quirks.noNullBinding || !this.taken(c.proto, c.reply)) return true;
    return this.setupSnat(c, { addr: c.reply.dst, lo: 0, hi: 0, random: false });
  }

  /**
   * nf_nat_packet: the translation of one kind this hook does for the packet's
   * direction: destination at PREROUTING/OUTPUT, source at INPUT/POSTROUTING.
   * The fields become those of the other direction's tuple, inverted.
   */
  private translate(ip: Uint8Array, dst: boolean): void {
    const c = this.pkt.conn;
    if (!c) return;
    const dir = this.pkt.dir;
    const needed = dst ? (dir === 0 ? c.dstNat : c.srcNat) : dir === 0 ? c.srcNat : c.dstNat;
    if (!needed) return;
    const other = dir === 0 ? c.reply : c.orig;
    // nf_nat_inet_fn: a RELATED ICMP error is translated with its quote; a RELATED reset (REJECT's) like any reply.
    if (this.pkt.state === 'RELATED' && ip[9] === IPPROTO_ICMP) return this.translateIcmpError(ip, dst, c, other);
    // ICMP echo: the id is the "port" both ways.
    if (dst) setDst(ip, other.src, other.sport);
    else setSrc(ip, other.dst, c.proto === IPPROTO_ICMP ? other.sport : other.dport);
  }

  /**
   * nf_nat_icmp_reply_translation: the quoted packet went the other way; it
   * gets back the fields it had before translation (the other direction's
   * tuple), its checksums follow; the ICMP checksum is computed whole; then
   * the outer header is translated like any packet of this direction.
   */
  private translateIcmpError(ip: Uint8Array, dst: boolean, c: Conn, other: Tuple): void {
    const ihl = ihlOf(ip);
    const inner = ip.subarray(ihl + 8);
    const innerIhl = ihlOf(inner);
    const innerTot = Math.min(inner.length, get16(inner, 2));
    const l4 = inner.subarray(innerIhl);
    const fixL4 = !this.quirks.staleQuotedChecksum;
    // The quoted packet: its source (dst hook) or destination (src hook) and that port.
    const addrAt = dst ? 12 : 16;
    const newAddr = dst ? other.src : other.dst;
    if (c.proto === IPPROTO_ICMP) {
      if (innerTot >= innerIhl + 8) {
        const old = get16(l4, 4);
        put16(l4, 4, other.sport);
        if (fixL4) put16(l4, 2, csumReplace16(get16(l4, 2), old, other.sport));
      }
    } else if (c.proto === IPPROTO_TCP || c.proto === IPPROTO_UDP) {
      if (innerTot >= innerIhl + 4) {
        const at = dst ? 0 : 2;
        const port = dst ? other.sport : other.dport;
        const oldPort = get16(l4, at);
        const oldAddr = get32(inner, addrAt);
        put16(l4, at, port);
        // l4proto_manip_pkt: the checksum when the quote holds it (TCP: the whole header; UDP: unless 0).
        const checkAt = c.proto === IPPROTO_TCP ? 16 : 6;
        const whole = c.proto === IPPROTO_TCP ? l4.length >= 20 : l4.length >= 8 && get16(l4, 6) !== 0;
        if (fixL4 && whole) {
          let s = csumReplace32(get16(l4, checkAt), oldAddr, newAddr);
          s = csumReplace16(s, oldPort, port);
          if (c.proto === IPPROTO_UDP && s === 0) s = 0xffff;
          put16(l4, checkAt, s);
        }
      }
    }
    const oldInner = get32(inner, addrAt);
    put32(inner, addrAt, newAddr);
    put16(inner, 10, csumReplace32(get16(inner, 10), oldInner, newAddr));
    put16(ip, ihl + 2, 0);
    put16(ip, ihl + 2, checksum(ip, ihl, ip.length));
    // The outer header: like the reply to the quoted packet.
    if (dst) setAddr(ip, 16, other.src);
    else setAddr(ip, 12, other.dst);
  }

  // -------------------------------------------------------------- the hooks
  // Each returns a drop reason, or undefined to let the packet go on; each
  // runs its tables in Linux's priority order (raw, conntrack, mangle, nat,
  // filter, confirm).

  /** PREROUTING: raw, conntrack (with the L4 checksum), mangle, nat PREROUTING for a first packet (DNAT), destination translation. */
  prerouting(ip: Uint8Array, inDev: Link | undefined): string | undefined {
    this.pkt = { dir: 0, state: 'INVALID' }; // raw sees the packet before conntrack
    if (this.chain('raw', 'PREROUTING', ip, inDev, undefined).kind === 'DROP') return 'NETFILTER_DROP';
    if (!this.track(ip, true)) return 'CONNTRACK_FULL';
    if (this.chain('mangle', 'PREROUTING', ip, inDev, undefined).kind === 'DROP') return 'NETFILTER_DROP';
    const c = this.first();
    if (c) {
      const v = this.chain('nat', 'PREROUTING', ip, inDev, undefined);
      if (v.kind === 'DROP') return 'NETFILTER_DROP';
      if (v.kind === 'DNAT') this.setupDnat(c, v.target!);
    }
    this.translate(ip, true);
    return undefined;
  }

  /** OUTPUT, for packets the host sends or makes: raw, conntrack, mangle, nat OUTPUT (DNAT), destination translation, filter OUTPUT. */
  output(ip: Uint8Array, outDev: Link | undefined): string | undefined {
    if (!this.attached) {
      this.pkt = { dir: 0, state: 'INVALID' };
      if (this.chain('raw', 'OUTPUT', ip, undefined, outDev).kind === 'DROP') return 'NETFILTER_DROP';
    }
    if (!this.track(ip, false)) return 'CONNTRACK_FULL';
    if (this.chain('mangle', 'OUTPUT', ip, undefined, outDev).kind === 'DROP') return 'NETFILTER_DROP';
    const c = this.first();
    if (c) {
      const v = this.chain('nat', 'OUTPUT', ip, undefined, outDev);
      if (v.kind === 'DROP') return 'NETFILTER_DROP';
      if (v.kind === 'DNAT') this.setupDnat(c, v.target!);
    }
    this.translate(ip, true);
    return this.filtered(this.chain('filter', 'OUTPUT', ip, undefined, outDev), ip, false, false);
  }

  /** FORWARD: mangle, then filter, after the TTL is decremented. */
  forward(ip: Uint8Array, inDev: Link | undefined, outDev: Link | undefined): string | undefined {
    if (this.chain('mangle', 'FORWARD', ip, inDev, outDev).kind === 'DROP') return 'NETFILTER_DROP';
    return this.filtered(this.chain('filter', 'FORWARD', ip, inDev, outDev), ip, false, true);
  }

  /** POSTROUTING: mangle, nat POSTROUTING for a first packet (SNAT, MASQUERADE to the egress link's source towards nexthop), source translation, confirmation. */
  postrouting(ip: Uint8Array, outDev: Link, nexthop: number): string | undefined {
    if (this.chain('mangle', 'POSTROUTING', ip, undefined, outDev).kind === 'DROP') return 'NETFILTER_DROP';
    const c = this.first();
    if (c) {
      const v = this.chain('nat', 'POSTROUTING', ip, undefined, outDev);
      if (v.kind === 'DROP') return 'NETFILTER_DROP';
      let ok: boolean;
      if (v.kind === 'SNAT' || v.kind === 'MASQUERADE') {
        const t = v.target as Extract<NatTarget, { kind: 'SNAT' | 'MASQUERADE' }>;
        const addr = t.kind === 'SNAT' ? t.addr : this.h.routes.selectSource(outDev, nexthop);
        ok = this.setupSnat(c, snatRange(addr, t));
      } else {
        ok = this.nullBinding(c);
      }
      if (!ok) return 'NAT_NO_PORT';
    }
    this.translate(ip, false);
    this.confirm();
    return undefined;
  }

  /** INPUT, before local delivery: mangle, filter INPUT, nat INPUT for a first packet (SNAT), source translation, confirmation. */
  input(ip: Uint8Array, inDev: Link | undefined): string | undefined {
    if (this.chain('mangle', 'INPUT', ip, inDev, undefined).kind === 'DROP') return 'NETFILTER_DROP';
    const why = this.filtered(this.chain('filter', 'INPUT', ip, inDev, undefined), ip, true, true);
    if (why) return why;
    const c = this.first();
    if (c) {
      // Only SNAT counts here (the engine ignores DROP and MASQUERADE in nat INPUT, which iptables would refuse).
      const v = this.chain('nat', 'INPUT', ip, inDev, undefined);
      const ok = v.kind === 'SNAT' ? this.setupSnat(c, snatRange((v.target as { addr: number }).addr, v.target!)) : this.nullBinding(c);
      if (!ok) return 'NAT_NO_PORT';
    }
    this.translate(ip, false);
    this.confirm();
    return undefined;
  }

  /** __nf_conntrack_confirm, for a first packet in the original direction. */
  private confirm(): void {
    const p = this.pending;
    if (p && p === this.pkt.conn && this.pkt.dir === 0 && !this.attached) {
      this.pending = undefined;
      this.link(p);
    }
  }
}

// ------------------------------------------------------------ packet rewriting

/** An address of the IP header with the header checksum and, past the first fragment's header, the TCP/UDP pseudo-header sum. */
function setAddr(ip: Uint8Array, at: 12 | 16, addr: number): void {
  const old = get32(ip, at);
  if (old === addr) return;
  put32(ip, at, addr);
  put16(ip, 10, csumReplace32(get16(ip, 10), old, addr));
  if (isLaterFragment(ip)) return;
  const ihl = ihlOf(ip);
  const l4 = ip.subarray(ihl);
  if (ip[9] === IPPROTO_TCP && l4.length >= 20) {
    put16(l4, 16, csumReplace32(get16(l4, 16), old, addr));
  } else if (ip[9] === IPPROTO_UDP && l4.length >= 8 && get16(l4, 6) !== 0) {
    const c = csumReplace32(get16(l4, 6), old, addr);
    put16(l4, 6, c === 0 ? 0xffff : c);
  }
}

/** A TCP/UDP port (at 0: source, 2: destination) or an echo's identifier, with its checksum. */
function setPort(ip: Uint8Array, at: 0 | 2, port: number): void {
  if (isLaterFragment(ip)) return;
  const l4 = ip.subarray(ihlOf(ip));
  let where: number;
  let checkAt: number;
  if (ip[9] === IPPROTO_TCP && l4.length >= 20) [where, checkAt] = [at, 16];
  else if (ip[9] === IPPROTO_UDP && l4.length >= 8) [where, checkAt] = [at, 6];
  else if (ip[9] === IPPROTO_ICMP && l4.length >= 8 && !ICMP_ERROR_TYPES.has(l4[0])) [where, checkAt] = [4, 2];
  else return;
  const old = get16(l4, where);
  if (old === port) return;
  put16(l4, where, port);
  if (ip[9] === IPPROTO_UDP) {
    if (get16(l4, 6) === 0) return;
    const c = csumReplace16(get16(l4, 6), old, port);
    put16(l4, 6, c === 0 ? 0xffff : c);
  } else {
    put16(l4, checkAt, csumReplace16(get16(l4, checkAt), old, port));
  }
}

function setDst(ip: Uint8Array, addr: number, port: number): void {
  setAddr(ip, 16, addr);
  setPort(ip, 2, port);
}

function setSrc(ip: Uint8Array, addr: number, port: number): void {
  setAddr(ip, 12, addr);
  setPort(ip, 0, port);
}
