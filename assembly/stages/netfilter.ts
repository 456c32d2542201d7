// Netfilter's hooks for IPv4, each running its tables in Linux's priority
// order (raw -300, conntrack -200, mangle -150, nat -100 / +100, filter 0,
// confirm last):
//   PREROUTING   raw, conntrack, mangle, nat (DNAT), translation
//   INPUT        mangle, filter, nat (SNAT), translation, confirm
//   FORWARD      mangle, filter
//   OUTPUT       raw, conntrack, mangle, nat (DNAT), translation, filter
//   POSTROUTING  mangle, nat (SNAT, MASQUERADE), translation, confirm
// The packet's netfilter state (its connection and mark, skb->_nfct and
// skb->mark) lives here from hook to hook. Connection tracking is
// ./nf-conntrack.ts, NAT ./nf-nat.ts, the packet keys ./nf-keys.ts, the chain
// walk tables/rules.ts. Only hosts with rules loaded (H_CT set) come here.
import {
  H_CT, CT_RULES, CT_RSTATE, CT_PENDING, CN_STATUS, CS_SRC_NAT, CS_DST_NAT, C_SCRATCH, S_PK, S_NFSAVE, NF_SAVE_DEPTH, NF_SAVE_SIZE,
  IPPROTO_TCP, IPPROTO_ICMP, STAT_nf_log, STAT_nf_reject,
  DROP_NETFILTER_DROP, DROP_CONNTRACK_FULL, DROP_NAT_NO_PORT,
} from '../layout';
import {
  PK_CTSTATE, PK_CONN, PK_CTDIR, PK_MARK, PK_NOTRACK, PK_LOGS, PK_LOGGED, PK_NO_LINK, RS_ACTIVE, RS_COUNTED, RS_CHAINS,
  RS_RULES, RC_SIZE, RC_RULES, RST_SHIFT, RST_PACKETS, RST_BYTES,
  CTS_NEW, CTS_INVALID, CTS_RELATED, CTS_UNTRACKED, CTS_SNAT, CTS_DNAT, REJECT_TCP_RESET,
  CHAIN_FILTER_INPUT, CHAIN_FILTER_FORWARD, CHAIN_FILTER_OUTPUT, CHAIN_NAT_PREROUTING, CHAIN_NAT_INPUT,
  CHAIN_NAT_OUTPUT, CHAIN_NAT_POSTROUTING, CHAIN_RAW_PREROUTING, CHAIN_RAW_OUTPUT, CHAIN_MANGLE_PREROUTING,
  CHAIN_MANGLE_INPUT, CHAIN_MANGLE_FORWARD, CHAIN_MANGLE_OUTPUT, CHAIN_MANGLE_POSTROUTING,
  TGT_ACCEPT, TGT_DROP, TGT_DNAT, TGT_SNAT, TGT_MASQUERADE, TGT_REJECT,
} from '../tables/rules-layout';
import { ctx, host, stat } from '../context';
import { ipIhlBytes, ipDst, ipProto, ipIsLaterFragment, isMulticast, INADDR_BROADCAST } from '../wire/ipv4';
import { ICMP_DEST_UNREACH } from '../wire/icmp';
import { TCP_FLAGS, TCP_HLEN, TH_RST } from '../wire/tcp';
import { connAt, ctDelete, ctLink } from '../tables/conntrack';
import { selectSource } from '../tables/route';
import { rulesRun, ruleNatAddr, ruleNatPortLo, ruleNatPortHi, ruleNatRandom, ruleRejectWith } from '../tables/rules';
import { conntrackIn, CT_IN_DROP, ctResultConn, ctResultDir, ctResultState, l4Bad } from './nf-conntrack';
import { setupDnat, setupSnat, nullBinding, translate } from './nf-nat';
import { fillKeys } from './nf-keys';
import { icmpSend } from './icmp-error';
import { sendReset } from './ip4-local';
import { trace, traceVerdict } from '../trace/trace';
import { EV_NF_CHAIN, EV_CONNTRACK } from '../trace/events';

