// The memory contract between the control plane (TypeScript) and the data
// plane. Every struct is a region the control plane places; offsets are in
// bytes. scripts/gen-layout.mjs turns this file into src/engine/layout.gen.ts,
// so both sides read one definition.

// Packet buffers come in size classes, each buffer with headroom so that
// encapsulation prepends in place: tiny ones for frames up to 128 bytes (ARP,
// TCP ACKs, 64-byte frames: a flood of them touches few pages), small ones
// for a 1500-byte MTU, jumbo ones for 9000-byte MTUs, huge ones for 64 KiB
// (reassembled datagrams, MTUs up to MAX_MTU).
export const BUF_SIZE_TINY: u32 = 256;
export const BUF_SIZE: u32 = 2048; // the small class
export const BUF_SIZE_JUMBO: u32 = 16384;
export const BUF_SIZE_HUGE: u32 = 65536;
export const BUF_CLASSES: u32 = 4;
export const HEADROOM: u32 = 128;
export const MAX_FRAME: u32 = 1920; // BUF_SIZE - HEADROOM: the largest frame in a small buffer
export const MAX_FRAME_HUGE: u32 = 65408; // BUF_SIZE_HUGE - HEADROOM: the largest frame the engine holds
export const MAX_MTU: u32 = 65390; // MAX_FRAME_HUGE less an Ethernet and a VLAN header
export const VLAN_HLEN: u32 = 4; // a received frame may exceed MTU + Ethernet header by this (is_skb_forwardable)
// Lowest data offset a descriptor may have: room for queue bookkeeping (Q_*)
// and an Ethernet header in front of an originated IP packet.
export const MIN_OFF: u32 = 32;

// Packet descriptor: one per packet in a batch vector.
export const DESC_SIZE: u32 = 32;
export const D_BUF: u32 = 0; // u32 address of the buffer
export const D_OFF: u32 = 4; // u16 offset of the first byte within the buffer
export const D_LEN: u32 = 6; // u16 bytes of frame (or IP packet for K_ORIGINATE)
export const D_LINK: u32 = 8; // u16 ingress link (input) or egress link (output)
export const D_KIND: u32 = 10; // u8 input: K_*; output: O_*
export const D_FLAGS: u32 = 11; // u8 input: DF_*
export const D_REASON: u32 = 12; // u16 drop reason of an O_DROP record
export const D_HOST: u32 = 16; // u32 host the output came from
export const D_TAG: u32 = 20; // u32 caller's tag, kept by everything derived from the packet
export const D_AUX: u32 = 24; // u32 scratch for stages

// Input flags: a frame the caller could not place in a buffer (D_BUF 0, D_LEN its length, capped)
export const DF_TOO_LONG: u32 = 1; // bigger than any buffer class
export const DF_NOMEM: u32 = 2; // no free buffer of its class

// Input kinds
export const K_RX: u32 = 0; // an Ethernet frame received on D_LINK
export const K_ORIGINATE: u32 = 1; // an IPv4 packet sent by the host's own stack
// Output kinds
export const O_TX: u32 = 1; // transmit the frame on D_LINK
export const O_LOCAL: u32 = 2; // delivered to a local socket (the frame, IP at D_AUX)
export const O_DROP: u32 = 3; // dropped with D_REASON (only with CTX_RECORD_DROPS)
export const O_QUEUED: u32 = 7; // waiting (only with CTX_RECORD_FATES): for its next hop's ARP, to leave later with its tag; or in a reassembly queue, to be consumed (O_CONSUMED) or dropped later
export const O_CONSUMED: u32 = 8; // taken by the host itself: ARP, an echo answered, a fragment gone into a datagram (only with CTX_RECORD_FATES)

// Tag of packets the data plane creates itself (ARP, ICMP errors, echo replies).
export const TAG_GENERATED: u32 = 0xffffffff;

// Per-instance context: buffer pools and output vector of one worker.
export const CTX_SIZE: u32 = 256;
export const C_OUT: u32 = 12; // u32 address of the output descriptor vector
export const C_OUT_N: u32 = 16; // u32 outputs written by the last call
export const C_OUT_CAP: u32 = 20; // u32 capacity of the output vector
export const C_FLAGS: u32 = 24; // u32 CTX_*
export const C_ID: u32 = 28; // u32 the context's number in its network (whose pool a queued buffer is from)
export const C_IN: u32 = 32; // u32 address of the input vector (a network step fills it)
export const C_WK: u32 = 40; // u32 the worker record of a network step (0: not in a network)
export const C_IN_CAP: u32 = 44; // u32 descriptors the input vector holds
export const C_NEXT: u32 = 48; // u32 the engine's next context (the list at ENGINE_CONTEXTS)
export const C_TRACE: u32 = 52; // u32 address of the trace buffer the trace build records into (TB_*), 0 = off
export const C_CHECK: u32 = 56; // u32 address of the check record (CK_*): what leaves a host is verified, 0 = off
// Where the engine keeps its regions (src/engine/arena.ts), and the head of
// its list of contexts there: a buffer freed by a context whose pools do not
// hold it (a host's queue of another's buffers, between runs) goes home.
export const REGIONS_BASE: u32 = 1048576;
export const ENGINE_CONTEXTS: u32 = 1048636; // REGIONS_BASE + 60, in the arena's header
export const C_SCRATCH: u32 = 36; // u32 address of SCRATCH_SIZE bytes of per-call scratch
export const SCRATCH_SIZE: u32 = 8192;
// The batch's lookup pass: up to two destinations a packet (an IPIP packet's inner one too).
export const S_OPTS: u32 = 0; // 40 bytes: the options an answer echoes (ip4-options.ts)
export const S_DSTS: u32 = 1024; // 512 x u32 destinations
export const S_ROUTES: u32 = 3072; // 512 x u32 their routing-table leaves
export const S_WHICH: u32 = 5120; // 512 x u32 their packets' places in the chunk
export const S_PK: u32 = 7168; // the rule engine's packet keys and jump stack (PK_SIZE)
export const S_NFSAVE: u32 = 7424; // NF_SAVE_DEPTH x NF_SAVE_SIZE: netfilter state of packets being answered
export const NF_SAVE_DEPTH: u32 = 8;
export const NF_SAVE_SIZE: u32 = 16;
export const S_SINK: u32 = 8188; // u32 where the prefetching loads' result goes
export const LOOKUP_BATCH: u32 = 256;
// The buffer pools, one record per size class, smallest first.
export const C_POOLS: u32 = 64;
export const POOL_SIZE: u32 = 32;
export const PL_STACK: u32 = 0; // u32 address of the free stack (u32 buffer addresses)
export const PL_FREE: u32 = 4; // u32 buffers on the stack
export const PL_CAP: u32 = 8; // u32 buffers in the pool
export const PL_LO: u32 = 12; // u32 first buffer
export const PL_HI: u32 = 16; // u32 end of the pool's buffers
export const PL_BUF: u32 = 20; // u32 bytes a buffer of this class has
export const PL_MAX: u32 = 24; // u32 buffers the pool may grow to (its region and stack hold that many)
export const PL_HELD: u32 = 28; // u32 an audit's count of the pool's buffers found in queues (assembly/audit.ts)
export const CTX_RECORD_DROPS: u32 = 1;
export const CTX_RECORD_LOCAL: u32 = 2; // network steps: hand deliveries to the caller (else counted and freed)
export const CTX_NETWORK: u32 = 4; // a network step: wired links send into their peers' ports
export const CTX_RECORD_FATES: u32 = 8; // also record inputs consumed by the host (O_CONSUMED) and queued for ARP (O_QUEUED)

