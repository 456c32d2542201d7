// Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html):
// a 24-byte global header, then a 16-byte header before each frame.
// Written little-endian; read in either byte order.

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const VERSION_MAJOR = 2;
const VERSION_MINOR = 4;
const LINKTYPE_ETHERNET = 1;
const DEFAULT_SNAPLEN = 65535;

// Global header
const GH_MAGIC = 0;
const GH_VERSION_MAJOR = 4;
const GH_VERSION_MINOR = 6;
const GH_THISZONE = 8;
const GH_SIGFIGS = 12;
const GH_SNAPLEN = 16;
const GH_LINKTYPE = 20;
const GLOBAL_HEADER_LEN = 24;

// Record header
const RH_TS_SEC = 0;
const RH_TS_FRAC = 4; // microseconds, or nanoseconds with MAGIC_NSEC
const RH_INCL_LEN = 8;
const RH_ORIG_LEN = 12;
const RECORD_HEADER_LEN = 16;

export class PcapWriter {
  private readonly snaplen: number;
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(opts: { snaplen?: number } = {}) {
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen <= 0) throw new Error(`pcap: invalid snaplen ${this.snaplen}`);
    const h = new DataView(new ArrayBuffer(GLOBAL_HEADER_LEN));
    h.setUint32(GH_MAGIC, MAGIC_USEC, true);
    h.setUint16(GH_VERSION_MAJOR, VERSION_MAJOR, true);
    h.setUint16(GH_VERSION_MINOR, VERSION_MINOR, true);
    h.setInt32(GH_THISZONE, 0, true);
    h.setUint32(GH_SIGFIGS, 0, true);
    h.setUint32(GH_SNAPLEN, this.snaplen, true);
    h.setUint32(GH_LINKTYPE, LINKTYPE_ETHERNET, true);
    this.push(new Uint8Array(h.buffer));
  }

  /** Appends a frame captured at `timeMs` (ms since the epoch, or any origin; kept to the microsecond). */
  add(timeMs: number, frame: Uint8Array): void {
    if (!(timeMs >= 0)) throw new Error(`pcap: invalid time ${timeMs}`);
    const usecTotal = Math.round(timeMs * 1000);
    const incl = Math.min(frame.length, this.snaplen);
    const h = new DataView(new ArrayBuffer(RECORD_HEADER_LEN));
    h.setUint32(RH_TS_SEC, Math.floor(usecTotal / 1e6), true);
    h.setUint32(RH_TS_FRAC, usecTotal % 1e6, true);
    h.setUint32(RH_INCL_LEN, incl, true);
    h.setUint32(RH_ORIG_LEN, frame.length, true);
    this.push(new Uint8Array(h.buffer));
    this.push(frame.slice(0, incl)); // a copy: the caller may reuse its buffer
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  private push(c: Uint8Array): void {
    this.chunks.push(c);
    this.size += c.length;
  }
}

/** Reads a classic pcap file (either byte order, micro- or nanosecond stamps). Frames are copies. */
export function readPcap(bytes: Uint8Array): { timeMs: number; frame: Uint8Array }[] {
  if (bytes.length < GLOBAL_HEADER_LEN) throw new Error(`pcap: truncated global header (${bytes.length} bytes)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  let fracPerMs: number;
  const magicLe = v.getUint32(GH_MAGIC, true);
  const magicBe = v.getUint32(GH_MAGIC, false);
  if (magicLe === MAGIC_USEC || magicBe === MAGIC_USEC) {
    le = magicLe === MAGIC_USEC;
    fracPerMs = 1e3;
  } else if (magicLe === MAGIC_NSEC || magicBe === MAGIC_NSEC) {
    le = magicLe === MAGIC_NSEC;
    fracPerMs = 1e6;
  } else {
    throw new Error(`pcap: bad magic 0x${magicBe.toString(16).padStart(8, '0')} (pcapng is not supported)`);
  }
  const linktype = v.getUint32(GH_LINKTYPE, le) & 0xffff; // upper bits: FCS info
  if (linktype !== LINKTYPE_ETHERNET) throw new Error(`pcap: link type ${linktype}, only Ethernet (1) is supported`);

  const out: { timeMs: number; frame: Uint8Array }[] = [];
  let o = GLOBAL_HEADER_LEN;
  while (o < bytes.length) {
    if (o + RECORD_HEADER_LEN > bytes.length) throw new Error(`pcap: truncated record header at offset ${o}`);
    const sec = v.getUint32(o + RH_TS_SEC, le);
    const frac = v.getUint32(o + RH_TS_FRAC, le);
    const incl = v.getUint32(o + RH_INCL_LEN, le);
    o += RECORD_HEADER_LEN;
    if (o + incl > bytes.length) throw new Error(`pcap: truncated frame at offset ${o} (${incl} bytes announced)`);
    out.push({ timeMs: sec * 1000 + frac / fracPerMs, frame: bytes.slice(o, o + incl) });
    o += incl;
  }
  return out;
}
