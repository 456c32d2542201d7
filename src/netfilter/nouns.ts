// The host's netfilter nouns: `conntrack` (list, flush, limits), over the
// conntrack table the data plane keeps (assembly/tables/conntrack.ts); and,
// from ./rules-noun.ts, `rules` (iptables-save in, compiled into the data
// plane) and `ipset`.
import * as L from '../engine/layout.gen.js';
import { formatIPv4, parseIPv4 } from '../packet/addr.js';
import { TCP_STATE_NAMES } from './tcp-states.js';
import { bysrcBytes, growConntrack, tupleSlots, type GrowthEnv } from '../tables/growth.js';

export { RulesNoun, IpsetNoun } from './rules-noun.js';

/** What the nouns need of their host. */
export interface NetfilterHost {
  readonly name: string;
  readonly ptr: number;
  readonly engine: { dv: DataView; u8: Uint8Array; alloc(size: number): number; arena: { release(ptr: number, size: number): void } };
  linkNames(): string[];
  call(name: string, ...args: number[]): number;
}

function growthEnv(h: NetfilterHost): GrowthEnv {
  return {
    get dv() {
      return h.engine.dv;
    },
    alloc: (size) => h.engine.alloc(size),
    release: (ptr, size) => h.engine.arena.release(ptr, size),
    call: (name, ...args) => h.call(name, ...args),
  };
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
const INITIAL_CONNS = 1024;

export interface ConnTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP echo: the identifier; type and code of the tuple. */
  id?: number;
  type?: number;
  code?: number;
}

export interface ConnInfo {
  proto: 'tcp' | 'udp' | 'icmp' | number;
  /** TCP: the conntrack state (ESTABLISHED, TIME_WAIT, ...). */
  state?: string;
  orig: ConnTuple;
  reply: ConnTuple;
  /** Milliseconds left, as `conntrack -L` shows seconds. */
  timeoutMs: number;
  assured: boolean;
  seenReply: boolean;
  snat: boolean;
  dnat: boolean;
  packets: number;
  /** The connection's mark (CONNMARK). */
  mark: number;
}

export interface ConnFilter {
  proto?: 'tcp' | 'udp' | 'icmp';
  /** Matches either tuple's source or destination addresses and ports, as conntrack -D does for -s/-d/--sport/--dport on the original tuple. */
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  /** Matches the reply tuple (conntrack -D -r/-q). */
  replySrc?: string;
  replyDst?: string;
}

export class ConntrackNoun {
  private maxConns = L.CT_DEFAULT_MAX;
  /** Called once the table's header exists, to fill in what others keep there (ipsets, the random state). */
  onCreate?: (ct: number) => void;

  constructor(private readonly host: NetfilterHost) {}

  /** The table's header in memory, created on first use (nf_conntrack loads with the first rule). */
  region(): number {
    const h = this.host;
    const dv = h.engine.dv;
    const ct = dv.getUint32(h.ptr + L.H_CT, true);
    if (ct !== 0) return ct;
    const hdr = h.engine.alloc(L.CT_SIZE);
    const cap = Math.min(INITIAL_CONNS, this.maxConns);
    const slots = tupleSlots(cap);
    const d = h.engine.dv;
    d.setUint32(hdr + L.CT_CONNS, h.engine.alloc(cap * L.CONN_SIZE), true);
    d.setUint32(hdr + L.CT_CAP, cap, true);
    d.setUint32(hdr + L.CT_TUPLES, h.engine.alloc(slots * L.TUPLE_SIZE), true);
    d.setUint32(hdr + L.CT_MASK, slots - 1, true);
    d.setUint32(hdr + L.CT_BYSRC, h.engine.alloc(bysrcBytes(slots)), true);
    d.setUint32(hdr + L.CT_MAX, this.maxConns, true);
    this.onCreate?.(hdr);
    d.setUint32(h.ptr + L.H_CT, hdr, true);
    return hdr;
  }

  get enabled(): boolean {
    return this.host.engine.dv.getUint32(this.host.ptr + L.H_CT, true) !== 0;
  }

  /** nf_conntrack_max. */
  get max(): number {
    return this.maxConns;
  }

  set max(n: number) {
    if (!Number.isInteger(n) || n < 1 || n > 1 << 22) throw new Error(`conntrack: max must be 1..${1 << 22}, got ${n}`);
    this.maxConns = n;
    if (this.enabled) this.host.engine.dv.setUint32(this.region() + L.CT_MAX, n, true);
  }

  get count(): number {
    return this.enabled ? this.host.engine.dv.getUint32(this.region() + L.CT_COUNT, true) : 0;
  }

  /** Makes room before a batch (never during one): see growConntrack. */
  grow(room = 0): void {
    if (this.enabled) growConntrack((this.env ??= growthEnv(this.host)), this.host.ptr, room);
  }

  private env?: GrowthEnv;

  /** Like `conntrack -L`, as data. */
  list(now = 0): ConnInfo[] {
    checkNow('conntrack list', now);
    if (!this.enabled) return [];
    const dv = this.host.engine.dv;
    const ct = this.region();
    const base = dv.getUint32(ct + L.CT_CONNS, true);
    const used = dv.getUint32(ct + L.CT_USED, true);
    const out: ConnInfo[] = [];
    for (let i = 0; i < used; i++) {
      const c = base + i * L.CONN_SIZE;
      const status = dv.getUint16(c + L.CN_STATUS, true);
      if (!(status & L.CS_LIVE)) continue;
      const timeout = dv.getUint32(c + L.CN_TIMEOUT, true);
      const left = (timeout - (now >>> 0)) | 0;
      if (left <= 0) continue; // expired, not yet collected
      out.push(this.conn(c, status, left));
    }
    return out;
  }

