// Check mode, for fuzzing (a context with C_CHECK set): what a host sends on
// a wire and what it delivers is verified against what the packet was when it
// entered the host, so every frame is checked where it is, in the data plane:
//   - an IPv4 header the engine wrote has a valid checksum (one that came in
//     broken and was only bridged may leave broken);
//   - so has the inner header of an IPIP packet the host put in a tunnel;
//   - a TCP, UDP or ICMP checksum that was valid stays valid (NAT rewrites),
//     and the ones the engine computed (ICMP errors, resets) are valid;
//   - the TTL never grows: the TTL of the packet a host sends (the inner one
//     when the host put it in a tunnel) is at most the largest TTL the packet
//     carried when it came in (outer or inner: a tunnel's end routes the
//     inner packet).
// Violations are counted by kind in the context's check record, and the first
// CHECK_KEEP are kept with their bytes.
import {
  C_CHECK, Q_CHECK, K_RX, TAG_GENERATED, ETH_P_IP_NET, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
  M_KNOWN, M_IPV4, M_OUTER_OK, M_IPIP, M_INNER_OK, M_L4_OK, M_TUNNELLED, M_TTL_SHIFT, M_SENT_TTL_SHIFT,
  V_IP_CSUM, V_INNER_CSUM, V_L4_CSUM, V_TTL, CK_CHECKED, CK_COUNTS, CK_KEPT, CK_RECS, CHECK_KEEP,
  CKR_KIND, CKR_HOST, CKR_LINK, CKR_TAG, CKR_TIME, CKR_ENTRY, CKR_LEN, CKR_BYTES, CHECK_BYTES, CKR_SIZE,
} from './layout';
import { ld16 } from './wire/bytes';
import { finish, pseudoSum, ipHeaderValid } from './wire/checksum';
import { sumWide } from './wire/sum-wide';
import { ipIsFragment, ipSrc, ipDst } from './wire/ipv4';
import { isLocalAddress } from './tables/route';
import { copyBytes } from './wire/words';

/** Notes, in the buffer's Q_CHECK word, the state of a packet entering host h. */
export function checkEntry(h: usize, buf: usize, off: u32, len: u32, kind: u32): void {
  store<u32>(buf + Q_CHECK, M_KNOWN | inspect(h, buf + off, len, kind == K_RX));
}

/** A datagram reassembled from fragments the host took in: what it carries now, whole. */
export function checkReassembled(h: usize, buf: usize, ip: usize, len: u32): void {
  store<u32>(buf + Q_CHECK, M_KNOWN | inspect(h, ip, len, false));
}

/** A buffer the host made itself: nothing known of what it carries before. */
@inline export function checkForget(buf: usize): void {
  store<u32>(buf + Q_CHECK, 0);
}

/** A copy of a packet (a flood copy) is the packet: it inherits its state. */
@inline export function checkInherit(copy: usize, buf: usize): void {
  store<u32>(copy + Q_CHECK, load<u32>(buf + Q_CHECK));
}

/**
 * Verifies a frame (eth) or an IPv4 packet at p, len bytes, in buffer buf,
 * leaving host h on link l (0xffff: delivered to a socket) at time t.
 */
export function checkLeaving(c: usize, h: usize, l: u32, t: f64, buf: usize, p: usize, len: u32, eth: bool, tag: u32): void {
  const rec = <usize>load<u32>(c + C_CHECK);
  store<u64>(rec + CK_CHECKED, load<u64>(rec + CK_CHECKED) + 1);
  const x = inspect(h, p, len, eth);
  if ((x & M_IPV4) == 0) return;
  const e = load<u32>(buf + Q_CHECK);
  const known = (e & M_KNOWN) != 0;
  let v: u32 = 0;
  if ((x & M_OUTER_OK) == 0 && (!known || (e & M_OUTER_OK) != 0)) {
    v = V_IP_CSUM;
  } else if ((x & (M_IPIP | M_INNER_OK)) == M_IPIP &&
      // The inner header of a tunnel this host made is the packet it routed (unless an inner one came in broken).
      (!known || ((x & M_TUNNELLED) != 0 && (e & (M_IPIP | M_INNER_OK)) != M_IPIP))) {
    v = V_INNER_CSUM;
  } else if ((x & M_L4_OK) == 0 && (!known || (e & M_L4_OK) != 0)) {
    v = V_L4_CSUM;
  } else if (known && tag != TAG_GENERATED && (e & M_IPV4) != 0 && ((x >>> M_SENT_TTL_SHIFT) & 0xff) > ((e >>> M_TTL_SHIFT) & 0xff)) {
    v = V_TTL;
  }
  if (v != 0) violation(rec, v, h, l, t, e, p, len, tag);
}

