// A run's layout: the node table (a host or a segment a rank, layout.ts:
// NODE_*), and each worker's list of its nodes in rank order with a bitmap
// of those with frames due.
import * as L from '../engine/layout.gen.js';
import type { Engine } from '../engine/engine.js';

export function layoutNodes(e: Engine, net: number, nodes: ({ host: number } | { segment: number })[], owners: number[], workers: number): void {
  let dv = e.dv;
  const old = dv.getUint32(net + L.NT_NODES, true);
  if (old) e.arena.release(old, Math.max(1, dv.getUint32(net + L.NT_NNODES, true)) * L.NODE_SIZE);
  const table = e.alloc(Math.max(1, nodes.length) * L.NODE_SIZE);
  dv = e.dv;
  nodes.forEach((n, r) => {
    dv.setUint32(table + r * L.NODE_SIZE + L.ND_KIND, 'host' in n ? L.NK_HOST : L.NK_SEGMENT, true);
    dv.setUint32(table + r * L.NODE_SIZE + L.ND_PTR, 'host' in n ? n.host : n.segment, true);
    if ('host' in n) dv.setUint32(n.host + L.H_SEGLINKS, segmentLinks(dv, n.host), true);
  });
  dv.setUint32(net + L.NT_NODES, table, true);
  dv.setUint32(net + L.NT_NNODES, nodes.length, true);
  const wks = dv.getUint32(net + L.NT_WK, true);
  const lists: number[][] = Array.from({ length: workers }, () => []);
  owners.forEach((k, r) => lists[k].push(r));
  for (let k = 0; k < workers; k++) {
    const wk = wks + k * L.WK_SIZE;
    const d = e.dv;
    const oldNodes = d.getUint32(wk + L.WK_NODES, true);
    const oldN = d.getUint32(wk + L.WK_NNODES, true);
    if (oldNodes) {
      e.arena.release(oldNodes, Math.max(1, oldN) * 4);
      e.arena.release(d.getUint32(wk + L.WK_BITS, true), bitmapBytes(oldN));
    }
    const list = e.alloc(Math.max(1, lists[k].length) * 4);
    const bits = e.alloc(bitmapBytes(lists[k].length));
    const v = e.dv;
    lists[k].forEach((r, pos) => {
      v.setUint32(list + pos * 4, r, true);
      v.setUint32(table + r * L.NODE_SIZE + L.ND_OWNER, k, true);
      v.setUint32(table + r * L.NODE_SIZE + L.ND_POS, pos, true);
    });
    v.setUint32(wk + L.WK_NODES, list, true);
    v.setUint32(wk + L.WK_NNODES, lists[k].length, true);
    v.setUint32(wk + L.WK_BITS, bits, true);
  }
}

function bitmapBytes(n: number): number {
  return Math.max(4, Math.ceil(n / 32) * 4);
}

/** Links of host h wired to a segment: what it sends on them is learned between waves (assembly/net/segment.ts). */
function segmentLinks(dv: DataView, h: number): number {
  const links = dv.getUint32(h + L.H_LINKS, true);
  let n = 0;
  for (let l = 0; l < dv.getUint32(h + L.H_NLINKS, true); l++) {
    const peer = dv.getUint32(links + l * L.LINK_SIZE + L.L_PEER, true);
    if (peer !== 0 && dv.getUint32(peer + L.PT_SEGMENT, true) !== 0) n++;
  }
  return n;
}
