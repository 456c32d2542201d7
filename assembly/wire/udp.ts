// UDP (RFC 768).
export const UDP_SPORT: u32 = 0;
export const UDP_DPORT: u32 = 2;
export const UDP_LEN: u32 = 4;
export const UDP_CHECK: u32 = 6;
export const UDP_HLEN: u32 = 8;
