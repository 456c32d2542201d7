// The rule engine's memory contract: the compiled ruleset blob that
// src/netfilter/compile.ts builds and assembly/tables/rules.ts walks, the
// per-rule state the data plane keeps beside it, the packet-key struct the
// caller fills, and the verdict word. Constants only; scripts/gen-layout.mjs
// copies them into src/engine/layout.gen.ts.
//
// Blob (position independent: every offset is from the blob's start, so it
// can be copied anywhere; little-endian like the rest of the memory):
//   header   RS_HDR_SIZE bytes (RS_*)
//   chains   RS_NCHAINS entries of RC_SIZE bytes, indexed by chain id: the
//            builtin ids CHAIN_* first, then the user chains (filter's, nat's,
//            raw's, mangle's)
//   rules    RU_SIZE bytes each; each chain's rules are contiguous and
//            followed by one terminating rule that matches everything: its
//            kind is the chain's policy (builtin chains) or TGT_RETURN (user
//            chains), so the walk needs no end test
//   ext      the matches that do not fit a rule (X_*): for each rule that has
//            some, records of X_HDR + payload, ended by a zero word
//   iftabs   interface patterns: RS_NLINKS + 1 bytes each (padded to 4),
//            byte i = 1 when the rule's -i/-o (invert applied) matches link i;
//            byte RS_NLINKS is the answer for "no interface" (and for link
//            indexes the blob was not compiled for)
//
// Per-rule state (RST_SIZE bytes per rule, in rule order, terminating rules
// included) lives in a region of its own the control plane gives with the
// blob: counters, -m limit's credit, -m statistic's nth count.

// Header
export const RS_MAGIC: u32 = 0; // u32 RULES_MAGIC
export const RS_SIZE: u32 = 4; // u32 bytes of the blob
export const RS_NLINKS: u32 = 8; // u32 links the interface tables were compiled for
export const RS_NCHAINS: u32 = 12; // u32 chain entries
export const RS_NRULES: u32 = 16; // u32 rule structs, terminating ones included
export const RS_CHAINS: u32 = 20; // u32 offset of the chain entries
export const RS_RULES: u32 = 24; // u32 offset of the first rule
export const RS_IFTABS: u32 = 28; // u32 offset of the interface tables
export const RS_EXT: u32 = 32; // u32 offset of the extension records
export const RS_ACTIVE: u32 = 36; // u32 bit CHAIN_* set: that builtin chain has rules or a DROP policy
export const RS_NEEDS: u32 = 40; // u32 NEED_*: the packet keys some rule reads
export const RS_COUNTED: u32 = 44; // u32 bit CHAIN_* set: that builtin chain's table is loaded, so its policy counts packets even with no rules
export const RS_HDR_SIZE: u32 = 64;
export const RULES_MAGIC: u32 = 0x3252464e; // 'NFR2'

// What rules read beyond the keys every chain gets (RS_NEEDS).
export const NEED_ADDRTYPE: u32 = 1; // PK_SRC_TYPE..PK_DST_TYPE_OUT
export const NEED_RPF: u32 = 2; // PK_RPF
export const NEED_L4: u32 = 4; // PK_TCPFLAGS, PK_ICMP_TYPE, PK_ICMP_CODE

// Chain entry
export const RC_SIZE: u32 = 16;
export const RC_RULES: u32 = 0; // u32 offset of its first rule
export const RC_COUNT: u32 = 4; // u32 rules, not counting the terminating one
export const RC_POLICY: u32 = 8; // u32 TGT_ACCEPT / TGT_DROP (builtin), TGT_RETURN (user)
export const RC_FLAGS: u32 = 12; // u32 RCF_*
export const RCF_BUILTIN: u32 = 1;

// Chain ids of the builtin chains (rulesRun's `chain`), in Linux's hook order within each hook.
export const CHAIN_FILTER_INPUT: u32 = 0;
export const CHAIN_FILTER_FORWARD: u32 = 1;
export const CHAIN_FILTER_OUTPUT: u32 = 2;
export const CHAIN_NAT_PREROUTING: u32 = 3;
export const CHAIN_NAT_INPUT: u32 = 4;
export const CHAIN_NAT_OUTPUT: u32 = 5;
export const CHAIN_NAT_POSTROUTING: u32 = 6;
export const CHAIN_RAW_PREROUTING: u32 = 7;
export const CHAIN_RAW_OUTPUT: u32 = 8;
export const CHAIN_MANGLE_PREROUTING: u32 = 9;
export const CHAIN_MANGLE_INPUT: u32 = 10;
export const CHAIN_MANGLE_FORWARD: u32 = 11;
export const CHAIN_MANGLE_OUTPUT: u32 = 12;
export const CHAIN_MANGLE_POSTROUTING: u32 = 13;
export const CHAINS_BUILTIN: u32 = 14;

