// Node's files and paths, when podnet runs under Node. They are reached
// through process.getBuiltinModule, so no module of the library imports
// `node:` and the same code loads in a browser, where this returns undefined.
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Url from 'node:url';

export interface NodeBuiltins {
  fs: typeof Fs;
  path: typeof Path;
  url: typeof Url;
}

let cached: NodeBuiltins | null | undefined;

export function nodeBuiltins(): NodeBuiltins | undefined {
  if (cached === undefined) {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    cached = typeof get === 'function'
      ? { fs: get('node:fs') as typeof Fs, path: get('node:path') as typeof Path, url: get('node:url') as typeof Url }
      : null;
  }
  return cached ?? undefined;
}
