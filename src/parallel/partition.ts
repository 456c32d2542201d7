// Which worker runs which node of a network. Nodes joined by point-to-point
// wires (a pod and its node) stay together, and the groups keep their rank
// order: each worker takes a run of consecutive groups, about an equal share
// of the weight, because hosts built one after another (a node beside the
// next node) talk to each other more than to others, and every frame that
// crosses workers costs a copy between the cores' caches. A segment's
// senders forward for it; the worker that has most of its members applies
// what it learns. The result depends only on the topology, never on timing.

export interface Topology {
  /** Nodes by rank: hosts and segments. */
  nodes: { kind: 'host' | 'segment'; weight: number }[];
  /** Point-to-point wires between host ranks. */
  wires: [number, number][];
  /** Segment rank -> member host ranks. */
  members: Map<number, number[]>;
}

interface Group {
  weight: number;
  ranks: number[];
}

export function partition(t: Topology, workers: number): number[] {
  const owner = new Array<number>(t.nodes.length).fill(0);
  if (workers <= 1) return owner;
  const groups = wireGroups(t);
  fill(groups, workers, owner);
  for (const [seg, members] of t.members) {
    const count = new Array<number>(workers).fill(0);
    for (const m of members) count[owner[m]]++;
    owner[seg] = count.indexOf(Math.max(...count));
  }
  return owner;
}

/** Hosts joined by wires, in the order of their first rank. */
function wireGroups(t: Topology): Group[] {
  const n = t.nodes.length;
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
  const groups = new Map<number, Group>();
  for (let i = 0; i < n; i++) {
    if (t.nodes[i].kind !== 'host') continue;
    const r = find(i);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = { weight: 0, ranks: [] }));
    g.weight += t.nodes[i].weight;
    g.ranks.push(i);
  }
  return [...groups.values()]; // a Map keeps insertion order: by first rank
}

/** Consecutive groups to each worker in turn, until its load reaches an equal share of the whole. */
function fill(groups: Group[], workers: number, owner: number[]): void {
  const load = new Array<number>(workers).fill(0);
  const share = groups.reduce((a, g) => a + g.weight, 0) / workers;
  let k = 0;
  for (const g of groups) {
    // The next worker takes over once this group would sit more outside the share than in it.
    while (k < workers - 1 && load[k] + g.weight / 2 > share) k++;
    load[k] += g.weight;
    for (const r of g.ranks) owner[r] = k;
  }
}