// Host: one network namespace.
export const HOST_SIZE: u32 = 224;
export const H_FLAGS: u32 = 0; // u32 HF_*
export const H_LINKS: u32 = 4; // u32 address of the link array
export const H_NLINKS: u32 = 8; // u32 links in use
export const H_LPM: u32 = 12; // u32 address of the routing table (swapped whole)
export const H_NH: u32 = 16; // u32 address of the nexthop array
export const H_NEIGH: u32 = 20; // u32 address of the neighbour hash table
export const H_NEIGH_MASK: u32 = 24; // u32 slots - 1
export const H_ADDRS: u32 = 28; // u32 address of the local address array
export const H_NADDRS: u32 = 32; // u32
export const H_COUNTERS: u32 = 36; // u32 address of the u64 counter array
export const H_RL: u32 = 40; // u32 address of the ICMP rate-limit table
export const H_RL_MASK: u32 = 44; // u32 slots - 1
export const H_PEND_HEAD: u32 = 48; // u32 first INCOMPLETE neighbour entry (NB_PNEXT list), 0 = none
export const H_PEND_TAIL: u32 = 52; // u32 last one
export const H_NEIGH_DUE: u32 = 56; // u32 ms when the next neighbour timer fires (nothing to do before)
export const H_IPID: u32 = 60; // u32 next IP identification for generated packets
export const H_PORTS: u32 = 64; // u32 address of the open-socket list (u32 proto<<16|port)
export const H_NPORTS: u32 = 68; // u32
export const H_NEIGH_USED: u32 = 72; // u32 neighbour slots taken: entries and tombstones
export const H_IPIP: u32 = 76; // u32 index + 1 of the host's IPIP link (tunl0), 0 = none
export const H_LOCAL_BLOOM: u32 = 80; // u64 bit (addr * 0x9e3779b1) >>> 26 set for each local address
export const H_NNH: u32 = 92; // u32 nexthops in the array at H_NH
// The neighbour table's bounds and books (net/core/neighbour.c), and the host's clock
// (after the network's fields, H_EXT..H_RANK, below).
export const H_NEIGH_LIVE: u32 = 128; // u32 entries (tbl->entries)
export const H_NEIGH_GC: u32 = 132; // u32 entries on the gc list: all but permanent ones (tbl->gc_entries)
export const H_GC_HEAD: u32 = 136; // u32 oldest entry of the gc list (NB_GNEXT list), 0 = none
export const H_GC_TAIL: u32 = 140; // u32 newest one
export const H_GC_THRESH1: u32 = 144; // u32 gc_thresh1: below it the periodic gc leaves the table alone
export const H_GC_THRESH2: u32 = 148; // u32 gc_thresh2: above it a forced gc runs at most every 5 s
export const H_GC_THRESH3: u32 = 152; // u32 gc_thresh3: no new entry above it
export const H_GC_FLUSHED: u32 = 156; // u32 ms of the last forced gc (tbl->last_flush)
export const H_GC_NEXT: u32 = 160; // u32 ms when the periodic gc runs next
export const H_UNRES_QLEN_BYTES: u32 = 164; // u32 unres_qlen_bytes: buffer bytes one entry may queue
export const H_UNRES_HOST_BYTES: u32 = 168; // u32 buffer bytes all entries of the host may queue together
export const H_QUEUED_BYTES: u32 = 172; // u32 buffer bytes queued on the host's entries now
export const H_NOW: u32 = 176; // u32 the last time (ms) the host was given; time never goes back
export const HF_FORWARDING: u32 = 1; // net.ipv4.ip_forward
// IPv4 reassembly (assembly/tables/frag.ts): the queues of datagrams coming
// in fragments. The table is a pool buffer the data plane takes when the
// first fragment comes and gives back when the last queue goes.
export const H_FRAG: u32 = 180; // u32 address of the queue table, 0 = no queue
export const H_FRAG_MEM: u32 = 184; // u32 bytes the queues hold (their records and buffers)
export const H_FRAG_NEXT: u32 = 188; // u32 ms: no queue expires before this
export const H_FRAG_TIME: u32 = 192; // u32 net.ipv4.ipfrag_time, ms
export const H_FRAG_SEQ: u32 = 196; // u32 queues made: their order, for expiries at one time
// What the host itself sends to 255.255.255.255 is routed by the main table alone (ip_route_output_key).
export const H_LBCAST: u32 = 200; // u32 index of the main-table nexthop for 255.255.255.255, 0 = none