// The packet in hand: its connection (index + 1, 0 = none), direction and
// state (CTS_*), its mark, whether a NOTRACK made it untracked, and whether
// it carries the connection of the packet it answers (nf_ct_attach, as a
// REJECT's reset does): then conntrack leaves it as it is.
let pktConn: u32 = 0;
let pktDir: u32 = 0;
let pktState: u32 = CTS_INVALID;
let pktMark: u32 = 0;
let pktUntracked: bool = false;
let pktAttached: bool = false;
let saveDepth: u32 = 0;
// Whether the packet keys (S_PK) describe the packet in hand at this hook.
let keysReady: bool = false;

@inline export function nfActive(): bool {
  return load<u32>(host + H_CT) != 0;
}

/** A new packet in hand: nothing known of it yet, its mark 0. */
export function nfReset(): void {
  pktConn = 0;
  pktDir = 0;
  pktState = CTS_INVALID;
  pktMark = 0;
  pktUntracked = false;
  pktAttached = false;
}

/**
 * skb_scrub_packet within a namespace (a tunnel's encap or decap): the
 * packet is tracked anew, its mark stays.
 */
export function nfScrub(): void {
  pktConn = 0;
  pktDir = 0;
  pktState = CTS_INVALID;
  pktUntracked = false;
  pktAttached = false;
}

/** The packet's mark (skb->mark), as the rules left it. */
export function nfMark(): u32 {
  return pktMark;
}

/**
 * Before the host makes a packet while handling another (an ICMP error, a
 * reset, an echo reply): the other's state is kept aside and the new packet
 * starts afresh, mark 0 (IP4_REPLY_MARK without fwmark_reflect). attach: the
 * new packet answers with the other's connection, in the reply direction,
 * RELATED (nf_ct_attach). nfRestore undoes it.
 */
export function nfSave(attach: bool): void {
  if (!nfActive()) return;
  const ct = <usize>load<u32>(host + H_CT);
  if (saveDepth < NF_SAVE_DEPTH) {
    const s = <usize>load<u32>(ctx + C_SCRATCH) + S_NFSAVE + <usize>saveDepth * NF_SAVE_SIZE;
    store<u32>(s, load<u32>(ct + CT_PENDING));
    store<u32>(s, pktConn | (pktDir << 23) | (pktState << 24), 4);
    store<u32>(s, pktMark, 8);
    store<u32>(s, (pktUntracked ? 1 : 0) | (pktAttached ? 2 : 0), 12);
  }
  saveDepth++;
  const conn = pktConn;
  const dir = pktDir;
  const tracked = !pktUntracked && pktState != CTS_INVALID;
  nfReset();
  if (attach && tracked && conn != 0) {
    pktConn = conn;
    pktDir = dir ^ 1;
    pktState = CTS_RELATED;
    pktAttached = true;
  }
}

export function nfRestore(): void {
  if (!nfActive()) return;
  saveDepth--;
  if (saveDepth >= NF_SAVE_DEPTH) return;
  const s = <usize>load<u32>(ctx + C_SCRATCH) + S_NFSAVE + <usize>saveDepth * NF_SAVE_SIZE;
  store<u32>(<usize>load<u32>(host + H_CT) + CT_PENDING, load<u32>(s));
  const w = load<u32>(s, 4);
  pktConn = w & 0x7fffff;
  pktDir = (w >>> 23) & 1;
  pktState = w >>> 24;
  pktMark = load<u32>(s, 8);
  const f = load<u32>(s, 12);
  pktUntracked = (f & 1) != 0;
  pktAttached = (f & 2) != 0;
}

// ---- the connection in hand

@inline function ctHeader(): usize {
  return <usize>load<u32>(host + H_CT);
}

/** The connection in hand, or 0. */
@inline function current(): usize {
  return pktConn == 0 ? 0 : connAt(ctHeader(), pktConn - 1);
}

