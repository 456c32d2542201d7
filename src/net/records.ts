// What a network run hands back besides its counters: deliveries, drops and
// captured frames. Each worker writes them, in the order it makes them, into
// a log of chunks in the shared memory (any thread can); after the run the
// calling thread reads every worker's log and merges them into one canonical
// order: by wave, then by node rank, which is the order one worker alone
// would have made them in.
import * as L from '../engine/layout.gen.js';
import type { CapturedFrame, Delivery, DropRecord } from './types.js';

export const REC_LOCAL = 1;
export const REC_DROP = 2;
export const REC_CAPTURE_IN = 3;
export const REC_CAPTURE_OUT = 4;

const CHUNK = 1 << 20;
// A chunk: next, used, capacity; records from CHUNK_HEADER on.
const CK_NEXT = 0;
const CK_USED = 4;
const CK_CAP = 8;
const CHUNK_HEADER = 16;
// A record: size, kind, time, wave, rank, aux (drop reason or link), length, bytes.
const R_SIZE = 0;
const R_KIND = 4;
const R_TIME = 8;
const R_WAVE = 16;
const R_RANK = 20;
const R_AUX = 24;
const R_LEN = 28;
const R_HEADER = 32;

export interface Memory {
  readonly dv: DataView;
  readonly u8: Uint8Array;
  alloc(size: number): number;
  release(ptr: number, size: number): void;
}

export interface LogRecord {
  kind: number;
  timeMs: number;
  wave: number;
  rank: number;
  aux: number;
  bytes?: Uint8Array;
}

/** Appends a record to worker record wk's log; bytes are copied from the shared memory at src. */
export function logAppend(m: Memory, wk: number, kind: number, time: number, wave: number, rank: number, aux: number, src: number, len: number): void {
  const size = (R_HEADER + len + 7) & ~7;
  let chunk = m.dv.getUint32(wk + L.WK_LOG_TAIL, true);
  if (chunk === 0 || m.dv.getUint32(chunk + CK_USED, true) + size > m.dv.getUint32(chunk + CK_CAP, true)) {
    const cap = Math.max(CHUNK, CHUNK_HEADER + size);
    const fresh = m.alloc(cap);
    const dv = m.dv;
    dv.setUint32(fresh + CK_USED, CHUNK_HEADER, true);
    dv.setUint32(fresh + CK_CAP, cap, true);
    if (chunk === 0) dv.setUint32(wk + L.WK_LOG, fresh, true);
    else dv.setUint32(chunk + CK_NEXT, fresh, true);
    dv.setUint32(wk + L.WK_LOG_TAIL, fresh, true);
    chunk = fresh;
  }
  const dv = m.dv;
  const used = dv.getUint32(chunk + CK_USED, true);
  const r = chunk + used;
  dv.setUint32(r + R_SIZE, size, true);
  dv.setUint32(r + R_KIND, kind, true);
  dv.setFloat64(r + R_TIME, time, true);
  dv.setUint32(r + R_WAVE, wave, true);
  dv.setUint32(r + R_RANK, rank, true);
  dv.setUint32(r + R_AUX, aux, true);
  dv.setUint32(r + R_LEN, len, true);
  if (len > 0) m.u8.copyWithin(r + R_HEADER, src, src + len);
  dv.setUint32(chunk + CK_USED, used + size, true);
}

/** Reads and empties worker record wk's log. */
export function logTake(m: Memory, wk: number): LogRecord[] {
  const out: LogRecord[] = [];
  let chunk = m.dv.getUint32(wk + L.WK_LOG, true);
  while (chunk !== 0) {
    const dv = m.dv;
    const used = dv.getUint32(chunk + CK_USED, true);
    for (let r = chunk + CHUNK_HEADER; r < chunk + used; r += dv.getUint32(r + R_SIZE, true)) {
      const len = dv.getUint32(r + R_LEN, true);
      out.push({
        kind: dv.getUint32(r + R_KIND, true),
        timeMs: dv.getFloat64(r + R_TIME, true),
        wave: dv.getUint32(r + R_WAVE, true),
        rank: dv.getUint32(r + R_RANK, true),
        aux: dv.getUint32(r + R_AUX, true),
        ...(len > 0 ? { bytes: m.u8.slice(r + R_HEADER, r + R_HEADER + len) } : {}),
      });
    }
    const next = dv.getUint32(chunk + CK_NEXT, true);
    m.release(chunk, dv.getUint32(chunk + CK_CAP, true));
    chunk = next;
  }
  m.dv.setUint32(wk + L.WK_LOG, 0, true);
  m.dv.setUint32(wk + L.WK_LOG_TAIL, 0, true);
  return out;
}

