// ModelHost: the reference model of one Host (docs/semantics.md), written to be
// obviously right rather than fast. Same control API as src/host.ts.
import { arpInput } from './arp.js';
import { bridgeInput, bridgeXmit, fdbFlushPort } from './bridge.js';
import { ipInput, output } from './ipv4.js';
import { Link, checkMtu, defaultMac, frameFits, type LinkChange, type LinkSpec } from './links.js';
import { NeighTable, neighTimers, type NeighParams } from './neigh.js';
import { formatIpsets, parseIpsets, type Ipsets } from '../../src/netfilter/ipset.js';
import { fragTimers, type FragQueue } from './defrag.js';
import { ModelNetfilter, type ConnFilter, type ConnInfo, type Quirks } from './netfilter.js';
import { RoutingTable, describeResolved, parseRouteDst, type RouteSpec, type RouteType } from './route.js';
import {
  BROADCAST, ETH_HLEN, ETH_P_ARP, ETH_P_IP, fixIpChecksum, get16, isMulticastMac, macEq, parseIPv4, parseMac,
} from './wire.js';

export type { LinkSpec, LinkChange, RouteSpec, RouteType };

export type Output =
  | { kind: 'tx'; link: string; frame: Uint8Array; tag: number }
  | { kind: 'local'; packet: Uint8Array; tag: number }
  | { kind: 'drop'; reason: string; tag: number };

export interface Fates {
  in: number;
  originated: number;
  generated: number;
  sent: number;
  local: number;
  dropped: number;
  queued: number;
  dequeued: number;
  /** Fragments that went into a datagram another fragment carries on as. */
  reassembled: number;
}

export interface Stats {
  fates: Fates;
  drops: Record<string, number>;
  stages: Record<string, number>;
}

export interface HostOptions {
  name: string;
  forwarding?: boolean;
  /** net.ipv4.ipfrag_time, seconds (default 30). */
  ipfragTime?: number;
  /** Engine departures from Linux the netfilter model should reproduce (./netfilter.ts). */
  quirks?: Quirks;
  /** Neighbour table bounds (gc_thresh1/2/3, unres_qlen_bytes, the host's queue bound). */
  neigh?: Partial<NeighParams>;
}

export class ModelHost {
  readonly name: string;
  forwarding: boolean;
  readonly links: Link[] = [];
  readonly routes = new RoutingTable();
  /** The neighbour table (Linux's arp_tbl). */
  readonly arpTbl = new NeighTable();
  /** inet_peer: ICMP error tokens by the address the errors go to, and the fragments each sent (rid). */
  readonly icmpPeers = new Map<number, { tokens: number; last: number; rid: number }>();
  /** The IPv4 reassembly queues (./defrag.ts), in the order they were made. */
  readonly fragQueues = new Map<string, FragQueue>();
  fragSeq = 0;
  /** net.ipv4.ipfrag_time, seconds. */
  ipfragTime = 30;
  /** icmp_global_allow's credit; the first error finds a full second to refill from. */
  readonly icmpCredit = { credit: 0, stamp: -1000 };
  private readonly ports = new Set<string>();
  private ipId = 0;

  readonly fates: Fates = { in: 0, originated: 0, generated: 0, sent: 0, local: 0, dropped: 0, queued: 0, dequeued: 0, reassembled: 0 };
  private readonly drops: Record<string, number> = {};
  private readonly stages: Record<string, number> = {};

  /** Time of the call being processed. */
  now = 0;
  private out: Output[] = [];

  static create(opts: HostOptions): ModelHost {
    return new ModelHost(opts);
  }

  /** Connection tracking, NAT and the filter/nat hooks; inactive until rules are loaded. */
  readonly netfilter: ModelNetfilter;

  constructor(opts: HostOptions) {
    this.name = opts.name;
    this.forwarding = opts.forwarding ?? false;
    this.ipfragTime = opts.ipfragTime ?? 30;
    this.netfilter = new ModelNetfilter(this, opts.quirks);
    for (const [k, v] of Object.entries(opts.neigh ?? {})) if (v !== undefined) this.arpTbl.params[k as keyof NeighParams] = v;
  }

  // ---------------------------------------------------------------- control

  readonly link = {
    add: (spec: LinkSpec): void => this.linkAdd(spec),
    set: (name: string, change: LinkChange): void => this.linkSet(name, change),
  };

