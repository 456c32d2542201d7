// The rule engine's memory contract: the compiled ruleset blob that
// src/netfilter/compile.ts builds and assembly/tables/rules.ts walks, the
// packet-key struct the caller fills, and the verdict word. Constants only;
// scripts/gen-layout.mjs copies them into src/engine/layout.gen.ts.
//
// Blob (position independent: every offset is from the blob's start, so it
// can be copied anywhere; little-endian like the rest of the memory):
//   header   RS_HDR_SIZE bytes (RS_*)
//   chains   RS_NCHAINS entries of RC_SIZE bytes, indexed by chain id: the
//            builtin ids CHAIN_* first, then the user chains (filter's, then nat's)
//   rules    RU_SIZE bytes each; each chain's rules are contiguous and
//            followed by one terminating rule that matches everything: its
//            kind is the chain's policy (builtin chains) or TGT_RETURN (user
//            chains), so the walk needs no end test
//   iftabs   interface patterns: RS_NLINKS + 1 bytes each (padded to 4),
//            byte i = 1 when the rule's -i/-o (invert applied) matches link i;
//            byte RS_NLINKS is the answer for "no interface" (and for link
//            indexes the blob was not compiled for)

// Header
export const RS_MAGIC: u32 = 0; // u32 RULES_MAGIC
export const RS_SIZE: u32 = 4; // u32 bytes of the blob
export const RS_NLINKS: u32 = 8; // u32 links the interface tables were compiled for
export const RS_NCHAINS: u32 = 12; // u32 chain entries
export const RS_NRULES: u32 = 16; // u32 rule structs, terminating ones included
export const RS_CHAINS: u32 = 20; // u32 offset of the chain entries
export const RS_RULES: u32 = 24; // u32 offset of the first rule
export const RS_IFTABS: u32 = 28; // u32 offset of the interface tables
export const RS_HDR_SIZE: u32 = 32;
export const RULES_MAGIC: u32 = 0x3152464e; // 'NFR1'

// Chain entry
export const RC_SIZE: u32 = 16;
export const RC_RULES: u32 = 0; // u32 offset of its first rule
export const RC_COUNT: u32 = 4; // u32 rules, not counting the terminating one
export const RC_POLICY: u32 = 8; // u32 TGT_ACCEPT / TGT_DROP (builtin), TGT_RETURN (user)
export const RC_FLAGS: u32 = 12; // u32 RCF_*
export const RCF_BUILTIN: u32 = 1;

// Chain ids of the builtin chains (rulesRun's `chain`)
export const CHAIN_FILTER_INPUT: u32 = 0;
export const CHAIN_FILTER_FORWARD: u32 = 1;
export const CHAIN_FILTER_OUTPUT: u32 = 2;
export const CHAIN_NAT_PREROUTING: u32 = 3;
export const CHAIN_NAT_INPUT: u32 = 4;
export const CHAIN_NAT_OUTPUT: u32 = 5;
export const CHAIN_NAT_POSTROUTING: u32 = 6;
export const CHAINS_BUILTIN: u32 = 7;

// Rule: one 64-byte struct. A match is tested only when its RF_ bit is set;
// a rule with RU_FLAGS 0 matches every packet.
export const RU_SIZE: u32 = 64;
export const RU_FLAGS: u32 = 0; // u32 RF_*
export const RU_KIND: u32 = 4; // u32 TGT_*
export const RU_JUMP: u32 = 8; // u32 TGT_JUMP: offset of the target chain's first rule
export const RU_IN: u32 = 12; // u32 offset of the -i interface table (invert folded in)
export const RU_OUT: u32 = 16; // u32 offset of the -o interface table (invert folded in)
export const RU_PROTO: u32 = 20; // u32 IP protocol number (RF_PROTO_INV: must differ)
export const RU_SRC: u32 = 24; // u32 -s network, host order, masked
export const RU_SMASK: u32 = 28; // u32 -s netmask
export const RU_DST: u32 = 32; // u32 -d network
export const RU_DMASK: u32 = 36; // u32 -d netmask
export const RU_SPORT_LO: u32 = 40; // u16 --sport first port
export const RU_SPORT_SPAN: u32 = 42; // u16 --sport last - first
export const RU_DPORT_LO: u32 = 44; // u16 --dport first port
export const RU_DPORT_SPAN: u32 = 46; // u16 --dport last - first
export const RU_CTSTATE: u32 = 48; // u8 CTS_* states that match (invert folded in)
export const RU_AT_CARE: u32 = 49; // u8 AT_* bits the addrtype match looks at
export const RU_AT_WANT: u32 = 50; // u8 their required values
export const RU_NAT_FLAGS: u32 = 51; // u8 NATF_*
export const RU_NAT_ADDR: u32 = 52; // u32 DNAT/SNAT: first address (host order); MASQUERADE: 0
export const RU_NAT_ADDR_HI: u32 = 56; // u32 last address (= first when no range)
export const RU_NAT_PORT_LO: u32 = 60; // u16 first port (NATF_PORTS)
export const RU_NAT_PORT_HI: u32 = 62; // u16 last port

