// Big-endian (network order, RFC 1700 "Data Notations") field access and the
// range checks shared by every header in this directory. Internal: not
// re-exported from index.ts.

export const get8 = (b: Uint8Array, o: number): number => b[o];
export const get16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const get32 = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Throws unless `v` is an integer in 0..max: emit must never silently truncate a field. */
export function checkUint(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${what} out of range: ${v} (0..${max})`);
}

/** Throws unless the buffer holds at least `n` bytes. */
export function need(b: Uint8Array, n: number, what: string): void {
  if (b.length < n) throw new Error(`${what}: truncated (${b.length} bytes, need ${n})`);
}
