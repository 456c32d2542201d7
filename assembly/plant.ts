// Planted bugs, for the test that shows podnet fuzz finds one and shrinks it:
// a build with --use PODNET_PLANT_STALE_CHECKSUM=1 breaks one rule of the
// semantics on a path ordinary traffic does not take: a packet forwarded on
// its last hop (TTL 2, now 1) keeps the header checksum it had before the TTL
// decrement. Every other build has none of this code.
import { IP_CHECK } from './wire/ipv4';
import { ld16, st16 } from './wire/bytes';
import { csumReplace16 } from './wire/checksum';

// @ts-ignore: defined by the planted build only (--use)
const STALE_CHECKSUM: bool = isDefined(PODNET_PLANT_STALE_CHECKSUM);

/** Undoes the checksum update of ip_decrease_ttl (ip4-forward.ts), in the planted build. */
export function plantStaleChecksum(ip: usize, word: u32): void {
  if (STALE_CHECKSUM && (word >> 8) == 2) st16(ip + IP_CHECK, csumReplace16(ld16(ip + IP_CHECK), word - 0x100, word));
}
