// A network's wave, for one worker (src/network.ts drives the waves): the
// worker takes over what was sent to its nodes in the wave before, then each
// of its hosts with frames due takes them in, in rank order, batch by batch.
// What they send lands in ports for the next wave (a segment's members'
// senders forward for it, assembly/net/segment.ts). A node's state is touched
// by its worker only; lists between workers are written in one wave and read
// in the next, across a barrier, so a run is the same at any worker count.
import {
  C_IN, C_IN_CAP, C_OUT_N, C_OUT_CAP, DESC_SIZE, D_BUF, D_OFF, D_LEN, D_LINK, D_KIND, D_FLAGS, D_TAG, DF_NOMEM,
  DF_TOO_LONG, BUF_SIZE_HUGE, K_RX, H_NLINKS, H_EXT, H_CT, H_NEIGH_USED, H_NEIGH_MASK, CT_CAP, CT_COUNT, CT_MAX,
  L_RXPORT, L_FLAGS, LF_CAPTURE, PORT_SIZE, PT_PEND, PT_OUT, PT_NODE, PT_ACT, PT_ACTIVE, LIST_SIZE, NODE_SIZE, ND_KIND,
  ND_PTR, ND_POS, NK_HOST, NT_WORKERS, NT_NODES, NT_ACT, NT_RET, NT_WK, WK_SIZE, WK_ID, WK_NET, WK_NODES, WK_NNODES,
  WK_BITS, WK_CURSOR, WK_GROW, WK_ROOM, WK_STEPS, WK_SENT, WK_NOW_WORK, WK_NEXT_DUE, WK_WAVE, WK_NOW, WK_TICK, Q_OFF,
  Q_LEN, Q_TAG, Q_POOL, Q_KIND, Q_LINK, Q_DUE, O_CAPTURE_IN, WAVE_DONE, WAVE_OUTPUTS, WAVE_GROW, WAVE_LEARN_ROOM,
  WK_FRESH, WK_LEARN_N, H_SEGLINKS, PT_SIDE, PT_SIDES, PT_MARK, Q_SENDER, Q_NEXT, C_SCRATCH, LS_HEAD, LS_TAIL, LS_N,
  IR_DUE, IR_LINK, IR_KIND, IR_OFF, IR_AT, IR_LEFT,
} from '../layout';
import { ctx, host, link, enter, enterContext, enterNetwork, wkAdd, bufAllocFor, bufFree, capture, checking } from '../context';
import { checkEntry } from '../check';
import { copyBytes } from '../wire/words';
import { hostTimers, runBatch } from '../batch';
import { listLen, listHead, listPush, listShift, listSplice } from './list';
import { learnRoom } from './segment';
import { injFirst, injDone } from './inject';

const INF: f64 = Infinity;

let net: usize = 0;
let me: u32 = 0;
let workers: u32 = 0;
let parity: u32 = 0;
let nowF: f64 = 0;

/**
 * Runs worker record w's part of the wave it describes (WK_WAVE, WK_NOW,
 * WK_TICK) with context c. Returns WAVE_DONE, or what the caller must do
 * before calling again to go on where it stopped (WAVE_OUTPUTS, WAVE_GROW).
 */
