// The Linux bridge: learning, ageing, flooding, hairpin, local delivery
// (br_handle_frame_finish, br_flood, br_dev_xmit).
import {
  L_FLAGS, L_MASTER, L_MAC, L_MTU, LF_UP, VLAN_HLEN, CNT_GENERATED, DROP_FRAME_TOO_LONG, LF_HAIRPIN, LF_LEARNING, LF_FLOOD, H_NLINKS,
  L_RX_PACKETS, L_RX_BYTES, L_TX_PACKETS, L_TX_BYTES, F_FLAGS, FF_LOCAL,
  DROP_DEV_READY, DROP_BR_NO_EGRESS, DROP_MAC_INVALID_SOURCE, DROP_MAC_IEEE_MAC_CONTROL, TAG_GENERATED,
  STAT_bridge_learned, STAT_bridge_fdb_full, STAT_bridge_flooded, STAT_bridge_forwarded, STAT_bridge_local,
} from '../layout';
import { host, now, link, count, stat, add64, drop, dropRecord, transmit, clonePacket } from '../context';
import { ETH_HLEN } from '../wire/ethernet';
import { ldMac, macIsMulticast } from '../wire/bytes';
import { ETH_SRC } from '../wire/ethernet';
import { fdbLookup, fdbLearn, fdbPort, fdbDelete, LEARN_FULL, LEARN_OK } from '../tables/fdb';
import { l3Input } from './ethernet-input';
import { trace } from '../trace/trace';
import { EV_BR_LOCAL, EV_BR_FORWARD, EV_BR_FLOOD } from '../trace/events';

@inline function isUp(l: u32): bool {
  return (<u32>load<u8>(link(l) + L_FLAGS) & LF_UP) != 0;
}

/** 01:80:c2:00:00:0X (IEEE 802.1D reserved group addresses), as the low 48 bits in memory order. */
const LINK_LOCAL_GROUP: u64 = 0x0000c28001;

/** The index + 1 of the port of br whose own MAC is mac (a local FDB entry in Linux), else 0. */
function portWithMac(br: u32, mac: u64): u32 {
  const n = load<u32>(host + H_NLINKS);
  for (let p: u32 = 0; p < n; p++) {
    const lp = link(p);
    if (<u32>load<u16>(lp + L_MASTER) == br + 1 && ldMac(lp + L_MAC) == mac) return p + 1;
  }
  return 0;
}

/** A frame received on bridge port `port` of bridge `br` (br_handle_frame). */
export function bridgeInput(br: u32, port: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const bp = link(br);
  if (!isUp(br)) {
    drop(buf, DROP_DEV_READY, tag);
    return;
  }
  const eth = buf + off;
  const src = ldMac(eth + ETH_SRC);
  const dst = ldMac(eth);
  // is_valid_ether_addr: a multicast or zero source is nobody's.
  if (macIsMulticast(src) || src == 0) {
    drop(buf, DROP_MAC_INVALID_SOURCE, tag);
    return;
  }
  const brMac = ldMac(bp + L_MAC);
  // Reserved group addresses: pause frames dropped; the bridge group address
  // floods while STP is off; the others (LACP, 802.1X, LLDP, ...) are the port's own.
  const group = (dst & 0x00ffffffffff) == LINK_LOCAL_GROUP && <u32>(dst >> 40) < 16;
  if (group && <u32>(dst >> 40) == 1) {
    drop(buf, DROP_MAC_IEEE_MAC_CONTROL, tag);
    return;
  }
  if ((<u32>load<u8>(link(port) + L_FLAGS) & LF_LEARNING) != 0 && src != brMac) {
    const r = fdbLearn(bp, src, port, now);
    // A port's own MAC is a local entry, never learned (br_fdb_update): checked for new MACs only.
    if (r == LEARN_OK || r == LEARN_FULL) {
      if (portWithMac(br, src) != 0) {
        if (r == LEARN_OK) fdbDelete(bp, src);
      } else {
        stat(r == LEARN_OK ? STAT_bridge_learned : STAT_bridge_fdb_full);
      }
    }
  }
  if (group && <u32>(dst >> 40) != 0) {
    l3Input(port, buf, off, len, tag); // RX_HANDLER_PASS: up the port's own stack
    return;
  }
  if (macIsMulticast(dst)) {
    flood(br, port, buf, off, len, tag, true, true);
    passUp(br, buf, off, len, tag);
    return;
  }
  if (dst == brMac) {
    passUp(br, buf, off, len, tag);
    return;
  }
  const e = fdbLookup(bp, dst, now);
  if (e == 0) {
    // A port's MAC is a local entry: up to the host, as the host's only when it
    // is the ingress port's own (eth_type_trans there made it PACKET_HOST).
    if (portWithMac(br, dst) != 0) passUp(br, buf, off, len, tag, dst == ldMac(link(port) + L_MAC));
    else flood(br, port, buf, off, len, tag, false, false);
    return;
  }
  if ((load<u32>(e + F_FLAGS) & FF_LOCAL) != 0) {
    passUp(br, buf, off, len, tag);
    return;
  }
  const to = fdbPort(e) - 1;
  if (to == port && (<u32>load<u8>(link(port) + L_FLAGS) & LF_HAIRPIN) == 0) {
    drop(buf, DROP_BR_NO_EGRESS, tag);
    return;
  }
  stat(STAT_bridge_forwarded);
  portOutput(to, buf, off, len, tag);
}