/**
 * Merges the workers' logs by (wave, rank). A node's records all come from
 * one worker, in its order, so a stable merge is the one-worker order.
 */
export function mergeLogs(logs: LogRecord[][]): LogRecord[] {
  const all = logs.length === 1 ? logs[0] : logs.flat();
  if (logs.length === 1) return all;
  const idx = all.map((_, i) => i);
  idx.sort((a, b) => all[a].wave - all[b].wave || all[a].rank - all[b].rank || a - b);
  return idx.map((i) => all[i]);
}

/**
 * Takes the outputs a network step left in its context's output vector into
 * worker record wk's log, freeing their buffers (free: the data plane's pool_free).
 */
export function drainOutputs(m: Memory, ctx: number, wk: number, wave: number, time: number, free: (buf: number) => void): void {
  const dv = m.dv;
  const n = dv.getUint32(ctx + L.C_OUT_N, true);
  const vec = dv.getUint32(ctx + L.C_OUT, true);
  for (let i = 0; i < n; i++) {
    const d = vec + i * L.DESC_SIZE;
    const kind = dv.getUint8(d + L.D_KIND);
    const buf = dv.getUint32(d + L.D_BUF, true);
    const off = dv.getUint16(d + L.D_OFF, true);
    const len = dv.getUint16(d + L.D_LEN, true);
    const rank = dv.getUint32(dv.getUint32(d + L.D_HOST, true) + L.H_RANK, true);
    if (kind === L.O_DROP) {
      logAppend(m, wk, REC_DROP, time, wave, rank, dv.getUint16(d + L.D_REASON, true), 0, 0);
      continue;
    }
    const rec = kind === L.O_LOCAL ? REC_LOCAL : kind === L.O_CAPTURE_IN ? REC_CAPTURE_IN : kind === L.O_CAPTURE_OUT ? REC_CAPTURE_OUT : 0;
    if (rec !== 0) logAppend(m, wk, rec, time, wave, rank, rec === REC_LOCAL ? 0 : dv.getUint16(d + L.D_LINK, true), buf + off, len);
    if (buf !== 0) free(buf);
  }
  m.dv.setUint32(ctx + L.C_OUT_N, 0, true);
}

/** Where a host's records go. */
export interface RecordSink {
  name: string;
  delivered(d: Delivery): void;
  dropped(d: DropRecord): void;
  captured(link: number, frame: CapturedFrame): void;
}

/** Takes every worker's log of network record `net`, in the canonical order, to the sink of each record's host. */
export function takeRecords(m: Memory, net: number, workers: number, sinkOf: (rank: number) => RecordSink | undefined): void {
  const wks = m.dv.getUint32(net + L.NT_WK, true);
  const logs = Array.from({ length: workers }, (_, k) => logTake(m, wks + k * L.WK_SIZE));
  for (const r of mergeLogs(logs)) {
    const sink = sinkOf(r.rank);
    if (!sink) continue;
    const bytes = r.bytes ?? new Uint8Array(0);
    if (r.kind === REC_LOCAL) sink.delivered({ timeMs: r.timeMs, packet: bytes });
    else if (r.kind === REC_DROP) sink.dropped({ timeMs: r.timeMs, host: sink.name, reason: L.DROP_NAMES[r.aux] ?? `reason ${r.aux}` });
    else if (r.kind === REC_CAPTURE_IN || r.kind === REC_CAPTURE_OUT) sink.captured(r.aux, { timeMs: r.timeMs, frame: bytes, direction: r.kind === REC_CAPTURE_IN ? 'in' : 'out' });
  }
}