export function net_wave(c: usize, w: usize): u32 {
  enterContext(c);
  net = <usize>load<u32>(w + WK_NET);
  me = load<u32>(w + WK_ID);
  workers = load<u32>(net + NT_WORKERS);
  parity = load<u32>(w + WK_WAVE) & 1;
  nowF = load<f64>(w + WK_NOW);
  enterNetwork(w, nowF);
  let cursor = load<u32>(w + WK_CURSOR);
  const resumed = cursor != 0;
  if (!resumed) {
    store<u32>(w + WK_NOW_WORK, 0);
    store<f64>(w + WK_NEXT_DUE, INF);
    takeReturns(parity ^ 1);
    takeArrivals(w, parity ^ 1);
    // What the last wave logged was applied between the waves (net_learn).
    store<u32>(w + WK_LEARN_N, 0);
    cursor = 1;
  }
  const tick = load<u32>(w + WK_TICK) != 0;
  const n = load<u32>(w + WK_NNODES);
  const bits = <usize>load<u32>(w + WK_BITS);
  for (let pos = cursor - 1; pos < n; pos++) {
    if (!tick) {
      // Skip to the next node with something to take in.
      const word = load<u32>(bits + ((<usize>pos >> 5) << 2)) >>> (pos & 31);
      if (word == 0) {
        pos |= 31;
        continue;
      }
      pos += ctz(word);
      if (pos >= n) break;
    }
    const node = <usize>load<u32>(net + NT_NODES) + <usize>load<u32>(<usize>load<u32>(w + WK_NODES) + (<usize>pos << 2)) * NODE_SIZE;
    if (load<u32>(node + ND_KIND) != NK_HOST) {
      // A segment takes nothing in: its members' senders forward for it (segment.ts).
      clearBit(bits, pos);
      continue;
    }
    const again = resumed && pos == cursor - 1 && load<u32>(w + WK_FRESH) == 0;
    const status = hostStep(<usize>load<u32>(node + ND_PTR), pos, bits, again);
    if (status != WAVE_DONE) {
      store<u32>(w + WK_CURSOR, pos + 1);
      return status;
    }
  }
  store<u32>(w + WK_CURSOR, 0);
  return WAVE_DONE;
}

/** Buffers of this worker's pool that other workers took copies of, back on its stack. */
function takeReturns(prev: u32): void {
  const ret = <usize>load<u32>(net + NT_RET);
  for (let p: u32 = 0; p < workers; p++) {
    const l = ret + <usize>(((p * workers + me) << 1) + prev) * LIST_SIZE;
    while (listLen(l) != 0) bufFree(listShift(l));
  }
}

/** The ports other workers (and this one) sent to in the wave before: their frames join the ports' pending lists. */
function takeArrivals(w: usize, prev: u32): void {
  arrivals(net, me, workers, prev, <usize>load<u32>(w + WK_BITS));
}

/**
 * Worker `me` of network n takes over the frames sent to its ports in a wave
 * of parity `parity`: each list joins its port's pending list, and the
 * port's node gets its bit in `bits` (none when 0). A segment member's frames
 * came from every worker, each into a port of its own; they are merged in the
 * order of their senders' ranks, the order one worker would have sent them in.
 */
export function arrivals(n: usize, me: u32, workers: u32, parity: u32, bits: usize): void {
  const act = <usize>load<u32>(n + NT_ACT);
  let merging: usize = 0;
  for (let p: u32 = 0; p < workers; p++) {
    const head = act + <usize>(((p * workers + me) << 1) + parity) * 4;
    let port = <usize>load<u32>(head);
    store<u32>(head, 0);
    while (port != 0) {
      const next = <usize>load<u32>(port + PT_ACT + (parity << 2));
      store<u8>(port + PT_ACTIVE + parity, 0);
      const out = port + PT_OUT + <usize>parity * LIST_SIZE;
      const side = <u32>load<u8>(port + PT_SIDE);
      const main = port - <usize>side * PORT_SIZE;
      if (side == 0 && load<u8>(port + PT_SIDES) == 0) {
        listSplice(port + PT_PEND, out);
      } else {
        if (load<u32>(main + PT_MARK) == 0) {
          // The first of its ports this wave: remember where the new frames start, merge them below.
          store<u32>(main + PT_MARK, listLen(main + PT_PEND) + 1);
          store<u32>(main + PT_ACT + (parity << 2), <u32>merging);
          merging = main;
        }
        // The link's own port (worker 0's) appends to the pending list; the others wait beside it.
        listSplice((side == 0 ? main : port) + PT_PEND, out);
      }
      if (bits != 0) setBit(bits, nodePos(load<u32>(main + PT_NODE)));
      port = next;
    }
  }
  while (merging != 0) {
    const next = <usize>load<u32>(merging + PT_ACT + (parity << 2));
    store<u32>(merging + PT_ACT + (parity << 2), 0);
    mergeBySender(merging);
    merging = next;
  }
}