// Link
export const LINK_SIZE: u32 = 128;
export const L_TYPE: u32 = 0; // u8 LT_*
export const L_FLAGS: u32 = 1; // u8 LF_*
export const L_MASTER: u32 = 2; // u16 bridge link index + 1, 0 when not enslaved
export const L_MTU: u32 = 4; // u16
export const L_MAC: u32 = 8; // 6 bytes
export const L_FDB: u32 = 16; // u32 address of the bridge's FDB hash table
export const L_FDB_MASK: u32 = 20; // u32 slots - 1
export const L_FDB_USED: u32 = 24; // u32 entries in use
export const L_FDB_MAX: u32 = 28; // u32 learning stops at this many entries
export const L_AGEING: u32 = 32; // u32 FDB ageing time, ms
export const L_TUN_LOCAL: u32 = 36; // u32 IPIP: outer source, 0 = chosen by routing
export const L_TUN_TTL: u32 = 40; // u8 IPIP: outer TTL, 0 = inherit the inner one
export const L_TUN_FLAGS: u32 = 41; // u8 TF_*
export const L_TUN_PEERS: u32 = 44; // u32 IPIP: address of the sorted u32 allowlist of outer sources
export const L_TUN_NPEERS: u32 = 48; // u32
export const L_FDB_OLDEST: u32 = 56; // u32 bridges: no learned entry was refreshed before this (ms); a sweep is due once it ages
export const L_RX_PACKETS: u32 = 64; // u64
export const L_RX_BYTES: u32 = 72; // u64
export const L_TX_PACKETS: u32 = 80; // u64
export const L_TX_BYTES: u32 = 88; // u64
export const L_RX_DROPPED: u32 = 96; // u64
// Wiring, set by a Network: where the link's frames go, and its own receive port.
export const L_PEER: u32 = 52; // u32 address of the port the frames this link sends arrive at, 0 = no wire
export const L_RXPORT: u32 = 104; // u32 address of the port frames for this link arrive at, 0 = none
export const L_LATENCY: u32 = 112; // f64 one-way delay of the wire, ms
export const LT_ETHER: u32 = 1;
export const LT_VETH: u32 = 2;
export const LT_BRIDGE: u32 = 3;
export const LT_IPIP: u32 = 4;
export const LF_UP: u32 = 1;
export const LF_PROXY_ARP: u32 = 2;
export const LF_HAIRPIN: u32 = 4;
export const LF_LEARNING: u32 = 8;
export const LF_FLOOD: u32 = 16;
export const LF_CAPTURE: u32 = 32; // a Network records the frames it sends and receives
export const TF_PMTUDISC: u32 = 1; // outer DF always set (Linux's default); off = nopmtudisc
export const TF_PEERS: u32 = 2; // decapsulate only from the allowlist (Felix's rule)

// Nexthop: what a routing-table leaf points at.
export const NH_SIZE: u32 = 32;
export const N_TYPE: u32 = 0; // u8 RT_*
export const N_FLAGS: u32 = 1; // u8 NF_*
export const N_DEV: u32 = 2; // u16 egress link
export const N_GW: u32 = 4; // u32 gateway, 0 when directly connected
export const N_SRC: u32 = 8; // u32 preferred source address, 0 to choose
// Caches the data plane fills on first use; a new nexthop array (every commit) starts empty.
export const N_OUTER: u32 = 12; // u32 tunnels: index + 1 of the nexthop the outer packet takes
export const N_NEIGH: u32 = 16; // u32 the neighbour entry of the gateway (checked on use)
export const RT_UNICAST: u32 = 1;
export const RT_LOCAL: u32 = 2;
export const RT_BROADCAST: u32 = 3;
export const RT_BLACKHOLE: u32 = 4;
export const RT_UNREACHABLE: u32 = 5;
export const RT_PROHIBIT: u32 = 6;
export const NF_ONLINK: u32 = 1;

// Local address (ip addr)
export const ADDR_SIZE: u32 = 16;
export const A_IP: u32 = 0; // u32
export const A_PLEN: u32 = 4; // u8
export const A_FLAGS: u32 = 5; // u8 AF_*
export const A_DEV: u32 = 6; // u16
export const A_BCAST: u32 = 8; // u32 subnet broadcast (0 for /31 and /32)
export const AF_SECONDARY: u32 = 1; // a subnet's later address (IFA_F_SECONDARY)
// The array is ordered by link index, each link's addresses in the order added.

// Neighbour entry (ARP cache), open addressing on (ip, dev). A removed entry
// leaves a tombstone, so no entry moves during a call; rehashing (between
// calls) drops the tombstones.
export const NEIGH_SIZE: u32 = 64; // a cache line
export const NB_IP: u32 = 0; // u32, 0 = empty slot, NB_DELETED = tombstone
export const NB_DEV: u32 = 4; // u16
export const NB_STATE: u32 = 6; // u8 NUD_*
export const NB_PROBES: u32 = 7; // u8 ARP requests sent while INCOMPLETE
export const NB_MAC: u32 = 8; // 6 bytes
export const NB_QLEN: u32 = 14; // u16 packets waiting
export const NB_UPDATED: u32 = 16; // u32 ms of the last change of state or MAC, or probe (neigh->updated)
export const NB_QUEUE: u32 = 20; // u32 first waiting buffer (a list linked through Q_NEXT)
export const NB_QTAIL: u32 = 24; // u32 last waiting buffer
export const NB_QBYTES: u32 = 28; // u32 buffer bytes waiting (arp_queue_len_bytes)
export const NB_PNEXT: u32 = 32; // u32 next INCOMPLETE entry, in the order they became so
export const NB_PPREV: u32 = 36; // u32
export const NB_GNEXT: u32 = 40; // u32 next entry of the gc list, in the order they were made
export const NB_GPREV: u32 = 44; // u32
export const NB_USED: u32 = 48; // u32 ms it was last used or confirmed (neigh->used, confirmed)
export const NB_DELETED: u32 = 0xffffffff; // 255.255.255.255 is never a neighbour
export const NUD_INCOMPLETE: u32 = 1;
export const NUD_REACHABLE: u32 = 2;
export const NUD_FAILED: u32 = 3;
export const NUD_PERMANENT: u32 = 4;
export const ARP_RETRANS_MS: u32 = 1000; // retrans_time
export const ARP_MCAST_SOLICIT: u32 = 3; // probes before FAILED
export const ARP_LOCKTIME_MS: u32 = 1000; // locktime: a valid entry's MAC holds this long against other answers
// Table bounds, Linux's defaults (net.ipv4.neigh.default.*).
export const GC_THRESH1: u32 = 128;
export const GC_THRESH2: u32 = 512;
export const GC_THRESH3: u32 = 1024;
export const GC_INTERVAL_MS: u32 = 15000; // the periodic gc: base_reachable_time / 2
export const GC_STALE_MS: u32 = 60000; // gc_staletime: unused this long, the periodic gc removes it
export const GC_FORCED_MS: u32 = 5000; // neigh_forced_gc spares entries used in the last 5 s, and runs at most every 5 s above gc_thresh2
// Queues count whole buffers, as Linux counts an skb's truesize: 101 full
// small buffers an entry (Linux's unres_qlen of 101 full frames), and 1 MiB
// a host (512 small buffers, 1/32 of a context's default pool of 16,384).
export const UNRES_QLEN_BYTES: u32 = 206848;
export const UNRES_HOST_BYTES: u32 = 1048576;

