// A network's runs, from the calling thread while no worker runs: what a
// run starts from (the nodes with frames waiting, their owners), what it
// leaves (every frame on its way in its port's pending list, every buffer
// home), and frames queued from outside (assembly/net/wave.ts runs the waves).
import {
  C_ID, K_RX, H_NLINKS, H_LINKS, LINK_SIZE, H_EXT, H_OWNER, L_RXPORT, PORT_SIZE, PT_PEND, PT_OUT, PT_ACTIVE, LIST_SIZE,
  NODE_SIZE, ND_KIND, ND_PTR, ND_POS, ND_OWNER, NK_HOST, NT_WORKERS, NT_NODES, NT_NNODES, NT_ACT, NT_RET, NT_WK, WK_SIZE,
  WK_BITS, WK_NNODES, WK_CURSOR, WK_NOW_WORK, WK_NEXT_DUE, WK_CTX, Q_OFF, Q_LEN, Q_TAG, Q_POOL, Q_KIND, Q_LINK, Q_DUE,
  SG_N, SG_PORTS,
} from '../layout';
import { enterContext, bufFree } from '../context';
import { listLen, listHead, listPush, listShift, listSplice } from './list';
import { setBit } from './wave';
import { injFirst, injDue, injLeft } from './inject';

const INF: f64 = Infinity;

let net: usize = 0;
let workers: u32 = 0;

/**
 * Before a run: sets the bit of every node with frames waiting and reports,
 * in worker 0's record, whether any is due now and the earliest later one.
 */
export function net_begin(n: usize, now: f64): void {
  net = n;
  workers = load<u32>(n + NT_WORKERS);
  const wks = <usize>load<u32>(n + NT_WK);
  for (let k: u32 = 0; k < workers; k++) {
    const w = wks + <usize>k * WK_SIZE;
    memory.fill(<usize>load<u32>(w + WK_BITS), 0, ((load<u32>(w + WK_NNODES) + 31) >> 5) << 2);
  }
  let nowWork: u32 = 0;
  let next = INF;
  const nodes = <usize>load<u32>(n + NT_NODES);
  const count = load<u32>(n + NT_NNODES);
  for (let r: u32 = 0; r < count; r++) {
    const node = nodes + <usize>r * NODE_SIZE;
    const p = <usize>load<u32>(node + ND_PTR);
    let earliest = INF;
    if (load<u32>(node + ND_KIND) == NK_HOST) {
      if (listLen(p + H_EXT) != 0) earliest = now;
      if (injFirst(p) != 0) earliest = min(earliest, injDue(injFirst(p)));
      const links = load<u32>(p + H_NLINKS);
      for (let l: u32 = 0; l < links; l++) {
        const port = <usize>load<u32>(linkOf(p, l) + L_RXPORT);
        if (port != 0 && listLen(port + PT_PEND) != 0) earliest = min(earliest, load<f64>(listHead(port + PT_PEND) + Q_DUE));
      }
    } else {
      const ports = <usize>load<u32>(p + SG_PORTS);
      for (let i: u32 = 0; i < load<u32>(p + SG_N); i++) {
        const pend = ports + <usize>i * PORT_SIZE + PT_PEND;
        if (listLen(pend) != 0) earliest = min(earliest, load<f64>(listHead(pend) + Q_DUE));
      }
    }
    // During the run the host belongs to its worker: the debug build refuses any other writer.
    if (load<u32>(node + ND_KIND) == NK_HOST) store<u32>(p + H_OWNER, load<u32>(node + ND_OWNER) + 1);
    if (earliest == INF) continue;
    const w = wks + <usize>load<u32>(node + ND_OWNER) * WK_SIZE;
    setBit(<usize>load<u32>(w + WK_BITS), load<u32>(node + ND_POS));
    if (earliest <= now) nowWork = 1;
    else next = min(next, earliest);
  }
  for (let k: u32 = 0; k < workers; k++) {
    const w = wks + <usize>k * WK_SIZE;
    store<u32>(w + WK_CURSOR, 0);
    store<u32>(w + WK_NOW_WORK, k == 0 ? nowWork : 0);
    store<f64>(w + WK_NEXT_DUE, k == 0 ? next : INF);
  }
}

