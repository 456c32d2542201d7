// An L2 segment of a network: a learning switch (or a hub) between member
// links. A frame from member i is learned (its source MAC is at i) and goes
// to the member its destination was learned at, or to every other member.
import {
  SG_N, SG_FLAGS, SG_PORTS, SG_TARGETS, SG_LATENCY, SGF_LEARNING, PORT_SIZE, PT_PEND, Q_OFF, Q_LEN, Q_TAG, Q_DUE,
  Q_POOL, Q_KIND, Q_MACS, K_RX, C_ID, WK_FILTERED, WK_DROPPED, WAVE_DONE,
} from '../layout';
import { ctx, wkAdd, bufAllocFor } from '../context';
import { ldMac, macIsMulticast } from '../wire/bytes';
import { copyBytes } from '../wire/words';
import { ETH_HLEN, ETH_SRC } from '../wire/ethernet';
import { fdbLearn, fdbLookup, fdbPort } from '../tables/fdb';
import { listLen, listHead, listShift } from './list';
import { portPush } from './port';
import { giveBack } from './wave';

/** Forwards every frame due at now on segment s, member by member, each in order of arrival. */
export function segmentStep(s: usize, now: f64): u32 {
  const n = load<u32>(s + SG_N);
  const ports = <usize>load<u32>(s + SG_PORTS);
  for (let i: u32 = 0; i < n; i++) {
    const pend = ports + <usize>i * PORT_SIZE + PT_PEND;
    while (listLen(pend) != 0 && load<f64>(listHead(pend) + Q_DUE) <= now) forward(s, i, listShift(pend), now);
  }
  return WAVE_DONE;
}

function forward(s: usize, from: u32, buf: usize, now: f64): void {
  const off = <u32>load<u16>(buf + Q_OFF);
  const len = <u32>load<u16>(buf + Q_LEN);
  const tag = load<u32>(buf + Q_TAG);
  const due = now + load<f64>(s + SG_LATENCY);
  const targets = <usize>load<u32>(s + SG_TARGETS);
  const n = load<u32>(s + SG_N);
  if (len >= ETH_HLEN && (load<u32>(s + SG_FLAGS) & SGF_LEARNING) != 0) {
    const eth = buf + Q_MACS; // as the sender copied them (portPush)
    const src = ldMac(eth + ETH_SRC);
    const t = <u32>now;
    if (!macIsMulticast(src)) fdbLearn(s, src, from, t);
    const dst = ldMac(eth);
    if (!macIsMulticast(dst)) {
      const e = fdbLookup(s, dst, t);
      if (e != 0) {
        const to = fdbPort(e) - 1;
        if (to == from) {
          // The destination sits behind the sender's own port: kept back.
          wkAdd(WK_FILTERED, 1);
          giveBack(buf);
        } else {
          portPush(<usize>load<u32>(targets + (<usize>to << 2)), buf, off, len, tag, due);
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
    portPush(<usize>load<u32>(targets + (<usize>j << 2)), copy, off, len, tag, due);
  }
  portPush(<usize>load<u32>(targets + (<usize>last << 2)), buf, off, len, tag, due);
}
