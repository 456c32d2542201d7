// The fuzzer's frame templates and recipes (assembly/fuzz/render.ts renders
// them; src/fuzz/templates.ts lays the templates out). A recipe is
// FUZZ_WORDS u32s: which template, a word for each of its knobs, a mutation
// and its argument, and the time to let pass before the frame (the caller's).
export const FUZZ_WORDS: u32 = 12;
export const FW_TEMPLATE: u32 = 0;
export const FW_KNOBS: u32 = 1; // FUZZ_KNOBS words
export const FW_MUTATION: u32 = 9; // MUT_* (modulo MUT_COUNT)
export const FW_MUT_ARG: u32 = 10; // position in the low 16 bits, a bit or a byte value above
export const FW_GAP: u32 = 11; // ms before the frame is sent
export const FUZZ_KNOBS: u32 = 8;

// A template: a frame and the fields a recipe varies.
export const TP_HOST: u32 = 0; // u32 the host it is sent to
export const TP_LINK: u32 = 4; // u16 the link it arrives on
export const TP_KIND: u32 = 6; // u8 K_RX
export const TP_FLAGS: u32 = 7; // u8 TPF_*
export const TP_LEN: u32 = 8; // u16 bytes of the frame as it stands
export const TP_IP: u32 = 10; // u16 offset of the (outer) IPv4 header
export const TP_INNER: u32 = 12; // u16 offset of the inner IPv4 header (TPF_INNER)
export const TP_L4: u32 = 14; // u16 offset of the innermost TCP/UDP/ICMP header (TPF_L4)
export const TP_L4HDR: u32 = 16; // u16 bytes of that header (a size knob sets the payload after it)
export const TP_NKNOBS: u32 = 18; // u8
export const TP_MAX: u32 = 20; // u16 bytes of frame the template has room for (the size knob's largest)
export const TP_KNOBS: u32 = 24; // FUZZ_KNOBS x KN_SIZE
export const TP_BYTES: u32 = 120; // the frame, TP_MAX bytes
export const TPF_IP: u32 = 1; // checksums are fixed after the knobs
export const TPF_INNER: u32 = 2;
export const TPF_L4: u32 = 4;
export const TPF_ARP: u32 = 8; // an ARP packet: its sender fields are never mutated

// A knob: a field and the values it takes.
export const KN_SIZE: u32 = 12;
export const KN_OFF: u32 = 0; // u16 offset in the frame
export const KN_WIDTH: u32 = 2; // u8 1, 2, 4 (big-endian) or 6 (a MAC); 0: the innermost payload's length
export const KN_COUNT: u32 = 4; // u32 values in the list; 0: any value (the recipe word itself)
export const KN_LIST: u32 = 8; // u32 address of the values: u32 each, or u64 for MACs

// Mutations, applied after the knobs and the checksums.
export const MUT_NONE: u32 = 0;
export const MUT_FLIP: u32 = 1; // flip a bit
export const MUT_FLIP_FIX: u32 = 2; // flip a bit, then fix the checksums again
export const MUT_TRUNCATE: u32 = 3; // cut the frame short
export const MUT_SET: u32 = 4; // set a byte
export const MUT_SET_FIX: u32 = 5; // set a byte, then fix the checksums again
export const MUT_GARBAGE: u32 = 6; // random bytes after the Ethernet header
export const MUT_PAD: u32 = 7; // padding after the packet
export const MUT_COUNT: u32 = 8;

// A rendered frame, as fuzz_render writes them back to back (each padded to
// 8 bytes): where it goes, its tag, and its bytes.
export const PKD_HOST: u32 = 0; // u32 the host struct
export const PKD_TAG: u32 = 4; // u32
export const PKD_LINK: u32 = 8; // u16 the link it arrives on
export const PKD_LEN: u32 = 10; // u16 bytes of frame
export const PKD_KIND: u32 = 12; // u8 K_RX
export const PKD_HDR: u32 = 16;