  readonly addr = {
    add: (dev: string, cidr: string): void => this.addrAdd(dev, cidr),
  };

  readonly route = {
    add: (spec: RouteSpec): void => this.routeAdd(spec),
    del: (spec: RouteSpec): void => this.routeDel(spec),
    get: (ip: string) => {
      const r = this.routes.resolve(parseIPv4(ip));
      return r ? describeResolved(r) : null;
    },
  };

  readonly neigh = {
    add: (spec: { ip: string; mac: string; dev: string }): void => this.neighAdd(spec),
  };

  /** iptables: `rules.load(iptablesSaveText, { noflush })`, `rules.save({ counters })`, `rules.randomSeed`. */
  readonly rules = ((host: ModelHost) => ({
    load: (text: string, opts?: { noflush?: boolean }): void => host.netfilter.load(text, opts),
    save: (opts?: { counters?: boolean }): string => host.netfilter.saveRules(opts),
    get randomSeed(): number {
      return host.netfilter.randomSeed;
    },
    set randomSeed(n: number) {
      host.netfilter.setRandomSeed(n);
    },
  }))(this);

  /** The host's ipsets (ipset restore/save; the parser is the engine's, membership is the model's own). */
  ipsets: Ipsets = new Map();
  readonly ipset = {
    load: (text: string): void => {
      this.ipsets = parseIpsets(text, this.ipsets, (n) => this.netfilter.refersTo(n));
    },
    save: (): string => formatIpsets(this.ipsets),
    destroy: (name: string): void => {
      this.ipsets = parseIpsets(`destroy ${name}`, this.ipsets, (n) => this.netfilter.refersTo(n));
    },
  };

  /** nf_conntrack: list, flush, max, count, as src/netfilter/nouns.ts has them. */
  readonly conntrack = ((host: ModelHost) => ({
    list: (now = 0): ConnInfo[] => host.netfilter.list(now),
    flush: (filter: ConnFilter = {}): number => host.netfilter.flush(filter),
    get max(): number {
      return host.netfilter.max;
    },
    set max(n: number) {
      host.netfilter.max = n;
    },
    get count(): number {
      return host.netfilter.count;
    },
  }))(this);

