// IPv4 fragmentation (ip_do_fragment) for packets larger than the egress MTU
// without DF.
import { C_SCRATCH, S_FRAGS, STAT_ip4_fragmented, STAT_ip4_fragments } from '../layout';
import { ctx, stat, genAlloc } from '../context';
import { ld16, st16 } from '../wire/bytes';
import { checksum } from '../wire/checksum';
import { IP_TOTLEN, IP_FRAG, IP_CHECK, IP_MF, IP_OFFMASK, IP_HLEN, ipIhlBytes } from '../wire/ipv4';
import { ip4Finish } from './ip4-output';

export function ip4Fragment(dev: u32, nh: u32, nhp: usize, buf: usize, ipOff: u32, tot: u32, mtu: u32, tag: u32): void {
  const ip = buf + ipOff;
  const ihl = ipIhlBytes(ip);
  const chunk = (mtu - ihl) & ~7;
  const frag = ld16(ip + IP_FRAG);
  const base = (frag & IP_OFFMASK) << 3;
  const payload = tot - ihl;
  const count = (payload + chunk - 1) / chunk;
  stat(STAT_ip4_fragmented);
  // Later fragments are copied out first, since sending the first may free it.
  const list = <usize>load<u32>(ctx + C_SCRATCH) + S_FRAGS;
  const max: u32 = 256;
  let made: u32 = 1;
  for (let k: u32 = 1; k < count && k < max; k++) {
    const size = k == count - 1 ? payload - k * chunk : chunk;
    const f = genAlloc(tag);
    store<u32>(list + (k << 2), <u32>f);
    made = k + 1;
    if (f == 0) continue;
    const fip = f + ipOff;
    memory.copy(fip, ip, ihl);
    if (ihl > IP_HLEN) dropUncopiedOptions(fip, ihl);
    memory.copy(fip + ihl, ip + ihl + k * chunk, size);
    finishHeader(fip, ihl + size, base + k * chunk, k < count - 1 || (frag & IP_MF) != 0, frag);
  }
  finishHeader(ip, ihl + chunk, base, true, frag);
  store<u32>(list, <u32>buf);
  for (let k: u32 = 0; k < made; k++) {
    const f = <usize>load<u32>(list + (k << 2));
    if (f == 0) continue;
    stat(STAT_ip4_fragments);
    const len = ld16(f + ipOff + IP_TOTLEN);
    ip4Finish(dev, nh, nhp, f, ipOff, len, tag);
  }
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
