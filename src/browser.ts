// podnet's public API in a browser: the library without files, plus a loader
// for the data plane's module. The page must be cross-origin isolated (COOP
// same-origin, COEP require-corp): the engine's memory is shared.
import { useModule } from './engine/engine.js';

export * from './library.js';

/**
 * Compiles the data plane and makes it the one new engines use. `source` is
 * podnet.wasm's URL (default: build/podnet.wasm beside this package), its
 * bytes, or a compiled module; `{ trace: true }` loads the trace build
 * (podnet.trace.wasm), which engines made with `{ trace: true }` use.
 */
export async function loadDataPlane(source?: string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module, opts: { debug?: boolean; trace?: boolean } = {}): Promise<WebAssembly.Module> {
  if (typeof SharedArrayBuffer === 'undefined' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    throw new Error('podnet: shared memory is unavailable: serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp');
  }
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) {
    module = source;
  } else if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    module = await WebAssembly.compile(source as BufferSource);
  } else {
    const url = source ?? new URL(`../../build/${opts.trace ? 'podnet.trace.wasm' : opts.debug ? 'podnet.debug.wasm' : 'podnet.wasm'}`, import.meta.url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`podnet: ${String(url)}: ${response.status} ${response.statusText}`);
    module = await WebAssembly.compile(await response.arrayBuffer());
  }
  useModule(module, opts);
  return module;
}
