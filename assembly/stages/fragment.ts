// IPv4 fragmentation (ip_do_fragment) for packets larger than the egress MTU
// without DF.
import { STAT_ip4_fragmented, STAT_ip4_fragments } from '../layout';
import { stat, genAllocFor } from '../context';
import { ld16, st16 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { IP_TOTLEN, IP_FRAG, IP_CHECK, IP_MF, IP_OFFMASK, IP_HLEN, ipIhlBytes } from '../wire/ipv4';
import { ip4Finish } from './ip4-output';
import { trace } from '../trace/trace';
import { EV_FRAGMENT } from '../trace/events';

/**
 * Fragments leave in order, each as soon as it is made: every fragment but
 * the last is copied into a buffer of its own, and the last one is moved to
 * the front of the packet's own buffer, which is read until then.
 */
export function ip4Fragment(dev: u32, nh: u32, nhp: usize, buf: usize, ipOff: u32, tot: u32, mtu: u32, tag: u32): void {
  const ip = buf + ipOff;
  const ihl = ipIhlBytes(ip);
  const chunk = (mtu - ihl) & ~7;
  const frag = ld16(ip + IP_FRAG);
  const base = (frag & IP_OFFMASK) << 3;
  const payload = tot - ihl;
  const count = (payload + chunk - 1) / chunk;
  const moreAfter = (frag & IP_MF) != 0;
  stat(STAT_ip4_fragmented);
  trace(EV_FRAGMENT, count, mtu, tot);
  for (let k: u32 = 0; k + 1 < count; k++) {
    const f = genAllocFor(tag, ipOff + ihl + chunk);
    if (f == 0) continue;
    const fip = f + ipOff;
    memory.copy(fip, ip, ihl);
    if (k > 0 && ihl > IP_HLEN) dropUncopiedOptions(fip, ihl);
    memory.copy(fip + ihl, ip + ihl + k * chunk, chunk);
    finishHeader(fip, ihl + chunk, base + k * chunk, true, frag);
    stat(STAT_ip4_fragments);
    ip4Finish(dev, nh, nhp, f, ipOff, ihl + chunk, tag);
  }
  // The original buffer carries the last fragment.
  const last = count - 1;
  const size = payload - last * chunk;
  if (ihl > IP_HLEN) dropUncopiedOptions(ip, ihl);
  memory.copy(ip + ihl, ip + ihl + last * chunk, size);
  finishHeader(ip, ihl + size, base + last * chunk, moreAfter, frag);
  stat(STAT_ip4_fragments);
  ip4Finish(dev, nh, nhp, buf, ipOff, ihl + size, tag);
}

function finishHeader(ip: usize, len: u32, offset: u32, mf: bool, frag: u32): void {
  st16(ip + IP_TOTLEN, len);
  st16(ip + IP_FRAG, (frag & ~(IP_MF | IP_OFFMASK)) | (mf ? IP_MF : 0) | (offset >> 3));
  st16(ip + IP_CHECK, 0);
  st16(ip + IP_CHECK, checksum(ip, ipIhlBytes(ip)));
}

/** ip_options_fragment: options without the copied bit become NOPs. */
function dropUncopiedOptions(ip: usize, ihl: u32): void {
  let p: u32 = IP_HLEN;
  while (p < ihl) {
    const opt = <u32>load<u8>(ip + p);
    if (opt == 0) break; // end of options
    if (opt == 1) {
      p++;
      continue;
    }
    if (p + 1 >= ihl) break;
    let olen = <u32>load<u8>(ip + p + 1);
    if (olen < 2 || p + olen > ihl) break;
    if ((opt & 0x80) == 0) memory.fill(ip + p, 1, olen);
    p += olen;
  }
}