/**
 * After a run: every frame still on its way joins its port's pending list,
 * and every buffer on its way back to a pool is home, so the next run may
 * give the nodes to other workers.
 */
export function net_settle(n: usize): void {
  net = n;
  workers = load<u32>(n + NT_WORKERS);
  const wks = <usize>load<u32>(n + NT_WK);
  const nodes = <usize>load<u32>(n + NT_NODES);
  const count = load<u32>(n + NT_NNODES);
  for (let r: u32 = 0; r < count; r++) {
    const node = nodes + <usize>r * NODE_SIZE;
    const p = <usize>load<u32>(node + ND_PTR);
    if (load<u32>(node + ND_KIND) == NK_HOST) {
      store<u32>(p + H_OWNER, 0);
      const links = load<u32>(p + H_NLINKS);
      for (let l: u32 = 0; l < links; l++) settlePort(<usize>load<u32>(linkOf(p, l) + L_RXPORT));
    } else {
      const ports = <usize>load<u32>(p + SG_PORTS);
      for (let i: u32 = 0; i < load<u32>(p + SG_N); i++) settlePort(ports + <usize>i * PORT_SIZE);
    }
  }
  const act = <usize>load<u32>(n + NT_ACT);
  const ret = <usize>load<u32>(n + NT_RET);
  for (let i: u32 = 0; i < workers * workers * 2; i++) {
    store<u32>(act + (<usize>i << 2), 0);
    const l = ret + <usize>i * LIST_SIZE;
    if (listLen(l) == 0) continue;
    const to = (i >> 1) % workers;
    enterContext(<usize>load<u32>(wks + <usize>to * WK_SIZE + WK_CTX));
    while (listLen(l) != 0) bufFree(listShift(l));
  }
}

function settlePort(port: usize): void {
  if (port == 0) return;
  // Only the list of the last wave's parity can hold frames (the other was taken at its start).
  for (let k: u32 = 0; k < 2; k++) {
    listSplice(port + PT_PEND, port + PT_OUT + <usize>k * LIST_SIZE);
    store<u8>(port + PT_ACTIVE + k, 0);
  }
}

@inline function linkOf(h: usize, l: u32): usize {
  return <usize>load<u32>(h + H_LINKS) + <usize>l * LINK_SIZE;
}

/**
 * Queues a frame (K_RX, on link l) or a packet of the host's stack
 * (K_ORIGINATE) in buf, from context c's pool, as host h's external input,
 * due at `due`.
 */
export function net_inject(c: usize, h: usize, l: u32, kind: u32, buf: usize, off: u32, len: u32, tag: u32, due: f64): void {
  store<u16>(buf + Q_OFF, <u16>off);
  store<u16>(buf + Q_LEN, <u16>len);
  store<u32>(buf + Q_TAG, tag);
  store<u8>(buf + Q_POOL, <u8>load<u32>(c + C_ID));
  store<u8>(buf + Q_KIND, <u8>kind);
  store<u16>(buf + Q_LINK, <u16>l);
  store<f64>(buf + Q_DUE, due);
  listPush(h + H_EXT, buf);
}

/** Frames and packets waiting in the network (between runs: all on pending and external lists). */
export function net_in_flight(n: usize): u32 {
  const nodes = <usize>load<u32>(n + NT_NODES);
  const count = load<u32>(n + NT_NNODES);
  let total: u32 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const node = nodes + <usize>r * NODE_SIZE;
    const p = <usize>load<u32>(node + ND_PTR);
    if (load<u32>(node + ND_KIND) == NK_HOST) {
      total += listLen(p + H_EXT) + injLeft(p);
      const links = load<u32>(p + H_NLINKS);
      for (let l: u32 = 0; l < links; l++) {
        const port = <usize>load<u32>(linkOf(p, l) + L_RXPORT);
        if (port != 0) total += listLen(port + PT_PEND);
      }
    } else {
      const ports = <usize>load<u32>(p + SG_PORTS);
      for (let i: u32 = 0; i < load<u32>(p + SG_N); i++) total += listLen(ports + <usize>i * PORT_SIZE + PT_PEND);
    }
  }
  return total;
}
