// The ipset blob (src/netfilter/ipset.ts builds it, assembly/tables/ipset.ts
// looks sets up in it): a header, one entry per set index (indexes never
// move while a set exists, so compiled rules can name sets by index), then
// each set's table. Offsets are from the blob's start. Constants only;
// scripts/gen-layout.mjs copies them into src/engine/layout.gen.ts.
export const SB_MAGIC: u32 = 0; // u32 IPSETS_MAGIC
export const SB_NSETS: u32 = 4; // u32 set entries
export const SB_HDR_SIZE: u32 = 16;
export const IPSETS_MAGIC: u32 = 0x31535049; // 'IPS1'

// Set entry, SE_SIZE bytes, at SB_HDR_SIZE + index * SE_SIZE.
export const SE_SIZE: u32 = 16;
export const SE_TYPE: u32 = 0; // u32 ST_*
export const SE_OFF: u32 = 4; // u32 offset of the set's table
export const SE_N: u32 = 8; // u32 ST_IPPORT: slots - 1; ST_LIST: members
export const SE_DIMS: u32 = 12; // u32 dimensions a match must give (ip_set_test: fewer never match)

export const ST_NONE: u32 = 0; // no set at this index (destroyed): nothing matches
export const ST_NET: u32 = 1; // hash:ip, hash:net: a longest-prefix-match table (lpm.ts), value 1 = member, 2 = nomatch
export const ST_IPPORT: u32 = 2; // hash:ip,port: open addressing, IPP_SIZE-byte slots, (0, 0) = empty
export const ST_LIST: u32 = 3; // list:set: u32 member set indexes, tested in order

export const IPP_SIZE: u32 = 8;
export const IPP_IP: u32 = 0; // u32 address, host order
export const IPP_PORT: u32 = 4; // u32 protocol << 16 | port
