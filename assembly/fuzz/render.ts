// The fuzzer's frames, made in the data plane: each recipe picks a template,
// sets its knobs (addresses, ports, flags, TTL, sizes: the scenario's own
// values, or any), fixes lengths and checksums, then maybe mutates the
// result. fuzz_send renders a batch straight into buffers and queues them on
// their hosts' external inputs; fuzz_render writes them back to back
// (PKD_*) instead, for the caller to read (a counterexample's bytes). One
// call does a whole batch, so no JavaScript runs per frame.
import { HEADROOM, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP } from '../layout';
import {
  FUZZ_WORDS, FW_TEMPLATE, FW_KNOBS, FW_MUTATION, FW_MUT_ARG, TP_HOST, TP_LINK, TP_KIND, TP_FLAGS, TP_LEN, TP_IP,
  TP_INNER, TP_L4, TP_L4HDR, TP_NKNOBS, TP_MAX, TP_KNOBS, TP_BYTES, TPF_IP, TPF_INNER, TPF_L4, TPF_ARP, KN_SIZE,
  KN_OFF, KN_WIDTH, KN_COUNT, KN_LIST, MUT_FLIP, MUT_FLIP_FIX, MUT_TRUNCATE, MUT_SET, MUT_SET_FIX, MUT_GARBAGE,
  MUT_PAD, MUT_COUNT, PKD_HOST, PKD_TAG, PKD_LINK, PKD_LEN, PKD_KIND, PKD_HDR,
} from './layout';
import { ld16, ld32, st16, st32 } from '../wire/bytes';
import { finish, pseudoSum, ipHeaderChecksum } from '../wire/checksum';
import { sumWide } from '../wire/sum-wide';
import { copyBytes } from '../wire/words';
import { enterContext, bufAllocFor } from '../context';
import { net_inject } from '../net/run';

/** Room a mutation may add after a frame (MUT_PAD). */
const PAD_MAX: u32 = 64;

/**
 * Renders the n recipes at `recipes` (templates listed at `table`, count of
 * them) straight into buffers of context c's pool, and queues each, tagged
 * firstTag, firstTag + 1, ..., on its template's host's external input, due
 * at `due`. Returns how many were queued: fewer when the pool ran dry.
 */
export function fuzz_send(c: usize, table: usize, count: u32, recipes: usize, n: u32, firstTag: u32, due: f64): u32 {
  enterContext(c);
  for (let i: u32 = 0; i < n; i++) {
    const w = recipes + <usize>i * FUZZ_WORDS * 4;
    const t = <usize>load<u32>(table + (<usize>(load<u32>(w + FW_TEMPLATE * 4) % count) << 2));
    let len = lengthOf(t, w);
    const buf = bufAllocFor(HEADROOM + len + PAD_MAX);
    if (buf == 0) return i;
    const f = buf + HEADROOM;
    fill(t, w, f, len);
    len = mutate(t, f, len, load<u32>(w + FW_MUTATION * 4) % MUT_COUNT, load<u32>(w + FW_MUT_ARG * 4));
    net_inject(c, <usize>load<u32>(t + TP_HOST), <u32>load<u16>(t + TP_LINK), <u32>load<u8>(t + TP_KIND), buf, HEADROOM, len, firstTag + i, due);
  }
  return n;
}

/**
 * Renders the n recipes at `recipes` with the templates whose addresses are
 * listed at `table` (count of them) into packed records at `area`, tagged
 * firstTag, firstTag + 1, ...; returns the bytes written.
 */
export function fuzz_render(table: usize, count: u32, recipes: usize, n: u32, firstTag: u32, area: usize): u32 {
  let r = area;
  for (let i: u32 = 0; i < n; i++) {
    const w = recipes + <usize>i * FUZZ_WORDS * 4;
    const t = <usize>load<u32>(table + (<usize>(load<u32>(w + FW_TEMPLATE * 4) % count) << 2));
    const f = r + PKD_HDR;
    let len = lengthOf(t, w);
    fill(t, w, f, len);
    len = mutate(t, f, len, load<u32>(w + FW_MUTATION * 4) % MUT_COUNT, load<u32>(w + FW_MUT_ARG * 4));
    store<u32>(r + PKD_HOST, load<u32>(t + TP_HOST));
    store<u32>(r + PKD_TAG, firstTag + i);
    store<u16>(r + PKD_LINK, load<u16>(t + TP_LINK));
    store<u16>(r + PKD_LEN, <u16>len);
    store<u8>(r + PKD_KIND, load<u8>(t + TP_KIND));
    r += (PKD_HDR + len + 7) & ~7;
  }
  return <u32>(r - area);
}

/** The length of the recipe's frame: its template's, or what its size knob says. */
function lengthOf(t: usize, w: usize): u32 {
  const nk = <u32>load<u8>(t + TP_NKNOBS);
  for (let k: u32 = 0; k < nk; k++) {
    const kn = t + TP_KNOBS + <usize>k * KN_SIZE;
    if (load<u8>(kn + KN_WIDTH) != 0) continue;
    const len = <u32>load<u16>(t + TP_L4) + <u32>load<u16>(t + TP_L4HDR) + value(kn, load<u32>(w + (FW_KNOBS + k) * 4));
    const max = <u32>load<u16>(t + TP_MAX);
    return len < max ? len : max;
  }
  return <u32>load<u16>(t + TP_LEN);
}

