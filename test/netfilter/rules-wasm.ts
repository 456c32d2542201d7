// Compiles the rule evaluator alone (test/fixtures/rules-entry.ts) with the
// release flags of asconfig.json and runs compiled rulesets through it over
// a shared memory, so the rule engine's tests need nothing else of the data
// plane: the packet keys, a connection, the per-rule state and the ipsets
// are laid out here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import * as L from '../../src/engine/layout.gen.js';
import { user2credits, type CompiledRuleset } from '../../src/netfilter/compile.js';

const entry = fileURLToPath(new URL('../fixtures/rules-entry.ts', import.meta.url));

/** A connection as the evaluator reads it (CN_*). */
export interface ConnKeys {
  proto: number;
  orig: [number, number, number];
  reply: [number, number, number];
  /** CS_* bits. */
  status: number;
  timeout: number;
  mark: number;
}

export interface PacketKeys {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  /** CTS_* bits: the state, with SNAT/DNAT. */
  ctstate: number;
  /** Link index, or PK_NO_LINK. */
  in: number;
  out: number;
  /** RTN_* of source and destination: the host's, the ingress link's, the egress link's. */
  srcType?: [number, number, number];
  dstType?: [number, number, number];
  /** Kept from before address types: LOCAL (2) or UNICAST (1) everywhere. */
  srcLocal?: boolean;
  dstLocal?: boolean;
  /** A fragment other than the first. */
  frag?: boolean;
  mark?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  /** RPF_* bits. */
  rpf?: number;
  len?: number;
  now?: number;
  conn?: ConnKeys;
  reply?: boolean;
}

export interface RunResult {
  verdict: number;
  mark: number;
  notrack: boolean;
  logs: number;
  connMark?: number;
}

