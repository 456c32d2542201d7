// The rule evaluator: walks a chain of the compiled ruleset blob
// (src/netfilter/compile.ts builds it; format in ./rules-layout.ts) for one
// packet's match keys and returns a verdict word.
//
// A rule is 64 bytes; its RU_FLAGS word says which matches it has, tested
// in a fixed order (interfaces, protocol, addresses, ports, ctstate,
// addrtype), so a rule rejected by its first present match costs a few
// loads and compares, and an absent match one bit test. Every chain ends in
// a match-all rule whose kind is its policy (or RETURN), so the walk never
// tests for the chain's end. Jumps push the return position on a stack in
// the packet-key struct's PK_STACK scratch (RULES_MAX_DEPTH deep; a jump
// beyond it decides DROP).
import {
  AT_DST_LOCAL, PK_CTSTATE, PK_FRAG, PK_DPORT, PK_DST, PK_DST_LOCAL, PK_IN, PK_OUT, PK_PROTO, PK_SPORT, PK_SRC, PK_SRC_LOCAL,
  PK_STACK, RC_COUNT, RC_RULES, RC_SIZE, RF_ADDRTYPE, RF_CTSTATE, RF_DPORT, RF_DPORT_INV, RF_DST, RF_DST_INV, RF_IN,
  RF_OUT, RF_PROTO, RF_PROTO_INV, RF_SPORT, RF_SPORT_INV, RF_SRC, RF_SRC_INV, RS_CHAINS, RS_NLINKS, RU_AT_CARE,
  RU_AT_WANT, RU_CTSTATE, RU_DMASK, RU_DPORT_LO, RU_DPORT_SPAN, RU_DST, RU_FLAGS, RU_IN, RU_JUMP, RU_KIND,
  RU_NAT_ADDR, RU_NAT_ADDR_HI, RU_NAT_FLAGS, RU_NAT_PORT_HI, RU_NAT_PORT_LO, RU_OUT, RU_PROTO, RU_SIZE, RU_SMASK,
  RU_SPORT_LO, RU_SPORT_SPAN, RU_SRC, RULES_MAX_DEPTH, TGT_DROP, TGT_JUMP, TGT_MASQUERADE, TGT_RETURN,
  VERDICT_RULE_SHIFT, NATF_RANDOM, NATF_PORTS, NATF_RANDOM_FULLY,
} from './rules-layout';

/**
 * Whether rule r (flags f, non-zero) matches. The packet's keys come in
 * locals; ifIn/ifOut are blob + the clamped link index, so an interface
 * table's byte is one load.
 */
@inline function ruleMatches(
  r: usize, f: u32, ifIn: usize, ifOut: usize, proto: u32, src: u32, dst: u32,
  sport: u32, dport: u32, frag: bool, ct: u32, loc: u32,
): bool {
  if (f & RF_IN) {
    if (load<u8>(ifIn + load<u32>(r, RU_IN)) == 0) return false;
  }
  if (f & RF_OUT) {
    if (load<u8>(ifOut + load<u32>(r, RU_OUT)) == 0) return false;
  }
  if (f & RF_PROTO) {
    if ((proto == load<u32>(r, RU_PROTO)) == ((f & RF_PROTO_INV) != 0)) return false;
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
    if ((ct & <u32>load<u8>(r, RU_CTSTATE)) == 0) return false;
  }
  if (f & RF_ADDRTYPE) {
    if ((loc & <u32>load<u8>(r, RU_AT_CARE)) != <u32>load<u8>(r, RU_AT_WANT)) return false;
  }
  return true;
}

/**
 * Runs builtin chain `chain` (CHAIN_*) of the ruleset at `blob` for the
 * packet keys at `pk` (PK_*; PK_STACK is used as scratch). Returns the
 * verdict: TGT_ACCEPT / TGT_DROP / TGT_DNAT / TGT_SNAT / TGT_MASQUERADE in
 * the low byte, the deciding rule's offset from `blob` above it (a policy's
 * rule is the chain's terminating one). Started in a user chain that falls
 * off its end or returns, the verdict is TGT_RETURN.
 */