/** The template's frame, len bytes of it, at f with the recipe's knob values, lengths and checksums right. */
function fill(t: usize, w: usize, f: usize, len: u32): void {
  const flags = <u32>load<u8>(t + TP_FLAGS);
  const nk = <u32>load<u8>(t + TP_NKNOBS);
  const sized = len != <u32>load<u16>(t + TP_LEN);
  copyBytes(f, t + TP_BYTES, len);
  for (let k: u32 = 0; k < nk; k++) {
    const kn = t + TP_KNOBS + <usize>k * KN_SIZE;
    const width = <u32>load<u8>(kn + KN_WIDTH);
    if (width == 0) continue;
    const word = load<u32>(w + (FW_KNOBS + k) * 4);
    const p = f + <usize>load<u16>(kn + KN_OFF);
    if (width == 6) {
      const list = <usize>load<u32>(kn + KN_LIST);
      const at = list + (<usize>pick(word, load<u32>(kn + KN_COUNT)) << 3);
      store<u32>(p, load<u32>(at));
      store<u16>(p + 4, load<u16>(at + 4));
    } else {
      const v = value(kn, word);
      if (width == 1) store<u8>(p, <u8>v);
      else if (width == 2) st16(p, v & 0xffff);
      else st32(p, v);
    }
  }
  if (sized) setLengths(t, f, len);
  if ((flags & TPF_IP) != 0) fix(t, f, len);
}

@inline function value(kn: usize, word: u32): u32 {
  const n = load<u32>(kn + KN_COUNT);
  return n == 0 ? word : load<u32>(<usize>load<u32>(kn + KN_LIST) + (<usize>pick(word, n) << 2));
}

/** Which of n values a word picks: its place in [0, 2^32) scaled to n (a multiply, not a division). */
@inline function pick(word: u32, n: u32): u32 {
  return <u32>((<u64>word * <u64>n) >> 32);
}

/** After a size knob: the total lengths of the headers, and UDP's own. */
function setLengths(t: usize, f: usize, len: u32): void {
  const flags = <u32>load<u8>(t + TP_FLAGS);
  const outer = f + <usize>load<u16>(t + TP_IP);
  const inner = (flags & TPF_INNER) != 0 ? f + <usize>load<u16>(t + TP_INNER) : outer;
  const end = f + len;
  st16(inner + 2, <u32>(end - inner));
  if (inner != outer) st16(outer + 2, <u32>(end - outer));
  const l4 = f + <usize>load<u16>(t + TP_L4);
  if (<u32>load<u8>(inner + 9) == IPPROTO_UDP) st16(l4 + 4, <u32>(end - l4));
}

/** The innermost L4 checksum, then the inner and outer header checksums, as a sender computes them. */
function fix(t: usize, f: usize, len: u32): void {
  const flags = <u32>load<u8>(t + TP_FLAGS);
  const outer = f + <usize>load<u16>(t + TP_IP);
  const inner = (flags & TPF_INNER) != 0 ? f + <usize>load<u16>(t + TP_INNER) : outer;
  const end = f + len;
  if ((flags & TPF_L4) != 0) {
    const l4 = f + <usize>load<u16>(t + TP_L4);
    let stop = inner + <usize>ld16(inner + 2);
    if (stop > end) stop = end;
    if (stop >= l4 + 8) {
      const n = <u32>(stop - l4);
      const proto = <u32>load<u8>(inner + 9);
      if (proto == IPPROTO_TCP && n >= 20) {
        st16(l4 + 16, 0);
        st16(l4 + 16, finish(sumWide(l4, n) + pseudoSum(ld32(inner + 12), ld32(inner + 16), proto, n)));
      } else if (proto == IPPROTO_UDP) {
        st16(l4 + 6, 0);
        const c = finish(sumWide(l4, n) + pseudoSum(ld32(inner + 12), ld32(inner + 16), proto, n));
        st16(l4 + 6, c == 0 ? 0xffff : c);
      } else if (proto == IPPROTO_ICMP) {
        st16(l4 + 2, 0);
        st16(l4 + 2, finish(sumWide(l4, n)));
      }
    }
  }
  if (inner != outer) headerChecksum(inner, end);
  headerChecksum(outer, end);
}

function headerChecksum(ip: usize, end: usize): void {
  if (ip + 20 > end) return;
  let ihl = (<u32>load<u8>(ip) & 15) << 2;
  if (ihl < 20) return;
  if (ip + ihl > end) ihl = <u32>(end - ip);
  st16(ip + 10, 0);
  st16(ip + 10, ipHeaderChecksum(ip, ihl));
}

/** Mutation m of the frame at f (len bytes); returns its new length. */
function mutate(t: usize, f: usize, len: u32, m: u32, arg: u32): u32 {
  if (m == 0 || len == 0) return len;
  const pos = (arg & 0xffff) % len;
  if (m == MUT_TRUNCATE) return pos;
  if (m == MUT_PAD) {
    const pad = (arg >>> 16) % (PAD_MAX - 1) + 1;
    memory.fill(f + len, 0, pad); // pad < PAD_MAX: the buffer has room
    return len + pad;
  }
  if (m == MUT_GARBAGE) {
    const from: u32 = len > 14 ? 14 + pos % (len - 14) : len;
    let x = arg | 1;
    for (let i = from; i < len; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      store<u8>(f + i, <u8>x);
    }
    return len;
  }
  // The sender's identity stays: its MAC, and an ARP packet's sender fields.
  if (pos >= 6 && pos < 12) return len;
  if ((<u32>load<u8>(t + TP_FLAGS) & TPF_ARP) != 0 && pos >= 22 && pos < 32) return len;
  const flip: u32 = 1 << ((arg >>> 16) & 7);
  if (m == MUT_FLIP || m == MUT_FLIP_FIX) store<u8>(f + pos, <u32>load<u8>(f + pos) ^ flip);
  else store<u8>(f + pos, arg >>> 16);
  if ((m == MUT_FLIP_FIX || m == MUT_SET_FIX) && (<u32>load<u8>(t + TP_FLAGS) & TPF_IP) != 0) fix(t, f, len);
  return len;
}
