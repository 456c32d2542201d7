// ICMP error limits, as Linux 6.18 has them. Per peer (inet_peer, keyed by
// the address the error goes to): one token bucket in ms that ip_error's
// limit (cost 1 s, burst 5 s) and icmp_send's (icmpv4_xrlim_allow:
// inet_peer_xrlim_allow, cost icmp_ratelimit, burst 6 of them) both draw on.
// Per host: icmp_global_allow/icmp_global_consume, icmp_msgs_per_sec refilled
// at most every 20 ms, icmp_msgs_burst deep.
import {
  H_RL, H_RL_MASK, RL_SIZE, RL_IP, RL_TOKENS, RL_LAST, RL_RID, ICMP_RATELIMIT_MS, ICMP_BURST,
  RT_ERROR_COST_MS, RT_ERROR_BURST_MS, PEER_NEW_AGE_MS, H_ICMP_CREDIT, H_ICMP_STAMP, ICMP_MSGS_PER_SEC, ICMP_MSGS_BURST,
} from '../layout';

/** The peer entry of addr (inet_getpeer), made on first use; 0 when the table is full (no limit). */
function peer(host: usize, addr: u32, now: u32): usize {
  const mask = load<u32>(host + H_RL_MASK);
  const base = <usize>load<u32>(host + H_RL);
  const h = addr * 0x9e3779b1;
  let i = (h ^ (h >>> 16)) & mask;
  for (let probes: u32 = 0; probes <= mask; probes++) {
    const e = base + <usize>i * RL_SIZE;
    const k = load<u32>(e + RL_IP);
    if (k == addr) return e;
    if (k == 0) {
      store<u32>(e + RL_TOKENS, 0);
      store<u32>(e + RL_LAST, now - PEER_NEW_AGE_MS);
      store<u32>(e + RL_RID, 0);
      store<u32>(e + RL_IP, addr);
      return e;
    }
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * A fragment from src (ip_frag_too_far's atomic_inc_return(&peer->rid)): its
 * sender's fragment count, or 0 when the peer table is full (no such check).
 */
export function peerFragment(host: usize, src: u32, now: u32): u32 {
  const e = peer(host, src, now);
  if (e == 0) return 0;
  const rid = load<u32>(e + RL_RID) + 1;
  store<u32>(e + RL_RID, rid);
  return rid;
}

/** ip_error's own limit on route errors to src: false when its bucket is empty. */
export function routeErrorAllow(host: usize, src: u32, now: u32): bool {
  const e = peer(host, src, now);
  if (e == 0) return true;
  let tokens = load<u32>(e + RL_TOKENS) + (now - load<u32>(e + RL_LAST));
  if (tokens > RT_ERROR_BURST_MS) tokens = RT_ERROR_BURST_MS;
  store<u32>(e + RL_LAST, now);
  const ok = tokens >= RT_ERROR_COST_MS;
  store<u32>(e + RL_TOKENS, ok ? tokens - RT_ERROR_COST_MS : tokens);
  return ok;
}

/** inet_peer_xrlim_allow(peer, icmp_ratelimit): time only refills when some has passed. */
export function icmpPeerAllow(host: usize, dst: u32, now: u32): bool {
  const e = peer(host, dst, now);
  if (e == 0) return true;
  let tokens = load<u32>(e + RL_TOKENS);
  const delta = now - load<u32>(e + RL_LAST);
  if (delta != 0) {
    store<u32>(e + RL_LAST, now);
    tokens += delta;
    if (tokens > ICMP_BURST * ICMP_RATELIMIT_MS) tokens = ICMP_BURST * ICMP_RATELIMIT_MS;
  }
  const ok = tokens >= ICMP_RATELIMIT_MS;
  store<u32>(e + RL_TOKENS, ok ? tokens - ICMP_RATELIMIT_MS : tokens);
  return ok;
}

/** icmp_global_allow: credit left, or a refill once 20 ms have passed since the last. */
export function icmpGlobalAllow(host: usize, now: u32): bool {
  const credit = load<i32>(host + H_ICMP_CREDIT);
  if (credit > 0) return true;
  let delta = now - load<u32>(host + H_ICMP_STAMP);
  if (delta > 1000) delta = 1000;
  if (delta < 20) return false;
  const incr = <i32>(ICMP_MSGS_PER_SEC * delta / 1000);
  if (incr == 0) return false;
  store<u32>(host + H_ICMP_STAMP, now);
  const c = credit + incr;
  store<i32>(host + H_ICMP_CREDIT, c < <i32>ICMP_MSGS_BURST ? c : <i32>ICMP_MSGS_BURST);
  return true;
}

/** icmp_global_consume: Linux takes 0, 1 or 2 credits at random; podnet takes their mean, 1. */
export function icmpGlobalConsume(host: usize): void {
  store<i32>(host + H_ICMP_CREDIT, load<i32>(host + H_ICMP_CREDIT) - 1);
}
