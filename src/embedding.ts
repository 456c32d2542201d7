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
  /** Room the engine keeps before a frame in its buffer (IPIP prepends in place). */
  HEADROOM: L.HEADROOM,
  /** A drop reason's name, as Linux names it. */
  dropName(reason: number): string {
    return L.DROP_NAMES[reason] ?? `reason ${reason}`;
  },
} as const;
