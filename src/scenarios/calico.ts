// A Calico cluster as Felix and BIRD lay it out on each node (REFERENCE.md:
// Calico): pods with a /32 and 169.254.1.1 as gateway, cali interfaces with
// ee:ee:ee:ee:ee:ee and proxy ARP, /26 blocks with a local blackhole, routes
// to other nodes' blocks through tunl0 (IPIP) or eth0 (native), and Felix's
// IPIP allowlist. In IPIP modes pods and cali interfaces take the tunnel's
// MTU and tunl0 carries the node's tunnel address (the first of its block),
// as Calico sets them; with `felix`, each node loads Felix's own rules and
// ipsets (felix.ts).
import { Host } from '../host.js';
import { Network, type NetworkOptions } from '../network.js';
import { Engine, defaultEngine } from '../engine/engine.js';
import { formatIPv4, parseCidr, networkOf } from '../packet/addr.js';
import { felixIpsets, felixRules, FELIX_ALLOW, type FelixAllow } from './felix.js';

export type IpipMode = 'Always' | 'CrossSubnet' | 'Never';

export interface CalicoOptions {
  nodes: number;
  podsPerNode: number;
  ipipMode?: IpipMode;
  /** The IP pool (default 10.244.0.0/16); each node gets the next /26 blocks of it. */
  pool?: string;
  /** Underlay subnets: nodes are spread over this many /24s of 192.168.0.0/16 (default 1). */
  subnets?: number;
  /** tunl0's MTU (1480; 1440 as older Calico). */
  tunnelMtu?: number;
  /** MASQUERADE traffic from the pool to anywhere outside it (the pool's natOutgoing). */
  natOutgoing?: boolean;
  /**
   * Felix's rules on every node (raw, mangle, filter, nat; cali-* chains
   * and their ipsets), with a policy letting in, from the pool's pods, what
   * `allow` lists (default: udp/5201 and ICMP).
   */
  felix?: boolean | { allow?: FelixAllow[] };
  engine?: Engine;
}

export interface CalicoPod {
  host: Host;
  ip: string;
  /** The host end of the pod's veth, on its node. */
  cali: string;
}

export interface CalicoNode {
  host: Host;
  ip: string;
  subnet: number;
  block: string;
  /** tunl0's address (IPIP modes). */
  tunnelAddr?: string;
  pods: CalicoPod[];
}

export interface CalicoCluster {
  engine: Engine;
  nodes: CalicoNode[];
  /** Point-to-point wires: a pod's eth0 and its cali interface ('host:link'). */
  veths: [string, string][];
  /** L2 segments of the underlay, by name: members 'host:link'. Subnets meet at 'router'. */
  segments: Record<string, string[]>;
  /** A router joining the underlay subnets (present with subnets > 1). */
  router?: Host;
}

export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
const GATEWAY = '169.254.1.1';

function nodeMac(n: number): string {
  return `02:00:${((n >>> 16) & 255).toString(16).padStart(2, '0')}:${((n >>> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}:01`;
}

