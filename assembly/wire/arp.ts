// ARP for Ethernet/IPv4 (RFC 826), after the Ethernet header.
export const ARP_HTYPE: u32 = 0; // u16, 1 = Ethernet
export const ARP_PTYPE: u32 = 2; // u16, 0x0800
export const ARP_HLEN: u32 = 4; // u8, 6
export const ARP_PLEN: u32 = 5; // u8, 4
export const ARP_OP: u32 = 6; // u16, 1 request, 2 reply
export const ARP_SHA: u32 = 8;
export const ARP_SPA: u32 = 14;
export const ARP_THA: u32 = 18;
export const ARP_TPA: u32 = 24;
export const ARP_LEN: u32 = 28;
export const ARPOP_REQUEST: u32 = 1;
export const ARPOP_REPLY: u32 = 2;
