// What Linux and podnet sent, compared link by link, byte for byte, except
// what Linux leaves to chance or to its wall clock: the IP ID of a packet the
// host makes itself (ICMP errors and echo replies leave without DF, and Linux
// draws their ID from a hashed, boot-keyed counter, ip_select_ident), and the
// times an IP timestamp option records (ms since midnight by the wall clock
// against podnet's virtual one), also inside the packet an ICMP error quotes.
// The checksums these change are checked valid first, then masked.
import { showFrame } from '../model/show.js';
import type { KCase, KOut } from './setup.js';
import { describeCase, wireLinks } from './setup.js';
import { checksum } from '../model/wire.js';

const ETH_HLEN = 14;
const IPOPT_TIMESTAMP = 0x44;

/**
 * Zeroes the time fields of a timestamp option in the IPv4 header at `ip`
 * (as far as the frame holds it); true when there was one.
 */
function maskTimestamps(f: Uint8Array, ip: number): boolean {
  if (f.length < ip + 20) return false;
  const end = Math.min(f.length, ip + (f[ip] & 15) * 4);
  let found = false;
  for (let p = ip + 20; p < end; ) {
    const type = f[p];
    if (type === 0) break;
    if (type === 1) {
      p++;
      continue;
    }
    const len = p + 1 < end ? f[p + 1] : 0;
    if (len < 2 || p + len > end) break;
    if (type === IPOPT_TIMESTAMP && len >= 4) {
      found = true;
      // Times only (flag 0), or address and time pairs (flags 1 and 3).
      const how = f[p + 3] & 15;
      const first = how === 0 ? 4 : 8;
      const step = how === 0 ? 4 : 8;
      if (how === 0 || how === 1 || how === 3) for (let t = p + first; t + 4 <= p + len; t += step) f.fill(0, t, t + 4);
    }
    p += len;
  }
  return found;
}

/** Hex of the frame with what Linux leaves to chance masked (see above). */
function key(o: KOut, generated: boolean): string {
  const f = o.frame.slice();
  if (f.length >= ETH_HLEN + 20 && f[12] === 0x08 && f[13] === 0x00) {
    const ip = ETH_HLEN;
    const ihl = (f[ip] & 15) * 4;
    const headerOk = f.length >= ip + ihl && checksum(f, ip, ip + ihl) === 0;
    let maskHeader = false;
    if (generated) {
      f.fill(0, ip + 4, ip + 6);
      maskHeader = true;
    }
    if (maskTimestamps(f, ip)) maskHeader = true;
    // An ICMP error quotes the packet it is about: its timestamps too.
    const total = Math.min(f.length, ip + ((f[ip + 2] << 8) | f[ip + 3]));
    const icmp = ip + ihl;
    const first = (((f[ip + 6] << 8) | f[ip + 7]) & 0x1fff) === 0;
    if (f[ip + 9] === 1 && first && total >= icmp + 8 + 20 && [3, 4, 5, 11, 12].includes(f[icmp])) {
      const icmpOk = checksum(f, icmp, total) === 0;
      if (maskTimestamps(f, icmp + 8)) f.fill(icmpOk ? 0 : 0xff, icmp + 2, icmp + 4);
    }
    if (maskHeader) f.fill(headerOk ? 0 : 0xff, ip + 10, ip + 12);
  }
  return Buffer.from(f).toString('hex');
}

export interface Disagreement {
  link: string;
  index: number;
  linux?: string;
  podnet?: string;
}

/** An ICMP time exceeded for a reassembly that timed out (type 11, code 1). */
function isReasmTimeout(f: Uint8Array): boolean {
  if (f.length < ETH_HLEN + 28 || f[12] !== 0x08 || f[13] !== 0x00 || f[ETH_HLEN + 9] !== 1) return false;
  const icmp = ETH_HLEN + (f[ETH_HLEN] & 15) * 4;
  return f[icmp] === 11 && f[icmp + 1] === 1;
}

/**
 * Runs of reassembly timeouts in a canonical order: queues that expire
 * together fire in the order of Linux's timer wheel (newest first within a
 * bucket of up to 32 ms for a 1 s ipfrag_time, of up to 2 s for 30 s),
 * podnet's in the order the queues were made.
 */
function canonical(os: { o: KOut; k: string }[]): { o: KOut; k: string }[] {
  const out: { o: KOut; k: string }[] = [];
  for (let i = 0; i < os.length; ) {
    let j = i;
    while (j < os.length && isReasmTimeout(os[j].o.frame)) j++;
    if (j > i) {
      out.push(...os.slice(i, j).sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0)));
      i = j;
    } else out.push(os[i++]);
  }
  return out;
}

/**
 * The first disagreement on each link: the i-th frame out of a link on one
 * side against the i-th on the other. Frames pair up in order (reassembly
 * timeouts of one moment in a canonical order); a frame is treated as
 * generated when podnet says its copy is.
 */
export function compareOutputs(c: KCase, linux: KOut[], podnet: KOut[]): Disagreement[] {
  const out: Disagreement[] = [];
  for (const link of wireLinks(c.setup)) {
    const b = canonical(podnet.filter((o) => o.link === link).map((o) => ({ o, k: key(o, o.generated ?? false) })));
    const a = canonical(linux.filter((o) => o.link === link).map((o, i) => ({ o, k: key(o, b[i]?.o.generated ?? isReasmTimeout(o.frame)) })));
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const gen = b[i]?.o.generated ?? false;
      const ka = a[i] && key(a[i].o, gen);
      const kb = b[i] && b[i].k;
      if (ka !== kb) {
        out.push({ link, index: i, linux: a[i] && showFrame(a[i].o.frame), podnet: b[i] && showFrame(b[i].o.frame) });
        break;
      }
    }
  }
  return out;
}

/** A readable account: the case's setup, its frames, and both sides' outputs. */
export function explain(c: KCase, linux: KOut[], podnet: KOut[], d: Disagreement[]): string {
  const lines = [
    describeCase(c),
    ...c.steps.flatMap((st) => st.frames).map((f, i) => `frame ${i}: ${Buffer.from(f.frame).toString('hex')}`),
    'linux sent:',
    ...linux.map((o) => `  ${o.link}: ${showFrame(o.frame)}`),
    'podnet sent:',
    ...podnet.map((o) => `  ${o.link}: ${showFrame(o.frame)}${o.generated ? ' [gen]' : ''}`),
    ...d.map((x) => `first difference on ${x.link} at #${x.index}:\n  linux : ${x.linux ?? '(nothing)'}\n  podnet: ${x.podnet ?? '(nothing)'}`),
  ];
  return lines.join('\n');
}
