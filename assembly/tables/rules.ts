// The rule evaluator (ipt_do_table): walks a chain of the compiled ruleset
// blob (src/netfilter/compile.ts builds it; format in ./rules-layout.ts)
// for one packet's keys and returns a verdict word.
//
// A rule is 64 bytes; its RU_FLAGS word says which matches it has, tested
// in a fixed order (interfaces, protocol, addresses, ports, ctstate, mark,
// then its extension records), so a rule rejected by its first present
// match costs a few loads and compares, and an absent match one bit test.
// Every chain ends in a match-all rule whose kind is its policy (or
// RETURN), so the walk never tests for the chain's end. Jumps push the
// return position on a stack in the packet-key struct's PK_STACK scratch
// (RULES_MAX_DEPTH deep; a jump beyond it decides DROP); gotos do not.
// Each rule that matches is counted (packets, bytes) in the per-rule state;
// MARK, CONNMARK, NOTRACK and LOG act and the walk goes on.
import {
  PK_CTSTATE, PK_FRAG, PK_DPORT, PK_DST, PK_IN, PK_OUT, PK_PROTO, PK_SPORT, PK_SRC, PK_STACK, PK_MARK, PK_CONN,
  PK_CTDIR, PK_LEN, PK_STATE, PK_SETS, PK_RNG, PK_NOW, PK_LOGGED, PK_LOGS, PK_NOTRACK, PK_TCPFLAGS, PK_ICMP_TYPE,
  PK_ICMP_CODE, PK_RPF, PK_SRC_TYPE, PK_DST_TYPE, PK_SRC_TYPE_IN, PK_DST_TYPE_IN, PK_SRC_TYPE_OUT, PK_DST_TYPE_OUT,
  RC_COUNT, RC_RULES, RC_SIZE, RS_CHAINS, RS_NLINKS, RS_RULES,
  RF_CTSTATE, RF_CTSTATE_INV, RF_DPORT, RF_DPORT_INV, RF_DST, RF_DST_INV, RF_IN, RF_OUT, RF_PROTO, RF_PROTO_INV,
  RF_SPORT, RF_SPORT_INV, RF_SRC, RF_SRC_INV, RF_MARK, RF_MARK_INV, RF_EXT,
  RU_CTSTATE, RU_DMASK, RU_DPORT_LO, RU_DPORT_SPAN, RU_DST, RU_FLAGS, RU_IN, RU_JUMP, RU_KIND, RU_OUT, RU_PROTO,
  RU_SIZE, RU_SMASK, RU_SPORT_LO, RU_SPORT_SPAN, RU_SRC, RU_MARK, RU_MARK_MASK, RU_EXT, RU_T0, RU_T1, RU_TFLAGS,
  RU_NAT_PORTS, RULES_MAX_DEPTH, TGT_DROP, TGT_JUMP, TGT_GOTO, TGT_REJECT, TGT_RETURN, TGT_MARK, TGT_CONNMARK,
  TGT_NOTRACK, TGT_LOG, VERDICT_RULE_SHIFT, NATF_RANDOM, NATF_PORTS, NATF_RANDOM_FULLY, CM_SET, CM_SAVE, CTS_UNTRACKED,
  RST_SHIFT, RST_PACKETS, RST_BYTES, RST_CREDIT, RST_PREV, RST_NTH,
  X_HDR, XF_INV, X_SET, X_MULTIPORT, X_ICMP, X_TCPFLAGS, X_ADDRTYPE, X_LIMIT, X_RANDOM, X_NTH, X_CTADDR, X_CTPORT,
  X_CTPROTO, X_CTSTATUS, X_CTEXPIRE, X_CTDIR, X_MARK, X_CONNMARK, X_RPFILTER, X_CTSTATE, X_PORTS,
  XF_SRC, XF_DST, XF_SRC_INV, XF_DST_INV, XF_LIMIT_IN, XF_LIMIT_OUT, XF_STATEFUL, XF_LOOSE, XF_ACCEPT_LOCAL,
  RPF_ALWAYS, RPF_UNICAST, RPF_LOCAL, RPF_DEV,
} from './rules-layout';
import { CN_ORIG, CN_REPLY, CN_PROTO, CN_STATUS, CN_TIMEOUT, CN_MARK, CS_LIVE, IPPROTO_TCP, IPPROTO_UDP } from '../layout';
import { ipsetTest } from './ipset';
import { pkAddrTypes, pkReversePath } from '../stages/nf-keys';

