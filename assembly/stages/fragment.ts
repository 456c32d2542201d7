// IPv4 fragmentation (ip_do_fragment) for packets larger than the egress MTU
// without DF, and for datagrams nf_defrag made whole on their way through.
import { STAT_ip4_fragmented, STAT_ip4_fragments, META_FRAGS_SHIFT } from '../layout';
import { stat, genAllocFor } from '../context';
import { ld16, st16 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { IP_TOTLEN, IP_FRAG, IP_CHECK, IP_DF, IP_MF, IP_OFFMASK, IP_HLEN, ipIhlBytes } from '../wire/ipv4';
import { ip4Finish } from './ip4-output';
import { trace } from '../trace/trace';
import { EV_FRAGMENT } from '../trace/events';
import { ipOptionsFragment } from './ip4-options';

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
    if (k > 0 && ihl > IP_HLEN) ipOptionsFragment(fip, ihl);
    memory.copy(fip + ihl, ip + ihl + k * chunk, chunk);
    finishHeader(fip, ihl + chunk, base + k * chunk, true, frag);
    stat(STAT_ip4_fragments);
    ip4Finish(dev, nh, nhp, f, ipOff, ihl + chunk, tag);
  }
  // The original buffer carries the last fragment.
  const last = count - 1;
  const size = payload - last * chunk;
  if (ihl > IP_HLEN) ipOptionsFragment(ip, ihl);
  memory.copy(ip + ihl, ip + ihl + last * chunk, size);
  finishHeader(ip, ihl + size, base + last * chunk, moreAfter, frag);
  stat(STAT_ip4_fragments);
  ip4Finish(dev, nh, nhp, buf, ipOff, ihl + size, tag);
}

/**
 * ip_fragment of a datagram nf_defrag made whole (meta: META_REASM, its
 * fragment count and largest fragment): no larger pieces than the largest it
 * came in. ip_do_fragment's fast path gives it back the very sizes its
 * fragments had (frag_list, DF cleared) when each fits and all but the last
 * are whole 8-byte blocks; else it is cut as any packet is.
 */
export function ip4Refragment(dev: u32, nh: u32, nhp: usize, buf: usize, ipOff: u32, tot: u32, mtu: u32, tag: u32, meta: u32): void {
  const ip = buf + ipOff;
  const ihl = ipIhlBytes(ip);
  const most = meta & 0xffff;
  const m = most != 0 && most < mtu ? most : mtu;
  const room = m - ihl;
  const n = (meta >> META_FRAGS_SHIFT) & 0x3fff;
  const sizes = ip + tot;
  let fits = n > 1;
  for (let k: u32 = 0; k < n && fits; k++) {
    const size = ld16(sizes + (k << 1));
    if (size > room || ((size & 7) != 0 && k + 1 < n)) fits = false;
  }
  if (!fits) {
    ip4Fragment(dev, nh, nhp, buf, ipOff, tot, m, tag);
    return;
  }
  stat(STAT_ip4_fragmented);
  const frag: u32 = 0; // ip_fraglist_init/prepare: the offset and MF, nothing else
  let offset: u32 = 0;
  for (let k: u32 = 0; k + 1 < n; k++) {
    const size = ld16(sizes + (k << 1));
    const f = genAllocFor(tag, ipOff + ihl + size);
    if (f != 0) {
      const fip = f + ipOff;
      memory.copy(fip, ip, ihl);
      if (k > 0 && ihl > IP_HLEN) ipOptionsFragment(fip, ihl);
      memory.copy(fip + ihl, ip + ihl + offset, size);
      finishHeader(fip, ihl + size, offset, true, frag);
      stat(STAT_ip4_fragments);
      ip4Finish(dev, nh, nhp, f, ipOff, ihl + size, tag);
    }
    offset += size;
  }
  // The datagram's own buffer carries the last piece.
  const last = tot - ihl - offset;
  if (ihl > IP_HLEN) ipOptionsFragment(ip, ihl);
  memory.copy(ip + ihl, ip + ihl + offset, last);
  finishHeader(ip, ihl + last, offset, false, frag);
  stat(STAT_ip4_fragments);
  ip4Finish(dev, nh, nhp, buf, ipOff, ihl + last, tag);
}

/** A fragment's header: its length, offset, MF, and of the flags only DF (ip_frag_next). */
function finishHeader(ip: usize, len: u32, offset: u32, mf: bool, frag: u32): void {
  st16(ip + IP_TOTLEN, len);
  st16(ip + IP_FRAG, (frag & IP_DF) | (mf ? IP_MF : 0) | (offset >> 3));
  st16(ip + IP_CHECK, 0);
  st16(ip + IP_CHECK, checksum(ip, ipIhlBytes(ip)));
}
