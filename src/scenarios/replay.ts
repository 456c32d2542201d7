// Replays captured frames into one link of a network on the capture's own
// clock: frame i arrives at (its time - the first frame's time) ms of virtual
// time. What happens until the next frame arrives is frame i's fate: where it
// was delivered or dropped, and which links sent what.
import type { Capture, Network } from '../network.js';
import { describe } from '../packet/craft.js';
import { PcapWriter } from '../packet/pcap.js';
import { settle } from './probe.js';

export interface ReplayFate {
  index: number;
  /** Virtual time it arrived at (ms from the first frame). */
  timeMs: number;
  summary: string;
  /** Hosts whose sockets took a packet in its window. */
  delivered: string[];
  dropped: { host: string; reason: string }[];
  /** Frames links sent in its window ('host:link'), described. */
  emitted: { link: string; summary: string }[];
}

export interface ReplayResult {
  fates: ReplayFate[];
  /** The capture's first timestamp (ms since the epoch): output files keep the capture's clock. */
  originMs: number;
  /** What each link sent, as pcap files ('host:link' -> bytes); links that sent nothing are left out. */
  emitted(): Map<string, Uint8Array>;
}

export function replay(net: Network, into: string, frames: { timeMs: number; frame: Uint8Array }[]): ReplayResult {
  const captures = new Map<string, Capture>();
  for (const h of net.hosts) for (const l of h.link.list()) captures.set(`${h.name}:${l.name}`, net.capture(`${h.name}:${l.name}`));
  const origin = frames.length ? frames[0].timeMs : 0;
  const start = net.now;
  const fates: ReplayFate[] = [];
  let open: { fate: ReplayFate; drops: number; delivered: number[]; seen: Map<string, number> } | undefined;

  const mark = () => ({
    drops: net.drops().length,
    delivered: net.hosts.map((h) => net.delivered(h.name).length),
    seen: new Map([...captures].map(([k, c]) => [k, c.frames.length])),
  });
  const close = () => {
    if (!open) return;
    const { fate } = open;
    fate.dropped = net.drops().slice(open.drops).map((d) => ({ host: d.host, reason: d.reason }));
    net.hosts.forEach((h, i) => {
      if (net.delivered(h.name).length > open!.delivered[i]) fate.delivered.push(h.name);
    });
    for (const [link, c] of captures) {
      for (const f of c.frames.slice(open.seen.get(link))) if (f.direction === 'out') fate.emitted.push({ link, summary: describe(f.frame) });
    }
    open = undefined;
  };

  for (const [index, f] of frames.entries()) {
    // A capture out of order (merged files) is replayed in file order, never back in time.
    const at = Math.max(net.now, start + f.timeMs - origin);
    if (at > net.now) net.run({ until: at });
    close();
    const fate: ReplayFate = { index, timeMs: at - start, summary: describe(f.frame), delivered: [], dropped: [], emitted: [] };
    fates.push(fate);
    open = { fate, ...mark() };
    net.inject(into, [f.frame]);
    net.run();
  }
  settle(net);
  close();

  return {
    fates,
    originMs: origin,
    emitted() {
      const files = new Map<string, Uint8Array>();
      for (const [link, c] of captures) {
        const out = c.frames.filter((f) => f.direction === 'out');
        if (out.length === 0) continue;
        const w = new PcapWriter();
        for (const f of out) w.add(origin + f.timeMs - start, f.frame);
        files.set(link, w.bytes());
      }
      return files;
    },
  };
}

/** One line: `#3 0.120 ms <frame>: delivered at web; out docker-host:veth0`. */
export function formatFate(f: ReplayFate): string {
  const what: string[] = [];
  if (f.delivered.length) what.push(`delivered at ${f.delivered.join(', ')}`);
  if (f.dropped.length) what.push(`dropped ${f.dropped.map((d) => `${d.reason} at ${d.host}`).join(', ')}`);
  const links = [...new Set(f.emitted.map((e) => e.link))];
  if (links.length) what.push(`sent on ${links.join(', ')}`);
  if (what.length === 0) what.push('no effect');
  return `#${f.index + 1}  ${f.timeMs.toFixed(3)} ms  ${f.summary}\n      ${what.join('; ')}`;
}