function violation(rec: usize, v: u32, h: usize, l: u32, t: f64, entry: u32, p: usize, len: u32, tag: u32): void {
  const count = rec + CK_COUNTS + (<usize>v << 2);
  store<u32>(count, load<u32>(count) + 1);
  const kept = load<u32>(rec + CK_KEPT);
  if (kept >= CHECK_KEEP) return;
  store<u32>(rec + CK_KEPT, kept + 1);
  const r = rec + CK_RECS + <usize>kept * CKR_SIZE;
  store<u32>(r + CKR_KIND, v);
  store<u32>(r + CKR_HOST, <u32>h);
  store<u32>(r + CKR_LINK, l);
  store<u32>(r + CKR_TAG, tag);
  store<f64>(r + CKR_TIME, t);
  store<u32>(r + CKR_ENTRY, entry);
  store<u32>(r + CKR_LEN, len);
  copyBytes(r + CKR_BYTES, p, len < CHECK_BYTES ? len : CHECK_BYTES);
}

/**
 * What a frame (eth) or IPv4 packet at host h holds, as M_* bits: its IPv4
 * header and whether its checksum is right, an inner header (IPIP) and its
 * checksum, whether h put it in that tunnel, the innermost packet's L4
 * checksum, the largest TTL of its headers, and the TTL of the packet h
 * sends (the inner one of a tunnel h made, else the outer one).
 */
function inspect(h: usize, p: usize, len: u32, eth: bool): u32 {
  let ip = p;
  let n = len;
  if (eth) {
    if (len < 14 || load<u16>(p + 12) != ETH_P_IP_NET) return 0;
    ip += 14;
    n -= 14;
  }
  const ihl = headerLength(ip, n);
  if (ihl == 0) return 0;
  const ttl = <u32>load<u8>(ip + 8);
  let m = M_IPV4 | (ttl << M_TTL_SHIFT) | (ttl << M_SENT_TTL_SHIFT);
  if (ipHeaderValid(ip, ihl)) m |= M_OUTER_OK;
  // What cannot be checked (a packet cut short, a header that is not one) counts as right: both ways the same.
  const tot = ld16(ip + 2);
  if (tot < ihl || tot > n) return m | M_L4_OK;
  if (<u32>load<u8>(ip + 9) != IPPROTO_IPIP || ipIsFragment(ip)) return l4Valid(ip, ihl, tot) ? m | M_L4_OK : m;
  let inner = ip + ihl;
  let left = tot - ihl;
  let innerIhl = headerLength(inner, left);
  if (innerIhl == 0) return m | M_L4_OK;
  m |= M_IPIP;
  if (ipHeaderValid(inner, innerIhl)) m |= M_INNER_OK;
  if (isLocalAddress(h, ipSrc(ip))) m = (m & ~(0xff << M_SENT_TTL_SHIFT)) | M_TUNNELLED | (<u32>load<u8>(inner + 8) << M_SENT_TTL_SHIFT);
  // The largest TTL of the headers, tunnels in tunnels included, and the innermost packet's L4.
  let most = ttl;
  let l4 = true;
  for (let depth = 0; depth < 4 && innerIhl != 0; depth++) {
    most = max(most, <u32>load<u8>(inner + 8));
    const innerTot = ld16(inner + 2);
    if (innerTot < innerIhl || innerTot > left) break;
    if (<u32>load<u8>(inner + 9) != IPPROTO_IPIP || ipIsFragment(inner)) {
      l4 = l4Valid(inner, innerIhl, innerTot);
      break;
    }
    left = innerTot - innerIhl;
    inner += innerIhl;
    innerIhl = headerLength(inner, left);
  }
  if (l4) m |= M_L4_OK;
  return (m & ~(0xff << M_TTL_SHIFT)) | (most << M_TTL_SHIFT);
}

/** The header length of a plausible IPv4 header at ip (n bytes there), else 0. */
@inline function headerLength(ip: usize, n: u32): u32 {
  if (n < 20) return 0;
  const vihl = <u32>load<u8>(ip);
  const ihl = (vihl & 15) << 2;
  return (vihl >> 4) == 4 && ihl >= 20 && ihl <= n ? ihl : 0;
}

/** Whether the TCP, UDP or ICMP checksum of a whole packet is right (true when it cannot be checked). */
function l4Valid(ip: usize, ihl: u32, tot: u32): bool {
  if (ipIsFragment(ip)) return true;
  const proto = <u32>load<u8>(ip + 9);
  const l4 = ip + ihl;
  const n = tot - ihl;
  if (proto == IPPROTO_TCP) {
    return n < 20 || finish(sumWide(l4, n) + pseudoSum(ipSrc(ip), ipDst(ip), proto, n)) == 0;
  }
  if (proto == IPPROTO_UDP) {
    if (n < 8 || ld16(l4 + 6) == 0) return true;
    const ulen = ld16(l4 + 4);
    if (ulen < 8 || ulen > n) return true;
    return finish(sumWide(l4, ulen) + pseudoSum(ipSrc(ip), ipDst(ip), proto, ulen)) == 0;
  }
  if (proto == IPPROTO_ICMP) return n < 8 || finish(sumWide(l4, n)) == 0;
  return true;
}