/** The bridge device sends a frame (br_dev_xmit). */
export function bridgeXmit(br: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  const bp = link(br);
  add64(bp + L_TX_PACKETS, 1);
  add64(bp + L_TX_BYTES, len);
  const dst = ldMac(buf + off);
  if (macIsMulticast(dst)) {
    flood(br, 0xffff, buf, off, len, tag, true, false);
    return;
  }
  if (dst == ldMac(bp + L_MAC)) {
    drop(buf, DROP_BR_NO_EGRESS, tag); // its own address is a local entry: no port
    return;
  }
  const e = fdbLookup(bp, dst, now);
  if (e == 0) {
    // A port's own MAC is a local entry that points at the port (br_forward(dst->dst)).
    const p = portWithMac(br, dst);
    if (p != 0) {
      stat(STAT_bridge_forwarded);
      portOutput(p - 1, buf, off, len, tag);
    } else {
      flood(br, 0xffff, buf, off, len, tag, false, false);
    }
    return;
  }
  if ((load<u32>(e + F_FLAGS) & FF_LOCAL) != 0) {
    drop(buf, DROP_BR_NO_EGRESS, tag);
    return;
  }
  stat(STAT_bridge_forwarded);
  portOutput(fdbPort(e) - 1, buf, off, len, tag);
}

/** br_pass_frame_up: the frame goes up the bridge device's stack (as the host's when local). */
function passUp(br: u32, buf: usize, off: u32, len: u32, tag: u32, local: bool = false): void {
  const bp = link(br);
  add64(bp + L_RX_PACKETS, 1);
  add64(bp + L_RX_BYTES, len);
  stat(STAT_bridge_local);
  trace(EV_BR_LOCAL, br);
  l3Input(br, buf, off, len, tag, local);
}

/** Whether a frame of len bytes fits port p (br_dev_queue_push_xmit: is_skb_forwardable). */
@inline function fits(p: u32, len: u32): bool {
  return len <= <u32>load<u16>(link(p) + L_MTU) + ETH_HLEN + VLAN_HLEN;
}

function portOutput(p: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  trace(EV_BR_FORWARD, p);
  if (!isUp(p)) {
    drop(buf, DROP_DEV_READY, tag);
    return;
  }
  if (!fits(p, len)) {
    drop(buf, DROP_FRAME_TOO_LONG, tag);
    return;
  }
  transmit(p, buf, off, len, tag);
}

@inline function floods(br: u32, p: u32, ingress: u32, bcast: bool): bool {
  const lp = link(p);
  if (<u32>load<u16>(lp + L_MASTER) != br + 1) return false;
  const f = <u32>load<u8>(lp + L_FLAGS);
  if ((f & LF_UP) == 0) return false;
  if (p == ingress && (f & LF_HAIRPIN) == 0) return false;
  return bcast || (f & LF_FLOOD) != 0;
}

/**
 * Sends the frame out of every port that should get it (br_flood), in port
 * order. The last port gets the frame itself unless `keep` (it still goes up
 * to the host); the others get copies.
 */
function flood(br: u32, ingress: u32, buf: usize, off: u32, len: u32, tag: u32, bcast: bool, keep: bool): void {
  const n = load<u32>(host + H_NLINKS);
  let last: u32 = 0xffffffff;
  for (let p: u32 = 0; p < n; p++) if (floods(br, p, ingress, bcast)) last = p;
  if (last == 0xffffffff) {
    if (!keep) drop(buf, DROP_BR_NO_EGRESS, tag);
    return;
  }
  stat(STAT_bridge_flooded);
  trace(EV_BR_FLOOD, br, ingress);
  for (let p: u32 = 0; p <= last; p++) {
    if (!floods(br, p, ingress, bcast)) continue;
    if (!fits(p, len)) {
      // The port's copy is dropped as br_dev_queue_push_xmit drops it.
      if (p == last && !keep) {
        drop(buf, DROP_FRAME_TOO_LONG, tag);
      } else {
        count(CNT_GENERATED);
        dropRecord(DROP_FRAME_TOO_LONG, tag);
      }
      continue;
    }
    if (p == last && !keep) {
      transmit(p, buf, off, len, tag);
    } else {
      const copy = clonePacket(buf, off, len, tag);
      if (copy != 0) transmit(p, copy, off, len, tag);
    }
  }
}

export { TAG_GENERATED };
