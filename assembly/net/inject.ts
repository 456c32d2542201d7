// Traffic given to a network between runs (net.send, net.inject, staged
// traffic): the caller writes the packets once and leaves a record on the
// host; the host's worker copies them into its own buffers as the host takes
// them in (wave.ts gather), so the copy is made by the thread that uses it,
// in parallel with the other workers, just before the batch that reads it.
import { H_INJ, H_INJ_TAIL, IR_NEXT, IR_AT, IR_LEFT, IR_LINK, IR_OFF, IR_KIND, IR_DUE } from '../layout';

/**
 * Leaves record rec (INJ_SIZE bytes the caller keeps until the run that takes
 * it in) on host h: n packets packed at `at` ([u32 length, bytes], 8-byte
 * aligned) arriving on link l (K_RX) or from the host's stack (K_ORIGINATE)
 * at `due`, each to be placed at offset off of a buffer. Records of a host
 * are taken in the order they were left.
 */
export function net_defer(h: usize, rec: usize, l: u32, kind: u32, at: usize, n: u32, off: u32, due: f64): void {
  store<u32>(rec + IR_NEXT, 0);
  store<u32>(rec + IR_AT, <u32>at);
  store<u32>(rec + IR_LEFT, n);
  store<u16>(rec + IR_LINK, <u16>l);
  store<u16>(rec + IR_OFF, <u16>off);
  store<u8>(rec + IR_KIND, <u8>kind);
  store<f64>(rec + IR_DUE, due);
  const tail = <usize>load<u32>(h + H_INJ_TAIL);
  if (tail == 0) store<u32>(h + H_INJ, <u32>rec);
  else store<u32>(tail + IR_NEXT, <u32>rec);
  store<u32>(h + H_INJ_TAIL, <u32>rec);
}

/** The host's first record with packets left, or 0. */
@inline export function injFirst(h: usize): usize {
  return <usize>load<u32>(h + H_INJ);
}

/** When the host's first record is due (it has one). */
@inline export function injDue(h: usize): f64 {
  return load<f64>(injFirst(h) + IR_DUE);
}

/** Drops the host's first record, all its packets taken. */
export function injDone(h: usize, rec: usize): void {
  const next = load<u32>(rec + IR_NEXT);
  store<u32>(h + H_INJ, next);
  if (next == 0) store<u32>(h + H_INJ_TAIL, 0);
}

/** Packets the host's records still hold. */
export function injLeft(h: usize): u32 {
  let n: u32 = 0;
  for (let r = injFirst(h); r != 0; r = <usize>load<u32>(r + IR_NEXT)) n += load<u32>(r + IR_LEFT);
  return n;
}
