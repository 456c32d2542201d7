// ICMP error rate limiting per destination, as inet_peer_xrlim_allow() does:
// a token bucket in ms, refilled by elapsed time, capped at a burst of 6.
import { H_RL, H_RL_MASK, RL_SIZE, RL_IP, RL_TOKENS, RL_LAST, ICMP_RATELIMIT_MS, ICMP_BURST } from '../layout';

export function icmpAllow(host: usize, dst: u32, now: u32): bool {
  const mask = load<u32>(host + H_RL_MASK);
  const base = <usize>load<u32>(host + H_RL);
  let h = dst * 0x9e3779b1;
  let i = (h ^ (h >>> 16)) & mask;
  let probes: u32 = 0;
  while (true) {
    const e = base + <usize>i * RL_SIZE;
    const k = load<u32>(e + RL_IP);
    if (k == 0) {
      // A new peer starts with a full bucket and spends one token.
      store<u32>(e + RL_TOKENS, ICMP_BURST * ICMP_RATELIMIT_MS - ICMP_RATELIMIT_MS);
      store<u32>(e + RL_LAST, now);
      store<u32>(e + RL_IP, dst);
      return true;
    }
    if (k == dst) {
      let elapsed = now - load<u32>(e + RL_LAST);
      if (elapsed > ICMP_BURST * ICMP_RATELIMIT_MS) elapsed = ICMP_BURST * ICMP_RATELIMIT_MS;
      let token = load<u32>(e + RL_TOKENS) + elapsed;
      store<u32>(e + RL_LAST, now);
      if (token > ICMP_BURST * ICMP_RATELIMIT_MS) token = ICMP_BURST * ICMP_RATELIMIT_MS;
      let ok = false;
      if (token >= ICMP_RATELIMIT_MS) {
        token -= ICMP_RATELIMIT_MS;
        ok = true;
      }
      store<u32>(e + RL_TOKENS, token);
      return ok;
    }
    // A full table forgets nobody: unknown peers beyond it are not limited.
    if (++probes > mask) return true;
    i = (i + 1) & mask;
  }
}