export function rulesRun(blob: usize, chain: u32, pk: usize): u32 {
  const src = load<u32>(pk, PK_SRC);
  const dst = load<u32>(pk, PK_DST);
  const sport = <u32>load<u16>(pk, PK_SPORT);
  const dport = <u32>load<u16>(pk, PK_DPORT);
  const proto = <u32>load<u8>(pk, PK_PROTO);
  const frag = load<u8>(pk, PK_FRAG) != 0;
  const ct = <u32>load<u8>(pk, PK_CTSTATE);
  const loc = (<u32>(load<u8>(pk, PK_SRC_LOCAL) != 0)) | (<u32>(load<u8>(pk, PK_DST_LOCAL) != 0) * AT_DST_LOCAL);
  // Links the blob was not compiled for (and "none") share the last byte of each table.
  const nlinks = load<u32>(blob, RS_NLINKS);
  let li = <u32>load<u16>(pk, PK_IN);
  let lo = <u32>load<u16>(pk, PK_OUT);
  if (li > nlinks) li = nlinks;
  if (lo > nlinks) lo = nlinks;
  const ifIn = blob + <usize>li;
  const ifOut = blob + <usize>lo;

  const entry = blob + load<u32>(blob, RS_CHAINS) + <usize>chain * RC_SIZE;
  let r = blob + <usize>load<u32>(entry, RC_RULES);
  const stack = pk + PK_STACK;
  let depth: u32 = 0;
  while (true) {
    const f = load<u32>(r, RU_FLAGS);
    if (f != 0 && !ruleMatches(r, f, ifIn, ifOut, proto, src, dst, sport, dport, frag, ct, loc)) {
      r += RU_SIZE;
      continue;
    }
    const k = load<u32>(r, RU_KIND);
    if (k <= TGT_MASQUERADE) return (<u32>(r - blob) << VERDICT_RULE_SHIFT) | k;
    if (k == TGT_JUMP) {
      if (depth == RULES_MAX_DEPTH) return (<u32>(r - blob) << VERDICT_RULE_SHIFT) | TGT_DROP;
      store<u32>(stack + (<usize>depth << 2), <u32>(r - blob) + RU_SIZE);
      depth++;
      r = blob + <usize>load<u32>(r, RU_JUMP);
      continue;
    }
    if (k == TGT_RETURN) {
      if (depth == 0) {
        // RETURN in the chain we started in: its terminating rule decides
        // (a builtin chain's policy; RETURN from a user chain).
        const end = blob + <usize>load<u32>(entry, RC_RULES) + <usize>load<u32>(entry, RC_COUNT) * RU_SIZE;
        return (<u32>(end - blob) << VERDICT_RULE_SHIFT) | load<u32>(end, RU_KIND);
      }
      depth--;
      r = blob + <usize>load<u32>(stack + (<usize>depth << 2));
      continue;
    }
    r += RU_SIZE; // TGT_NONE: matched, nothing to do
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
  return load<u32>(verdictRule(blob, verdict), RU_NAT_ADDR);
}

/** DNAT/SNAT: the last address of the range (the first when no range was given). */
@inline export function ruleNatAddrHi(blob: usize, verdict: u32): u32 {
  return load<u32>(verdictRule(blob, verdict), RU_NAT_ADDR_HI);
}

/** Whether the NAT target gave ports (--to-destination ip:port, --to-ports). */
@inline export function ruleNatHasPorts(blob: usize, verdict: u32): bool {
  return (load<u8>(verdictRule(blob, verdict), RU_NAT_FLAGS) & NATF_PORTS) != 0;
}

/** First port of the NAT range (when ruleNatHasPorts). */
@inline export function ruleNatPortLo(blob: usize, verdict: u32): u32 {
  return <u32>load<u16>(verdictRule(blob, verdict), RU_NAT_PORT_LO);
}

/** Last port of the NAT range (when ruleNatHasPorts). */
@inline export function ruleNatPortHi(blob: usize, verdict: u32): u32 {
  return <u32>load<u16>(verdictRule(blob, verdict), RU_NAT_PORT_HI);
}

/** --random (or --random-fully) given: pick ports by keyed hash rather than keeping the source port first. */
@inline export function ruleNatRandom(blob: usize, verdict: u32): bool {
  return (load<u8>(verdictRule(blob, verdict), RU_NAT_FLAGS) & (NATF_RANDOM | NATF_RANDOM_FULLY)) != 0;
}

/** The NAT flags (NATF_*) of the deciding rule. */
@inline export function ruleNatFlags(blob: usize, verdict: u32): u32 {
  return <u32>load<u8>(verdictRule(blob, verdict), RU_NAT_FLAGS);
}
