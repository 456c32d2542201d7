// Loads the data plane: one compiled module, instantiated over one shared
// WebAssembly.Memory. Each thread (the main one, each worker) instantiates it
// again over the same memory; all state lives in Arena regions. Under Node the
// module is read from build/; a browser hands it in (useModule).
import { Arena } from './arena.js';
import { auditing } from './audit.js';
import * as L from './layout.gen.js';
import { nodeBuiltins } from '../platform.js';

/** The data plane's exports (assembly/index.ts). */
export interface DataPlane {
  _start(): void;
  [name: string]: unknown;
}

const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
// Static data of the module sits below this address; regions start above it.
const REGIONS_BASE = L.REGIONS_BASE;

export function packageRoot(): string {
  const node = nodeBuiltins();
  if (!node) throw new Error('podnet: the package root is known under Node only');
  const { existsSync } = node.fs;
  const { dirname, join } = node.path;
  let dir = dirname(node.url.fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('podnet: cannot find the package root');
    dir = up;
  }
  return dir;
}

const modules = new Map<string, WebAssembly.Module>();

/**
 * The builds of the data plane: release, debug (bounds checks and
 * assertions on), and trace (each stage records what it decides, for
 * podnet trace; the release build has none of that code).
 */
export type Build = 'release' | 'debug' | 'trace';

const FILES: Record<Build, string> = { release: 'podnet.wasm', debug: 'podnet.debug.wasm', trace: 'podnet.trace.wasm' };

function buildOf(opts: { debug?: boolean; trace?: boolean }): Build {
  return opts.trace ? 'trace' : opts.debug ? 'debug' : 'release';
}

/** Makes `module` the data plane new engines use (a browser compiles build/podnet.wasm and hands it in). */
export function useModule(module: WebAssembly.Module, opts: { debug?: boolean; trace?: boolean } = {}): void {
  modules.set(`given:${buildOf(opts)}`, module);
}

/** The module of a build (`true`: the debug build). */
export function loadModule(build: Build | boolean = 'release'): WebAssembly.Module {
  const which: Build = build === true ? 'debug' : build === false ? 'release' : build;
  const given = modules.get(`given:${which}`);
  if (given) return given;
  const node = nodeBuiltins();
  if (!node) throw new Error(`podnet: no data plane module${which === 'release' ? '' : ` (${which} build)`}; in a browser, await loadDataPlane() first`);
  const file = node.path.join(packageRoot(), 'build', FILES[which]);
  let mod = modules.get(file);
  if (!mod) {
    if (!node.fs.existsSync(file)) throw new Error(`podnet: ${file} is missing; run \`npm run build\``);
    mod = new WebAssembly.Module(node.fs.readFileSync(file));
    modules.set(file, mod);
  }
  return mod;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): DataPlane {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(msg: number, file: number, line: number, col: number) {
        throw new Error(`podnet data plane: assertion failed at ${line}:${col}`);
      },
    },
  });
  const dp = instance.exports as unknown as DataPlane;
  dp._start();
  return dp;
}

export interface EngineOptions {
  /** Use the debug build: bounds checks and assertions on. */
  debug?: boolean;
  /** Use the trace build: each stage records what it decides (podnet trace, tracePacket). */
  trace?: boolean;
  /** A data plane module of your own (a variant build): used instead of the package's. */
  module?: WebAssembly.Module;
  /** Initial memory in MiB (it grows as regions are placed). */
  initialMiB?: number;
}

/**
 * One shared memory, the regions laid out in it, and this thread's instance of
 * the data plane. Hosts created on one Engine live in its memory.
 */
export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly dp: DataPlane;
  readonly arena: Arena;
  /** Whether calls check the buffer-accounting invariant after every batch (src/engine/audit.ts). */
  readonly audit: boolean;
  /** The structs that hold packets between calls, for the audit: hosts, segments, networks. */
  readonly registry = { hosts: [] as number[], segments: [] as number[], networks: [] as number[] };
  private view?: DataView;
  private bytes?: Uint8Array;

  constructor(opts: EngineOptions = {}, shared?: { memory: WebAssembly.Memory; module: WebAssembly.Module }) {
    if (shared) {
      // Another thread's view of an existing engine: same memory, same arena, its own instance.
      this.memory = shared.memory;
      this.module = shared.module;
      this.dp = instantiate(this.module, this.memory);
      this.arena = new Arena(this.memory, REGIONS_BASE, true);
      this.audit = false;
      return;
    }
    const initial = Math.max(32, Math.ceil(((opts.initialMiB ?? 32) << 20) / 65536));
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    this.module = opts.module ?? loadModule(buildOf(opts));
    this.dp = instantiate(this.module, this.memory);
    this.arena = new Arena(this.memory, REGIONS_BASE);
    this.audit = auditing(opts.debug ?? false);
  }

  /** This thread's view of an engine another thread made (a worker's). */
  static attach(memory: WebAssembly.Memory, module: WebAssembly.Module): Engine {
    return new Engine({}, { memory, module });
  }

  /** Whether this engine's data plane is a trace build (its stages record what they decide). */
  get traces(): boolean {
    return typeof this.dp.trace_build === 'function' && (this.dp.trace_build as () => number)() !== 0;
  }

  /** Another instance of the data plane over the same memory (as a worker has). */
  instance(): DataPlane {
    return instantiate(this.module, this.memory);
  }

  /** A DataView of the whole memory, renewed after the memory grows. */
  /**
   * A DataView of the whole memory, renewed once the memory has grown. The
   * memory grows only for the arena (on any thread), so the arena's top,
   * read through the current view, says whether the view still covers all
   * of it (reading memory.buffer costs far more than that).
   */
  get dv(): DataView {
    const view = this.view;
    if (view && this.words![this.arena.topWord] <= view.byteLength) return view;
    return this.renew();
  }

  private renew(): DataView {
    const buf = this.memory.buffer;
    this.view = new DataView(buf);
    this.bytes = new Uint8Array(buf);
    this.words = new Uint32Array(buf);
    return this.view;
  }

  private words?: Uint32Array;

  get u8(): Uint8Array {
    void this.dv;
    return this.bytes!;
  }

  /** Places a zeroed region. */
  alloc(size: number): number {
    return this.arena.alloc(size);
  }
}

let shared: Engine | undefined;
/** The engine hosts use when none is given. */
export function defaultEngine(): Engine {
  return (shared ??= new Engine());
}