/** xt_limit with HZ 1000: credits a millisecond (CREDITS_PER_JIFFY). */
const LIMIT_CREDITS_PER_MS: u64 = 32;

/**
 * Whether rule r (flags f, non-zero) matches. The packet's keys come in
 * locals; ifIn/ifOut are blob + the clamped link index, so an interface
 * table's byte is one load.
 */
@inline function ruleMatches(
  r: usize, f: u32, ifIn: usize, ifOut: usize, proto: u32, src: u32, dst: u32,
  sport: u32, dport: u32, frag: bool, ct: u32, mark: u32, pk: usize, blob: usize,
): bool {
  if (f & RF_IN) {
    if (load<u8>(ifIn + load<u32>(r, RU_IN)) == 0) return false;
  }
  if (f & RF_OUT) {
    if (load<u8>(ifOut + load<u32>(r, RU_OUT)) == 0) return false;
  }
  if (f & RF_PROTO) {
    if ((proto == <u32>load<u8>(r, RU_PROTO)) == ((f & RF_PROTO_INV) != 0)) return false;
  }
  if (f & RF_SRC) {
    if ((((src ^ load<u32>(r, RU_SRC)) & load<u32>(r, RU_SMASK)) == 0) == ((f & RF_SRC_INV) != 0)) return false;
  }
  if (f & RF_DST) {
    if ((((dst ^ load<u32>(r, RU_DST)) & load<u32>(r, RU_DMASK)) == 0) == ((f & RF_DST_INV) != 0)) return false;
  }
  if (f & (RF_DPORT | RF_SPORT)) {
    if (frag) return false; // no ports in a later fragment: tcp_mt/udp_mt say no, inverted or not
    if (f & RF_DPORT) {
      if (((dport - <u32>load<u16>(r, RU_DPORT_LO)) <= <u32>load<u16>(r, RU_DPORT_SPAN)) == ((f & RF_DPORT_INV) != 0)) return false;
    }
    if (f & RF_SPORT) {
      if (((sport - <u32>load<u16>(r, RU_SPORT_LO)) <= <u32>load<u16>(r, RU_SPORT_SPAN)) == ((f & RF_SPORT_INV) != 0)) return false;
    }
  }
  if (f & RF_CTSTATE) {
    if (((ct & <u32>load<u8>(r, RU_CTSTATE)) != 0) == ((f & RF_CTSTATE_INV) != 0)) return false;
  }
  if (f & RF_MARK) {
    if (((mark & load<u32>(r, RU_MARK_MASK)) == load<u32>(r, RU_MARK)) == ((f & RF_MARK_INV) != 0)) return false;
  }
  if (f & RF_EXT) return extMatches(r, pk, blob, proto, src, dst, sport, dport, frag, ct, mark);
  return true;
}

