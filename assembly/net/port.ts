// The sending side of a port: a frame is appended to the list of the wave's
// parity, and the port goes on the list of ports this worker fed for the
// port's consumer, who takes them over at the next wave (wave.ts).
import {
  PT_OUT, PT_NODE, PT_ACT, PT_ACTIVE, LIST_SIZE, Q_OFF, Q_LEN, Q_TAG, Q_DUE, NT_WORKERS, NT_NODES, NT_ACT,
  NODE_SIZE, ND_OWNER, WK_NET, WK_ID, WK_WAVE, WK_NOW_WORK, WK_NEXT_DUE, PT_SEGMENT, PT_LINK,
} from '../layout';
import { segmentForward } from './segment';
import { wk, netNow } from '../context';
import { listPush } from './list';

/**
 * Appends the frame in buf (its Q_POOL and Q_KIND already set) to port,
 * arriving at `due` ms.
 */
export function portPush(port: usize, buf: usize, off: u32, len: u32, tag: u32, due: f64): void {
  const seg = <usize>load<u32>(port + PT_SEGMENT);
  if (seg != 0) {
    // A segment's member port: the sender forwards at once (segment.ts).
    segmentForward(seg, load<u32>(port + PT_LINK), buf, off, len, tag, due);
    return;
  }
  store<u16>(buf + Q_OFF, <u16>off);
  store<u16>(buf + Q_LEN, <u16>len);
  store<u32>(buf + Q_TAG, tag);
  store<f64>(buf + Q_DUE, due);
  const parity = load<u32>(wk + WK_WAVE) & 1;
  listPush(port + PT_OUT + <usize>parity * LIST_SIZE, buf);
  if (load<u8>(port + PT_ACTIVE + parity) == 0) activate(port, parity);
  if (due <= netNow) store<u32>(wk + WK_NOW_WORK, 1);
  else if (due < load<f64>(wk + WK_NEXT_DUE)) store<f64>(wk + WK_NEXT_DUE, due);
}

/** Puts port on the list [this worker][its consumer][parity]. */
function activate(port: usize, parity: u32): void {
  store<u8>(port + PT_ACTIVE + parity, 1);
  const net = <usize>load<u32>(wk + WK_NET);
  const workers = load<u32>(net + NT_WORKERS);
  const node = <usize>load<u32>(net + NT_NODES) + <usize>load<u32>(port + PT_NODE) * NODE_SIZE;
  const consumer = load<u32>(node + ND_OWNER);
  const head = <usize>load<u32>(net + NT_ACT) + <usize>(((load<u32>(wk + WK_ID) * workers + consumer) << 1) + parity) * 4;
  store<u32>(port + PT_ACT + (parity << 2), load<u32>(head));
  store<u32>(head, <u32>port);
}