// Rule: one 64-byte struct. A match is tested only when its RF_ bit is set;
// a rule with RU_FLAGS 0 matches every packet.
export const RU_SIZE: u32 = 64;
export const RU_SHIFT: u32 = 6; // log2(RU_SIZE)
export const RU_FLAGS: u32 = 0; // u32 RF_*
export const RU_KIND: u32 = 4; // u8 TGT_*
export const RU_PROTO: u32 = 5; // u8 IP protocol number (RF_PROTO_INV: must differ)
export const RU_CTSTATE: u32 = 6; // u8 CTS_* states that match (RF_CTSTATE_INV: none of them)
export const RU_TFLAGS: u32 = 7; // u8 target flags: NATF_* (NAT), CM_* (CONNMARK)
export const RU_JUMP: u32 = 8; // u32 TGT_JUMP / TGT_GOTO: offset of the target chain's first rule
export const RU_NAT_PORTS: u32 = 8; // u32 NAT targets (no jump): first port | last port << 16 (NATF_PORTS)
export const RU_IN: u32 = 12; // u32 offset of the -i interface table (invert folded in)
export const RU_OUT: u32 = 16; // u32 offset of the -o interface table (invert folded in)
export const RU_SRC: u32 = 20; // u32 -s network, host order, masked
export const RU_SMASK: u32 = 24; // u32 -s netmask
export const RU_DST: u32 = 28; // u32 -d network
export const RU_DMASK: u32 = 32; // u32 -d netmask
export const RU_SPORT_LO: u32 = 36; // u16 --sport first port
export const RU_SPORT_SPAN: u32 = 38; // u16 --sport last - first
export const RU_DPORT_LO: u32 = 40; // u16 --dport first port
export const RU_DPORT_SPAN: u32 = 42; // u16 --dport last - first
export const RU_MARK: u32 = 44; // u32 -m mark: the value ((mark & mask) == value)
export const RU_MARK_MASK: u32 = 48; // u32 -m mark: the mask
export const RU_EXT: u32 = 52; // u32 offset of the rule's extension records (RF_EXT)
export const RU_T0: u32 = 56; // u32 target parameter: NAT first address; MARK/CONNMARK value or nfmask; REJECT's with
export const RU_T1: u32 = 60; // u32 target parameter: NAT last address; MARK/CONNMARK mask or ctmask

// Rule flags: which matches the rule has, and which are inverted.
export const RF_IN: u32 = 1;
export const RF_OUT: u32 = 2;
export const RF_PROTO: u32 = 4;
export const RF_SRC: u32 = 8;
export const RF_DST: u32 = 16;
export const RF_DPORT: u32 = 32;
export const RF_SPORT: u32 = 64;
export const RF_CTSTATE: u32 = 128;
export const RF_MARK: u32 = 256;
export const RF_EXT: u32 = 512;
export const RF_PROTO_INV: u32 = 0x10000;
export const RF_SRC_INV: u32 = 0x20000;
export const RF_DST_INV: u32 = 0x40000;
export const RF_DPORT_INV: u32 = 0x80000;
export const RF_SPORT_INV: u32 = 0x100000;
export const RF_CTSTATE_INV: u32 = 0x200000;
export const RF_MARK_INV: u32 = 0x400000;

// Target kinds (RU_KIND, RC_POLICY and the verdict's low byte). The
// deciding kinds come first: rulesRun returns on any kind <= TGT_REJECT.
export const TGT_ACCEPT: u32 = 1;
export const TGT_DROP: u32 = 2;
export const TGT_DNAT: u32 = 3;
export const TGT_SNAT: u32 = 4;
export const TGT_MASQUERADE: u32 = 5;
export const TGT_REJECT: u32 = 6;
export const TGT_RETURN: u32 = 7; // a verdict only when rulesRun starts in a user chain that returns
export const TGT_JUMP: u32 = 8;
export const TGT_GOTO: u32 = 9;
export const TGT_NONE: u32 = 10; // a rule without -j: matches, and the walk goes on
export const TGT_MARK: u32 = 11; // the packet's mark: (mark & ~T1) ^ T0; the walk goes on
export const TGT_CONNMARK: u32 = 12; // TFLAGS CM_*; the walk goes on
export const TGT_NOTRACK: u32 = 13; // PK_NOTRACK = 1; the walk goes on
export const TGT_LOG: u32 = 14; // counted in PK_LOGS; the walk goes on

// Verdict word: TGT_* in the low byte, the byte offset (from the blob's
// start) of the deciding rule above it. A policy's deciding rule is its
// chain's terminating rule; a jump deeper than RULES_MAX_DEPTH is a
// TGT_DROP decided by that jump rule.
export const VERDICT_KIND_MASK: u32 = 0xff;
export const VERDICT_RULE_SHIFT: u32 = 8;
export const RULES_MAX_DEPTH: u32 = 16;

