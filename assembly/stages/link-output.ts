// Sending a frame on a link: a bridge device forwards through its FDB, any
// other link hands the frame to the caller (dev_queue_xmit).
import { L_FLAGS, L_TYPE, LF_UP, LT_BRIDGE, DROP_DEV_READY } from '../layout';
import { link, drop, transmit } from '../context';
import { bridgeXmit } from './bridge';

export function linkOutput(dev: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const lp = link(dev);
  if ((<u32>load<u8>(lp + L_FLAGS) & LF_UP) == 0) {
    drop(buf, DROP_DEV_READY, tag);
    return;
  }
  if (<u32>load<u8>(lp + L_TYPE) == LT_BRIDGE) {
    bridgeXmit(dev, buf, off, len, tag);
    return;
  }
  transmit(dev, buf, off, len, tag);
}
