// TCP connection tracking state machine, as Linux's netfilter has it in
// net/netfilter/nf_conntrack_proto_tcp.c:
//   - tcp_conntracks[2][6][TCP_CONNTRACK_MAX]: the transition table, indexed by
//     direction (ORIGINAL, REPLY), flag class and old state;
//   - get_conntrack_index(): the flag class (RST, then SYN / SYN+ACK, FIN, ACK,
//     none), here tcpFlagIndex();
//   - tcp_valid_flags[] as used by tcp_error(): flag combinations rejected before
//     the state machine runs, here tcpFlagsValid();
//   - tcp_timeouts[]: the default timeout for the new state, here tcpTimeoutMs().
// The table is the same in 6.1 and in current mainline. test/model/conntrack-tcp.ts
// carries it in the kernel's own layout and test/conntrack-tcp.test.ts checks
// this encoding against it over every (state, dir, flag byte).
//
// Only the table lookup is modelled. Not modelled, and left to the caller:
//   - tcp_in_window(): sequence/ack window tracking (td_end, td_maxend,
//     td_maxwin, window scaling, SACK), which can make an in-table transition
//     INVALID or IGNOREd, and the be_liberal / IP_CT_TCP_FLAG_BE_LIBERAL
//     relaxation (only out-of-window RSTs stay invalid);
//   - max_retrans (3 retransmissions -> the 300 s RETRANS timeout) and the 300 s
//     UNACK timeout for unacknowledged data; the mid-stream pickup (tcp_loose,
//     an ACK on NONE -> ESTABLISHED) also gets UNACK until a reply is seen;
//   - what nf_conntrack_tcp_packet() does around the lookup: SYN_SENT out of
//     TIME_WAIT/CLOSE kills the old entry and looks up again (when a FIN or an
//     RST closed it); IGNOREd packets are let through and remembered
//     (last_index/last_dir/last_end) so a SYN/ACK answering an ignored SYN
//     resyncs to SYN_RECV; after simultaneous open (SYN_SENT2) a REPLY ACK in
//     SYN_RECV becomes ESTABLISHED although the table says SYN_RECV; RFC 5961
//     challenge ACKs in LAST_ACK do not move to TIME_WAIT; RST sequence checks;
//     an RST as the only reply kills the entry; ASSURED is set on
//     SYN_RECV/ESTABLISHED -> ESTABLISHED once a reply has been seen.
//
// No static data: each table row is a u64 constant of ten 4-bit new states
// (nibble i = the new state from old state i), picked by a switch.
import { TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK } from '../wire/tcp';

// enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h), in the
// kernel's order and with the kernel's values.
export const TCP_CT_NONE: u32 = 0; // sNO
export const TCP_CT_SYN_SENT: u32 = 1; // sSS
export const TCP_CT_SYN_RECV: u32 = 2; // sSR
export const TCP_CT_ESTABLISHED: u32 = 3; // sES
export const TCP_CT_FIN_WAIT: u32 = 4; // sFW
export const TCP_CT_CLOSE_WAIT: u32 = 5; // sCW
export const TCP_CT_LAST_ACK: u32 = 6; // sLA
export const TCP_CT_TIME_WAIT: u32 = 7; // sTW
export const TCP_CT_CLOSE: u32 = 8; // sCL
export const TCP_CT_SYN_SENT2: u32 = 9; // sS2 (TCP_CONNTRACK_LISTEN, reused)
export const TCP_CT_MAX: u32 = 10; // number of real states
// Special results of tcpNextState.
export const TCP_CT_INVALID: u32 = 10; // sIV = TCP_CONNTRACK_MAX: the packet is INVALID
export const TCP_CT_IGNORE: u32 = 11; // sIG = TCP_CONNTRACK_IGNORE: let through, state unchanged
// Timeout classes only (tcpTimeoutMs), never states.
export const TCP_CT_RETRANS: u32 = 12; // TCP_CONNTRACK_RETRANS: max_retrans reached
export const TCP_CT_UNACK: u32 = 13; // TCP_CONNTRACK_UNACK: data unacknowledged

// Directions (enum ip_conntrack_dir).
export const TCP_CT_DIR_ORIGINAL: u32 = 0;
export const TCP_CT_DIR_REPLY: u32 = 1;

// enum tcp_bit_set: the flag classes of get_conntrack_index().
export const TCP_SYN_SET: u32 = 0;
export const TCP_SYNACK_SET: u32 = 1;
export const TCP_FIN_SET: u32 = 2;
export const TCP_ACK_SET: u32 = 3;
export const TCP_RST_SET: u32 = 4;
export const TCP_NONE_SET: u32 = 5;

const TH_URG: u32 = 0x20;
const TH_ECE: u32 = 0x40;
const TH_CWR: u32 = 0x80;