/** Whether the packet in hand started its connection (nat rules run for that packet only). */
@inline function first(): bool {
  return pktConn != 0 && pktState == CTS_NEW && !pktAttached && load<u32>(ctHeader() + CT_PENDING) == pktConn;
}

/** nf_conntrack_in, unless the packet is untracked or carries a connection already. */
function track(ip: usize, n: u32, checkL4: bool): bool {
  if (pktAttached) return true;
  if (pktUntracked) {
    pktConn = 0;
    pktState = CTS_UNTRACKED;
    return true;
  }
  const r = conntrackIn(ip, n, checkL4);
  if (r == CT_IN_DROP) return false;
  pktConn = ctResultConn(r);
  pktDir = ctResultDir(r);
  pktState = ctResultState(r);
  trace(EV_CONNTRACK, pktState, pktConn, pktDir);
  return true;
}

/** The packet in hand is being dropped: a connection it started never was. */
export function nfAbort(): void {
  if (!nfActive() || pktAttached) return;
  const ct = ctHeader();
  const p = load<u32>(ct + CT_PENDING);
  if (p != 0 && p == pktConn) {
    store<u32>(ct + CT_PENDING, 0);
    ctDelete(ct, p - 1);
    pktConn = 0;
  }
}

/** __nf_conntrack_confirm: a new connection goes into the table with its first packet (original direction only). */
function confirm(): void {
  const ct = ctHeader();
  const p = load<u32>(ct + CT_PENDING);
  if (p != 0 && p == pktConn && pktDir == 0 && !pktAttached) {
    store<u32>(ct + CT_PENDING, 0);
    ctLink(ct, p - 1);
  }
}

// ---- rules

@inline function rulesBlob(): usize {
  return <usize>load<u32>(ctHeader() + CT_RULES);
}

/** Whether builtin chain id has anything to do (rules, or a DROP policy). */
@inline function active(rules: usize, id: u32): bool {
  return rules != 0 && (load<u32>(rules + RS_ACTIVE) & (1 << id)) != 0;
}

@inline function keysAt(): usize {
  return <usize>load<u32>(ctx + C_SCRATCH) + S_PK;
}

/**
 * Runs builtin chain id over the packet in hand (the keys filled once a
 * hook); the verdict word of rules.ts. A chain with nothing to do is not
 * walked; its policy counts the packet if its table is loaded.
 */
function run(id: u32, rules: usize, ip: usize, n: u32, inDev: u32, outDev: u32): u32 {
  if (rules == 0) return TGT_ACCEPT;
  if ((load<u32>(rules + RS_ACTIVE) & (1 << id)) == 0) {
    if ((load<u32>(rules + RS_COUNTED) & (1 << id)) != 0) countPolicy(rules, id, n);
    return TGT_ACCEPT;
  }
  const pk = keysAt();
  if (!keysReady) {
    fillKeys(pk, ctHeader(), rules, ip, n, inDev, outDev);
    keysReady = true;
  }
  const c = current();
  let state = pktState;
  if (c != 0) {
    const status = <u32>load<u16>(c + CN_STATUS);
    if ((status & CS_SRC_NAT) != 0) state |= CTS_SNAT;
    if ((status & CS_DST_NAT) != 0) state |= CTS_DNAT;
  }
  store<u8>(pk, <u8>state, PK_CTSTATE);
  store<u32>(pk, <u32>c, PK_CONN);
  store<u8>(pk, <u8>pktDir, PK_CTDIR);
  store<u32>(pk, pktMark, PK_MARK);
  const v = traceVerdict(EV_NF_CHAIN, id, rulesRun(rules, id, pk));
  pktMark = load<u32>(pk, PK_MARK);
  if (load<u8>(pk, PK_NOTRACK) != 0) pktUntracked = true;
  const logs = <u32>load<u8>(pk, PK_LOGS);
  if (logs != 0) logged(rules, load<u32>(pk, PK_LOGGED), logs);
  return v;
}