// Rule flags: which matches the rule has, and which are inverted.
export const RF_IN: u32 = 1;
export const RF_OUT: u32 = 2;
export const RF_PROTO: u32 = 4;
export const RF_SRC: u32 = 8;
export const RF_DST: u32 = 16;
export const RF_DPORT: u32 = 32;
export const RF_SPORT: u32 = 64;
export const RF_CTSTATE: u32 = 128;
export const RF_ADDRTYPE: u32 = 256;
export const RF_PROTO_INV: u32 = 0x10000;
export const RF_SRC_INV: u32 = 0x20000;
export const RF_DST_INV: u32 = 0x40000;
export const RF_DPORT_INV: u32 = 0x80000;
export const RF_SPORT_INV: u32 = 0x100000;

// Target kinds (RU_KIND, RC_POLICY and the verdict's low byte). The
// deciding kinds come first: rulesRun returns on any kind <= TGT_MASQUERADE.
export const TGT_ACCEPT: u32 = 1;
export const TGT_DROP: u32 = 2;
export const TGT_DNAT: u32 = 3;
export const TGT_SNAT: u32 = 4;
export const TGT_MASQUERADE: u32 = 5;
export const TGT_RETURN: u32 = 6; // a verdict only when rulesRun starts in a user chain that returns
export const TGT_JUMP: u32 = 7;
export const TGT_NONE: u32 = 8; // a rule without -j: matches, and the walk goes on

// Verdict word: TGT_* in the low byte, the byte offset (from the blob's
// start) of the deciding rule above it. A policy's deciding rule is its
// chain's terminating rule; a jump deeper than RULES_MAX_DEPTH is a
// TGT_DROP decided by that jump rule.
export const VERDICT_KIND_MASK: u32 = 0xff;
export const VERDICT_RULE_SHIFT: u32 = 8;
export const RULES_MAX_DEPTH: u32 = 16;

// NAT flags (RU_NAT_FLAGS)
export const NATF_PORTS: u32 = 1; // a port range was given
export const NATF_RANDOM: u32 = 2; // --random
export const NATF_RANDOM_FULLY: u32 = 4; // --random-fully

// Packet keys: the caller fills PK_SRC..PK_OUT; rulesRun uses PK_STACK as
// scratch for its jump stack (RULES_MAX_DEPTH u32 return offsets), so one
// struct per worker, not shared between threads.
export const PK_SRC: u32 = 0; // u32 source address, host order
export const PK_DST: u32 = 4; // u32 destination address, host order
export const PK_SPORT: u32 = 8; // u16 source port (TCP/UDP)
export const PK_DPORT: u32 = 10; // u16 destination port
export const PK_PROTO: u32 = 12; // u8 IP protocol
export const PK_CTSTATE: u32 = 13; // u8 one CTS_* bit
export const PK_SRC_LOCAL: u32 = 14; // u8 1 = the source is an address of this host
export const PK_DST_LOCAL: u32 = 15; // u8 1 = the destination is an address of this host
export const PK_IN: u32 = 16; // u16 ingress link index, PK_NO_LINK = none
export const PK_OUT: u32 = 18; // u16 egress link index, PK_NO_LINK = none
export const PK_FRAG: u32 = 20; // u8 1 = a fragment other than the first: --sport/--dport never match it (as in Linux)
export const PK_STACK: u32 = 32; // RULES_MAX_DEPTH x u32, the evaluator's scratch
export const PK_SIZE: u32 = 96;
export const PK_NO_LINK: u32 = 0xffff;

// Connection tracking states (PK_CTSTATE, RU_CTSTATE)
export const CTS_NEW: u32 = 1;
export const CTS_ESTABLISHED: u32 = 2;
export const CTS_RELATED: u32 = 4;
export const CTS_INVALID: u32 = 8;
export const CTS_UNTRACKED: u32 = 16;

// addrtype bits (RU_AT_CARE, RU_AT_WANT)
export const AT_SRC_LOCAL: u32 = 1;
export const AT_DST_LOCAL: u32 = 2;
