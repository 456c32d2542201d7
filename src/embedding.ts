// The descriptor words an embedder writes and reads when it drives a host's
// batches itself (Context.setInput, Host.process, Context.readOutput): what
// kind of input a descriptor is, what an output is, and drop reasons' names.
import * as L from './engine/layout.gen.js';

export const descriptor = {
  /** Input: a frame received on a link. */
  RX: L.K_RX,
  /** Input: an IPv4 packet from the host's own stack. */
  ORIGINATE: L.K_ORIGINATE,
  /** Output: a frame sent on a link. */
  TX: L.O_TX,
  /** Output: a packet delivered to a socket. */
  LOCAL: L.O_LOCAL,
  /** Output: a packet dropped; its reason is in `reason`. */
  DROP: L.O_DROP,
  /**
   * Output (with recordFates): the input waits: for its next hop's ARP (it
   * leaves later with its tag), or, a fragment, for the rest of its datagram
   * (later it is consumed into it, or dropped).
   */
  QUEUED: L.O_QUEUED,
  /** Output (with recordFates): the host took the input itself (ARP, an echo it answered, a fragment gone into its datagram). */
  CONSUMED: L.O_CONSUMED,
  /** The tag of packets the engine makes itself (ARP requests, ICMP errors, replies). */
  GENERATED: L.TAG_GENERATED,
  /** Room the engine keeps before a frame in its buffer (IPIP prepends in place). */
  HEADROOM: L.HEADROOM,
  /** A drop reason's name, as Linux names it. */
  dropName(reason: number): string {
    return L.DROP_NAMES[reason] ?? `reason ${reason}`;
  },
} as const;
