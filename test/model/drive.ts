// Feeding a scenario's events to a host (the model or the engine) and
// comparing what comes out.
import type { LinkChange, Scenario, TrafficEvent } from '../arb/topology.js';
import type { Output, Stats } from './host.js';
import { show } from './show.js';
import { hex } from './wire.js';

/** The data-plane half of the API that ModelHost and Host share (and link.set, for changes mid-traffic). */
export interface DataPlaneLike {
  link: { set(name: string, change: LinkChange): void };
  receive(frames: { link: string; frame: Uint8Array; tag: number }[], now: number): Output[] | Promise<Output[]>;
  send(packets: { packet: Uint8Array; tag: number }[], now: number): Output[] | Promise<Output[]>;
  tick(now: number): Output[] | Promise<Output[]>;
  stats(): Stats | Promise<Stats>;
}

/** An event with its time and tags fixed, ready for any host. */
export type Batch =
  | { kind: 'receive'; now: number; frames: { link: string; frame: Uint8Array; tag: number }[] }
  | { kind: 'send'; now: number; packets: { packet: Uint8Array; tag: number }[] }
  | { kind: 'tick'; now: number }
  | { kind: 'set'; now: number; link: string; change: LinkChange };

/** Times accumulate from 0; tags count up from 1 across the scenario. */
export function batches(events: TrafficEvent[]): Batch[] {
  let now = 0;
  let tag = 1;
  return events.map((e): Batch => {
    now += e.gap;
    if (e.kind === 'receive') return { kind: 'receive', now, frames: e.frames.map((f) => ({ link: f.link, frame: f.frame, tag: tag++ })) };
    if (e.kind === 'send') return { kind: 'send', now, packets: e.packets.map((packet) => ({ packet, tag: tag++ })) };
    if (e.kind === 'set') return { kind: 'set', now, link: e.link, change: e.change };
    return { kind: 'tick', now };
  });
}

export async function runBatch(h: DataPlaneLike, b: Batch): Promise<Output[]> {
  // Copies: neither host may see what the other did to a shared buffer.
  if (b.kind === 'receive') return h.receive(b.frames.map((f) => ({ ...f, frame: f.frame.slice() })), b.now);
  if (b.kind === 'send') return h.send(b.packets.map((p) => ({ ...p, packet: p.packet.slice() })), b.now);
  if (b.kind === 'set') {
    h.link.set(b.link, { ...b.change });
    return [];
  }
  return h.tick(b.now);
}

/** An output as a comparable string: kind, link, tag, bytes in hex, reason. */
export function outputKey(o: Output): string {
  switch (o.kind) {
    case 'tx':
      return `tx ${o.link} ${o.tag >>> 0} ${hex(o.frame)}`;
    case 'local':
      return `local ${o.tag >>> 0} ${hex(o.packet)}`;
    case 'drop':
      return `drop ${o.reason} ${o.tag >>> 0}`;
  }
}

/** Undefined when equal, else a readable account of the first difference. */
export function diffOutputs(model: Output[], engine: Output[]): string | undefined {
  const a = model.map(outputKey);
  const b = engine.map(outputKey);
  if (a.length === b.length && a.every((k, i) => k === b[i])) return undefined;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const list = (os: Output[]) => os.map((o, j) => `  ${j === i ? '>' : ' '} ${show(o)}`).join('\n');
  return [
    `outputs differ at #${i}`,
    `model (${model.length}):\n${list(model)}`,
    `engine (${engine.length}):\n${list(engine)}`,
    ...keyWindow(a[i], b[i]),
  ].join('\n');
}

/** The two keys around their first differing character (bytes are hex: offset = index / 2). */
function keyWindow(a: string | undefined, b: string | undefined): string[] {
  if (a === undefined || b === undefined) return [`model  #: ${a ?? '(none)'}`.slice(0, 200), `engine #: ${b ?? '(none)'}`.slice(0, 200)];
  let d = 0;
  while (d < a.length && a[d] === b[d]) d++;
  const from = Math.max(0, d - 60);
  const cut = (k: string) => (from > 0 ? '…' : '') + k.slice(from, d + 60) + (k.length > d + 60 ? '…' : '');
  const hexStart = a.lastIndexOf(' ', d) + 1;
  return [`first difference at key char ${d} (byte ${Math.floor((d - hexStart) / 2)} of the frame/packet):`, `  model : ${cut(a)}`, `  engine: ${cut(b)}`];
}

/** Fates and non-zero drop reasons, the parts of stats() that must agree exactly. */
export function comparableStats(s: Stats): { fates: Stats['fates']; drops: Record<string, number> } {
  const drops: Record<string, number> = {};
  for (const k of Object.keys(s.drops).sort()) if (s.drops[k]) drops[k] = s.drops[k];
  const f = s.fates;
  return {
    fates: { in: f.in, originated: f.originated, generated: f.generated, sent: f.sent, local: f.local, dropped: f.dropped, queued: f.queued, dequeued: f.dequeued, reassembled: f.reassembled },
    drops,
  };
}

/** Undefined when in + originated + generated == sent + local + dropped + reassembled + (queued - dequeued) and drops add up. */
export function conservationError(s: Stats): string | undefined {
  const f = s.fates;
  const lhs = f.in + f.originated + f.generated;
  const rhs = f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued);
  const dropSum = Object.values(s.drops).reduce((x, y) => x + y, 0);
  if (lhs === rhs && dropSum === f.dropped) return undefined;
  return `conservation broken: in ${f.in} + originated ${f.originated} + generated ${f.generated} = ${lhs}, sent ${f.sent} + local ${f.local} + dropped ${f.dropped} + reassembled ${f.reassembled} + queued ${f.queued} - dequeued ${f.dequeued} = ${rhs}; drop reasons sum to ${dropSum}`;
}

/** Outputs must match the change in the fate counters: one tx per sent, one drop record per drop. */
export function outputsMatchFates(before: Stats, after: Stats, out: Output[]): string | undefined {
  const d = (k: keyof Stats['fates']) => after.fates[k] - before.fates[k];
  const count = (kind: Output['kind']) => out.filter((o) => o.kind === kind).length;
  if (count('tx') !== d('sent')) return `${count('tx')} tx outputs but sent grew by ${d('sent')}`;
  if (count('drop') !== d('dropped')) return `${count('drop')} drop outputs but dropped grew by ${d('dropped')}`;
  if (count('local') > d('local')) return `${count('local')} local outputs but local grew by ${d('local')}`;
  return undefined;
}

/** Runs a whole scenario on one host, checking its own bookkeeping; returns every batch's outputs. */
export async function runScenario(h: DataPlaneLike, sc: Scenario): Promise<Output[][]> {
  const all: Output[][] = [];
  let before = await h.stats();
  for (const b of batches(sc.events)) {
    const out = await runBatch(h, b);
    const after = await h.stats();
    const err = conservationError(after) ?? outputsMatchFates(before, after, out);
    if (err) throw new Error(`${err}\nafter ${b.kind} at ${b.now}:\n${out.map(show).join('\n')}`);
    all.push(out);
    before = after;
  }
  return all;
}
