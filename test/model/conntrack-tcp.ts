// Reference model of netfilter's TCP connection tracking state machine, written
// to be compared line by line with the kernel, not to be fast. Transcribed from
// linux net/netfilter/nf_conntrack_proto_tcp.c (the same table in 6.1 and in
// current mainline): tcp_conntracks[2][6][TCP_CONNTRACK_MAX],
// get_conntrack_index(), tcp_valid_flags[] (used by tcp_error()) and
// tcp_timeouts[]. Only the table lookup is modelled; what
// nf_conntrack_tcp_packet() does around it (window tracking, reopen from
// TIME_WAIT, simultaneous-open fixup, challenge ACKs) is not.

// enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h)
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9; // was TCP_CONNTRACK_LISTEN
export const TCP_CONNTRACK_MAX = 10;
export const TCP_CONNTRACK_IGNORE = 11;
export const TCP_CONNTRACK_RETRANS = 12;
export const TCP_CONNTRACK_UNACK = 13;

export const tcp_conntrack_names = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
  'INVALID', // sIV, TCP_CONNTRACK_MAX
  'IGNORE', // sIG
];

const sNO = TCP_CONNTRACK_NONE;
const sSS = TCP_CONNTRACK_SYN_SENT;
const sSR = TCP_CONNTRACK_SYN_RECV;
const sES = TCP_CONNTRACK_ESTABLISHED;
const sFW = TCP_CONNTRACK_FIN_WAIT;
const sCW = TCP_CONNTRACK_CLOSE_WAIT;
const sLA = TCP_CONNTRACK_LAST_ACK;
const sTW = TCP_CONNTRACK_TIME_WAIT;
const sCL = TCP_CONNTRACK_CLOSE;
const sS2 = TCP_CONNTRACK_SYN_SENT2;
const sIV = TCP_CONNTRACK_MAX;
const sIG = TCP_CONNTRACK_IGNORE;
void sNO;

// enum tcp_bit_set
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;

export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

// include/net/tcp.h
export const TCPHDR_FIN = 0x01;
export const TCPHDR_SYN = 0x02;
export const TCPHDR_RST = 0x04;
export const TCPHDR_PSH = 0x08;
export const TCPHDR_ACK = 0x10;
export const TCPHDR_URG = 0x20;
export const TCPHDR_ECE = 0x40;
export const TCPHDR_CWR = 0x80;

// prettier-ignore
export const tcp_conntracks: readonly (readonly (readonly number[])[])[] = [
  [
/* ORIGINAL */
/*           sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*syn*/    [ sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 ],
/*synack*/ [ sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR ],
/*fin*/    [ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV ],
/*ack*/    [ sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV ],
/*rst*/    [ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL ],
/*none*/   [ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV ],
  ],
  [
/* REPLY */
/*           sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 */
/*syn*/    [ sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 ],
/*synack*/ [ sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR ],
/*fin*/    [ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV ],
/*ack*/    [ sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG ],
/*rst*/    [ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL ],
/*none*/   [ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV ],
  ],
];

/** get_conntrack_index(): RST first, then SYN (with or without ACK), FIN, ACK. */
export function get_conntrack_index(flags: number): number {
  const rst = flags & TCPHDR_RST;
  const syn = flags & TCPHDR_SYN;
  const fin = flags & TCPHDR_FIN;
  const ack = flags & TCPHDR_ACK;
  if (rst) return TCP_RST_SET;
  else if (syn) return ack ? TCP_SYNACK_SET : TCP_SYN_SET;
  else if (fin) return TCP_FIN_SET;
  else if (ack) return TCP_ACK_SET;
  else return TCP_NONE_SET;
}

/**
 * new_state = tcp_conntracks[dir][index][old_state]. A state outside the
 * table (>= TCP_CONNTRACK_MAX) gives sIV; any nonzero dir is REPLY.
 */
export function nextState(state: number, dir: number, flags: number): number {
  if (state < 0 || state >= TCP_CONNTRACK_MAX) return sIV;
  return tcp_conntracks[dir ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL][get_conntrack_index(flags)][state];
}

/** table of valid flag combinations - PUSH, ECE and CWR are always valid */
export const tcp_valid_flags: Readonly<Record<number, number>> = {
  [TCPHDR_SYN]: 1,
  [TCPHDR_SYN | TCPHDR_URG]: 1,
  [TCPHDR_SYN | TCPHDR_ACK]: 1,
  [TCPHDR_RST]: 1,
  [TCPHDR_RST | TCPHDR_ACK]: 1,
  [TCPHDR_FIN | TCPHDR_ACK]: 1,
  [TCPHDR_FIN | TCPHDR_ACK | TCPHDR_URG]: 1,
  [TCPHDR_ACK]: 1,
  [TCPHDR_ACK | TCPHDR_URG]: 1,
};

/** tcp_error()'s flag check: tcpflags = flag byte & ~(ECE|CWR|PSH); valid iff tcp_valid_flags[tcpflags]. */
export function flagsValid(flags: number): boolean {
  const tcpflags = flags & 0xff & ~(TCPHDR_ECE | TCPHDR_CWR | TCPHDR_PSH);
  return tcp_valid_flags[tcpflags] === 1;
}

const SECS = 1;
const MINS = 60 * SECS;
const HOURS = 60 * MINS;
const DAYS = 24 * HOURS;

/** tcp_timeouts[TCP_CONNTRACK_TIMEOUT_MAX], in seconds; unlisted entries are 0. */
export const tcp_timeouts: Readonly<Record<number, number>> = {
  [TCP_CONNTRACK_SYN_SENT]: 2 * MINS,
  [TCP_CONNTRACK_SYN_RECV]: 60 * SECS,
  [TCP_CONNTRACK_ESTABLISHED]: 5 * DAYS,
  [TCP_CONNTRACK_FIN_WAIT]: 2 * MINS,
  [TCP_CONNTRACK_CLOSE_WAIT]: 60 * SECS,
  [TCP_CONNTRACK_LAST_ACK]: 30 * SECS,
  [TCP_CONNTRACK_TIME_WAIT]: 2 * MINS,
  [TCP_CONNTRACK_CLOSE]: 10 * SECS,
  [TCP_CONNTRACK_SYN_SENT2]: 2 * MINS,
  [TCP_CONNTRACK_RETRANS]: 5 * MINS,
  [TCP_CONNTRACK_UNACK]: 5 * MINS,
};

export function timeoutMs(state: number): number {
  return (tcp_timeouts[state] ?? 0) * 1000;
}