/** Builds the cluster's hosts and says how to wire them. */
export function buildCalico(opts: CalicoOptions): CalicoCluster {
  const engine = opts.engine ?? defaultEngine();
  const mode = opts.ipipMode ?? 'Always';
  const subnets = opts.subnets ?? 1;
  const pool = parseCidr(opts.pool ?? '10.244.0.0/16');
  const blockSize = 26;
  const blocksPerNode = Math.ceil(opts.podsPerNode / 63) || 1;
  if (!['Always', 'CrossSubnet', 'Never'].includes(mode)) throw new Error(`calico: unknown ipipMode "${mode}"`);
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) throw new Error('calico: nodes must be a positive integer');
  if (!Number.isInteger(opts.podsPerNode) || opts.podsPerNode < 0) throw new Error('calico: podsPerNode must be >= 0');
  if (opts.nodes * blocksPerNode > 2 ** (blockSize - pool.plen)) throw new Error('calico: the pool has too few /26 blocks for the cluster');
  if (!Number.isInteger(subnets) || subnets < 1 || subnets > 250) throw new Error('calico: subnets must be 1..250');
  const perSubnet = Math.ceil(opts.nodes / subnets);
  // Nodes take .10 to .253 of their /24 (.1 is the router's, .255 the broadcast).
  if (perSubnet > 244) throw new Error(`calico: ${perSubnet} nodes per /24 underlay subnet, at most 244 fit (.10 to .253); add subnets`);

  const nodeIp = (i: number) => `192.168.${Math.floor(i / perSubnet)}.${(i % perSubnet) + 10}`;
  const subnetOf = (i: number) => Math.floor(i / perSubnet);
  const blockOf = (i: number, b = 0) => networkOf(pool.addr, pool.plen) + (i * blocksPerNode + b) * 64;
  const allNodes = Array.from({ length: opts.nodes }, (_, i) => nodeIp(i));
  const tunnelMtu = opts.tunnelMtu ?? 1480;
  // Calico's veth MTU: the tunnel's when pods may be reached through it.
  const podMtu = mode !== 'Never' ? tunnelMtu : undefined;

  const cluster: CalicoCluster = { engine, nodes: [], veths: [], segments: {} };
  for (let s = 0; s < subnets; s++) cluster.segments[`underlay${s}`] = [];
  if (subnets > 1) {
    const router = new Host({ name: 'router', forwarding: true, engine });
    for (let s = 0; s < subnets; s++) {
      router.link.add({ name: `eth${s}`, type: 'ether' });
      router.addr.add(`eth${s}`, `192.168.${s}.1/24`);
      cluster.segments[`underlay${s}`].push(`router:eth${s}`);
    }
    cluster.router = router;
  }

  for (let i = 0; i < opts.nodes; i++) {
    const name = `node${i + 1}`;
    const host = new Host({ name, forwarding: true, engine, neighSlots: 64 });
    host.link.add({ name: 'eth0', type: 'ether', mac: nodeMac(i + 1) });
    host.addr.add('eth0', `${nodeIp(i)}/24`);
    host.route.add({ dst: 'default', via: `192.168.${subnetOf(i)}.1` });
    host.link.add({ name: 'tunl0', type: 'ipip', mtu: tunnelMtu, pmtudisc: false, peers: allNodes });
    const tunnelAddr = mode !== 'Never' ? formatIPv4(blockOf(i)) : undefined;
    if (tunnelAddr) host.addr.add('tunl0', `${tunnelAddr}/32`);
    cluster.segments[`underlay${subnetOf(i)}`].push(`${name}:eth0`);
    const pods: CalicoPod[] = [];
    for (let b = 0; b < blocksPerNode; b++) host.route.add({ dst: `${formatIPv4(blockOf(i, b))}/${blockSize}`, type: 'blackhole' });
    for (let p = 0; p < opts.podsPerNode; p++) {
      // The block's network address is a usable pod address in Calico IPAM; skip it anyway for clarity.
      const podIp = formatIPv4(blockOf(i, Math.floor(p / 63)) + (p % 63) + 1);
      const cali = `cali${(i + 1).toString(16).padStart(4, '0')}${p.toString(16).padStart(4, '0')}`.slice(0, 15);
      host.link.add({ name: cali, type: 'veth', mac: CALI_MAC, proxyArp: true, mtu: podMtu });
      host.route.add({ dst: `${podIp}/32`, dev: cali });
      const pod = new Host({ name: `${name}-pod${p + 1}`, engine, neighSlots: 8 });
      pod.link.add({ name: 'eth0', type: 'veth', mtu: podMtu });
      pod.addr.add('eth0', `${podIp}/32`);
      pod.route.add({ dst: `${GATEWAY}/32`, dev: 'eth0' });
      pod.route.add({ dst: 'default', via: GATEWAY, dev: 'eth0' });
      pods.push({ host: pod, ip: podIp, cali });
      cluster.veths.push([`${name}:${cali}`, `${pod.name}:eth0`]);
    }
    cluster.nodes.push({ host, ip: nodeIp(i), subnet: subnetOf(i), block: `${formatIPv4(blockOf(i))}/${blockSize}`, tunnelAddr, pods });
  }

  // Routes to every other node's blocks, as BIRD programs them.
  for (const n of cluster.nodes) {
    const specs = [];
    for (const m of cluster.nodes) {
      if (m === n) continue;
      const encap = mode === 'Always' || (mode === 'CrossSubnet' && m.subnet !== n.subnet);
      for (let b = 0; b < blocksPerNode; b++) {
        const dst = `${formatIPv4(blockOf(cluster.nodes.indexOf(m), b))}/${blockSize}`;
        if (encap) specs.push({ dst, via: m.ip, dev: 'tunl0', onlink: true });
        else if (m.subnet === n.subnet) specs.push({ dst, via: m.ip, dev: 'eth0' });
        else specs.push({ dst, via: `192.168.${n.subnet}.1` }); // native across subnets: the router must know pod routes
      }
    }
    n.host.route.addMany(specs);
  }
  if (opts.felix) {
    const allow = (typeof opts.felix === 'object' ? opts.felix.allow : undefined) ?? FELIX_ALLOW;
    const pods = cluster.nodes.flatMap((n) => n.pods.map((p) => p.ip));
    for (const n of cluster.nodes) {
      const spec = {
        nodes: allNodes, pool: opts.pool ?? '10.244.0.0/16', ipip: mode !== 'Never', tunnelAddr: n.tunnelAddr,
        natOutgoing: opts.natOutgoing ?? false, endpoints: n.pods.map((p) => ({ iface: p.cali, ip: p.ip })), pods, allow,
      };
      n.host.ipset.load(felixIpsets(spec));
      n.host.rules.load(felixRules(spec));
    }
  } else if (opts.natOutgoing) {
    const rules = natOutgoingRules(opts.pool ?? '10.244.0.0/16');
    for (const n of cluster.nodes) n.host.rules.load(rules);
  }
  if (cluster.router && mode !== 'Always') {
    // Without encapsulation the underlay router must route pod blocks (BGP peering with it).
    const specs = [];
    for (const m of cluster.nodes) for (let b = 0; b < blocksPerNode; b++) {
      specs.push({ dst: `${formatIPv4(blockOf(cluster.nodes.indexOf(m), b))}/${blockSize}`, via: m.ip });
    }
    cluster.router.route.addMany(specs);
  }
  return cluster;
}

