// Compiles the rule evaluator alone (test/fixtures/rules-entry.ts) with the
// release flags of asconfig.json and runs compiled rulesets through it over
// a shared memory, so the rule engine's tests need nothing else of the data
// plane.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { PK_CTSTATE, PK_DPORT, PK_DST, PK_DST_LOCAL, PK_FRAG, PK_IN, PK_NO_LINK, PK_OUT, PK_PROTO, PK_SIZE, PK_SPORT, PK_SRC, PK_SRC_LOCAL } from '../../src/engine/layout.gen.js';

const entry = fileURLToPath(new URL('../fixtures/rules-entry.ts', import.meta.url));

export interface PacketKeys {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  /** One CTS_* bit. */
  ctstate: number;
  /** Link index, or PK_NO_LINK. */
  in: number;
  out: number;
  srcLocal: boolean;
  dstLocal: boolean;
  /** A fragment other than the first. */
  frag?: boolean;
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

  /** Where the packet keys go; the blob follows at BLOB (both well clear of the module's own data). */
  static readonly PK = 0x10000;
  static readonly BLOB = 0x10000 + 4096;
  private loaded: Uint8Array | null = null;

  /** Copies a compiled blob into memory (growing it as needed). */
  load(blob: Uint8Array): void {
    const need = RulesWasm.BLOB + blob.length;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / 65536));
    new Uint8Array(this.memory.buffer).set(blob, RulesWasm.BLOB);
    this.loaded = blob;
  }

  /** Runs a chain for a packet; returns the raw verdict word. */
  run(chain: number, k: PacketKeys): number {
    if (!this.loaded) throw new Error('no blob loaded');
    const dv = new DataView(this.memory.buffer);
    const p = RulesWasm.PK;
    new Uint8Array(this.memory.buffer, p, PK_SIZE).fill(0xee); // the evaluator must not depend on the rest
    dv.setUint32(p + PK_SRC, k.src >>> 0, true);
    dv.setUint32(p + PK_DST, k.dst >>> 0, true);
    dv.setUint16(p + PK_SPORT, k.sport, true);
    dv.setUint16(p + PK_DPORT, k.dport, true);
    dv.setUint8(p + PK_PROTO, k.proto);
    dv.setUint8(p + PK_CTSTATE, k.ctstate);
    dv.setUint8(p + PK_SRC_LOCAL, k.srcLocal ? 1 : 0);
    dv.setUint8(p + PK_DST_LOCAL, k.dstLocal ? 1 : 0);
    dv.setUint16(p + PK_IN, k.in, true);
    dv.setUint16(p + PK_OUT, k.out, true);
    dv.setUint8(p + PK_FRAG, k.frag ? 1 : 0);
    return this.evalFn(RulesWasm.BLOB, chain, p) >>> 0;
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

export { PK_NO_LINK };
