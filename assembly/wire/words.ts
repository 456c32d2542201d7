// Small fixed-size clears and copies as whole-word stores: memory.fill and
// memory.copy of a few bytes cost a call into the runtime, a u64 store does not.

@inline export function zero16(p: usize): void {
  store<u64>(p, 0);
  store<u64>(p, 0, 8);
}

@inline export function copy16(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
}

@inline export function zero32(p: usize): void {
  zero16(p);
  zero16(p + 16);
}

@inline export function copy32(dst: usize, src: usize): void {
  copy16(dst, src);
  copy16(dst + 16, src + 16);
}

@inline export function zero64(p: usize): void {
  zero32(p);
  zero32(p + 32);
}

@inline export function copy64(dst: usize, src: usize): void {
  copy32(dst, src);
  copy32(dst + 32, src + 32);
}

/**
 * Copies len bytes (non-overlapping). Short copies (frames of a few dozen
 * bytes) go word by word; long ones are left to memory.copy, which pays a
 * call but moves bulk faster.
 */
@inline export function copyBytes(dst: usize, src: usize, len: u32): void {
  if (len > 256) {
    memory.copy(dst, src, len);
    return;
  }
  let i: u32 = 0;
  for (; i + 8 <= len; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i));
}