// A queued packet keeps its descriptor fields in the buffer's first bytes.
export const Q_OFF: u32 = 0; // u16
export const Q_LEN: u32 = 2; // u16
export const Q_TAG: u32 = 4; // u32
export const Q_NEXT: u32 = 8; // u32 next waiting buffer, 0 at the end
// ... and, on a network's queues (assembly/net/), where it goes and when.
export const Q_POOL: u32 = 12; // u8 the context whose pool the buffer is from
export const Q_KIND: u32 = 13; // u8 K_RX or K_ORIGINATE
export const Q_LINK: u32 = 14; // u16 the receiving link (a host's external input)
export const Q_DUE: u32 = 16; // f64 ms at which it arrives
// ... and, in check mode (C_CHECK), what the packet was when it entered the host (M_*).
export const Q_CHECK: u32 = 24; // u32
// ... and the rank of the host that sent it: frames reaching a segment member
// from several workers are merged in this order (wave.ts arrivals).
export const Q_SENDER: u32 = 28; // u32

// ... and, held in a reassembly queue, where its payload lies in the datagram.
export const QF_FLAGS: u32 = 13; // u8 QFF_*
export const QF_START: u32 = 16; // u32 first payload byte's offset in the datagram
export const QF_END: u32 = 20; // u32 offset past its last payload byte
export const QFF_RUN: u32 = 1; // begins a run of adjacent fragments (inet_frag_queue_insert's rb-tree node)
export const QFF_L2MULTI: u32 = 2; // came in a broadcast or multicast frame

// The reassembly queue table, in a pool buffer: a header, then FQ_SIZE
// records by open addressing on (src, dst, id, proto, user).
export const FT_CAP: u32 = 0; // u32 records the table has room for
export const FT_USED: u32 = 4; // u32 queues in it
export const FT_SIZE: u32 = 16;
export const FQ_SIZE: u32 = 64;
export const FQ_SRC: u32 = 0; // u32
export const FQ_DST: u32 = 4; // u32
export const FQ_KEY: u32 = 8; // u32: id (u16), proto (u8), user (u8, FRAG_USER_*, 0 = empty record)
export const FQ_FLAGS: u32 = 12; // u8 FQF_*
export const FQ_ECN: u32 = 13; // u8 the ECN codepoints its fragments had, one bit each (ip4_frag_ecn)
export const FQ_LEN: u32 = 16; // u32 payload bytes the datagram has, as far as known
export const FQ_MEAT: u32 = 20; // u32 payload bytes held
export const FQ_MAX: u32 = 24; // u16 the largest fragment (max_size)
export const FQ_MAX_DF: u32 = 26; // u16 the largest fragment with DF (max_df_size)
export const FQ_EXPIRES: u32 = 28; // u32 ms its timer fires
export const FQ_RID: u32 = 32; // u32 its sender's fragment count when it last took one (ip_frag_too_far)
export const FQ_HEAD: u32 = 36; // u32 first fragment buffer, by offset (linked through Q_NEXT)
export const FQ_TAIL: u32 = 40; // u32 the fragment that ends furthest (fragments_tail)
export const FQ_RUN: u32 = 44; // u32 the first fragment of the last run (last_run_head)
export const FQ_MEM: u32 = 48; // u32 bytes it holds
export const FQ_SEQ: u32 = 52; // u32 H_FRAG_SEQ when it was made
export const FQ_OPTS: u32 = 56; // u64 the first fragment's compiled options (ip4-options.ts)
export const FQF_FIRST_IN: u32 = 1;
export const FQF_LAST_IN: u32 = 2;
export const FRAG_USER_LOCAL: u32 = 1; // IP_DEFRAG_LOCAL_DELIVER: ip_local_deliver
export const FRAG_USER_CONNTRACK_IN: u32 = 2; // IP_DEFRAG_CONNTRACK_IN: nf_defrag_ipv4 at PREROUTING
export const FRAG_HIGH_THRESH: u32 = 4194304; // net.ipv4.ipfrag_high_thresh
export const FRAG_TIME_MS: u32 = 30000; // net.ipv4.ipfrag_time's default
export const FRAG_MAX_DIST: u32 = 64; // net.ipv4.ipfrag_max_dist

// Bridge forwarding database entry: MAC (6 bytes) and port (u16) read as one u64.
export const FDB_SIZE: u32 = 16;
export const F_MAC: u32 = 0; // 6 bytes
export const F_PORT: u32 = 6; // u16 link index + 1, 0 = empty slot
export const F_FLAGS: u32 = 8; // u32 FF_*
export const F_UPDATED: u32 = 12; // u32 ms of the last frame seen from the MAC
export const FF_STATIC: u32 = 1;
export const FF_LOCAL: u32 = 2;

// ICMP error limits. Per peer (inet_peer): one token bucket in ms that
// ip_error and icmp_send both draw on; and per host (icmp_global_allow).
export const RL_SIZE: u32 = 16;
export const RL_IP: u32 = 0; // u32, 0 = empty
export const RL_TOKENS: u32 = 4; // u32 ms of credit (rate_tokens)
export const RL_LAST: u32 = 8; // u32 ms (rate_last)
export const RL_RID: u32 = 12; // u32 fragments it has sent (inet_peer's rid, for ip_frag_too_far)
export const ICMP_RATELIMIT_MS: u32 = 1000; // net.ipv4.icmp_ratelimit
export const ICMP_BURST: u32 = 6; // XRLIM_BURST_FACTOR
export const RT_ERROR_COST_MS: u32 = 1000; // ip_rt_error_cost
export const RT_ERROR_BURST_MS: u32 = 5000; // ip_rt_error_burst
export const PEER_NEW_AGE_MS: u32 = 60000; // inet_getpeer: a new peer's rate_last is 60 s ago
export const ICMP_MSGS_PER_SEC: u32 = 1000; // net.ipv4.icmp_msgs_per_sec
export const ICMP_MSGS_BURST: u32 = 50; // net.ipv4.icmp_msgs_burst
export const H_ICMP_CREDIT: u32 = 120; // i32 icmp_global_credit
export const H_ICMP_STAMP: u32 = 124; // u32 ms of its last refill

// Open sockets: proto << 16 | port
export const PORTS_MAX: u32 = 64;

