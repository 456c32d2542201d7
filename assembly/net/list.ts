// Lists of packet buffers linked through their Q_NEXT word: the queues of a
// network (a port's lists, a host's external input, buffers going back to
// their pool). Each list has one writer at a time, so no atomics are needed:
// waves and their barriers order the writers (assembly/net/wave.ts).
import { LS_HEAD, LS_TAIL, LS_N, Q_NEXT } from '../layout';

@inline export function listLen(l: usize): u32 {
  return load<u32>(l + LS_N);
}

@inline export function listHead(l: usize): usize {
  return <usize>load<u32>(l + LS_HEAD);
}

export function listPush(l: usize, buf: usize): void {
  store<u32>(buf + Q_NEXT, 0);
  const n = load<u32>(l + LS_N);
  if (n == 0) store<u32>(l + LS_HEAD, <u32>buf);
  else store<u32>(<usize>load<u32>(l + LS_TAIL) + Q_NEXT, <u32>buf);
  store<u32>(l + LS_TAIL, <u32>buf);
  store<u32>(l + LS_N, n + 1);
}

/** Takes the first buffer off the list (which must not be empty). */
export function listShift(l: usize): usize {
  const buf = <usize>load<u32>(l + LS_HEAD);
  const n = load<u32>(l + LS_N) - 1;
  store<u32>(l + LS_HEAD, n == 0 ? 0 : load<u32>(buf + Q_NEXT));
  if (n == 0) store<u32>(l + LS_TAIL, 0);
  store<u32>(l + LS_N, n);
  return buf;
}

/** Moves every buffer of `from` to the end of `to`, in order; `from` is left empty. */
export function listSplice(to: usize, from: usize): void {
  const n = load<u32>(from + LS_N);
  if (n == 0) return;
  const m = load<u32>(to + LS_N);
  if (m == 0) store<u32>(to + LS_HEAD, load<u32>(from + LS_HEAD));
  else store<u32>(<usize>load<u32>(to + LS_TAIL) + Q_NEXT, load<u32>(from + LS_HEAD));
  store<u32>(to + LS_TAIL, load<u32>(from + LS_TAIL));
  store<u32>(to + LS_N, m + n);
  store<u32>(from + LS_HEAD, 0);
  store<u32>(from + LS_TAIL, 0);
  store<u32>(from + LS_N, 0);
}
