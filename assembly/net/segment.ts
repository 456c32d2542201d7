// An L2 segment of a network: a learning switch (or a hub) between member
// links. A frame from member i is learned (its source MAC is at i) and goes
// to the member its destination was learned at, or to every other member.
// The sender's worker forwards it at once (portPush), reading the table as
// the wave began; what it learns is logged, and the segment's owner applies
// every worker's log between waves, in rank order (net_learn). So no table
// is written while others read it, nothing waits for a segment's turn, and
// a frame crosses to another worker's cache only to reach its receiver.
import {
  SG_N, SG_FLAGS, SG_TARGETS, SG_LATENCY, SG_LAST, SG_RANK, SGF_LEARNING, LA_MAC, LA_WAVE, LAST_SIZE,
  LEARN_SIZE, LE_SEG, LE_MEMBER, LE_MAC, LE_TIME, LE_RANK, Q_POOL, Q_KIND, K_RX, C_ID, WK_FILTERED, WK_DROPPED,
  WK_WAVE, WK_LEARN, WK_LEARN_N, WK_LEARN_CAP, WK_NET, WK_ID, WK_SIZE, NT_WORKERS, NT_WK, NT_NODES, NODE_SIZE, ND_OWNER,
  H_RANK, C_SCRATCH, PORT_SIZE, Q_SENDER,
} from '../layout';
import { ctx, host, wk, wkAdd, bufAllocFor } from '../context';
import { ldMac, macIsMulticast } from '../wire/bytes';
import { copyBytes } from '../wire/words';
import { ETH_HLEN, ETH_SRC } from '../wire/ethernet';
import { fdbLearn, fdbFind, fdbPort } from '../tables/fdb';
import { portPush } from './port';
import { giveBack } from './wave';

/**
 * Forwards the frame in buf, sent by member `from` of segment s and arriving
 * at `at`, to the member its destination was learned at, or floods it.
 */
export function segmentForward(s: usize, from: u32, buf: usize, off: u32, len: u32, tag: u32, at: f64): void {
  const due = at + load<f64>(s + SG_LATENCY);
  // Each member has a receive port for each worker (one producer each): this worker's. The
  // receiver merges what its ports got in a wave by sender (wave.ts arrivals).
  const side = <usize>load<u32>(wk + WK_ID) * PORT_SIZE;
  const sender = load<u32>(host + H_RANK);
  store<u32>(buf + Q_SENDER, sender);
  const targets = <usize>load<u32>(s + SG_TARGETS);
  const n = load<u32>(s + SG_N);
  if (len >= ETH_HLEN && (load<u32>(s + SG_FLAGS) & SGF_LEARNING) != 0) {
    const eth = buf + off;
    const src = ldMac(eth + ETH_SRC);
    const t = <u32>at;
    if (!macIsMulticast(src)) learnLater(s, from, src, t);
    const dst = ldMac(eth);
    if (!macIsMulticast(dst)) {
      const e = fdbFind(s, dst, t);
      if (e != 0) {
        const to = fdbPort(e) - 1;
        if (to == from) {
          // The destination sits behind the sender's own port: kept back.
          wkAdd(WK_FILTERED, 1);
          giveBack(buf);
        } else {
          portPush(<usize>load<u32>(targets + (<usize>to << 2)) + side, buf, off, len, tag, due);
        }
        return;
      }
    }
  }
  // Flooded: copies to every other member, the frame itself to the last.
  let last: u32 = n;
  for (let j = n; j > 0; j--) {
    if (j - 1 != from) {
      last = j - 1;
      break;
    }
  }
  if (last == n) {
    wkAdd(WK_FILTERED, 1);
    giveBack(buf);
    return;
  }
  for (let j: u32 = 0; j < last; j++) {
    if (j == from) continue;
    const copy = bufAllocFor(off + len);
    if (copy == 0) {
      wkAdd(WK_DROPPED, 1); // no buffer for this member's copy
      continue;
    }
    copyBytes(copy + off, buf + off, len);
    store<u8>(copy + Q_POOL, <u8>load<u32>(ctx + C_ID));
    store<u8>(copy + Q_KIND, <u8>K_RX);
    store<u32>(copy + Q_SENDER, sender);
    portPush(<usize>load<u32>(targets + (<usize>j << 2)) + side, copy, off, len, tag, due);
  }
  portPush(<usize>load<u32>(targets + (<usize>last << 2)) + side, buf, off, len, tag, due);
}