// Counters: u64 each. Packet fates first, then drop reasons, then stage events.
export const CNT_IN: u32 = 0; // frames received
export const CNT_ORIGINATED: u32 = 1; // packets the host's stack sent
export const CNT_SENT: u32 = 2; // left on a link (each copy and fragment counts)
export const CNT_LOCAL: u32 = 3; // consumed by the host (delivered, answered, ARP)
export const CNT_DROPPED: u32 = 4; // sum of the drop reasons
export const CNT_QUEUED: u32 = 5; // entered a neighbour queue
export const CNT_DEQUEUED: u32 = 6; // left a neighbour queue (sent or dropped)
export const CNT_GENERATED: u32 = 7; // created here: ARP, ICMP, replies, flood copies, fragments
export const CNT_REASSEMBLED: u32 = 8; // fragments that went into a datagram another fragment carries on as
export const CNT_DROP_BASE: u32 = 16;
export const CNT_STAGE_BASE: u32 = 64;
export const CNT_COUNT: u32 = 128;

// Drop reasons: Linux's names (include/net/dropreason-core.h) where Linux has
// one; podnet's own, plainly named, where Linux reports NOT_SPECIFIED.
export const DROP_NOT_SPECIFIED: u32 = 1;
export const DROP_OTHERHOST: u32 = 2;
export const DROP_IP_INHDR: u32 = 3;
export const DROP_IP_CSUM: u32 = 4;
export const DROP_PKT_TOO_SMALL: u32 = 5;
export const DROP_IP_INNOROUTES: u32 = 6;
export const DROP_IP_OUTNOROUTES: u32 = 7;
export const DROP_PKT_TOO_BIG: u32 = 8;
export const DROP_NEIGH_FAILED: u32 = 9;
export const DROP_NEIGH_QUEUEFULL: u32 = 10;
export const DROP_NO_SOCKET: u32 = 11;
export const DROP_IP_NOPROTO: u32 = 12;
export const DROP_UNHANDLED_PROTO: u32 = 13;
export const DROP_HDR_TRUNC: u32 = 14;
export const DROP_IP_INVALID_SOURCE: u32 = 15;
export const DROP_IP_INVALID_DEST: u32 = 16;
export const DROP_IP_INADDRERRORS: u32 = 17;
export const DROP_FULL_RING: u32 = 18;
export const DROP_NOMEM: u32 = 19;
export const DROP_DEV_READY: u32 = 20;
export const DROP_ICMP_CSUM: u32 = 21;
export const DROP_UDP_CSUM: u32 = 22;
export const DROP_TCP_CSUM: u32 = 23;
export const DROP_BLACKHOLE: u32 = 24;
export const DROP_UNREACHABLE: u32 = 25;
export const DROP_BR_NO_EGRESS: u32 = 26;
export const DROP_ARP_INVALID: u32 = 27;
export const DROP_INVALID_PROTO: u32 = 28;
export const DROP_NETFILTER_DROP: u32 = 29;
export const DROP_NEIGH_CREATEFAIL: u32 = 30;
export const DROP_CONNTRACK_FULL: u32 = 31; // nf_conntrack: table full, nothing to evict
export const DROP_NAT_NO_PORT: u32 = 32; // nf_nat: no free port for the new tuple
export const DROP_FRAME_TOO_LONG: u32 = 33; // longer than the link's MTU allows (is_skb_forwardable), or than any buffer
export const DROP_MAC_INVALID_SOURCE: u32 = 34; // br_handle_frame: source MAC multicast or zero
export const DROP_MAC_IEEE_MAC_CONTROL: u32 = 35; // br_handle_frame: to 01:80:c2:00:00:01 (pause)
export const DROP_IP_SOURCE_ROUTE: u32 = 36; // ip_rcv_options: a source route option, accept_source_route 0 (Linux: NOT_SPECIFIED)
export const DROP_DUP_FRAG: u32 = 37; // ip_frag_queue: a fragment the queue already has
export const DROP_FRAG_REASM_TIMEOUT: u32 = 38; // ip_expire: ipfrag_time passed before the datagram was whole
export const DROP_FRAG_TOO_FAR: u32 = 39; // ip_frag_too_far: ipfrag_max_dist fragments of its sender came between
export const DROP_FRAG_OVERLAP: u32 = 40; // inet_frag_queue_insert: overlapping fragments drop the queue (Linux: NOT_SPECIFIED)
export const DROP_FRAG_INVALID: u32 = 41; // ip_frag_queue, ip_frag_reasm: lengths that disagree, over 65535 bytes, ECN mixed (Linux: NOT_SPECIFIED)
export const DROP_COUNT: u32 = 42;

// Stage events (counters beside the drop reasons, named stage_event).
export const STAT_bridge_learned: u32 = 0;
export const STAT_bridge_fdb_full: u32 = 1;
export const STAT_bridge_flooded: u32 = 2;
export const STAT_bridge_forwarded: u32 = 3;
export const STAT_bridge_local: u32 = 4;
export const STAT_arp_reply_sent: u32 = 5;
export const STAT_arp_proxy_reply: u32 = 6;
export const STAT_arp_request_sent: u32 = 7;
export const STAT_arp_learned: u32 = 8;
export const STAT_arp_ignored: u32 = 9;
export const STAT_ip4_local: u32 = 10;
export const STAT_ip4_forwarded: u32 = 11;
export const STAT_ip4_ttl_expired: u32 = 12;
export const STAT_ip4_fragmented: u32 = 13;
export const STAT_ip4_fragments: u32 = 14;
export const STAT_icmp_error_sent: u32 = 15;
export const STAT_icmp_ratelimited: u32 = 16;
export const STAT_icmp_echo_reply: u32 = 17;
export const STAT_tcp_rst_sent: u32 = 18;
export const STAT_neigh_queued: u32 = 19;
export const STAT_neigh_released: u32 = 20;
export const STAT_neigh_failed: u32 = 21;
export const STAT_udp_delivered: u32 = 22;
export const STAT_tcp_delivered: u32 = 23;
export const STAT_icmp_delivered: u32 = 24;
export const STAT_ipip_encap: u32 = 25;
export const STAT_ipip_decap: u32 = 26;
export const STAT_ipip_rejected: u32 = 27;
export const STAT_conntrack_new: u32 = 28;
export const STAT_conntrack_invalid: u32 = 29;
export const STAT_conntrack_evicted: u32 = 30;
export const STAT_nat_port_taken: u32 = 31;
export const STAT_conntrack_related: u32 = 32;
export const STAT_nf_log: u32 = 33; // a LOG target matched (nf_log_packet)
export const STAT_nf_reject: u32 = 34; // a REJECT target sent its ICMP error or reset
export const STAT_ip4_reassembled: u32 = 35;
export const STAT_ip4_reasm_timeout: u32 = 36;
export const STAT_COUNT: u32 = 37;