/** The policy rule of an empty builtin chain counts a packet of n bytes (its only rule, RC_RULES). */
function countPolicy(rules: usize, id: u32, n: u32): void {
  const entry = rules + load<u32>(rules + RS_CHAINS) + <usize>id * RC_SIZE;
  const s = <usize>load<u32>(ctHeader() + CT_RSTATE) + ((<usize>load<u32>(entry + RC_RULES) - <usize>load<u32>(rules + RS_RULES)) >> RST_SHIFT);
  store<u64>(s, load<u64>(s, RST_PACKETS) + 1, RST_PACKETS);
  store<u64>(s, load<u64>(s, RST_BYTES) + <u64>n, RST_BYTES);
}

/**
 * LOG targets matched (nf_log_packet): counted. The hook for tracing: a
 * trace mode records here which rule (its offset in the blob) logged.
 */
function logged(rules: usize, rule: u32, count: u32): void {
  for (let i: u32 = 0; i < count; i++) stat(STAT_nf_log);
}

/**
 * REJECT (ipt_REJECT: nf_send_unreach, nf_send_reset): the ICMP error or
 * the TCP reset goes back to the packet's source; the packet is dropped.
 * local: the packet was for this host (the error comes from its
 * destination); checkL4: its L4 checksum is verified first (not for the
 * host's own packets).
 */
function reject(rules: usize, v: u32, ip: usize, n: u32, local: bool, checkL4: bool): u32 {
  stat(STAT_nf_reject);
  const dst = ipDst(ip);
  if (ipIsLaterFragment(ip) || dst == INADDR_BROADCAST || isMulticast(dst)) return DROP_NETFILTER_DROP;
  if (checkL4 && l4Bad(ip, n)) return DROP_NETFILTER_DROP;
  const code = ruleRejectWith(rules, v);
  if (code == REJECT_TCP_RESET) {
    const ihl = ipIhlBytes(ip);
    if (ipProto(ip) == IPPROTO_TCP && n >= ihl + TCP_HLEN && (<u32>load<u8>(ip + ihl + TCP_FLAGS) & TH_RST) == 0) {
      sendReset(ip, ip + ihl, n - ihl, true);
    }
  } else {
    icmpSend(ip, ICMP_DEST_UNREACH, code, 0, local ? dst : 0, false);
  }
  return DROP_NETFILTER_DROP;
}

/** A verdict of a filter chain as a hook's answer: 0 to go on, else the drop reason. */
function filtered(rules: usize, v: u32, ip: usize, n: u32, local: bool, checkL4: bool): u32 {
  const kind = v & 0xff;
  if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
  if (kind == TGT_REJECT) return reject(rules, v, ip, n, local, checkL4);
  return 0;
}

// ---- the hooks; each returns 0 to let the packet go on, else its drop reason