  listen(proto: 'udp' | 'tcp', port: number): void {
    if (proto !== 'udp' && proto !== 'tcp') throw new Error(`unknown protocol "${proto}"`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${port}`);
    this.ports.add(`${proto}/${port}`);
  }

  isListening(proto: 'udp' | 'tcp', port: number): boolean {
    return this.ports.has(`${proto}/${port}`);
  }

  linkByName(name: string): Link {
    const l = this.links.find((x) => x.name === name);
    if (!l) throw new Error(`unknown device "${name}"`);
    return l;
  }

  /** The ports of a bridge, in link order. */
  portsOf(br: Link): Link[] {
    return this.links.filter((l) => l.master === br);
  }

  private linkAdd(spec: LinkSpec): void {
    if (!spec.name || this.links.some((l) => l.name === spec.name)) throw new Error(`device "${spec.name}" exists or has no name`);
    if (!['ether', 'veth', 'bridge'].includes(spec.type)) throw new Error(`unknown link type "${spec.type}"`);
    if (spec.mtu !== undefined) checkMtu(spec.mtu);
    const master = spec.master === undefined ? null : this.bridgeByName(spec.master);
    if (master && spec.type === 'bridge') throw new Error('a bridge cannot be a bridge port');
    const mac = spec.mac === undefined ? defaultMac(this.links.length + 1) : parseMac(spec.mac);
    const link = new Link(this.links.length, spec.name, spec.type, mac, spec);
    link.master = master;
    this.links.push(link);
  }

  private bridgeByName(name: string): Link {
    const br = this.linkByName(name);
    if (br.type !== 'bridge') throw new Error(`"${name}" is not a bridge`);
    return br;
  }

  private linkSet(name: string, c: LinkChange): void {
    const l = this.linkByName(name);
    if (c.mtu !== undefined) checkMtu(c.mtu);
    const master = c.master === undefined ? l.master : c.master === null ? null : this.bridgeByName(c.master);
    if (master && l.type === 'bridge') throw new Error('a bridge cannot be a bridge port');
    if (l.master && l.master !== master) fdbFlushPort(l.master, l);
    l.master = master;
    if (c.up !== undefined) l.up = c.up;
    if (c.mtu !== undefined) l.mtu = c.mtu;
    if (c.proxyArp !== undefined) l.proxyArp = c.proxyArp;
    if (c.hairpin !== undefined) l.hairpin = c.hairpin;
    if (c.learning !== undefined) l.learning = c.learning;
    if (c.flood !== undefined) l.flood = c.flood;
  }

  private addrAdd(devName: string, cidr: string): void {
    const dev = this.linkByName(devName);
    const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
    if (!m || Number(m[2]) > 32) throw new Error(`invalid CIDR "${cidr}"`);
    const ip = parseIPv4(m[1]);
    const plen = Number(m[2]);
    if (this.routes.addrs.some((a) => a.ip === ip && a.dev === dev)) throw new Error(`address ${cidr} exists on ${devName}`);
    this.routes.addAddr({ ip, plen, dev });
  }

  private routeAdd(spec: RouteSpec): void {
    const { dst, plen } = parseRouteDst(spec.dst);
    const type = spec.type ?? 'unicast';
    if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(type)) throw new Error(`unknown route type "${type}"`);
    if (this.routes.findRoute(dst, plen)) throw new Error(`route ${spec.dst} exists`);
    const src = spec.src === undefined ? undefined : parseIPv4(spec.src);
    if (src !== undefined && !this.routes.isLocal(src)) throw new Error(`preferred source ${spec.src} is not a local address`);
    if (type !== 'unicast') {
      this.routes.insert({ dst, plen, type, onlink: false, kernel: false, src });
      return;
    }
    let dev = spec.dev === undefined ? undefined : this.linkByName(spec.dev);
    const via = spec.via === undefined ? undefined : parseIPv4(spec.via);
    const onlink = spec.onlink ?? false;
    if (!dev && via === undefined) throw new Error('a unicast route needs a device or a gateway');
    if (onlink && !dev) throw new Error('onlink needs a device');
    if (via !== undefined) {
      if (this.routes.isLocal(via)) throw new Error(`gateway ${spec.via} is a local address`);
      if (!onlink) {
        const c = this.routes.connectedRouteFor(via);
        if (!c || (dev && c.dev !== dev)) throw new Error(`gateway ${spec.via} is not reachable (no connected route${dev ? ` on ${dev.name}` : ''}); use onlink`);
        dev = c.dev;
      }
    }
    this.routes.insert({ dst, plen, type, dev, via, onlink, src, kernel: false });
  }

  private routeDel(spec: RouteSpec): void {
    const { dst, plen } = parseRouteDst(spec.dst);
    const r = this.routes.findRoute(dst, plen);
    if (!r) throw new Error(`no route ${spec.dst}`);
    this.routes.remove(r);
  }

  private neighAdd(spec: { ip: string; mac: string; dev: string }): void {
    const dev = this.linkByName(spec.dev);
    const ip = parseIPv4(spec.ip);
    const mac = parseMac(spec.mac);
    const n = this.arpTbl.getOrCreate(ip, dev, this.now);
    n.state = 'PERMANENT';
    n.mac = mac;
  }

  // ---------------------------------------------------------------- data

  receive(frames: { link: string; frame: Uint8Array; tag: number }[], now: number): Output[] {
    const links = frames.map((f) => this.linkByName(f.link));
    return this.run(now, () => frames.forEach((f, i) => this.receiveFrame(links[i], f.frame.slice(), f.tag >>> 0)));
  }

  send(packets: { packet: Uint8Array; tag: number }[], now: number): Output[] {
    return this.run(now, () => packets.forEach((p) => this.sendPacket(p.packet.slice(), p.tag >>> 0)));
  }

  tick(now: number): Output[] {
    return this.run(now, () => {});
  }

  stats(): Stats {
    return { fates: { ...this.fates }, drops: { ...this.drops }, stages: { ...this.stages } };
  }

  /** Timers first (neigh_timer_handler), then the batch. */
  private run(now: number, batch: () => void): Output[] {
    this.now = now;
    this.out = [];
    this.netfilter.grow();
    neighTimers(this);
    this.arpTbl.periodicGc(now);
    fragTimers(this);
    batch();
    const out = this.out;
    this.out = [];
    return out;
  }

  /** netif_receive_skb on link L, then the bridge's rx handler or L's own protocols. */
  private receiveFrame(link: Link, frame: Uint8Array, tag: number): void {
    this.fates.in++;
    this.netfilter.reset();
    if (!frameFits(link, frame)) return this.drop('FRAME_TOO_LONG', tag);
    if (!link.up) return this.drop('DEV_READY', tag);
    if (frame.length < ETH_HLEN) return this.drop('PKT_TOO_SMALL', tag);
    if (link.master) return bridgeInput(this, link.master, link, frame, tag);
    this.netifReceive(link, frame, tag);
  }

  /** A frame that reached device `dev`'s own protocol layer (eth_type_trans + dispatch); `local`: the bridge found it the host's. */
  netifReceive(dev: Link, frame: Uint8Array, tag: number, local = false): void {
    const cast = local ? 'host' : pktType(frame, dev);
    const type = get16(frame, 12);
    if (type === ETH_P_ARP) {
      if (cast === 'other') {
        this.stage('arp_ignored');
        return this.consume();
      }
      return arpInput(this, dev, frame, tag);
    }
    if (type === ETH_P_IP) {
      if (cast === 'other') return this.drop('OTHERHOST', tag);
      return ipInput(this, frame.subarray(ETH_HLEN), { tag, cast, dev });
    }
    this.drop('UNHANDLED_PROTO', tag);
  }

  private sendPacket(ip: Uint8Array, tag: number): void {
    this.fates.originated++;
    this.netfilter.reset();
    const hlen = (ip[0] & 0x0f) * 4;
    if (ip.length < 20 || ip[0] >> 4 !== 4 || hlen < 20 || hlen > ip.length) return this.drop('IP_INHDR', tag);
    const total = get16(ip, 2);
    if (total < hlen || total > ip.length) return this.drop('IP_INHDR', tag);
    // The stack's header checksum is not trusted: ip_send_check computes it.
    fixIpChecksum(ip);
    output(this, ip.subarray(0, total), tag);
  }

  /** Sending a frame on a link: a bridge goes through its FDB; anything else leaves the host. */
  xmit(link: Link, frame: Uint8Array, tag: number): void {
    if (!link.up) return this.drop('DEV_READY', tag);
    if (link.type === 'bridge') return bridgeXmit(this, link, frame, tag);
    this.tx(link, frame, tag);
  }

  output(ip: Uint8Array, tag: number): void {
    output(this, ip, tag);
  }

  /** ip_select_ident for the packets the data plane generates: a per-host counter. */
  nextIpId(): number {
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    return id;
  }

  // ------------------------------------------------------ fates and outputs

  tx(link: Link, frame: Uint8Array, tag: number): void {
    this.fates.sent++;
    this.out.push({ kind: 'tx', link: link.name, frame: frame.slice(), tag });
  }

  /** Delivered to the host (a socket, the ICMP layer). */
  deliver(ip: Uint8Array, tag: number): void {
    this.fates.local++;
    this.out.push({ kind: 'local', packet: ip.slice(), tag });
  }

  /** Consumed by the host without an output record (ARP). */
  consume(): void {
    this.fates.local++;
  }

  drop(reason: string, tag: number): void {
    this.netfilter.abort(); // a connection the packet in hand started never was
    this.fates.dropped++;
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.out.push({ kind: 'drop', reason, tag });
  }

  gen(n = 1): void {
    this.fates.generated += n;
  }

  stage(name: string): void {
    this.stages[name] = (this.stages[name] ?? 0) + 1;
  }

  /** in + originated + generated == sent + local + dropped + reassembled + (queued - dequeued) */
  conserved(): boolean {
    const f = this.fates;
    const dropSum = Object.values(this.drops).reduce((a, b) => a + b, 0);
    return f.in + f.originated + f.generated === f.sent + f.local + f.dropped + f.reassembled + (f.queued - f.dequeued) && dropSum === f.dropped;
  }

  /** Addresses on a link, for tests. */
  addrsOf(dev: string): { ip: number; plen: number }[] {
    return this.routes.addrs.filter((a) => a.dev.name === dev).map(({ ip, plen }) => ({ ip, plen }));
  }
}

/** eth_type_trans: who a frame on `dev` is addressed to. */
function pktType(frame: Uint8Array, dev: Link): 'host' | 'broadcast' | 'multicast' | 'other' {
  if (macEq(frame, 0, dev.mac)) return 'host';
  if (macEq(frame, 0, BROADCAST)) return 'broadcast';
  return isMulticastMac(frame, 0) ? 'multicast' : 'other';
}