/** The rule's extension records, in order; false at the first that does not match. */
function extMatches(r: usize, pk: usize, blob: usize, proto: u32, src: u32, dst: u32, sport: u32, dport: u32, frag: bool, ct: u32, mark: u32): bool {
  let x = blob + <usize>load<u32>(r, RU_EXT);
  while (true) {
    const type = <u32>load<u8>(x);
    if (type == 0) return true;
    const flags = <u32>load<u8>(x, 1);
    const inv = (flags & XF_INV) != 0;
    const p = x + X_HDR;
    let ok = true;
    if (type == X_PORTS) {
      if (frag) return false;
      const port = (flags & XF_SRC) != 0 ? sport : dport;
      ok = ((port - <u32>load<u16>(p)) <= <u32>load<u16>(p, 2) - <u32>load<u16>(p)) != inv;
    } else if (type == X_MULTIPORT) {
      if (frag) return false; // multiport_mt: no ports in a later fragment
      const n = <u32>load<u16>(p);
      let hit = false;
      for (let i: u32 = 0; i < n && !hit; i++) {
        const lo = <u32>load<u16>(p + 4 + (<usize>i << 2));
        const span = <u32>load<u16>(p + 6 + (<usize>i << 2)) - lo;
        hit = ((flags & XF_SRC) != 0 && sport - lo <= span) || ((flags & XF_DST) != 0 && dport - lo <= span);
      }
      ok = hit != inv;
    } else if (type == X_TCPFLAGS) {
      if (frag) return false;
      ok = ((<u32>load<u8>(pk, PK_TCPFLAGS) & <u32>load<u8>(p)) == <u32>load<u8>(p, 1)) != inv;
    } else if (type == X_ICMP) {
      if (frag) return false;
      const t = <u32>load<u8>(p);
      const code = <u32>load<u8>(pk, PK_ICMP_CODE);
      ok = (t == 0xff || (t == <u32>load<u8>(pk, PK_ICMP_TYPE) && code >= <u32>load<u8>(p, 1) && code <= <u32>load<u8>(p, 2))) != inv;
    } else if (type == X_CTSTATE) {
      ok = ((ct & <u32>load<u8>(p)) != 0) != inv;
    } else if (type >= X_CTADDR && type <= X_CTDIR) {
      const conn = <usize>load<u32>(pk, PK_CONN);
      // conntrack_mt: without a connection the rest of the match is decided by whether it had --ctstate.
      if (conn == 0) ok = (flags & XF_STATEFUL) != 0;
      else ok = ctField(type, p, conn, pk) != inv;
    } else if (type == X_MARK) {
      ok = ((mark & load<u32>(p, 4)) == load<u32>(p)) != inv;
    } else if (type == X_CONNMARK) {
      const conn = <usize>load<u32>(pk, PK_CONN);
      ok = conn != 0 && ((load<u32>(conn + CN_MARK) & load<u32>(p, 4)) == load<u32>(p)) != inv;
    } else if (type == X_ADDRTYPE) {
      pkAddrTypes(pk);
      const pick = (flags & XF_LIMIT_IN) != 0 ? PK_SRC_TYPE_IN : (flags & XF_LIMIT_OUT) != 0 ? PK_SRC_TYPE_OUT : PK_SRC_TYPE;
      if ((flags & XF_SRC) != 0) {
        const t = <u32>load<u8>(pk + pick);
        ok = (((<u32>load<u16>(p) >> t) & 1) != 0) != ((flags & XF_SRC_INV) != 0);
      }
      if (ok && (flags & XF_DST) != 0) {
        const t = <u32>load<u8>(pk + pick + 1);
        ok = (((<u32>load<u16>(p, 2) >> t) & 1) != 0) != ((flags & XF_DST_INV) != 0);
      }
    } else if (type == X_SET) {
      const sets = <usize>load<u32>(pk, PK_SETS);
      const l4 = (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !frag;
      ok = sets != 0 && ipsetTest(sets, <u32>load<u16>(p), <u32>load<u8>(p, 2), <u32>load<u8>(p, 3), src, dst, (sport << 16) | dport, proto, l4);
      ok = ok != inv;
    } else if (type == X_LIMIT) {
      ok = limit(stateOf(pk, blob, r), load<u32>(p), load<u32>(p, 4), load<u32>(pk, PK_NOW));
    } else if (type == X_RANDOM) {
      const rng = <usize>load<u32>(pk, PK_RNG);
      let v = load<u32>(rng);
      v ^= v << 13;
      v ^= v >>> 17;
      v ^= v << 5;
      store<u32>(rng, v);
      ok = ((v & 0x7fffffff) < load<u32>(p)) != inv;
    } else if (type == X_NTH) {
      const s = stateOf(pk, blob, r);
      const o = load<u32>(s, RST_NTH);
      const n = o == load<u32>(p) ? 0 : o + 1;
      store<u32>(s, n, RST_NTH);
      ok = (n == 0) != inv;
    } else if (type == X_RPFILTER) {
      const rpf = pkReversePath(pk);
      const route = (rpf & RPF_UNICAST) != 0 || ((rpf & RPF_LOCAL) != 0 && (flags & XF_ACCEPT_LOCAL) != 0);
      ok = ((rpf & RPF_ALWAYS) != 0 || (route && ((rpf & RPF_DEV) != 0 || (flags & XF_LOOSE) != 0))) != inv;
    }
    if (!ok) return false;
    x += <usize>load<u16>(x, 2);
  }
  return true;
}

/** One field of -m conntrack over the packet's connection. */
function ctField(type: u32, p: usize, conn: usize, pk: usize): bool {
  if (type == X_CTADDR || type == X_CTPORT) {
    const w = <u32>load<u8>(p);
    const tuple = conn + (w < 2 ? CN_ORIG : CN_REPLY);
    if (type == X_CTADDR) return ((load<u32>(tuple + ((w & 1) << 2)) ^ load<u32>(p, 4)) & load<u32>(p, 8)) == 0;
    const ports = load<u32>(tuple + 8);
    const port = (w & 1) != 0 ? ports & 0xffff : ports >>> 16;
    return port >= <u32>load<u16>(p, 2) && port <= <u32>load<u16>(p, 4);
  }
  if (type == X_CTPROTO) return <u32>load<u8>(conn + CN_PROTO) == <u32>load<u8>(p);
  if (type == X_CTSTATUS) return (<u32>load<u16>(conn + CN_STATUS) & <u32>load<u8>(p)) != 0;
  if (type == X_CTEXPIRE) {
    // nf_ct_expires, in seconds; a connection not yet in the table has none left.
    const left = (<u32>load<u16>(conn + CN_STATUS) & CS_LIVE) == 0 ? 0 : <i32>(load<u32>(conn + CN_TIMEOUT) - load<u32>(pk, PK_NOW));
    const s: u32 = left <= 0 ? 0 : <u32>left / 1000;
    return s >= load<u32>(p) && s <= load<u32>(p, 4);
  }
  // X_CTDIR
  return (<u32>load<u8>(pk, PK_CTDIR) == 1) == (<u32>load<u8>(p) == 1);
}

/** The per-rule state of rule r (RST_SIZE bytes a rule struct, in blob order). */
@inline function stateOf(pk: usize, blob: usize, r: usize): usize {
  return <usize>load<u32>(pk, PK_STATE) + ((r - blob - <usize>load<u32>(blob, RS_RULES)) >> RST_SHIFT);
}

/** limit_mt: credits accrue with time up to the cap; a packet costs `cost`. */
function limit(s: usize, cost: u32, cap: u32, now: u32): bool {
  let credit = <u64>load<u32>(s, RST_CREDIT);
  const prev = load<u32>(s, RST_PREV);
  if (prev != 0) credit += <u64>(now - (prev - 1)) * LIMIT_CREDITS_PER_MS;
  if (credit > <u64>cap) credit = <u64>cap;
  store<u32>(s, now + 1, RST_PREV);
  if (credit >= <u64>cost) {
    store<u32>(s, <u32>(credit - <u64>cost), RST_CREDIT);
    return true;
  }
  store<u32>(s, <u32>credit, RST_CREDIT);
  return false;
}

/**
 * Runs builtin chain `chain` (CHAIN_*) of the ruleset at `blob` for the
 * packet keys at `pk` (PK_*; PK_STACK is used as scratch). Returns the
 * verdict: TGT_ACCEPT / TGT_DROP / TGT_DNAT / TGT_SNAT / TGT_MASQUERADE /
 * TGT_REJECT in the low byte, the deciding rule's offset from `blob` above it
 * (a policy's rule is the chain's terminating one). Started in a user chain
 * that falls off its end or returns, the verdict is TGT_RETURN. PK_MARK,
 * PK_NOTRACK, PK_LOGS and PK_LOGGED say what the walk did on the way.
 */
export function rulesRun(blob: usize, chain: u32, pk: usize): u32 {
  const src = load<u32>(pk, PK_SRC);
  const dst = load<u32>(pk, PK_DST);
  const sport = <u32>load<u16>(pk, PK_SPORT);
  const dport = <u32>load<u16>(pk, PK_DPORT);
  const proto = <u32>load<u8>(pk, PK_PROTO);
  const frag = load<u8>(pk, PK_FRAG) != 0;
  const len = <u64>load<u32>(pk, PK_LEN);
  let ct = <u32>load<u8>(pk, PK_CTSTATE);
  let mark = load<u32>(pk, PK_MARK);
  // Links the blob was not compiled for (and "none") share the last byte of each table.
  const nlinks = load<u32>(blob, RS_NLINKS);
  let li = <u32>load<u16>(pk, PK_IN);
  let lo = <u32>load<u16>(pk, PK_OUT);
  if (li > nlinks) li = nlinks;
  if (lo > nlinks) lo = nlinks;
  const ifIn = blob + <usize>li;
  const ifOut = blob + <usize>lo;
  // State of rule r at state + (r >> RST_SHIFT): the blob and its rules are 64-byte aligned.
  const state = <usize>load<u32>(pk, PK_STATE) - ((blob + <usize>load<u32>(blob, RS_RULES)) >> RST_SHIFT);
  store<u8>(pk, 0, PK_NOTRACK);
  store<u8>(pk, 0, PK_LOGS);

  const entry = blob + load<u32>(blob, RS_CHAINS) + <usize>chain * RC_SIZE;
  const end = blob + <usize>load<u32>(entry, RC_RULES) + <usize>load<u32>(entry, RC_COUNT) * RU_SIZE;
  let r = blob + <usize>load<u32>(entry, RC_RULES);
  const stack = pk + PK_STACK;
  let depth: u32 = 0;
  while (true) {
    const f = load<u32>(r, RU_FLAGS);
    if (f != 0 && !ruleMatches(r, f, ifIn, ifOut, proto, src, dst, sport, dport, frag, ct, mark, pk, blob)) {
      r += RU_SIZE;
      continue;
    }
    // The rule matched: its counters (ipt_do_table's ADD_COUNTER), then its target.
    const s = state + (r >> RST_SHIFT);
    store<u64>(s, load<u64>(s, RST_PACKETS) + 1, RST_PACKETS);
    store<u64>(s, load<u64>(s, RST_BYTES) + len, RST_BYTES);
    const k = <u32>load<u8>(r, RU_KIND);
    if (k <= TGT_REJECT) {
      store<u32>(pk, mark, PK_MARK);
      return (<u32>(r - blob) << VERDICT_RULE_SHIFT) | k;
    }
    if (k == TGT_JUMP) {
      if (depth == RULES_MAX_DEPTH) {
        store<u32>(pk, mark, PK_MARK);
        return (<u32>(r - blob) << VERDICT_RULE_SHIFT) | TGT_DROP;
      }
      store<u32>(stack + (<usize>depth << 2), <u32>(r - blob) + RU_SIZE);
      depth++;
      r = blob + <usize>load<u32>(r, RU_JUMP);
      continue;
    }
    if (k == TGT_GOTO) {
      r = blob + <usize>load<u32>(r, RU_JUMP);
      continue;
    }
    if (k == TGT_RETURN) {
      if (depth == 0) {
        // RETURN in (or through a goto from) the chain we started in: its
        // terminating rule decides (a builtin chain's policy, counted) or
        // RETURN from a user chain.
        if (r == end) {
          store<u32>(pk, mark, PK_MARK);
          return (<u32>(r - blob) << VERDICT_RULE_SHIFT) | TGT_RETURN;
        }
        r = end;
        continue;
      }
      depth--;
      r = blob + <usize>load<u32>(stack + (<usize>depth << 2));
      continue;
    }
    if (k == TGT_MARK) {
      mark = (mark & ~load<u32>(r, RU_T1)) ^ load<u32>(r, RU_T0);
    } else if (k == TGT_CONNMARK) {
      const conn = <usize>load<u32>(pk, PK_CONN);
      if (conn != 0) {
        const mode = <u32>load<u8>(r, RU_TFLAGS);
        const cm = load<u32>(conn + CN_MARK);
        if (mode == CM_SET) store<u32>(conn + CN_MARK, (cm & ~load<u32>(r, RU_T1)) ^ load<u32>(r, RU_T0));
        else if (mode == CM_SAVE) store<u32>(conn + CN_MARK, (cm & ~load<u32>(r, RU_T1)) ^ (mark & load<u32>(r, RU_T0)));
        else mark = (mark & ~load<u32>(r, RU_T0)) ^ (cm & load<u32>(r, RU_T1));
      }
    } else if (k == TGT_NOTRACK) {
      // The packet is untracked from here on (xt_CT: nf_ct_set(skb, NULL, IP_CT_UNTRACKED)).
      store<u8>(pk, 1, PK_NOTRACK);
      store<u32>(pk, 0, PK_CONN);
      ct = CTS_UNTRACKED;
    } else if (k == TGT_LOG) {
      const n = <u32>load<u8>(pk, PK_LOGS);
      if (n < 255) store<u8>(pk, <u8>(n + 1), PK_LOGS);
      store<u32>(pk, <u32>(r - blob), PK_LOGGED);
    }
    r += RU_SIZE; // TGT_NONE and the targets that act and go on
  }
  return 0; // not reached
}

/** Test entry point (re-exported by assembly/index.ts). */
export function rules_eval(blob: usize, chain: u32, pk: usize): u32 {
  return rulesRun(blob, chain, pk);
}

/** The deciding rule of a verdict. */
@inline export function verdictRule(blob: usize, verdict: u32): usize {
  return blob + <usize>(verdict >>> VERDICT_RULE_SHIFT);
}

/** DNAT/SNAT: the first address of the range (host order); MASQUERADE: 0. */
@inline export function ruleNatAddr(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_T0);
}

