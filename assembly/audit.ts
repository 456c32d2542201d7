// The buffer audit: every buffer a context's pool has lent out must be found
// somewhere the engine keeps packets between calls: a neighbour queue, a
// reassembly queue (and the queues' table), a host's external input, a port
// of a network (arrived or on its way), a list going back to its pool. The caller compares, pool by pool, free +
// found with capacity (src/engine/audit.ts).
import {
  C_POOLS, POOL_SIZE, PL_HELD, BUF_CLASSES, C_NEXT, ENGINE_CONTEXTS, H_PEND_HEAD, NB_QUEUE, NB_PNEXT, Q_NEXT,
  H_EXT, H_NLINKS, H_LINKS, LINK_SIZE, L_RXPORT, PT_PEND, PT_OUT, LIST_SIZE, LS_HEAD, PORT_SIZE, SG_N, SG_PORTS,
  NT_WORKERS, NT_RET, H_FRAG, FT_CAP, FT_SIZE, FQ_SIZE, FQ_KEY, FQ_HEAD,
} from './layout';
import { enterContext } from './context';
import { homeOfAny } from './context';

/** Zeroes every pool's count (of every context of the engine). */
export function audit_begin(): void {
  const first = <usize>load<u32>(ENGINE_CONTEXTS);
  enterContext(first);
  for (let c = first; c != 0; c = <usize>load<u32>(c + C_NEXT)) {
    for (let k: u32 = 0; k < BUF_CLASSES; k++) store<u32>(c + C_POOLS + <usize>k * POOL_SIZE + PL_HELD, 0);
  }
}

function countList(buf: usize): void {
  while (buf != 0) {
    const p = homeOfAny(buf);
    if (p != 0) store<u32>(p + PL_HELD, load<u32>(p + PL_HELD) + 1);
    buf = <usize>load<u32>(buf + Q_NEXT);
  }
}

function countOne(buf: usize): void {
  const p = homeOfAny(buf);
  if (p != 0) store<u32>(p + PL_HELD, load<u32>(p + PL_HELD) + 1);
}

/** The reassembly queues' table and the fragments each queue holds. */
function countFragments(h: usize): void {
  const t = <usize>load<u32>(h + H_FRAG);
  if (t == 0) return;
  countOne(t);
  const cap = load<u32>(t + FT_CAP);
  for (let i: u32 = 0; i < cap; i++) {
    const q = t + FT_SIZE + <usize>i * FQ_SIZE;
    if (load<u32>(q + FQ_KEY) != 0) countList(<usize>load<u32>(q + FQ_HEAD));
  }
}

function countPort(port: usize): void {
  if (port == 0) return;
  countList(<usize>load<u32>(port + PT_PEND + LS_HEAD));
  for (let k: u32 = 0; k < 2; k++) countList(<usize>load<u32>(port + PT_OUT + <usize>k * LIST_SIZE + LS_HEAD));
}

/** Counts the buffers host h holds: its neighbour and reassembly queues, its external input, its links' ports. */
export function audit_host(h: usize): void {
  for (let e = <usize>load<u32>(h + H_PEND_HEAD); e != 0; e = <usize>load<u32>(e + NB_PNEXT)) countList(<usize>load<u32>(e + NB_QUEUE));
  countFragments(h);
  countList(<usize>load<u32>(h + H_EXT + LS_HEAD));
  const n = load<u32>(h + H_NLINKS);
  const links = <usize>load<u32>(h + H_LINKS);
  for (let l: u32 = 0; l < n; l++) countPort(<usize>load<u32>(links + <usize>l * LINK_SIZE + L_RXPORT));
}

/** Counts the buffers on segment s's ports. */
export function audit_segment(s: usize): void {
  const ports = <usize>load<u32>(s + SG_PORTS);
  for (let i: u32 = 0; i < load<u32>(s + SG_N); i++) countPort(ports + <usize>i * PORT_SIZE);
}

/** Counts the buffers on network n's lists going back to their pools. */
export function audit_network(n: usize): void {
  const w = load<u32>(n + NT_WORKERS);
  const ret = <usize>load<u32>(n + NT_RET);
  for (let i: u32 = 0; i < w * w * 2; i++) countList(<usize>load<u32>(ret + <usize>i * LIST_SIZE + LS_HEAD));
}
