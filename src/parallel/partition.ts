// Which worker runs which node of a network. Nodes joined by point-to-point
// wires (a pod and its node) stay together; segments (the work of
// forwarding for their members) are placed first, then the groups are
// spread over the workers by size, largest first, each to the least loaded.
// The result depends only on the topology, never on timing.

export interface Topology {
  /** Nodes by rank: hosts and segments. */
  nodes: { kind: 'host' | 'segment'; weight: number }[];
  /** Point-to-point wires between host ranks. */
  wires: [number, number][];
  /** Segment rank -> member host ranks. */
  members: Map<number, number[]>;
}

/** What forwarding one member's frames costs a segment, in hosts (a lookup and a move, against a host's whole pipeline). */
const SEGMENT_SHARE = 0.25;

export function partition(t: Topology, workers: number): number[] {
  const n = t.nodes.length;
  const owner = new Array<number>(n).fill(0);
  if (workers <= 1) return owner;
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (const [a, b] of t.wires) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const groups = new Map<number, { first: number; weight: number; ranks: number[] }>();
  for (let i = 0; i < n; i++) {
    if (t.nodes[i].kind !== 'host') continue;
    const r = find(i);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = { first: i, weight: 0, ranks: [] }));
    g.weight += t.nodes[i].weight;
    g.ranks.push(i);
  }
  const load = new Array<number>(workers).fill(0);
  // A segment forwards for all its members: it goes first, weighing a fraction of a host a member.
  for (const [seg, members] of t.members) {
    let best = 0;
    for (let k = 1; k < workers; k++) if (load[k] < load[best]) best = k;
    owner[seg] = best;
    load[best] += members.length * SEGMENT_SHARE;
  }
  const order = [...groups.values()].sort((a, b) => b.weight - a.weight || a.first - b.first);
  for (const g of order) {
    let best = 0;
    for (let k = 1; k < workers; k++) if (load[k] < load[best]) best = k;
    load[best] += g.weight;
    for (const r of g.ranks) owner[r] = best;
  }
  return owner;
}
