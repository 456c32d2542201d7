// IPv4 reassembly (ip_defrag, ip_frag_queue, inet_frag_queue_insert,
// ip_frag_reasm, ip_expire), one queue per (src, dst, id, proto, user), kept
// as a sorted list of fragments. The 4 MiB limit (ipfrag_high_thresh) is the
// engine's to test: scenarios here never come near it.
import type { ModelHost } from './host.js';
import { icmpError, peerOf, type RxCtx } from './icmp.js';
import type { CompiledOptions } from './options.js';
import { checksum, get16, get32, put16 } from './wire.js';

export type FragUser = 'local' | 'conntrack';

interface Frag {
  start: number;
  end: number;
  /** The fragment as held: its header and payload, cut to end - start. */
  ip: Uint8Array;
  tag: number;
  cast: RxCtx['cast'];
  /** Begins a run of adjacent fragments (an rb-tree node of its own). */
  run: boolean;
}

export interface FragQueue {
  seq: number;
  user: FragUser;
  expires: number;
  first: boolean;
  last: boolean;
  len: number;
  meat: number;
  maxSize: number;
  maxDf: number;
  ecn: number;
  rid: number;
  /** By offset. */
  frags: Frag[];
  /** fragments_tail: the fragment that ends furthest. */
  tail?: Frag;
  /** The first fragment's compiled options (local delivery). */
  opts?: CompiledOptions;
}

/** A datagram made whole: its bytes, the sizes its fragments had, its largest fragment, its first fragment's frame. */
export interface Reassembled {
  ip: Uint8Array;
  sizes: number[];
  max: number;
  cast: RxCtx['cast'];
  opts?: CompiledOptions;
}

const MAX_DIST = 64;

/** ip_defrag: the datagram this fragment completes, or nothing (held, or dropped with its reason). */
export function ipDefrag(h: ModelHost, user: FragUser, ip: Uint8Array, ctx: RxCtx): Reassembled | undefined {
  const key = `${user} ${get32(ip, 12)} ${get32(ip, 16)} ${get16(ip, 4)} ${ip[9]}`;
  let q = h.fragQueues.get(key);
  if (q && h.now >= q.expires) {
    expire(h, key, q);
    q = undefined;
  }
  if (!q) {
    q = { seq: h.fragSeq++, user, expires: h.now + h.ipfragTime * 1000, first: false, last: false, len: 0, meat: 0, maxSize: 0, maxDf: 0, ecn: 0, rid: 0, frags: [] };
    h.fragQueues.set(key, q);
  }
  // ip_frag_too_far: more than 64 fragments of this sender since the queue's last: it starts again.
  const peer = peerOf(h, get32(ip, 12));
  const start = q.rid;
  q.rid = ++peer.rid;
  if (q.tail && q.rid - start > MAX_DIST) {
    flush(h, q, 'FRAG_TOO_FAR');
    Object.assign(q, { first: false, last: false, len: 0, meat: 0, ecn: 0, expires: h.now + h.ipfragTime * 1000 });
  }
  const hlen = (ip[0] & 0x0f) * 4;
  const flags = get16(ip, 6);
  const offset = (flags & 0x1fff) * 8;
  let end = offset + ip.length - hlen;
  if (!(flags & 0x2000)) {
    if (end < q.len || (q.last && end !== q.len)) return kill(h, key, q, 'FRAG_INVALID', ctx.tag);
    q.last = true;
    q.len = end;
  } else {
    end -= end % 8;
    if (end > q.len) {
      if (q.last) return kill(h, key, q, 'FRAG_INVALID', ctx.tag);
      q.len = end;
    }
  }
  if (end === offset) return kill(h, key, q, 'FRAG_INVALID', ctx.tag);
  const f: Frag = { start: offset, end, ip: ip.slice(0, hlen + end - offset), tag: ctx.tag, cast: ctx.cast, run: true };
  const r = insert(q, f);
  if (r === 'dup') {
    h.drop('DUP_FRAG', ctx.tag);
    return undefined;
  }
  if (r === 'overlap') return kill(h, key, q, 'FRAG_OVERLAP', ctx.tag);
  h.fates.queued++;
  q.meat += end - offset;
  q.ecn |= 1 << (ip[1] & 3);
  if (offset === 0) {
    q.first = true;
    if (user === 'local') q.opts = ctx.opts;
  }
  const size = end - offset + hlen;
  q.maxSize = Math.max(q.maxSize, size);
  if (flags & 0x4000) q.maxDf = Math.max(q.maxDf, size);
  if (q.first && q.last && q.meat === q.len) return reasm(h, key, q, f);
  return undefined;
}