// What a received packet carries past the IPv4 input stage besides its
// bytes (the parts of IPCB(skb) podnet keeps): one word, 0 for a packet with
// neither options nor a reassembly behind it.
export const META_OPTIONS: u32 = 0x80000000; // its options were compiled (ip4-options.ts)
export const META_REASM: u32 = 0x40000000; // reassembled at PREROUTING: the fragments' sizes follow the datagram in its buffer
export const META_FRAGS_SHIFT: u32 = 16; // bits 16..29: how many fragments; bits 0..15: the largest (frag_max_size)

// IP protocols and EtherTypes the data plane knows.
export const ETH_P_IP: u32 = 0x0800;
export const ETH_P_IP_NET: u32 = 0x0008; // 0x0800 as a little-endian load reads it
export const ETH_P_ARP: u32 = 0x0806;
export const IPPROTO_ICMP: u32 = 1;
export const IPPROTO_IPIP: u32 = 4;
export const IPPROTO_TCP: u32 = 6;
export const IPPROTO_UDP: u32 = 17;

// ---- Connection tracking (nf_conntrack), per host, present once rules are loaded.
export const H_CT: u32 = 88; // u32 address of the host's conntrack header, 0 = no netfilter
export const CT_SIZE: u32 = 64; // the header
export const CT_TUPLES: u32 = 0; // u32 address of the tuple hash (TUPLE_SIZE slots)
export const CT_MASK: u32 = 4; // u32 slots - 1
export const CT_CONNS: u32 = 8; // u32 address of the connection array
export const CT_CAP: u32 = 12; // u32 connections the array holds
export const CT_COUNT: u32 = 16; // u32 connections alive
export const CT_FREE: u32 = 20; // u32 index + 1 of the first free connection, 0 = none
export const CT_MAX: u32 = 24; // u32 nf_conntrack_max
export const CT_RULES: u32 = 28; // u32 address of the compiled ruleset, 0 = none
export const CT_GC: u32 = 32; // u32 where the garbage collector goes on
export const CT_USED: u32 = 36; // u32 connections ever handed out from the array's top
export const CT_PENDING: u32 = 40; // u32 index + 1 of the connection the packet in hand created
// Source-NATed connections by their original source (nf_nat_bysource): CT_MASK / 4 + 1
// u32 heads (index + 1 of the newest, 0 = none), chained through CN_SNEXT / CN_SPREV.
export const CT_BYSRC: u32 = 44;
export const CT_SETS: u32 = 48; // u32 address of the host's ipset blob (ipset.ts), 0 = none
export const CT_RSTATE: u32 = 52; // u32 address of the per-rule state (RST_*), beside CT_RULES
export const CT_RNG: u32 = 56; // u32 the state of -m statistic's random numbers (xorshift32, never 0)
// A tuple in the hash: src, dst, ports, and the connection (index + 1) << 9 | dir << 8 | proto.
export const TUPLE_SIZE: u32 = 16;
export const TP_SRC: u32 = 0;
export const TP_DST: u32 = 4;
export const TP_PORTS: u32 = 8; // sport << 16 | dport; ICMP echo: id << 16 | type << 8 | code
export const TP_REF: u32 = 12;
// A connection.
export const CONN_SIZE: u32 = 64;
export const CN_ORIG: u32 = 0; // 12 bytes: src, dst, ports
export const CN_REPLY: u32 = 12; // 12 bytes: src, dst, ports
export const CN_PROTO: u32 = 24; // u8
export const CN_TCP: u32 = 25; // u8 TCP state (conntrack-tcp.ts)
export const CN_STATUS: u32 = 26; // u16 CS_*
export const CN_TIMEOUT: u32 = 28; // u32 ms at which it expires
export const CN_START: u32 = 32; // u32 ms it was created
export const CN_NEXT: u32 = 36; // u32 next free (index + 1) while free
export const CN_PACKETS: u32 = 40; // u32 packets seen, both directions
export const CN_MARK: u32 = 44; // u32 the connection's mark (ct->mark, CONNMARK)
export const CN_SNEXT: u32 = 48; // u32 next older source-NATed connection of its bysource chain (index + 1)
export const CN_SPREV: u32 = 52; // u32 the newer one before it (index + 1), 0 at the head
export const CS_SEEN_REPLY: u32 = 1;
export const CS_ASSURED: u32 = 2;
export const CS_CONFIRMED: u32 = 4;
export const CS_SRC_NAT: u32 = 8;
export const CS_DST_NAT: u32 = 16;
export const CS_LIVE: u32 = 32;
export const CT_DEFAULT_MAX: u32 = 262144;
// Connections the collector looks at for each new one: two keep the array
// within about twice the live connections, whatever the churn.
export const CT_GC_PER_NEW: u32 = 2;
// Timeouts (ms), Linux's defaults.
export const CT_UDP_MS: u32 = 30000;
export const CT_UDP_STREAM_MS: u32 = 120000;
export const CT_ICMP_MS: u32 = 30000;
export const CT_GENERIC_MS: u32 = 600000;
export const CT_UDP_STREAM_AFTER_MS: u32 = 2000;

// ---- Networks (src/network.ts, assembly/net/): hosts and segments wired by
// queues in the shared memory, stepped in waves on a virtual clock.

// A list of buffers linked through Q_NEXT.
export const LIST_SIZE: u32 = 12;
export const LS_HEAD: u32 = 0;
export const LS_TAIL: u32 = 4;
export const LS_N: u32 = 8;

// A port: where frames for one receiver arrive (a host's link, a segment's member).
// Its one producer appends to the list of the wave's parity; at the next wave
// the consumer moves that list to the end of its own, private, pending list.
export const PORT_SIZE: u32 = 64;
export const PT_OUT: u32 = 0; // 2 lists, by wave parity
export const PT_PEND: u32 = 24; // the list that arrived, in order of arrival (due times ascending)
export const PT_NODE: u32 = 36; // u32 the receiving node's rank
export const PT_LINK: u32 = 40; // u32 the receiving link's index, or the member's index on a segment
export const PT_ACT: u32 = 44; // 2 x u32 next port on the producer's activation list, by parity
export const PT_ACTIVE: u32 = 52; // 2 x u8 on that list, by parity
export const PT_SIDES: u32 = 54; // u8 a segment member's receive port: the ports that follow it, one per other worker
export const PT_SIDE: u32 = 55; // u8 which of those this is (the worker sending into it), 0 = the link's own port
export const PT_SEGMENT: u32 = 56; // u32 the segment whose member port this is (its sender forwards at once), 0 = a host's
export const PT_MARK: u32 = 60; // u32 while arrivals are merged: frames pending before them + 1, 0 = not merging