/**
 * The frames that arrived at main (after its first PT_MARK - 1 pending ones)
 * and at its side ports, in order of their senders' ranks: each list is in
 * that order already, and one sender's frames are all in one list.
 */
function mergeBySender(main: usize): void {
  const pend = main + PT_PEND;
  const keep = load<u32>(main + PT_MARK) - 1;
  store<u32>(main + PT_MARK, 0);
  const sides = <u32>load<u8>(main + PT_SIDES);
  // This wave's frames in the link's own port move to a list of their own (in the scratch), to be merged.
  const fresh = <usize>load<u32>(ctx + C_SCRATCH);
  store<u32>(fresh + LS_HEAD, 0);
  store<u32>(fresh + LS_TAIL, 0);
  store<u32>(fresh + LS_N, 0);
  const moved = listLen(pend) - keep;
  if (moved != 0) {
    // Cut the pending list after its first `keep` frames.
    if (keep == 0) {
      listSplice(fresh, pend);
    } else {
      let last = listHead(pend);
      for (let i: u32 = 1; i < keep; i++) last = <usize>load<u32>(last + Q_NEXT);
      store<u32>(fresh + LS_HEAD, load<u32>(last + Q_NEXT));
      store<u32>(fresh + LS_TAIL, load<u32>(pend + LS_TAIL));
      store<u32>(fresh + LS_N, moved);
      store<u32>(last + Q_NEXT, 0);
      store<u32>(pend + LS_TAIL, <u32>last);
      store<u32>(pend + LS_N, keep);
    }
  }
  while (true) {
    let from: usize = 0;
    let rank: u32 = 0xffffffff;
    for (let i: u32 = 0; i <= sides; i++) {
      const l = i == 0 ? fresh : main + <usize>i * PORT_SIZE + PT_PEND;
      if (listLen(l) == 0) continue;
      const r = load<u32>(listHead(l) + Q_SENDER);
      if (r < rank) {
        rank = r;
        from = l;
      }
    }
    if (from == 0) break;
    listPush(pend, listShift(from));
  }
}

@inline function nodePos(rank: u32): u32 {
  return load<u32>(<usize>load<u32>(net + NT_NODES) + <usize>rank * NODE_SIZE + ND_POS);
}

@inline export function setBit(bits: usize, pos: u32): void {
  const p = bits + ((<usize>pos >> 5) << 2);
  store<u32>(p, load<u32>(p) | (1 << (pos & 31)));
}

@inline function clearBit(bits: usize, pos: u32): void {
  const p = bits + ((<usize>pos >> 5) << 2);
  store<u32>(p, load<u32>(p) & ~(1 << (pos & 31)));
}

/**
 * Host h takes in its due frames: its external input first, then each link's
 * in link order, each in order of arrival, in batches the output vector and
 * the tables have room for.
 */
function hostStep(h: usize, pos: u32, bits: usize, resumed: bool): u32 {
  const w = wkRec();
  store<u32>(w + WK_FRESH, 0);
  // What it sends to segments is learned later: the log must have room for all of it.
  const perInput = learnPerInput(h);
  if (!resumed) {
    if (perInput != 0 && !learnRoom(w, perInput)) {
      store<u32>(w + WK_FRESH, 1); // its step has not begun: the timers are still to run
      return needLearnRoom(w, perInput);
    }
    enter(ctx, h, <u32>nowF);
    hostTimers();
  } else {
    enter(ctx, h, <u32>nowF);
  }
  while (true) {
    const n = batchRoom(h);
    if (n == 0) return WAVE_OUTPUTS;
    if (needsRoom(h, n)) {
      store<u32>(w + WK_GROW, <u32>h);
      store<u32>(w + WK_ROOM, n);
      return WAVE_GROW;
    }
    if (perInput != 0 && !learnRoom(w, n * perInput)) return needLearnRoom(w, n * perInput);
    const m = gather(h, n);
    if (m == 0) break;
    runBatch(<usize>load<u32>(ctx + C_IN), m);
  }
  keepIfPending(h, pos, bits);
  return WAVE_DONE;
}

