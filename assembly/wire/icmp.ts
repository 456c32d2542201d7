// ICMP (RFC 792), after the IPv4 header.
export const ICMP_TYPE: u32 = 0;
export const ICMP_CODE: u32 = 1;
export const ICMP_CHECK: u32 = 2; // u16
export const ICMP_ID: u32 = 4; // u16 (echo)
export const ICMP_SEQ: u32 = 6; // u16 (echo)
export const ICMP_MTU: u32 = 6; // u16 next-hop MTU of a frag-needed error (RFC 1191)
export const ICMP_HLEN: u32 = 8;

export const ICMP_ECHOREPLY: u32 = 0;
export const ICMP_DEST_UNREACH: u32 = 3;
export const ICMP_SOURCE_QUENCH: u32 = 4;
export const ICMP_REDIRECT: u32 = 5;
export const ICMP_ECHO: u32 = 8;
export const ICMP_TIME_EXCEEDED: u32 = 11;
export const ICMP_PARAMETERPROB: u32 = 12;

export const ICMP_NET_UNREACH: u32 = 0;
export const ICMP_HOST_UNREACH: u32 = 1;
export const ICMP_PROT_UNREACH: u32 = 2;
export const ICMP_PORT_UNREACH: u32 = 3;
export const ICMP_FRAG_NEEDED: u32 = 4;
export const ICMP_PKT_FILTERED: u32 = 13;

/** Error types: never answered with another error (RFC 1122 3.2.2). */
@inline export function icmpIsError(type: u32): bool {
  return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
    type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}
