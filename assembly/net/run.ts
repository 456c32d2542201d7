// A network's runs: what each worker's share of a run starts from (its
// nodes with frames waiting) and what it leaves (every frame on its way in
// its port's pending list, every buffer home), and frames queued from
// outside between runs (assembly/net/wave.ts runs the waves).
import {
  C_ID, H_NLINKS, H_LINKS, LINK_SIZE, H_EXT, H_OWNER, L_RXPORT, PT_PEND, LIST_SIZE, NODE_SIZE, ND_KIND,
  ND_PTR, ND_OWNER, NK_HOST, NT_WORKERS, NT_NODES, NT_NNODES, NT_RET, WK_ID, WK_NET, WK_NODES, WK_BITS, WK_NNODES,
  WK_CURSOR, WK_NOW_WORK, WK_NEXT_DUE, Q_OFF, Q_LEN, Q_TAG, Q_POOL, Q_KIND, Q_LINK, Q_DUE,
} from '../layout';
import { enterContext, bufFree } from '../context';
import { listLen, listHead, listPush, listShift } from './list';
import { setBit, arrivals } from './wave';
import { injFirst, injDue, injLeft } from './inject';

const INF: f64 = Infinity;

/**
 * A worker's start of a run, before the first wave (src/net/waves.ts): sets
 * the bit of each of its nodes with frames waiting, and reports in its record
 * whether any is due now and the earliest later one. Each worker looks at its
 * own nodes only, whose memory its core last wrote.
 */
export function net_prepare(w: usize, now: f64): void {
  const n = <usize>load<u32>(w + WK_NET);
  const nodes = <usize>load<u32>(n + NT_NODES);
  const list = <usize>load<u32>(w + WK_NODES);
  const count = load<u32>(w + WK_NNODES);
  const bits = <usize>load<u32>(w + WK_BITS);
  memory.fill(bits, 0, ((count + 31) >> 5) << 2);
  let nowWork: u32 = 0;
  let next = INF;
  for (let pos: u32 = 0; pos < count; pos++) {
    const node = nodes + <usize>load<u32>(list + (<usize>pos << 2)) * NODE_SIZE;
    const p = <usize>load<u32>(node + ND_PTR);
    // A segment holds no frames: its members' senders forward for it.
    if (load<u32>(node + ND_KIND) != NK_HOST) continue;
    // During the run the host belongs to its worker: the debug build refuses any other writer.
    store<u32>(p + H_OWNER, load<u32>(node + ND_OWNER) + 1);
    let earliest = INF;
    if (listLen(p + H_EXT) != 0) earliest = now;
    if (injFirst(p) != 0) earliest = min(earliest, injDue(p));
    const links = load<u32>(p + H_NLINKS);
    for (let l: u32 = 0; l < links; l++) {
      const port = <usize>load<u32>(linkOf(p, l) + L_RXPORT);
      if (port != 0 && listLen(port + PT_PEND) != 0) earliest = min(earliest, load<f64>(listHead(port + PT_PEND) + Q_DUE));
    }
    if (earliest == INF) continue;
    setBit(bits, pos);
    if (earliest <= now) nowWork = 1;
    else next = min(next, earliest);
  }
  store<u32>(w + WK_CURSOR, 0);
  store<u32>(w + WK_NOW_WORK, nowWork);
  store<f64>(w + WK_NEXT_DUE, next);
}

/**
 * A worker's end of a run, after the last wave: every frame still on its way
 * to one of its nodes joins its port's pending list, and every buffer of its
 * pool that others took copies of is home, so the next run may give the
 * nodes to other workers. Context c is the worker's.
 */
export function net_finish(c: usize, w: usize): void {
  const n = <usize>load<u32>(w + WK_NET);
  const workers = load<u32>(n + NT_WORKERS);
  const me = load<u32>(w + WK_ID);
  const ret = <usize>load<u32>(n + NT_RET);
  enterContext(c);
  for (let parity: u32 = 0; parity < 2; parity++) arrivals(n, me, workers, parity, 0);
  for (let p: u32 = 0; p < workers; p++) {
    for (let parity: u32 = 0; parity < 2; parity++) {
      const l = ret + <usize>(((p * workers + me) << 1) + parity) * LIST_SIZE;
      while (listLen(l) != 0) bufFree(listShift(l));
    }
  }
  const nodes = <usize>load<u32>(n + NT_NODES);
  const list = <usize>load<u32>(w + WK_NODES);
  const count = load<u32>(w + WK_NNODES);
  for (let pos: u32 = 0; pos < count; pos++) {
    const node = nodes + <usize>load<u32>(list + (<usize>pos << 2)) * NODE_SIZE;
    if (load<u32>(node + ND_KIND) == NK_HOST) store<u32>(<usize>load<u32>(node + ND_PTR) + H_OWNER, 0);
  }
}

@inline function linkOf(h: usize, l: u32): usize {
  return <usize>load<u32>(h + H_LINKS) + <usize>l * LINK_SIZE;
}

/**
 * Queues a frame (K_RX, on link l) or a packet of the host's stack
 * (K_ORIGINATE) in buf, from context c's pool, as host h's external input,
 * due at `due`.
 */
export function net_inject(c: usize, h: usize, l: u32, kind: u32, buf: usize, off: u32, len: u32, tag: u32, due: f64): void {
  store<u16>(buf + Q_OFF, <u16>off);
  store<u16>(buf + Q_LEN, <u16>len);
  store<u32>(buf + Q_TAG, tag);
  store<u8>(buf + Q_POOL, <u8>load<u32>(c + C_ID));
  store<u8>(buf + Q_KIND, <u8>kind);
  store<u16>(buf + Q_LINK, <u16>l);
  store<f64>(buf + Q_DUE, due);
  listPush(h + H_EXT, buf);
}

/** Frames and packets waiting in the network (between runs: all on pending and external lists). */
export function net_in_flight(n: usize): u32 {
  const nodes = <usize>load<u32>(n + NT_NODES);
  const count = load<u32>(n + NT_NNODES);
  let total: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const node = nodes + <usize>r * NODE_SIZE;
    const p = <usize>load<u32>(node + ND_PTR);
    if (load<u32>(node + ND_KIND) != NK_HOST) continue; // a segment holds no frames
    total += listLen(p + H_EXT) + injLeft(p);
    const links = load<u32>(p + H_NLINKS);
    for (let l: u32 = 0; l < links; l++) {
      const port = <usize>load<u32>(linkOf(p, l) + L_RXPORT);
      if (port != 0) total += listLen(port + PT_PEND);
    }
  }
  return total;
}