  /** The text `conntrack -L` prints, one connection a line. */
  show(now = 0): string {
    checkNow('conntrack show', now);
    return this.list(now).map((c) => {
      const proto = typeof c.proto === 'string' ? c.proto : `unknown`;
      const num = c.proto === 'tcp' ? 6 : c.proto === 'udp' ? 17 : c.proto === 'icmp' ? 1 : c.proto;
      const t = (x: ConnTuple) => `src=${x.src} dst=${x.dst}` + (x.id !== undefined ? ` type=${x.type} code=${x.code} id=${x.id}` : x.sport !== undefined ? ` sport=${x.sport} dport=${x.dport}` : '');
      const parts = [`${proto.padEnd(8)}${num} ${Math.ceil(c.timeoutMs / 1000)}`];
      if (c.state) parts.push(c.state);
      parts.push(t(c.orig));
      if (!c.seenReply) parts.push('[UNREPLIED]');
      parts.push(t(c.reply));
      if (c.assured) parts.push('[ASSURED]');
      parts.push(`mark=${c.mark} use=1`);
      return parts.join(' ');
    }).join('\n');
  }

  /** Deletes the connections the filter matches (all without one); returns how many (conntrack -D / -F). */
  flush(filter: ConnFilter = {}): number {
    if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new Error(`conntrack flush: the filter must be an object, got ${JSON.stringify(filter) ?? String(filter)}`);
    for (const k of Object.keys(filter)) {
      if (!FILTER_KEYS.includes(k) && (filter as Record<string, unknown>)[k] !== undefined) throw new Error(`conntrack flush: unknown filter "${k}" (${FILTER_KEYS.join(', ')})`);
    }
    if (!this.enabled) return 0;
    const want = {
      proto: filter.proto === undefined ? undefined : ({ icmp: 1, tcp: 6, udp: 17 } as const)[filter.proto],
      src: filter.src === undefined ? undefined : parseIPv4(filter.src),
      dst: filter.dst === undefined ? undefined : parseIPv4(filter.dst),
      replySrc: filter.replySrc === undefined ? undefined : parseIPv4(filter.replySrc),
      replyDst: filter.replyDst === undefined ? undefined : parseIPv4(filter.replyDst),
    };
    if (filter.proto !== undefined && want.proto === undefined) throw new Error(`conntrack flush: unknown protocol "${filter.proto}"`);
    const h = this.host;
    const dv = h.engine.dv;
    const ct = this.region();
    const base = dv.getUint32(ct + L.CT_CONNS, true);
    const used = dv.getUint32(ct + L.CT_USED, true);
    let n = 0;
    for (let i = 0; i < used; i++) {
      const c = base + i * L.CONN_SIZE;
      if (!(dv.getUint16(c + L.CN_STATUS, true) & L.CS_LIVE)) continue;
      const proto = dv.getUint8(c + L.CN_PROTO);
      const os = dv.getUint32(c + L.CN_ORIG, true);
      const od = dv.getUint32(c + L.CN_ORIG + 4, true);
      const op = dv.getUint32(c + L.CN_ORIG + 8, true);
      const rs = dv.getUint32(c + L.CN_REPLY, true);
      const rd = dv.getUint32(c + L.CN_REPLY + 4, true);
      const ports = proto === 6 || proto === 17;
      if (want.proto !== undefined && proto !== want.proto) continue;
      if (want.src !== undefined && os !== want.src) continue;
      if (want.dst !== undefined && od !== want.dst) continue;
      if (filter.sport !== undefined && (!ports || op >>> 16 !== filter.sport)) continue;
      if (filter.dport !== undefined && (!ports || (op & 0xffff) !== filter.dport)) continue;
      if (want.replySrc !== undefined && rs !== want.replySrc) continue;
      if (want.replyDst !== undefined && rd !== want.replyDst) continue;
      h.call('ct_delete', h.ptr, i);
      n++;
    }
    return n;
  }

  private conn(c: number, status: number, left: number): ConnInfo {
    const dv = this.host.engine.dv;
    const proto = dv.getUint8(c + L.CN_PROTO);
    const tuple = (at: number): ConnTuple => {
      const ports = dv.getUint32(at + 8, true);
      const t: ConnTuple = { src: formatIPv4(dv.getUint32(at, true)), dst: formatIPv4(dv.getUint32(at + 4, true)) };
      if (proto === 6 || proto === 17) Object.assign(t, { sport: ports >>> 16, dport: ports & 0xffff });
      if (proto === 1) Object.assign(t, { id: ports >>> 16, type: (ports >>> 8) & 0xff, code: ports & 0xff });
      return t;
    };
    return {
      proto: (PROTO_NAMES[proto] as ConnInfo['proto']) ?? proto,
      ...(proto === 6 ? { state: TCP_STATE_NAMES[dv.getUint8(c + L.CN_TCP)] } : {}),
      orig: tuple(c + L.CN_ORIG),
      reply: tuple(c + L.CN_REPLY),
      timeoutMs: left,
      assured: (status & L.CS_ASSURED) !== 0,
      seenReply: (status & L.CS_SEEN_REPLY) !== 0,
      snat: (status & L.CS_SRC_NAT) !== 0,
      dnat: (status & L.CS_DST_NAT) !== 0,
      packets: dv.getUint32(c + L.CN_PACKETS, true),
      mark: dv.getUint32(c + L.CN_MARK, true),
    };
  }
}

const FILTER_KEYS = ['proto', 'src', 'dst', 'sport', 'dport', 'replySrc', 'replyDst'];

function checkNow(what: string, now: number): void {
  if (!Number.isInteger(now) || now < 0 || now > 0xffff_ffff) throw new Error(`${what}: now must be an integer number of ms, got ${now}`);
}