/** PREROUTING: raw, conntrack, mangle, nat PREROUTING for a new connection (DNAT), destination translation. */
export function nfPrerouting(ip: usize, n: u32, inDev: u32): u32 {
  const rules = rulesBlob();
  keysReady = false;
  pktState = CTS_INVALID; // raw sees the packet before conntrack: no connection yet
  if ((run(CHAIN_RAW_PREROUTING, rules, ip, n, inDev, PK_NO_LINK) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  if (!track(ip, n, true)) return DROP_CONNTRACK_FULL;
  if ((run(CHAIN_MANGLE_PREROUTING, rules, ip, n, inDev, PK_NO_LINK) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  const c = current();
  if (first()) {
    const v = run(CHAIN_NAT_PREROUTING, rules, ip, n, inDev, PK_NO_LINK);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    if (kind == TGT_DNAT) setupDnat(c, v, rules);
  }
  if (c != 0) translate(ip, n, true, c, pktDir, pktState);
  return 0;
}

/** OUTPUT, for packets the host sends: raw, conntrack, mangle, nat OUTPUT, translation, filter OUTPUT. */
export function nfOutput(ip: usize, n: u32, outDev: u32): u32 {
  const rules = rulesBlob();
  keysReady = false;
  if (!pktAttached) {
    pktState = CTS_INVALID;
    if ((run(CHAIN_RAW_OUTPUT, rules, ip, n, PK_NO_LINK, outDev) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  }
  if (!track(ip, n, false)) return DROP_CONNTRACK_FULL;
  if ((run(CHAIN_MANGLE_OUTPUT, rules, ip, n, PK_NO_LINK, outDev) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  const c = current();
  if (first()) {
    const v = run(CHAIN_NAT_OUTPUT, rules, ip, n, PK_NO_LINK, outDev);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    if (kind == TGT_DNAT) setupDnat(c, v, rules);
  }
  if (c != 0 && translate(ip, n, true, c, pktDir, pktState)) keysReady = false;
  return filtered(rules, run(CHAIN_FILTER_OUTPUT, rules, ip, n, PK_NO_LINK, outDev), ip, n, false, false);
}

/** FORWARD: mangle, then filter. */
export function nfForward(ip: usize, n: u32, inDev: u32, outDev: u32): u32 {
  const rules = rulesBlob();
  keysReady = false;
  if ((run(CHAIN_MANGLE_FORWARD, rules, ip, n, inDev, outDev) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  return filtered(rules, run(CHAIN_FILTER_FORWARD, rules, ip, n, inDev, outDev), ip, n, false, true);
}

/**
 * POSTROUTING: mangle, nat POSTROUTING for a new connection (SNAT,
 * MASQUERADE to the egress link's address towards nexthop), source
 * translation, confirmation.
 */
export function nfPostrouting(ip: usize, n: u32, outDev: u32, nexthop: u32, inDev: u32): u32 {
  const rules = rulesBlob();
  keysReady = false;
  if ((run(CHAIN_MANGLE_POSTROUTING, rules, ip, n, inDev, outDev) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  const c = current();
  if (first()) {
    const v = run(CHAIN_NAT_POSTROUTING, rules, ip, n, inDev, outDev);
    const kind = v & 0xff;
    if (kind == TGT_DROP) return DROP_NETFILTER_DROP;
    if (kind == TGT_SNAT || kind == TGT_MASQUERADE) {
      const addr = kind == TGT_SNAT ? ruleNatAddr(rules, v) : selectSource(host, outDev, nexthop);
      if (!setupSnat(c, addr, ruleNatPortLo(rules, v), ruleNatPortHi(rules, v), ruleNatRandom(rules, v))) return DROP_NAT_NO_PORT;
    } else if (!nullBinding(c)) {
      return DROP_NAT_NO_PORT;
    }
  }
  if (c != 0) {
    translate(ip, n, false, c, pktDir, pktState);
    confirm();
  }
  return 0;
}

/** INPUT: mangle, filter INPUT, nat INPUT (source translation), confirmation. */
export function nfInput(ip: usize, n: u32, inDev: u32): u32 {
  const rules = rulesBlob();
  keysReady = false;
  if ((run(CHAIN_MANGLE_INPUT, rules, ip, n, inDev, PK_NO_LINK) & 0xff) == TGT_DROP) return DROP_NETFILTER_DROP;
  const r = filtered(rules, run(CHAIN_FILTER_INPUT, rules, ip, n, inDev, PK_NO_LINK), ip, n, true, true);
  if (r != 0) return r;
  const c = current();
  if (first()) {
    const v = run(CHAIN_NAT_INPUT, rules, ip, n, inDev, PK_NO_LINK);
    const ok = (v & 0xff) == TGT_SNAT
      ? setupSnat(c, ruleNatAddr(rules, v), ruleNatPortLo(rules, v), ruleNatPortHi(rules, v), ruleNatRandom(rules, v))
      : nullBinding(c);
    if (!ok) return DROP_NAT_NO_PORT;
  }
  if (c != 0) {
    translate(ip, n, false, c, pktDir, pktState);
    confirm();
  }
  return 0;
}
