// Bounds of the neighbour table (net/core/neighbour.c): neigh_alloc's
// gc_thresh2/3 checks with the forced gc (neigh_forced_gc), and the periodic
// gc above gc_thresh1 (neigh_periodic_work).
//
// An entry is held, so never collected, while it is permanent or INCOMPLETE
// (its timer holds a reference). podnet keeps no REACHABLE/STALE/DELAY
// timers: an entry used or confirmed in the last 5 s is what Linux would
// hold in REACHABLE or DELAY, and NB_USED stands for Linux's `used` (or
// `confirmed`, when later) in both collectors.
import {
  H_NEIGH_GC, H_NEIGH_LIVE, H_GC_HEAD, H_GC_THRESH1, H_GC_THRESH2, H_GC_THRESH3, H_GC_FLUSHED, H_GC_NEXT,
  NB_GNEXT, NB_STATE, NB_UPDATED, NB_USED, NB_QLEN, NUD_INCOMPLETE, NUD_FAILED,
  GC_INTERVAL_MS, GC_STALE_MS, GC_FORCED_MS,
} from '../layout';
import { neighClaim, neighRemove } from './neigh';

/**
 * neigh_alloc for an entry the data plane makes (a next hop, an ARP sender):
 * at gc_thresh3, or past gc_thresh2 with no forced gc for 5 s, a forced gc
 * runs first; at gc_thresh3 with nothing collected, no entry (0).
 */
export function neighCreate(host: usize, ip: u32, dev: u32, now: u32): usize {
  const entries = load<u32>(host + H_NEIGH_GC);
  const thresh3 = load<u32>(host + H_GC_THRESH3);
  if (entries >= thresh3 ||
      (entries >= load<u32>(host + H_GC_THRESH2) && now > load<u32>(host + H_GC_FLUSHED) + GC_FORCED_MS)) {
    if (forcedGc(host, now) == 0 && entries >= thresh3) return 0;
  }
  return neighClaim(host, ip, dev, false);
}

@inline function held(e: usize): bool {
  return <u32>load<u8>(e + NB_STATE) == NUD_INCOMPLETE || load<u16>(e + NB_QLEN) != 0;
}

/**
 * neigh_forced_gc: oldest first, removes FAILED entries and entries neither
 * changed nor used in the last 5 s, until gc_entries is back at gc_thresh2
 * (counting the entry about to be made). Returns how many went.
 */
function forcedGc(host: usize, now: u32): u32 {
  const maxClean = <i32>(load<u32>(host + H_NEIGH_GC) + 1) - <i32>load<u32>(host + H_GC_THRESH2);
  let shrunk: i32 = 0;
  let e = <usize>load<u32>(host + H_GC_HEAD);
  while (e != 0) {
    const next = <usize>load<u32>(e + NB_GNEXT);
    if (!held(e)) {
      if (<u32>load<u8>(e + NB_STATE) == NUD_FAILED ||
          (now - load<u32>(e + NB_UPDATED) > GC_FORCED_MS && now - load<u32>(e + NB_USED) > GC_FORCED_MS)) {
        neighRemove(host, e);
        shrunk++;
      }
      if (shrunk >= maxClean) break;
    }
    e = next;
  }
  store<u32>(host + H_GC_FLUSHED, now);
  return <u32>shrunk;
}

/**
 * neigh_periodic_work, every GC_INTERVAL_MS of the host's clock: with at
 * least gc_thresh1 entries, removes FAILED ones and ones unused for
 * gc_staletime. Run after the neighbour timers, it catches up on every run
 * due since the last call, each judged as of its own time (an entry that
 * failed later was not FAILED yet); runs that can remove nothing are skipped.
 */
export function neighPeriodicGc(host: usize, now: u32): void {
  let due = load<u32>(host + H_GC_NEXT);
  if (due > now) return;
  const after = nextRun(now); // the first run after this call
  while (due <= now) {
    if (load<u32>(host + H_NEIGH_LIVE) < load<u32>(host + H_GC_THRESH1)) {
      due = after;
      break;
    }
    const soonest = sweep(host, due);
    due = soonest <= now ? max(due + GC_INTERVAL_MS, nextRun(soonest - 1)) : after;
  }
  store<u32>(host + H_GC_NEXT, due);
}

/** The first multiple of GC_INTERVAL_MS after t. */
@inline function nextRun(t: u32): u32 {
  const n = <u64>(t / GC_INTERVAL_MS + 1) * GC_INTERVAL_MS;
  return n > 0xffffffff ? 0xffffffff : <u32>n;
}

/** One periodic run as of time t; returns the soonest time a remaining entry could go (0xffffffff: none). */
function sweep(host: usize, t: u32): u32 {
  let soonest: u32 = 0xffffffff;
  let e = <usize>load<u32>(host + H_GC_HEAD);
  while (e != 0) {
    const next = <usize>load<u32>(e + NB_GNEXT);
    if (!held(e)) {
      // FAILED: gone from the time it failed; else once unused for gc_staletime.
      const used = load<u32>(e + NB_USED);
      const at = <u32>load<u8>(e + NB_STATE) == NUD_FAILED ? load<u32>(e + NB_UPDATED) : (used > 0xffffffff - GC_STALE_MS ? 0xffffffff : used + GC_STALE_MS);
      if (at <= t) neighRemove(host, e);
      else if (at < soonest) soonest = at;
    }
    e = next;
  }
  return soonest;
}