/**
 * Logs that mac was seen on member `from` at t. A member's frames of one
 * wave are sent together (its host's step), so one entry for a run of the
 * same MAC is the same as one a frame. The log has room (hostStep asked).
 */
function learnLater(s: usize, from: u32, mac: u64, t: u32): void {
  const last = <usize>load<u32>(s + SG_LAST) + <usize>from * LAST_SIZE;
  const wave = load<u32>(wk + WK_WAVE) + 1;
  if (load<u32>(last + LA_WAVE) == wave && load<u64>(last + LA_MAC) == mac) return;
  store<u64>(last + LA_MAC, mac);
  store<u32>(last + LA_WAVE, wave);
  const n = load<u32>(wk + WK_LEARN_N);
  // hostStep made room for all an input can send; this only guards the memory past the log.
  if (n >= load<u32>(wk + WK_LEARN_CAP)) return;
  const e = <usize>load<u32>(wk + WK_LEARN) + <usize>n * LEARN_SIZE;
  store<u32>(e + LE_SEG, <u32>s);
  store<u32>(e + LE_MEMBER, from);
  store<u64>(e + LE_MAC, mac);
  store<u32>(e + LE_TIME, t);
  store<u32>(e + LE_RANK, load<u32>(host + H_RANK));
  store<u32>(wk + WK_LEARN_N, n + 1);
}

/** Whether worker record w's log has room for n more entries. */
export function learnRoom(w: usize, n: u32): bool {
  return load<u32>(w + WK_LEARN_CAP) - load<u32>(w + WK_LEARN_N) >= n;
}

/**
 * Between waves, on every worker: applies what the last wave logged to the
 * segments this worker owns, every worker's log merged in rank order (one
 * host's entries are all in its worker's log, in order), as the frames were
 * sent in the canonical order.
 */
export function net_learn(c: usize, w: usize): void {
  const net = <usize>load<u32>(w + WK_NET);
  const me = load<u32>(w + WK_ID);
  const workers = load<u32>(net + NT_WORKERS);
  const wks = <usize>load<u32>(net + NT_WK);
  const nodes = <usize>load<u32>(net + NT_NODES);
  // One cursor a worker, in this worker's context scratch (SCRATCH_SIZE holds thousands).
  const cursor = <usize>load<u32>(c + C_SCRATCH);
  for (let k: u32 = 0; k < workers; k++) store<u32>(cursor + (<usize>k << 2), 0);
  while (true) {
    let best: u32 = workers;
    let bestRank: u32 = 0xffffffff;
    for (let k: u32 = 0; k < workers; k++) {
      const r = wks + <usize>k * WK_SIZE;
      const i = load<u32>(cursor + (<usize>k << 2));
      if (i >= load<u32>(r + WK_LEARN_N)) continue;
      const rank = load<u32>(<usize>load<u32>(r + WK_LEARN) + <usize>i * LEARN_SIZE + LE_RANK);
      if (rank < bestRank) {
        bestRank = rank;
        best = k;
      }
    }
    if (best == workers) break;
    const r = wks + <usize>best * WK_SIZE;
    const i = load<u32>(cursor + (<usize>best << 2));
    store<u32>(cursor + (<usize>best << 2), i + 1);
    const e = <usize>load<u32>(r + WK_LEARN) + <usize>i * LEARN_SIZE;
    const s = <usize>load<u32>(e + LE_SEG);
    if (load<u32>(nodes + <usize>load<u32>(s + SG_RANK) * NODE_SIZE + ND_OWNER) != me) continue;
    fdbLearn(s, load<u64>(e + LE_MAC), load<u32>(e + LE_MEMBER), load<u32>(e + LE_TIME));
  }
}
