// Ethernet II header.
export const ETH_DST: u32 = 0; // 6 bytes
export const ETH_SRC: u32 = 6; // 6 bytes
export const ETH_TYPE: u32 = 12; // u16
export const ETH_HLEN: u32 = 14;
