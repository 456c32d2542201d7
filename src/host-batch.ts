// What a Host does with a batch: frames received and packets sent checked and
// laid out in a context's input, cut so outputs and buffers always suffice,
// run, and the outputs read back; tick and the caller-laid fast path.
import { Context, mainContext } from './engine/context.js';
import { auditBuffers } from './engine/audit.js';
import * as L from './engine/layout.gen.js';
import { makeRoom } from './tables/growth.js';
import type { Host } from './host.js';
import type { Output } from './host-types.js';

/** The host's clock: ms in a u32, as the data plane keeps time. */
const MAX_NOW = 0xffff_ffff;

/** Frames received on links; returns what the host did with them. */
export function receiveFrames(h: Host, frames: { link: string; frame: Uint8Array; tag?: number }[], now: number): Output[] {
  const what = `${h.name}: receive`;
  checkNow(h, what, now);
  if (!Array.isArray(frames)) throw new Error(`${what}: frames must be a list of { link, frame }`);
  const links = frames.map((f, i) => {
    if (!f || typeof f !== 'object') throw new Error(`${what}: frame #${i} must be an object { link, frame }`);
    if (!(f.frame instanceof Uint8Array)) throw new Error(`${what}: frame #${i} must be a Uint8Array`);
    checkTag(what, f.tag, `frame #${i}`);
    return h.linkIndex(f.link);
  });
  return run(h, frames.length, now, (ctx, i, j) => {
    const f = frames[i];
    ctx.setInput(j, L.K_RX, links[i], f.frame, f.tag ?? i);
  });
}

/** IPv4 packets from the host's own stack (source 0.0.0.0: routing chooses). */
export function sendPackets(h: Host, packets: { packet: Uint8Array; tag?: number }[], now: number): Output[] {
  const what = `${h.name}: send`;
  checkNow(h, what, now);
  if (!Array.isArray(packets)) throw new Error(`${what}: packets must be a list of { packet }`);
  packets.forEach((p, i) => {
    if (!p || typeof p !== 'object') throw new Error(`${what}: packet #${i} must be an object { packet }`);
    if (!(p.packet instanceof Uint8Array)) throw new Error(`${what}: packet #${i} must be a Uint8Array`);
    checkTag(what, p.tag, `packet #${i}`);
  });
  return run(h, packets.length, now, (ctx, i, j) => {
    ctx.setInput(j, L.K_ORIGINATE, 0, packets[i].packet, packets[i].tag ?? i, L.HEADROOM + 14);
  });
}

/** Lets time pass: neighbour timers fire. */
export function tickHost(h: Host, now: number): Output[] {
  checkNow(h, `${h.name}: tick`, now);
  h.commit();
  const ctx = mainContext(h.engine);
  ctx.recordDrops = true;
  return collect(h, ctx, ctx.tick(h.ptr, now));
}

/** Runs a batch the caller laid out in ctx's input vector (the fast path). */
export function processBatch(h: Host, ctx: Context, n: number, now: number): number {
  const what = `${h.name}: process`;
  if (!(ctx instanceof Context)) throw new Error(`${what}: ctx must be a Context of the host's engine`);
  checkNow(h, what, now);
  if (!Number.isInteger(n) || n < 0 || n > ctx.batch) throw new Error(`${what}: n must be an integer 0..${ctx.batch}, got ${n}`);
  prepare(h, n);
  return ctx.process(h.ptr, n, now);
}

function checkNow(h: Host, what: string, now: number): void {
  if (!Number.isInteger(now) || now < 0 || now > MAX_NOW) throw new Error(`${what}: now must be an integer number of ms 0..${MAX_NOW}, got ${now}`);
  if (now < h.now) throw new Error(`${what}: now ${now} is before the host's clock (${h.now})`);
}

function checkTag(what: string, tag: unknown, whose: string): void {
  if (tag !== undefined && !(Number.isInteger(tag) && (tag as number) >= 0 && (tag as number) <= 0xffff_ffff)) {
    throw new Error(`${what}: tag ${String(tag)} of ${whose} is not an integer 0..${0xffff_ffff}`);
  }
}

/** Before a batch of n: configuration published, and tables with room for what n packets can add. */
function prepare(h: Host, n: number): void {
  h.commit();
  makeRoom(h.growth, h.ptr, n);
}

function run(h: Host, count: number, now: number, fill: (ctx: Context, i: number, j: number) => void): Output[] {
  h.commit();
  const ctx = mainContext(h.engine);
  ctx.recordDrops = true;
  const out: Output[] = [];
  // A frame can fan out to every link (a flood) plus a few generated packets:
  // batches are cut so the outputs and the buffer pool always suffice.
  const fanout = h.links.length + 4;
  const step = Math.max(1, Math.min(ctx.batch, Math.floor(ctx.outputs / fanout), Math.floor(ctx.buffers / (2 * fanout))));
  // No packets is still time passing: the timers run.
  for (let start = 0; start < count || start === 0; start += step) {
    const n = Math.min(step, count - start);
    prepare(h, n);
    for (let j = 0; j < n; j++) fill(ctx, start + j, j);
    for (const o of collect(h, ctx, ctx.process(h.ptr, n, now))) out.push(o);
  }
  return out;
}

function collect(h: Host, ctx: Context, n: number): Output[] {
  const out: Output[] = [];
  const u8 = h.engine.u8;
  for (let i = 0; i < n; i++) {
    const o = ctx.readOutput(i);
    if (o.kind === L.O_DROP) {
      out.push({ kind: 'drop', reason: L.DROP_NAMES[o.reason] ?? `reason ${o.reason}`, tag: o.tag });
      continue;
    }
    const bytes = u8.slice(o.buf + o.off, o.buf + o.off + o.len);
    if (o.kind === L.O_TX) out.push({ kind: 'tx', link: h.links[o.link].name, frame: bytes, tag: o.tag });
    else out.push({ kind: 'local', packet: bytes, tag: o.tag });
    ctx.freeBuffer(o.buf);
  }
  // Every buffer back, or in a queue: no call leaves one behind.
  if (h.engine.audit) auditBuffers(h.engine, [ctx]);
  return out;
}