/** get_conntrack_index(): the flag class of a TCP flag byte. RST wins, then SYN. */
@inline export function tcpFlagIndex(flags: u32): u32 {
  if (flags & TH_RST) return TCP_RST_SET;
  if (flags & TH_SYN) return flags & TH_ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & TH_FIN) return TCP_FIN_SET;
  if (flags & TH_ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

// One row of tcp_conntracks, nibble i = new state from old state i. Hex
// digits: 0..9 the states, A = sIV, B = sIG. The constant reads right to left
// (lowest nibble = old state sNO); the comment after it is the kernel's row,
// left to right from sNO to sS2.
@inline function tcpRow(dir: u32, index: u32): u64 {
  switch ((dir << 3) | index) {
    // ORIGINAL
    case 0: return 0x9_1_1_B_B_B_B_B_1_1; // syn    sSS sSS sIG sIG sIG sIG sIG sSS sSS sS2
    case 1: return 0x2_A_A_A_A_A_A_2_A_A; // synack sIV sIV sSR sIV sIV sIV sIV sIV sIV sSR
    case 2: return 0xA_8_7_6_6_6_4_4_A_A; // fin    sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV
    case 3: return 0xA_8_7_7_5_5_3_3_A_3; // ack    sES sIV sES sES sCW sCW sTW sTW sCL sIV
    case 4: return 0x8_8_8_8_8_8_8_8_8_A; // rst    sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL
    // REPLY
    case 8: return 0x9_A_1_A_A_A_A_A_9_A; // syn    sIV sS2 sIV sIV sIV sIV sIV sSS sIV sS2
    case 9: return 0x2_B_B_B_B_B_B_B_2_A; // synack sIV sSR sIG sIG sIG sIG sIG sIG sIG sSR
    case 10: return 0xA_8_7_6_6_6_4_4_A_A; // fin   sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV
    case 11: return 0xB_8_7_7_5_5_3_2_B_A; // ack   sIV sIG sSR sES sCW sCW sTW sTW sCL sIG
    case 12: return 0x8_8_8_8_8_8_8_8_8_A; // rst   sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL
    // none: all sIV (tcpTransition answers it before coming here)
    default: return 0xA_A_A_A_A_A_A_A_A_A;
  }
}

/**
 * tcp_conntracks[dir][index][state] for a flag class already computed with
 * tcpFlagIndex (the kernel keeps the class as last_index). dir: 0 original,
 * any other value reply. A state >= TCP_CT_MAX, or an index >= TCP_NONE_SET,
 * gives TCP_CT_INVALID.
 */
@inline export function tcpTransition(state: u32, dir: u32, index: u32): u32 {
  // The none row is all sIV; a class past it is no class at all.
  if (state >= TCP_CT_MAX || index >= TCP_NONE_SET) return TCP_CT_INVALID;
  return <u32>(tcpRow(dir != 0 ? 1 : 0, index) >> (<u64>(state << 2))) & 0xf;
}

/**
 * The new state after a packet with TCP flag byte `flags` in direction `dir`
 * (0 original, 1 reply) of a connection in `state`: a TCP_CT_* state,
 * TCP_CT_INVALID or TCP_CT_IGNORE. A new connection starts in TCP_CT_NONE in
 * the original direction (tcp_new()).
 */
export function tcpNextState(state: u32, dir: u32, flags: u32): u32 {
  return tcpTransition(state, dir, tcpFlagIndex(flags));
}

// tcp_valid_flags[] as a bit set over (FIN|SYN|RST|ACK|URG) combinations:
// SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG.
const TCP_VALID_FLAGS: u64 =
  (<u64>1 << TH_SYN) |
  (<u64>1 << (TH_SYN | TH_URG)) |
  (<u64>1 << (TH_SYN | TH_ACK)) |
  (<u64>1 << TH_RST) |
  (<u64>1 << (TH_RST | TH_ACK)) |
  (<u64>1 << (TH_FIN | TH_ACK)) |
  (<u64>1 << (TH_FIN | TH_ACK | TH_URG)) |
  (<u64>1 << TH_ACK) |
  (<u64>1 << (TH_ACK | TH_URG)); // = 0x0003_0004_0017_0014

/**
 * tcp_error()'s flag check: PSH, ECE and CWR are ignored, and the rest must be
 * one of the combinations of tcp_valid_flags. No flags, FIN alone, SYN+FIN,
 * SYN+RST, FIN+RST, SYN+ACK+URG, RST+URG, ... are invalid.
 */
@inline export function tcpFlagsValid(flags: u32): bool {
  const f = flags & 0xff & ~(TH_ECE | TH_CWR | TH_PSH);
  return <bool>((TCP_VALID_FLAGS >> <u64>f) & 1);
}

/**
 * tcp_timeouts[state] in ms (nf_conntrack_tcp_timeout_* defaults). TCP_CT_RETRANS
 * and TCP_CT_UNACK give the max_retrans and unacknowledged timeouts; NONE,
 * INVALID, IGNORE and anything else give 0, as the kernel's array does.
 */
export function tcpTimeoutMs(state: u32): u32 {
  switch (state) {
    case TCP_CT_SYN_SENT: return 120_000; // 2 MINS
    case TCP_CT_SYN_RECV: return 60_000; // 60 SECS
    case TCP_CT_ESTABLISHED: return 432_000_000; // 5 DAYS
    case TCP_CT_FIN_WAIT: return 120_000; // 2 MINS
    case TCP_CT_CLOSE_WAIT: return 60_000; // 60 SECS
    case TCP_CT_LAST_ACK: return 30_000; // 30 SECS
    case TCP_CT_TIME_WAIT: return 120_000; // 2 MINS
    case TCP_CT_CLOSE: return 10_000; // 10 SECS
    case TCP_CT_SYN_SENT2: return 120_000; // 2 MINS
    case TCP_CT_RETRANS: return 300_000; // 5 MINS
    case TCP_CT_UNACK: return 300_000; // 5 MINS
    default: return 0;
  }
}
