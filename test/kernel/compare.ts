// What Linux and podnet sent, compared link by link, byte for byte, except
// what Linux leaves to chance: the IP ID of a packet the host makes itself
// (ICMP errors and echo replies leave without DF, and Linux draws their ID
// from a hashed, boot-keyed counter, ip_select_ident), and with it the
// header checksum. Both are checked valid, then masked.
import { showFrame } from '../model/show.js';
import type { KCase, KOut } from './setup.js';
import { describeCase, wireLinks } from './setup.js';
import { checksum } from '../model/wire.js';

const ETH_HLEN = 14;

/** Hex of the frame with the IP ID and header checksum of a generated IPv4 packet zeroed. */
function key(o: KOut, generated: boolean): string {
  const f = o.frame.slice();
  if (generated && f.length >= ETH_HLEN + 20 && f[12] === 0x08 && f[13] === 0x00) {
    const ihl = (f[ETH_HLEN] & 15) * 4;
    const headerOk = f.length >= ETH_HLEN + ihl && checksum(f, ETH_HLEN, ETH_HLEN + ihl) === 0;
    f.fill(0, ETH_HLEN + 4, ETH_HLEN + 6);
    f.fill(headerOk ? 0 : 0xff, ETH_HLEN + 10, ETH_HLEN + 12);
  }
  return Buffer.from(f).toString('hex');
}

export interface Disagreement {
  link: string;
  index: number;
  linux?: string;
  podnet?: string;
}

/**
 * The first disagreement on each link: the i-th frame out of a link on one
 * side against the i-th on the other. Frames pair up in order; a frame is
 * treated as generated when podnet says its copy is.
 */
export function compareOutputs(c: KCase, linux: KOut[], podnet: KOut[]): Disagreement[] {
  const out: Disagreement[] = [];
  for (const link of wireLinks(c.setup)) {
    const a = linux.filter((o) => o.link === link);
    const b = podnet.filter((o) => o.link === link);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const gen = b[i]?.generated ?? false;
      const ka = a[i] && key(a[i], gen);
      const kb = b[i] && key(b[i], gen);
      if (ka !== kb) {
        out.push({ link, index: i, linux: a[i] && showFrame(a[i].frame), podnet: b[i] && showFrame(b[i].frame) });
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