/** DNAT/SNAT: the last address of the range (the first when no range was given). */
@inline export function ruleNatAddrHi(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_T1);
}

/** Whether the NAT target gave ports (--to-destination ip:port, --to-ports). */
@inline export function ruleNatHasPorts(blob: usize, verdict: u32): bool {
  return (<u32>load<u8>(verdictRule(blob, verdict), RU_TFLAGS) & NATF_PORTS) != 0;
}

/** First port of the NAT range (when ruleNatHasPorts). */
@inline export function ruleNatPortLo(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_NAT_PORTS) & 0xffff;
}

/** Last port of the NAT range (when ruleNatHasPorts). */
@inline export function ruleNatPortHi(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_NAT_PORTS) >>> 16;
}

/** --random (or --random-fully) given: pick ports by keyed hash rather than keeping the source port first. */
@inline export function ruleNatRandom(blob: usize, verdict: u32): bool {
  return (<u32>load<u8>(verdictRule(blob, verdict), RU_TFLAGS) & (NATF_RANDOM | NATF_RANDOM_FULLY)) != 0;
}

/** The NAT flags (NATF_*) of the deciding rule. */
@inline export function ruleNatFlags(blob: usize, verdict: u32): u32 {
  return <u32>load<u8>(verdictRule(blob, verdict), RU_TFLAGS);
}

/** REJECT: the ICMP code to send, or REJECT_TCP_RESET. */
@inline export function ruleRejectWith(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_T0);
}