/**
 * Felix's natOutgoing rule as iptables-save prints it, with the pool written
 * out where Felix uses its ipsets (cali40masq-ipam-pools, cali40all-ipam-pools).
 */
export function natOutgoingRules(pool: string): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':cali-POSTROUTING - [0:0]',
    ':cali-nat-outgoing - [0:0]',
    '-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING',
    '-A cali-POSTROUTING -j cali-nat-outgoing',
    `-A cali-nat-outgoing -s ${pool} ! -d ${pool} -j MASQUERADE --random-fully`,
    'COMMIT',
    '',
  ].join('\n');
}

export interface CalicoNetworkOptions extends Omit<NetworkOptions, 'engine'> {
  /** Hosts beside the cluster (a gateway, a server); they join first, so segments may name them. */
  extra?: Host[];
}

/**
 * The cluster on a Network: veths connected, underlay segments joined. With
 * `workers` > 1, `await net.ready()` before running it, and `net.close()` after.
 */
export function calicoNetwork(cluster: CalicoCluster, opts: CalicoNetworkOptions = {}): Network {
  const { extra = [], ...netOpts } = opts;
  const net = new Network({ ...netOpts, engine: cluster.engine });
  for (const h of extra) net.add(h);
  if (cluster.router) net.add(cluster.router);
  for (const n of cluster.nodes) {
    net.add(n.host);
    for (const p of n.pods) net.add(p.host);
  }
  for (const [a, b] of cluster.veths) net.connect(a, b);
  for (const [name, members] of Object.entries(cluster.segments)) net.segment(name, members);
  return net;
}
