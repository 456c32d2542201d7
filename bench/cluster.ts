// Bench mode 'cluster': a simulated Calico cluster (100 nodes x 10 pods,
// IPIP by default) on a Network, every pod sending UDP to a pod of the next
// node; end-to-end packets per second and host-hops per second (a packet
// passes 4 hosts: its pod, two nodes, the other pod; 5 where it crosses from
// one underlay subnet to the next through their router), as a ratio of the
// engine's own per-hop rate on the same machine in the same run.
import { Engine } from '../src/engine/engine.js';
import { buildCalico, calicoNetwork } from '../src/scenarios/calico.js';
import { udpPacket } from '../src/packet/index.js';
import type { Network } from '../src/network.js';
import { createHash } from 'node:crypto';
import type { BenchMode, BenchOptions } from './types.js';
import type { BenchTask } from './task.js';

const PODS = 10;
/** Nodes per underlay /24 (buildCalico places up to 244). */
const NODES_PER_SUBNET = 244;

export async function clusterPath(opts: BenchOptions & { nodes?: number; perPod?: number; ipip?: boolean; send?: boolean }) {
  const nodes = opts.nodes ?? (opts.quick ? 10 : 100);
  // About 32,000 packets a round whatever the size (32 a pod at 100 nodes): a round's packets all wait in the pools at once.
  const perPod = opts.perPod ?? Math.max(1, Math.round(32_000 / (nodes * PODS)));
  const subnets = Math.ceil(nodes / NODES_PER_SUBNET);
  const cluster = buildCalico({ nodes, podsPerNode: PODS, engine: new Engine(), ipipMode: opts.ipip === false ? 'Never' : 'Always', subnets });
  const net: Network = calicoNetwork(cluster, { workers: opts.workers, recordDeliveries: false, recordDrops: false });
  await net.ready();
  const payload = Math.max(0, opts.size - 4 - 14 - 20 - 8);
  const traffic = cluster.nodes.flatMap((n, i) => n.pods.map((p, j) => {
    const peer = cluster.nodes[(i + 1) % nodes].pods[j];
    peer.host.listen('udp', 5201);
    const packets = Array.from({ length: perPod }, (_, k) => udpPacket({ src: p.ip, dst: peer.ip, sport: 10000 + k, dport: 5201, size: payload }));
    return { from: p.host.name, packets };
  }));
  // Staged once in the engine's memory: each round queues them again with one call a pod.
  const staged = opts.send ? [] : traffic.map((t) => net.stage(t.from, t.packets));
  const round = opts.send
    ? () => {
      for (const t of traffic) net.send(t.from, t.packets);
      return net.run();
    }
    : () => {
      for (const t of staged) t.send();
      return net.run();
    };
  // Resolve every neighbour first: the path measured is the steady state.
  round();
  const check = round();
  const expected = traffic.length * perPod;
  if (check.local !== expected) throw new Error(`cluster: ${check.local} of ${expected} packets arrived (${JSON.stringify(check)})`);
  // Host-hops a round moves: the router is one more where a pair of nodes is in different subnets.
  const hops = cluster.nodes.reduce((sum, n, i) => sum + (n.subnet === cluster.nodes[(i + 1) % nodes].subnet ? 4 : 5) * n.pods.length * perPod, 0);
  return { net, round, packets: expected, hopsPerPacket: hops / expected, hosts: net.hosts.length, nodes };
}

function clusterMode(name: string, send: boolean, description: string): BenchMode {
  return {
    name,
    description,
    defaultSizes: [64],
    flows: { what: 'nodes (10 pods each)', min: 2, max: 1000 },
    async task(opts: BenchOptions): Promise<BenchTask> {
      const c = await clusterPath({ ...opts, nodes: opts.flows || undefined, send });
      return {
        packets: c.packets,
        sample: () => void c.round(),
        digest: () => networkDigest(c.net),
        extras: (mpps) => ({
          flows: c.nodes, label: `${c.hosts} hosts, pod -> node -> node -> pod${send ? ', send() per packet' : ''}`, hosts: c.hosts,
          gbps: 0, hostHopsMpps: mpps * c.hopsPerPacket,
        }),
        close: () => c.net.close(),
      };
    },
  };
}

/** The cluster with its traffic staged in the engine's memory: the rate of the engine and its network. */
export const clusterModeStaged = clusterMode('cluster', false, 'a Calico cluster on a Network (100 nodes x 10 pods, IPIP; --flows = nodes), pod to pod across nodes, traffic staged');
/** The same with every packet handed over by net.send(): the public path. */
export const clusterModeSend = clusterMode('cluster-send', true, 'the cluster mode with every packet given by net.send() (the public path)');

/** Counters of every host of a network, as one hash. */
export function networkDigest(net: Network): string {
  const h = createHash('sha256');
  for (const host of net.hosts) h.update(JSON.stringify(host.stats()));
  return h.digest('hex').slice(0, 16);
}