export class RulesWasm {
  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly evalFn: (blob: number, chain: number, pk: number) => number,
    private readonly exports: Record<string, unknown>,
  ) {}

  static async create(): Promise<RulesWasm> {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-rules-'));
    const out = join(dir, 'rules.wasm');
    try {
      const { error, stderr } = await asc.main([
        entry, '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '16',
        '--maximumMemory', '65536', '--enable', 'threads', '-O3', '--noAssert', '-o', out,
      ]);
      if (error) throw new Error(`asc: ${error.message}\n${stderr.toString()}`);
      const bytes = readFileSync(out);
      const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
      const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, abort() {} } });
      const ex = instance.exports as Record<string, unknown>;
      if (typeof ex._start === 'function') (ex._start as () => void)();
      return new RulesWasm(memory, ex.rules_eval as (b: number, c: number, p: number) => number, ex);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Where the packet keys, a connection and the random state go; the ipsets, the per-rule state and the blob follow. */
  static readonly PK = 0x10000;
  static readonly CONN = 0x10000 + 512;
  static readonly RNG = 0x10000 + 1024;
  static readonly SETS = 0x20000;
  private setsSize = 0;
  private stateAt = 0;
  static BLOB = 0x100000;
  private loaded: CompiledRuleset | null = null;

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / 65536));
  }

  /** The ipsets blob the rules look sets up in. */
  loadSets(blob: Uint8Array): void {
    if (blob.length > RulesWasm.BLOB - RulesWasm.SETS) throw new Error('sets blob too big for the test memory');
    new Uint8Array(this.memory.buffer).set(blob, RulesWasm.SETS);
    this.setsSize = blob.length;
  }

  /**
   * Copies a compiled ruleset into memory (growing it as needed), with fresh
   * per-rule state as the rules noun lays it (full -m limit credit, nth at
   * --packet), and the random state seeded.
   */
  load(c: CompiledRuleset, seed = 0x2545f491): void {
    const blob = c.blob;
    this.stateAt = RulesWasm.BLOB + ((blob.length + 63) & ~63);
    this.ensure(this.stateAt + c.nrules * L.RST_SIZE);
    const u8 = new Uint8Array(this.memory.buffer);
    u8.set(blob, RulesWasm.BLOB);
    u8.fill(0, this.stateAt, this.stateAt + c.nrules * L.RST_SIZE);
    const dv = new DataView(this.memory.buffer);
    c.places.forEach((p, k) => {
      for (const m of p.rule?.matches ?? []) {
        if (m.m === 'limit') dv.setUint32(this.stateAt + k * L.RST_SIZE + L.RST_CREDIT, user2credits((m.avg * m.burst) >>> 0), true);
        if (m.m === 'statistic' && m.mode === 'nth') dv.setUint32(this.stateAt + k * L.RST_SIZE + L.RST_NTH, m.packet, true);
      }
    });
    dv.setUint32(RulesWasm.RNG, seed, true);
    this.loaded = c;
  }

  /** Counters of the rule at index k (blob order). */
  counters(k: number): { packets: number; bytes: number } {
    const { dv } = this.views();
    const at = this.stateAt + k * L.RST_SIZE;
    return { packets: Number(dv.getBigUint64(at, true)), bytes: Number(dv.getBigUint64(at + 8, true)) };
  }

  /** Runs a chain for a packet; returns the raw verdict word. */
  run(chain: number, k: PacketKeys): number {
    return this.runFull(chain, k).verdict;
  }

  private view?: { buf: ArrayBufferLike; dv: DataView; u8: Uint8Array };
  private views(): { dv: DataView; u8: Uint8Array } {
    const buf = this.memory.buffer;
    if (!this.view || this.view.buf.byteLength !== buf.byteLength) this.view = { buf, dv: new DataView(buf), u8: new Uint8Array(buf) };
    return this.view;
  }

  /** Runs a chain for a packet; the verdict and what the walk did (mark, NOTRACK, LOG, the connection's mark). */
  runFull(chain: number, k: PacketKeys): RunResult {
    if (!this.loaded) throw new Error('no blob loaded');
    const { dv, u8 } = this.views();
    const p = RulesWasm.PK;
    u8.fill(0xee, p, p + L.PK_SIZE); // the evaluator must not depend on the rest
    dv.setUint32(p + L.PK_SRC, k.src >>> 0, true);
    dv.setUint32(p + L.PK_DST, k.dst >>> 0, true);
    dv.setUint16(p + L.PK_SPORT, k.sport, true);
    dv.setUint16(p + L.PK_DPORT, k.dport, true);
    dv.setUint8(p + L.PK_PROTO, k.proto);
    dv.setUint8(p + L.PK_CTSTATE, k.ctstate);
    dv.setUint8(p + L.PK_FRAG, k.frag ? 1 : 0);
    dv.setUint8(p + L.PK_CTDIR, k.reply ? 1 : 0);
    dv.setUint16(p + L.PK_IN, k.in, true);
    dv.setUint16(p + L.PK_OUT, k.out, true);
    dv.setUint8(p + L.PK_TCPFLAGS, k.tcpFlags ?? 0);
    dv.setUint8(p + L.PK_ICMP_TYPE, k.icmpType ?? 0);
    dv.setUint8(p + L.PK_ICMP_CODE, k.icmpCode ?? 0);
    dv.setUint8(p + L.PK_RPF, (k.rpf ?? 0) | L.RPF_KNOWN); // as pkReversePath leaves it
    const local = (b?: boolean) => (b ? L.RTN_LOCAL : L.RTN_UNICAST);
    const st = k.srcType ?? [local(k.srcLocal), local(k.srcLocal), local(k.srcLocal)];
    const dt = k.dstType ?? [local(k.dstLocal), local(k.dstLocal), local(k.dstLocal)];
    [st[0], dt[0], st[1], dt[1], st[2], dt[2]].forEach((t, i) => dv.setUint8(p + L.PK_SRC_TYPE + i, t));
    dv.setUint32(p + L.PK_MARK, (k.mark ?? 0) >>> 0, true);
    dv.setUint32(p + L.PK_LEN, k.len ?? 0, true);
    dv.setUint32(p + L.PK_STATE, this.stateAt, true);
    dv.setUint32(p + L.PK_SETS, this.setsSize ? RulesWasm.SETS : 0, true);
    dv.setUint32(p + L.PK_RNG, RulesWasm.RNG, true);
    dv.setUint32(p + L.PK_NOW, k.now ?? 0, true);
    if (k.conn) {
      const c = RulesWasm.CONN;
      u8.fill(0, c, c + L.CONN_SIZE);
      k.conn.orig.forEach((v, i) => dv.setUint32(c + L.CN_ORIG + i * 4, v >>> 0, true));
      k.conn.reply.forEach((v, i) => dv.setUint32(c + L.CN_REPLY + i * 4, v >>> 0, true));
      dv.setUint8(c + L.CN_PROTO, k.conn.proto);
      dv.setUint16(c + L.CN_STATUS, k.conn.status, true);
      dv.setUint32(c + L.CN_TIMEOUT, k.conn.timeout >>> 0, true);
      dv.setUint32(c + L.CN_MARK, k.conn.mark >>> 0, true);
      dv.setUint32(p + L.PK_CONN, c, true);
    } else {
      dv.setUint32(p + L.PK_CONN, 0, true);
    }
    const verdict = this.evalFn(RulesWasm.BLOB, chain, p) >>> 0;
    return {
      verdict,
      mark: dv.getUint32(p + L.PK_MARK, true),
      notrack: dv.getUint8(p + L.PK_NOTRACK) === 1,
      logs: dv.getUint8(p + L.PK_LOGS),
      connMark: k.conn ? dv.getUint32(RulesWasm.CONN + L.CN_MARK, true) : undefined,
    };
  }

  /** The NAT parameters of a verdict's rule, read through the data plane's accessors. */
  nat(verdict: number): { addr: number; addrHi: number; hasPorts: boolean; portLo: number; portHi: number; random: boolean; flags: number } {
    const call = (name: string) => ((this.exports[name] as (b: number, v: number) => number)(RulesWasm.BLOB, verdict) >>> 0);
    return {
      addr: call('nat_addr'),
      addrHi: call('nat_addr_hi'),
      hasPorts: call('nat_has_ports') === 1,
      portLo: call('nat_port_lo'),
      portHi: call('nat_port_hi'),
      random: call('nat_random') === 1,
      flags: call('nat_flags'),
    };
  }
}

export const { PK_NO_LINK } = L;
