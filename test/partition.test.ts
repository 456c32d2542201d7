// Which worker runs which node: wired hosts stay together, workers take runs
// of consecutive groups of about equal weight, and a segment goes where most
// of its members are.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { partition, type Topology } from '../src/parallel/partition.js';

/** A segment at rank 0, then `nodes` groups of a node and its pods wired to it; the nodes are the segment's members. */
function cluster(nodes: number, pods: number): Topology {
  const t: Topology = { nodes: [{ kind: 'segment', weight: 1 }], wires: [], members: new Map([[0, []]]) };
  for (let i = 0; i < nodes; i++) {
    const node = t.nodes.length;
    t.nodes.push({ kind: 'host', weight: 1 });
    t.members.get(0)!.push(node);
    for (let p = 0; p < pods; p++) {
      t.wires.push([node, t.nodes.length]);
      t.nodes.push({ kind: 'host', weight: 1 });
    }
  }
  return t;
}

describe('partition', () => {
  it('one worker runs everything', () => {
    expect(new Set(partition(cluster(5, 3), 1))).toEqual(new Set([0]));
  });

  it('a cluster splits into runs of consecutive nodes with their pods, about equal; the segment goes with most of its members', () => {
    const t = cluster(100, 10);
    const owner = partition(t, 2);
    const nodes = t.members.get(0)!;
    // Each node's pods are with it.
    for (const [a, b] of t.wires) expect(owner[a]).toBe(owner[b]);
    // Runs: worker numbers never go down along the nodes.
    const along = nodes.map((r) => owner[r]);
    expect(along).toEqual([...along].sort((a, b) => a - b));
    const counts = [0, 1].map((k) => along.filter((o) => o === k).length);
    // The segment's learning is applied by a worker with the most of its members.
    expect(counts[owner[0]]).toBe(Math.max(...counts));
    expect(counts).toEqual([50, 50]);
  });

  it('any topology: wired hosts share a worker, every worker number is in range, and the same input gives the same answer', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }),
      (hosts, workers, wires, members) => {
        const t: Topology = {
          nodes: [...Array.from({ length: hosts }, () => ({ kind: 'host' as const, weight: 1 })), { kind: 'segment', weight: 1 }],
          wires: wires.map(([a, b]) => [a % hosts, b % hosts] as [number, number]),
          members: new Map([[hosts, [...new Set(members.map((m) => m % hosts))]]]),
        };
        const owner = partition(t, workers);
        expect(owner).toHaveLength(hosts + 1);
        for (const k of owner) expect(k >= 0 && k < workers).toBe(true);
        for (const [a, b] of t.wires) expect(owner[a]).toBe(owner[b]);
        expect(partition(t, workers)).toEqual(owner);
      },
    ));
  });
});