// A node of the network: a host or a segment, by rank.
export const NODE_SIZE: u32 = 16;
export const ND_KIND: u32 = 0; // u32 NK_*
export const ND_PTR: u32 = 4; // u32 the host struct or the segment struct
export const ND_OWNER: u32 = 8; // u32 the worker that runs it
export const ND_POS: u32 = 12; // u32 its position in that worker's node list
export const NK_HOST: u32 = 1;
export const NK_SEGMENT: u32 = 2;

// A segment: a learning switch (or a hub) between member links. Its first
// LINK_SIZE bytes hold its FDB as a bridge's link struct does (L_FDB...).
export const SEG_SIZE: u32 = 192;
export const SG_N: u32 = 128; // u32 members
export const SG_FLAGS: u32 = 132; // u32 SGF_*
export const SG_PORTS: u32 = 136; // u32 address of the members' ingress ports (PORT_SIZE each)
export const SG_TARGETS: u32 = 140; // u32 address of u32 member receive ports (the links' L_RXPORT)
export const SG_LATENCY: u32 = 144; // f64 one-way delay, ms
export const SG_LAST: u32 = 152; // u32 address of a LAST_SIZE record per member: what its sender last logged to learn
export const SG_RANK: u32 = 156; // u32 the segment's node rank
export const LAST_SIZE: u32 = 16;
export const LA_MAC: u32 = 0; // u64 source MAC
export const LA_WAVE: u32 = 8; // u32 wave + 1 it was logged in, 0 = none
// What a segment learns, logged by the sender's worker during a wave and
// applied between waves by the segment's owner, all workers' logs merged
// in rank order: every lookup of a wave sees the table as the wave began.
export const LEARN_SIZE: u32 = 24;
export const LE_SEG: u32 = 0; // u32 the segment
export const LE_MEMBER: u32 = 4; // u32 the member the MAC was seen on
export const LE_MAC: u32 = 8; // u64
export const LE_TIME: u32 = 16; // u32 ms
export const LE_RANK: u32 = 20; // u32 the sending host's rank (the merge order)
export const SGF_LEARNING: u32 = 1;

// A host's external input: frames injected and packets sent by the caller.
export const H_EXT: u32 = 96; // LIST_SIZE bytes
export const H_OWNER: u32 = 108; // u32 worker + 1 that runs the host during a network run, 0 = none
export const H_RANK: u32 = 112; // u32 the host's node rank in its network
// Traffic given between runs, as records over bytes the caller wrote once: the
// host's worker copies it into its own buffers as the host takes it in
// (assembly/net/inject.ts), so no thread copies for another.
export const H_INJ: u32 = 204; // u32 the host's first injection record, 0 = none
export const H_INJ_TAIL: u32 = 208; // u32 its last
export const H_SEGLINKS: u32 = 212; // u32 its links wired to segments (set when a network lays its nodes out)
export const INJ_SIZE: u32 = 32;
export const IR_NEXT: u32 = 0; // u32 the host's next record, 0 = none
export const IR_AT: u32 = 4; // u32 its next packet, [u32 length, bytes] 8-byte aligned
export const IR_LEFT: u32 = 8; // u32 packets left
export const IR_LINK: u32 = 12; // u16
export const IR_OFF: u32 = 14; // u16 where a packet goes in its buffer
export const IR_KIND: u32 = 16; // u8 K_RX or K_ORIGINATE
export const IR_DUE: u32 = 24; // f64

// A worker of a network run: its nodes, and what its waves report.
export const WK_SIZE: u32 = 256;
export const WK_ID: u32 = 0; // u32
export const WK_NODES: u32 = 4; // u32 address of its node ranks, ascending
export const WK_NNODES: u32 = 8; // u32
export const WK_BITS: u32 = 12; // u32 address of a bitmap over its node positions: nodes with input
export const WK_CURSOR: u32 = 16; // u32 where a wave resumes: node position + 1, 0 = at the start
export const WK_GROW: u32 = 20; // u32 the host a yield asks to grow
export const WK_ROOM: u32 = 24; // u32 the packets it must make room for
export const WK_STEPS: u32 = 32; // u64 frames taken in by hosts
export const WK_SENT: u32 = 40; // u64 packets sent by hosts' stacks
export const WK_LOCAL: u32 = 48; // u64 delivered to sockets
export const WK_DROPPED: u32 = 56; // u64 dropped
export const WK_LOST: u32 = 64; // u64 sent on links with no wire
export const WK_FILTERED: u32 = 72; // u64 kept back by learning segments
export const WK_NOW_WORK: u32 = 80; // u32 something was sent that arrives now: another wave at this time
export const WK_NEXT_DUE: u32 = 88; // f64 the earliest later arrival it knows of (sent, or pending)
export const WK_NET: u32 = 96; // u32 the network record
export const WK_WAVE: u32 = 100; // u32 the wave in progress
export const WK_NOW: u32 = 104; // f64 its time
export const WK_TICK: u32 = 112; // u32 1: every host runs its timers in this wave
export const WK_CTX: u32 = 116; // u32 the worker's context
// What a worker reports at the end of a wave, by the wave's parity (read by every worker after the barrier).
export const WK_REPORT: u32 = 128; // 2 x REPORT_SIZE
export const REPORT_SIZE: u32 = 24;
export const RP_NOW_WORK: u32 = 0; // u32
export const RP_LEARN: u32 = 4; // u32 entries in its learning log: segments learn before the next wave
export const RP_NEXT_DUE: u32 = 8; // f64
export const RP_STEPS: u32 = 16; // f64 frames taken in by its hosts so far this run
export const WK_LOG: u32 = 180; // u32 first chunk of the worker's record log (src/net/records.ts)
export const WK_LOG_TAIL: u32 = 184; // u32 the chunk being written
export const WK_LEARN: u32 = 188; // u32 address of the worker's learning log (LEARN_SIZE entries)
export const WK_LEARN_N: u32 = 192; // u32 entries logged in this wave
export const WK_LEARN_CAP: u32 = 196; // u32 entries it has room for
export const WK_FRESH: u32 = 200; // u32 1: the node at the cursor yielded before its step began

