// Where every received frame starts (netif_receive_skb): link checks, the
// bridge hook, then the protocol of the EtherType.
import {
  L_FLAGS, L_MASTER, L_MAC, L_MTU, LF_UP, L_TYPE, LT_IPIP, L_RX_PACKETS, L_RX_BYTES, L_RX_DROPPED, CNT_IN, ETH_P_ARP,
  ETH_P_IP_NET, VLAN_HLEN, DROP_DEV_READY, DROP_PKT_TOO_SMALL, DROP_FRAME_TOO_LONG, DROP_UNHANDLED_PROTO, DROP_OTHERHOST, STAT_arp_ignored,
} from '../layout';
import { link, count, stat, add64, drop, consume } from '../context';
import { ld16, ldMac, macIsMulticast } from '../wire/bytes';
import { ETH_HLEN, ETH_TYPE } from '../wire/ethernet';
import { bridgeInput } from './bridge';
import { arpInput } from './arp';
import { ip4Input } from './ip4-input';
import { trace } from '../trace/trace';
import { EV_RX } from '../trace/events';

export function ethernetInput(l: u32, buf: usize, off: u32, len: u32, tag: u32): void {
  count(CNT_IN);
  const lp = link(l);
  if (len > <u32>load<u16>(lp + L_MTU) + ETH_HLEN + VLAN_HLEN) {
    // Longer than the device takes in (is_skb_forwardable, a NIC's max frame).
    add64(lp + L_RX_DROPPED, 1);
    drop(buf, DROP_FRAME_TOO_LONG, tag);
    return;
  }
  add64(lp + L_RX_PACKETS, 1);
  add64(lp + L_RX_BYTES, len);
  trace(EV_RX, l, <u32>buf, off, len);
  if ((<u32>load<u8>(lp + L_FLAGS) & LF_UP) == 0) {
    drop(buf, DROP_DEV_READY, tag);
    return;
  }
  if (len < ETH_HLEN) {
    drop(buf, DROP_PKT_TOO_SMALL, tag);
    return;
  }
  if (<u32>load<u8>(lp + L_TYPE) == LT_IPIP) {
    drop(buf, DROP_UNHANDLED_PROTO, tag); // a tunnel has no Ethernet to receive on
    return;
  }
  const master = <u32>load<u16>(lp + L_MASTER);
  if (master != 0) {
    bridgeInput(master - 1, l, buf, off, len, tag);
    return;
  }
  l3Input(l, buf, off, len, tag);
}

/**
 * A frame for device dev's own protocols (eth_type_trans, then the handler).
 * local: the bridge found it the host's, to the ingress port's own MAC (PACKET_HOST).
 */
export function l3Input(dev: u32, buf: usize, off: u32, len: u32, tag: u32, local: bool = false): void {
  const eth = buf + off;
  const dst = ldMac(eth);
  const multi = macIsMulticast(dst);
  const forUs = multi || local || dst == ldMac(link(dev) + L_MAC);
  const type = ld16(eth + ETH_TYPE);
  if (load<u16>(eth + ETH_TYPE) == ETH_P_IP_NET) {
    if (!forUs) drop(buf, DROP_OTHERHOST, tag);
    else ip4Input(dev, buf, off + ETH_HLEN, len - ETH_HLEN, tag, multi);
  } else if (type == ETH_P_ARP) {
    if (!forUs) {
      stat(STAT_arp_ignored);
      consume(buf, tag);
    } else {
      arpInput(dev, buf, off, len, tag);
    }
  } else {
    drop(buf, DROP_UNHANDLED_PROTO, tag);
  }
}