// NAT flags (RU_TFLAGS)
export const NATF_PORTS: u32 = 1; // a port range was given
export const NATF_RANDOM: u32 = 2; // --random
export const NATF_RANDOM_FULLY: u32 = 4; // --random-fully
// CONNMARK modes (RU_TFLAGS)
export const CM_SET: u32 = 1; // ct mark = (ct mark & ~T1) ^ T0
export const CM_SAVE: u32 = 2; // ct mark = (ct mark & ~ctmask) ^ (mark & nfmask)
export const CM_RESTORE: u32 = 3; // mark = (mark & ~nfmask) ^ (ct mark & ctmask)
// REJECT (RU_T0): an ICMP destination-unreachable code, or this for a TCP reset.
export const REJECT_TCP_RESET: u32 = 256;

// Extension records (RU_EXT): X_HDR bytes (u8 type, u8 flags, u16 bytes of the
// whole record), then the payload; the list ends with a zero word.
export const X_HDR: u32 = 4;
export const XF_INV: u32 = 1; // every record: the match is inverted
export const X_SET: u32 = 1; // u16 set index, u8 dimensions, u8 bit i = dimension i is dst
export const X_MULTIPORT: u32 = 2; // flags XF_SRC|XF_DST (either when both); u16 count, u16 0, count x (u16 lo, u16 hi)
export const X_ICMP: u32 = 3; // u8 type (255 any), u8 first code, u8 last code
export const X_TCPFLAGS: u32 = 4; // u8 mask, u8 wanted
export const X_ADDRTYPE: u32 = 5; // u16 source types, u16 destination types (bit = RTN_*), flags XF_*
export const X_LIMIT: u32 = 6; // u32 cost, u32 credit cap (state: RST_CREDIT, RST_PREV)
export const X_RANDOM: u32 = 7; // u32 probability (x 2^31)
export const X_NTH: u32 = 8; // u32 every - 1 (state: RST_NTH)
export const X_CTADDR: u32 = 9; // u8 which CTW_*, 3 x u8 0, u32 address, u32 mask
export const X_CTPORT: u32 = 10; // u8 which CTW_*, u8 0, u16 first, u16 last, u16 0
export const X_CTPROTO: u32 = 11; // u8 protocol
export const X_CTSTATUS: u32 = 12; // u8 CS_* bits (any of them)
export const X_CTEXPIRE: u32 = 13; // u32 first, u32 last (seconds left)
export const X_CTDIR: u32 = 14; // u8 1 = REPLY
export const X_MARK: u32 = 15; // u32 value, u32 mask (a second -m mark)
export const X_CONNMARK: u32 = 16; // u32 value, u32 mask
export const X_RPFILTER: u32 = 17; // flags XF_LOOSE | XF_ACCEPT_LOCAL
export const X_CTSTATE: u32 = 18; // u8 CTS_* states (a state match the rule's core holds no room for, or one that must keep its place)
export const X_PORTS: u32 = 19; // flags XF_SRC or XF_DST; u16 first, u16 last (a port match kept in its place)
export const XF_SRC: u32 = 2; // X_MULTIPORT / X_ADDRTYPE: the source side is tested
export const XF_DST: u32 = 4; // ... the destination side
export const XF_SRC_INV: u32 = 8; // X_ADDRTYPE: the source types inverted
export const XF_DST_INV: u32 = 16; // X_ADDRTYPE: the destination types inverted
export const XF_LIMIT_IN: u32 = 32; // X_ADDRTYPE: --limit-iface-in
export const XF_LIMIT_OUT: u32 = 64; // X_ADDRTYPE: --limit-iface-out
export const XF_STATEFUL: u32 = 2; // X_CT*: the -m conntrack had --ctstate (passes without a connection)
export const XF_LOOSE: u32 = 2; // X_RPFILTER
export const XF_ACCEPT_LOCAL: u32 = 4; // X_RPFILTER
// Which tuple field (X_CTADDR / X_CTPORT)
export const CTW_ORIG_SRC: u32 = 0;
export const CTW_ORIG_DST: u32 = 1;
export const CTW_REPL_SRC: u32 = 2;
export const CTW_REPL_DST: u32 = 3;

// Per-rule state, RST_SIZE bytes per rule struct (terminating rules too).
export const RST_SIZE: u32 = 32;
export const RST_SHIFT: u32 = 1; // rule offset >> RST_SHIFT = state offset (RU_SIZE / RST_SIZE)
export const RST_PACKETS: u32 = 0; // u64 packets that matched it (iptables-save -c)
export const RST_BYTES: u32 = 8; // u64 their bytes
export const RST_CREDIT: u32 = 16; // u32 -m limit: credit
export const RST_PREV: u32 = 20; // u32 -m limit: time of the last look + 1 (0: never)
export const RST_NTH: u32 = 24; // u32 -m statistic --mode nth: the count