// The network record.
export const NET_SIZE: u32 = 320;
export const NT_WORKERS: u32 = 0; // u32 workers
export const NT_NODES: u32 = 4; // u32 address of the node table
export const NT_NNODES: u32 = 8; // u32
export const NT_ACT: u32 = 12; // u32 address of activation list heads: [producer][consumer][parity] u32
export const NT_RET: u32 = 16; // u32 address of return lists: [from][to][parity] LIST_SIZE
export const NT_WK: u32 = 20; // u32 address of the worker records (WK_SIZE each)
// A run, as the calling thread sets it for every worker.
export const NT_RUN_NOW: u32 = 24; // f64 the clock at the start
export const NT_RUN_UNTIL: u32 = 32; // f64 run until (NaN: until nothing is due now or later)
export const NT_RUN_MAX: u32 = 40; // f64 the most frames taken in before the run stops
export const NT_RUN_WAVE: u32 = 48; // u32 the first wave's number
export const NT_RUN_END: u32 = 52; // u32 1: the run stopped at its frame limit
export const NT_RUN_LAST: u32 = 56; // f64 the clock at the end
// Synchronisation words (src/parallel/), each on a cache line of its own.
export const NT_BAR_COUNT: u32 = 64; // i32 workers arrived at the barrier
export const NT_BAR_GEN: u32 = 128; // i32 the barrier's generation
export const NT_RUN_GEN: u32 = 192; // i32 bumped to start a run (or to stop the workers)
export const NT_CMD: u32 = 196; // i32 CMD_*
export const NT_DONE: u32 = 256; // i32 workers finished with the run
export const NT_READY: u32 = 260; // i32 workers started and waiting
export const NT_FAILED: u32 = 264; // i32 a worker failed: everyone stops
export const CMD_RUN: u32 = 1;
export const CMD_STOP: u32 = 2;

// What a wave step asks of its caller before it can go on.
export const WAVE_DONE: u32 = 0;
export const WAVE_OUTPUTS: u32 = 1; // the output vector is filling: take the outputs
export const WAVE_GROW: u32 = 2; // host WK_GROW needs room for WK_ROOM packets in its tables
export const WAVE_LEARN_ROOM: u32 = 3; // the learning log needs room for WK_ROOM more entries
// Output kinds of a network step beside O_TX/O_LOCAL/O_DROP.
export const O_CAPTURE_IN: u32 = 4; // a copy of a frame arriving on a captured link
export const O_CAPTURE_OUT: u32 = 5; // a copy of a frame sent on a captured link

// ---- Tracing (the trace build only: assembly/trace/): each stage a packet
// passes through appends a record to its context's trace buffer; the events
// are listed in assembly/trace/events.ts.
export const TB_USED: u32 = 0; // u32 bytes of records written after the header
export const TB_CAP: u32 = 4; // u32 bytes the records may take
export const TB_LOST: u32 = 8; // u32 records that found no room
export const TB_HDR: u32 = 16;
// A record: a fixed header, then up to TRACE_BYTES of the packet, padded to 8 bytes.
export const TR_EV: u32 = 0; // u16 EV_*
export const TR_LEN: u32 = 2; // u16 bytes of packet after the header
export const TR_HOST: u32 = 4; // u32 the host struct
export const TR_WAVE: u32 = 8; // u32 the network's wave (0 outside a network)
export const TR_A: u32 = 12; // u32 x 5: the event's words
export const TR_TIME: u32 = 32; // f64 ms
export const TR_HDR: u32 = 40;
export const TRACE_BYTES: u32 = 9216; // a jumbo frame: what describes a packet is there whole

// ---- Check mode (fuzzing): every frame a host sends on a wire and every
// packet it delivers is verified against the packet's state when it entered
// the host (Q_CHECK); violations are counted, the first few kept with their bytes.
export const M_KNOWN: u32 = 1; // the packet entered the host (else the host made it)
export const M_IPV4: u32 = 2; // an IPv4 header is there (version 4, its length in the frame)
export const M_OUTER_OK: u32 = 4; // its header checksum is right
export const M_IPIP: u32 = 8; // it carries a whole inner IPv4 header (protocol 4)
export const M_INNER_OK: u32 = 16; // the inner header's checksum is right
export const M_L4_OK: u32 = 32; // the innermost TCP/UDP/ICMP checksum is right, or cannot be checked
export const M_TUNNELLED: u32 = 64; // an IPIP packet whose outer source is the host's: it put the packet in the tunnel
export const M_TTL_SHIFT: u32 = 8; // bits 8..15: the largest TTL of its headers (outer, inner, ...)
export const M_SENT_TTL_SHIFT: u32 = 16; // bits 16..23: the TTL of the packet the host sends (the inner one when M_TUNNELLED)
export const V_IP_CSUM: u32 = 1; // an IPv4 header checksum is wrong
export const V_INNER_CSUM: u32 = 2; // the inner IPv4 header of an IPIP packet has a wrong checksum
export const V_L4_CSUM: u32 = 3; // a TCP, UDP or ICMP checksum is wrong
export const V_TTL: u32 = 4; // the TTL grew
export const V_COUNT: u32 = 5;
export const CK_CHECKED: u32 = 0; // u64 frames and packets verified
export const CK_COUNTS: u32 = 8; // V_COUNT x u32 violations by kind
export const CK_KEPT: u32 = 28; // u32 violations kept below
export const CK_RECS: u32 = 32; // CHECK_KEEP records of CKR_SIZE
export const CHECK_KEEP: u32 = 4;
export const CKR_KIND: u32 = 0; // u32 V_*
export const CKR_HOST: u32 = 4; // u32 the host struct
export const CKR_LINK: u32 = 8; // u32 the link it left on, 0xffff: delivered to a socket
export const CKR_TAG: u32 = 12; // u32
export const CKR_TIME: u32 = 16; // f64 ms
export const CKR_ENTRY: u32 = 24; // u32 Q_CHECK: the packet's state when it entered
export const CKR_LEN: u32 = 28; // u32 bytes of the frame (or packet)
export const CKR_BYTES: u32 = 32; // the first CHECK_BYTES of it
export const CHECK_BYTES: u32 = 2048; // a frame of a 1500-byte MTU whole
export const CKR_SIZE: u32 = 2080;
export const CHECK_SIZE: u32 = 8352; // CK_RECS + CHECK_KEEP * CKR_SIZE