/**
 * Learning entries one input of host h may log at most: none without links
 * to segments, else as many frames as it may send on them (batchRoom's bound).
 */
function learnPerInput(h: usize): u32 {
  const seg = load<u32>(h + H_SEGLINKS);
  return seg == 0 ? 0 : (seg + 4) << 1;
}

function needLearnRoom(w: usize, n: u32): u32 {
  store<u32>(w + WK_ROOM, n);
  return WAVE_LEARN_ROOM;
}

@inline function wkRec(): usize {
  return <usize>load<u32>(net + NT_WK) + <usize>me * WK_SIZE;
}

/**
 * How many inputs the next batch may take: each can fan out to every link
 * (a flood, copies of captured frames), and the outputs must fit.
 */
function batchRoom(h: usize): u32 {
  const out = load<u32>(ctx + C_OUT_N);
  const free = load<u32>(ctx + C_OUT_CAP) - out;
  const per = (load<u32>(h + H_NLINKS) + 4) << 1;
  let n = free / per;
  const cap = load<u32>(ctx + C_IN_CAP);
  if (n > cap) n = cap;
  if (n == 0 && out == 0) n = 1;
  return n;
}

/** Whether the host's tables must grow before n more packets (src/tables/growth.ts grows them). */
function needsRoom(h: usize, n: u32): bool {
  const ct = <usize>load<u32>(h + H_CT);
  if (ct != 0) {
    const cap = load<u32>(ct + CT_CAP);
    if (cap < load<u32>(ct + CT_MAX) && load<u32>(ct + CT_COUNT) + 2 * n + 3 > cap) return true;
  }
  // As growNeighbours has it: n more entries must fit under 3/4 of the slots.
  return (load<u32>(h + H_NEIGH_USED) + n) * 4 > (load<u32>(h + H_NEIGH_MASK) + 1) * 3;
}

/** Fills the input vector with up to n due frames of host h; returns how many. */
function gather(h: usize, n: u32): u32 {
  const vec = <usize>load<u32>(ctx + C_IN);
  let m: u32 = 0;
  const ext = h + H_EXT;
  while (m < n && listLen(ext) != 0) {
    const buf = listShift(ext);
    admit(vec + <usize>m * DESC_SIZE, buf, <u32>load<u16>(buf + Q_LINK), <u32>load<u8>(buf + Q_KIND));
    m++;
  }
  // Traffic given between runs, copied into this worker's buffers now.
  for (let r = injFirst(h); m < n && r != 0 && load<f64>(r + IR_DUE) <= nowF; r = injFirst(h)) {
    const l = <u32>load<u16>(r + IR_LINK);
    const kind = <u32>load<u8>(r + IR_KIND);
    const off = <u32>load<u16>(r + IR_OFF);
    let p = <usize>load<u32>(r + IR_AT);
    let left = load<u32>(r + IR_LEFT);
    for (; m < n && left != 0; left--) {
      const len = load<u32>(p);
      place(vec + <usize>m * DESC_SIZE, p + 4, len, off, l, kind);
      p += (4 + <usize>len + 7) & ~7;
      m++;
    }
    store<u32>(r + IR_AT, <u32>p);
    store<u32>(r + IR_LEFT, left);
    if (left == 0) injDone(h, r);
  }
  const nlinks = load<u32>(h + H_NLINKS);
  for (let l: u32 = 0; l < nlinks && m < n; l++) {
    const port = <usize>load<u32>(link(l) + L_RXPORT);
    if (port == 0) continue;
    const pend = port + PT_PEND;
    while (m < n && listLen(pend) != 0 && load<f64>(listHead(pend) + Q_DUE) <= nowF) {
      admit(vec + <usize>m * DESC_SIZE, listShift(pend), l, K_RX);
      m++;
    }
  }
  return m;
}

