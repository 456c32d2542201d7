// TCP (RFC 793).
export const TCP_SPORT: u32 = 0;
export const TCP_DPORT: u32 = 2;
export const TCP_SEQ: u32 = 4;
export const TCP_ACK: u32 = 8;
export const TCP_DOFF: u32 = 12; // u8, data offset << 4
export const TCP_FLAGS: u32 = 13;
export const TCP_WINDOW: u32 = 14;
export const TCP_CHECK: u32 = 16;
export const TCP_URG_PTR: u32 = 18;
export const TCP_HLEN: u32 = 20;

export const TH_FIN: u32 = 0x01;
export const TH_SYN: u32 = 0x02;
export const TH_RST: u32 = 0x04;
export const TH_PSH: u32 = 0x08;
export const TH_ACK: u32 = 0x10;