/** inet_frag_queue_insert: after the tail, or into the runs before it. */
function insert(q: FragQueue, f: Frag): 'ok' | 'dup' | 'overlap' {
  const tail = q.tail;
  if (!tail) {
    q.frags.push(f);
    q.tail = f;
    return 'ok';
  }
  if (tail.end < f.end) {
    if (f.start < tail.end) return 'overlap';
    f.run = f.start !== tail.end;
    q.frags.push(f);
    q.tail = f;
    return 'ok';
  }
  // The runs: a fragment and the adjacent ones that joined it at the tail.
  const runs: { from: number; start: number; end: number }[] = [];
  q.frags.forEach((x, i) => {
    if (x.run || !runs.length) runs.push({ from: i, start: x.start, end: x.end });
    else runs[runs.length - 1].end = x.end;
  });
  const met = runs.filter((r) => f.start < r.end && f.end > r.start);
  if (met.length === 1 && f.start >= met[0].start && f.end <= met[0].end) return 'dup';
  if (met.length) return 'overlap';
  const at = q.frags.findIndex((x) => x.start >= f.end);
  q.frags.splice(at < 0 ? q.frags.length : at, 0, f);
  return 'ok';
}

/** ip_frag_reasm: the first fragment's header over every payload; the others are done. */
function reasm(h: ModelHost, key: string, q: FragQueue, last: Frag): Reassembled | undefined {
  const e = q.ecn;
  if (e & 1 && e & 0xe) return kill(h, key, q, 'FRAG_INVALID', -1);
  const head = q.frags[0].ip;
  const hlen = (head[0] & 0x0f) * 4;
  if (hlen + q.len > 65535) return kill(h, key, q, 'FRAG_INVALID', -1);
  const ip = new Uint8Array(hlen + q.len);
  ip.set(head.subarray(0, hlen));
  for (const f of q.frags) ip.set(f.ip.subarray((f.ip[0] & 0x0f) * 4), hlen + f.start);
  for (const f of q.frags) {
    h.fates.dequeued++;
    if (f !== last) h.fates.reassembled++;
  }
  put16(ip, 2, ip.length);
  if (e & 8 && e & 6) ip[1] |= 3;
  put16(ip, 6, q.maxDf === q.maxSize ? 0x4000 : 0);
  put16(ip, 10, 0);
  put16(ip, 10, checksum(ip, 0, hlen));
  h.fragQueues.delete(key);
  h.stage('ip4_reassembled');
  return { ip, sizes: q.frags.map((f) => f.end - f.start), max: Math.max(q.maxSize, q.maxDf), cast: q.frags[0].cast, opts: q.user === 'local' ? q.opts : undefined };
}

function flush(h: ModelHost, q: FragQueue, reason: string): void {
  for (const f of q.frags) {
    h.fates.dequeued++;
    h.drop(reason, f.tag);
  }
  q.frags = [];
  q.tail = undefined;
}

/** The queue goes with its fragments (and the one in hand, tag >= 0, dropped before it: inet_frag_kill). */
function kill(h: ModelHost, key: string, q: FragQueue, reason: string, tag: number): undefined {
  const inHand = tag >= 0;
  flush(h, q, reason);
  h.fragQueues.delete(key);
  if (inHand) h.drop(reason, tag);
  return undefined;
}

/** ip_expire: the sender hears of it when its first fragment came (nf_defrag's queues: only for us). */
function expire(h: ModelHost, key: string, q: FragQueue): void {
  h.stage('ip4_reasm_timeout');
  const head = q.frags[0];
  if (q.first && head) {
    const route = h.routes.resolve(get32(head.ip, 16));
    if (q.user === 'local' || route?.type === 'local') {
      // The head has no connection of its own (fragments are gathered before conntrack).
      const saved = h.netfilter.save();
      icmpError(h, head.ip, { tag: head.tag, cast: head.cast, opts: q.user === 'local' ? q.opts : undefined }, 11, 1);
      h.netfilter.restore(saved);
    }
  }
  flush(h, q, 'FRAG_REASM_TIMEOUT');
  h.fragQueues.delete(key);
}

/** The queues' timers: every queue whose time is up expires, earliest first (then the first made). */
export function fragTimers(h: ModelHost): void {
  const due = [...h.fragQueues].filter(([, q]) => h.now >= q.expires).sort(([, a], [, b]) => a.expires - b.expires || a.seq - b.seq);
  for (const [key, q] of due) expire(h, key, q);
}