/**
 * Writes the descriptor d for a queued frame arriving on link l. A buffer of
 * another worker's pool is copied into one of this worker's and goes back.
 */
function admit(d: usize, buf: usize, l: u32, kind: u32): void {
  const off = <u32>load<u16>(buf + Q_OFF);
  const len = <u32>load<u16>(buf + Q_LEN);
  const tag = load<u32>(buf + Q_TAG);
  const pool = <u32>load<u8>(buf + Q_POOL);
  let flags: u32 = 0;
  if (pool != me) {
    const own = bufAllocFor(off + len);
    if (own != 0) copyBytes(own + off, buf + off, len);
    else flags = DF_NOMEM;
    giveBack(buf);
    buf = own;
  }
  describe(d, buf, off, len, l, kind, tag, flags);
}

/**
 * Writes the descriptor d for len bytes at src given from outside, copied
 * into a buffer of this worker's at off; one no buffer holds goes in without
 * one, to be counted and dropped by the host (noBuffer), as Host.receive does.
 */
function place(d: usize, src: usize, len: u32, off: u32, l: u32, kind: u32): void {
  const size = off + len;
  const buf = size <= BUF_SIZE_HUGE ? bufAllocFor(size) : 0;
  if (buf != 0) copyBytes(buf + off, src, len);
  describe(d, buf, off, len, l, kind, 0, buf != 0 ? 0 : size > BUF_SIZE_HUGE ? DF_TOO_LONG : DF_NOMEM);
}

function describe(d: usize, buf: usize, off: u32, len: u32, l: u32, kind: u32, tag: u32, flags: u32): void {
  wkAdd(kind == K_RX ? WK_STEPS : WK_SENT, 1);
  if (buf != 0 && kind == K_RX && (<u32>load<u8>(link(l) + L_FLAGS) & LF_CAPTURE) != 0) capture(O_CAPTURE_IN, l, buf, off, len, tag);
  if (buf != 0 && checking) checkEntry(host, buf, off, len, kind);
  store<u32>(d + D_BUF, <u32>buf);
  store<u16>(d + D_OFF, <u16>off);
  store<u16>(d + D_LEN, <u16>len);
  store<u16>(d + D_LINK, <u16>l);
  store<u8>(d + D_KIND, <u8>kind);
  store<u8>(d + D_FLAGS, <u8>flags);
  store<u32>(d + D_TAG, tag);
}

/** Frees a queued buffer into its own pool: this worker's, or another's by way of a return list. */
export function giveBack(buf: usize): void {
  const pool = <u32>load<u8>(buf + Q_POOL);
  if (pool == me) {
    bufFree(buf);
    return;
  }
  const ret = <usize>load<u32>(net + NT_RET);
  listPush(ret + <usize>(((me * workers + pool) << 1) + parity) * LIST_SIZE, buf);
}

/**
 * After a host's step: its bit stays set while frames wait on its ports (due
 * later), and the earliest of them is what the worker reports.
 */
function keepIfPending(h: usize, pos: u32, bits: usize): void {
  let earliest = INF;
  const nlinks = load<u32>(h + H_NLINKS);
  for (let l: u32 = 0; l < nlinks; l++) {
    const port = <usize>load<u32>(link(l) + L_RXPORT);
    if (port != 0 && listLen(port + PT_PEND) != 0) earliest = min(earliest, load<f64>(listHead(port + PT_PEND) + Q_DUE));
  }
  if (earliest == INF) {
    clearBit(bits, pos);
    return;
  }
  const w = wkRec();
  if (earliest < load<f64>(w + WK_NEXT_DUE)) store<f64>(w + WK_NEXT_DUE, earliest);
}