// Packet keys: the caller fills PK_SRC..PK_NOW; rulesRun writes PK_MARK,
// PK_NOTRACK, PK_LOGS and PK_LOGGED back, and uses PK_STACK as scratch for its
// jump stack (RULES_MAX_DEPTH u32 return offsets), so one struct per worker,
// not shared between threads.
export const PK_SRC: u32 = 0; // u32 source address, host order
export const PK_DST: u32 = 4; // u32 destination address, host order
export const PK_SPORT: u32 = 8; // u16 source port (TCP/UDP)
export const PK_DPORT: u32 = 10; // u16 destination port
export const PK_PROTO: u32 = 12; // u8 IP protocol
export const PK_CTSTATE: u32 = 13; // u8 one CTS_* state bit, with CTS_SNAT / CTS_DNAT of its connection
export const PK_FRAG: u32 = 14; // u8 1 = a fragment other than the first: ports never match it (as in Linux)
export const PK_CTDIR: u32 = 15; // u8 1 = the packet goes in the reply direction
export const PK_IN: u32 = 16; // u16 ingress link index, PK_NO_LINK = none
export const PK_OUT: u32 = 18; // u16 egress link index, PK_NO_LINK = none
export const PK_TCPFLAGS: u32 = 20; // u8 (NEED_L4)
export const PK_ICMP_TYPE: u32 = 21; // u8 (NEED_L4)
export const PK_ICMP_CODE: u32 = 22; // u8 (NEED_L4)
export const PK_RPF: u32 = 23; // u8 RPF_* (NEED_RPF); 0 until a rule asks (then RPF_KNOWN is set)
export const PK_SRC_TYPE: u32 = 24; // u8 RTN_* of the source (NEED_ADDRTYPE); 0 until a rule asks
export const PK_DST_TYPE: u32 = 25; // u8 ... of the destination
export const PK_SRC_TYPE_IN: u32 = 26; // u8 ... the source's, counting only addresses of the ingress link
export const PK_DST_TYPE_IN: u32 = 27; // u8
export const PK_SRC_TYPE_OUT: u32 = 28; // u8 ... counting only addresses of the egress link
export const PK_DST_TYPE_OUT: u32 = 29; // u8
export const PK_NOTRACK: u32 = 30; // u8 out: 1 = a NOTRACK target matched
export const PK_LOGS: u32 = 31; // u8 out: LOG targets that matched (saturating)
export const PK_MARK: u32 = 32; // u32 in and out: the packet's mark
export const PK_CONN: u32 = 36; // u32 address of the packet's connection, 0 = none
export const PK_LEN: u32 = 40; // u32 bytes of the packet (counters)
export const PK_STATE: u32 = 44; // u32 address of the per-rule state
export const PK_SETS: u32 = 48; // u32 address of the ipset blob, 0 = none
export const PK_RNG: u32 = 52; // u32 address of the u32 random state (-m statistic --mode random)
export const PK_NOW: u32 = 56; // u32 ms (-m limit)
export const PK_LOGGED: u32 = 60; // u32 out: the offset of the last LOG rule that matched
export const PK_STACK: u32 = 64; // RULES_MAX_DEPTH x u32, the evaluator's scratch
export const PK_SIZE: u32 = 128;
export const PK_NO_LINK: u32 = 0xffff;

// Connection tracking states (PK_CTSTATE, RU_CTSTATE)
export const CTS_NEW: u32 = 1;
export const CTS_ESTABLISHED: u32 = 2;
export const CTS_RELATED: u32 = 4;
export const CTS_INVALID: u32 = 8;
export const CTS_UNTRACKED: u32 = 16;
export const CTS_SNAT: u32 = 32;
export const CTS_DNAT: u32 = 64;

// Address types (PK_*_TYPE; X_ADDRTYPE bit 1 << type), RTN_*.
export const RTN_UNICAST: u32 = 1;
export const RTN_LOCAL: u32 = 2;
export const RTN_BROADCAST: u32 = 3;
export const RTN_MULTICAST: u32 = 5;

// Reverse path (PK_RPF)
export const RPF_ALWAYS: u32 = 1; // rpfilter_mt's early yes (0.0.0.0 to a broadcast or local multicast)
export const RPF_UNICAST: u32 = 2; // the route to the source is unicast
export const RPF_LOCAL: u32 = 4; // ... is local
export const RPF_DEV: u32 = 8; // ... and leaves by the ingress link
export const RPF_KNOWN: u32 = 16; // the facts above are computed
