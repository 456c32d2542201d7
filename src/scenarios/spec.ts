// A scenario as data: the hosts of a setup with their links, addresses,
// routes, neighbours, rules and sets, the wires and segments between them,
// the traffic to send and the properties to check. readScenario() checks a
// parsed JSON or YAML document field by field and names the path of the
// first mistake (`hosts[2].links[0].mtu: ...`).
import type { LinkSpec, RouteSpec } from '../host.js';
import { MIN_MTU, MAX_MTU } from '../nouns/common.js';
import { parseAddrLine, parseNeighLine, parseRouteLine } from './ip-syntax.js';
import { parseProbe, parseProperty, type Probe, type Property } from './grammar.js';
import { Field, formatPath, ScenarioError, type Locate, type Path } from './field.js';

export { ScenarioError, type Locate, type Path } from './field.js';

export interface ScenarioHost {
  name: string;
  forwarding?: boolean;
  neighSlots?: number;
  links: LinkSpec[];
  addresses: { dev: string; cidr: string }[];
  routes: RouteSpec[];
  neighbours: { ip: string; mac: string; dev: string }[];
  fdb: { mac: string; dev: string }[];
  /** Open sockets: 'tcp/80'. */
  listen: { proto: 'tcp' | 'udp'; port: number }[];
  conntrackMax?: number;
  /** `ipset save` text, loaded before the rules that name the sets. */
  ipsets?: string;
  /** `iptables-save` text. */
  iptables?: string;
}

export interface DockerShorthand {
  containers: { name: string; publish: { hostPort: number; containerPort: number; proto: 'tcp' | 'udp' }[] }[];
  userlandProxy?: boolean;
}

export interface CalicoShorthand {
  nodes: number;
  podsPerNode: number;
  ipipMode?: 'Always' | 'CrossSubnet' | 'Never';
  pool?: string;
  subnets?: number;
  tunnelMtu?: number;
  natOutgoing?: boolean;
  /** Felix's own rules and ipsets on every node (buildCalico's felix). */
  felix?: boolean;
}

export interface Scenario {
  name: string;
  description?: string;
  docker?: DockerShorthand;
  calico?: CalicoShorthand;
  /** New hosts, or more configuration for hosts a builder made (same name). */
  hosts: ScenarioHost[];
  wires: { ends: [string, string]; latencyMs?: number }[];
  segments: { name: string; members: string[]; learning?: boolean; latencyMs?: number }[];
  traffic: Probe[];
  properties: Property[];
  /** Where each part came from in the document, for messages: `hosts[1].routes[0]`. */
  paths: WeakMap<object, Path>;
  /** The line of a path in the source, when the format tells. */
  locate: Locate;
}

/** An error about a part of the scenario (a host, a route, a wire), at its path. */
export function errorAt(scenario: Scenario, part: object, detail: string, field?: string): ScenarioError {
  const at = [...(scenario.paths.get(part) ?? []), ...(field ? [field] : [])];
  return new ScenarioError(formatPath(at), detail, scenario.locate(at));
}

const TOP = ['name', 'description', 'docker', 'calico', 'hosts', 'wires', 'segments', 'traffic', 'properties'];
const HOST = ['name', 'forwarding', 'neighSlots', 'links', 'addresses', 'routes', 'neighbours', 'fdb', 'listen', 'conntrackMax', 'ipsets', 'iptables'];
const LINK = ['name', 'type', 'mac', 'mtu', 'up', 'master', 'proxyArp', 'hairpin', 'learning', 'flood', 'fdbMax', 'ageingMs', 'local', 'ttl', 'pmtudisc', 'peers'];
const LINK_TYPES = ['ether', 'veth', 'bridge', 'ipip'] as const;
const ROUTE = ['dst', 'via', 'dev', 'onlink', 'type', 'src', 'metric'];
const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit'] as const;
const PROTOS = ['tcp', 'udp'] as const;
const MAX_LATENCY_MS = 3_600_000;

/**
 * Checks a parsed document (JSON.parse or YAML) and returns the scenario.
 * `fallbackName` names a scenario without a `name` (the file's base name).
 */
export function readScenario(doc: unknown, opts: { fallbackName?: string; locate?: Locate } = {}): Scenario {
  const locate = opts.locate ?? (() => undefined);
  const root = new Field(doc, [], locate);
  const f = root.object(TOP);
  const paths = new WeakMap<object, Path>();
  const scenario: Scenario = {
    name: f.name.optString() ?? opts.fallbackName ?? 'scenario',
    description: f.description.optString(),
    docker: f.docker.present ? readDocker(f.docker) : undefined,
    calico: f.calico.present ? readCalico(f.calico) : undefined,
    hosts: f.hosts.list().map((h) => readHost(h, paths)),
    wires: f.wires.list().map((w) => {
      const wire = readWire(w);
      paths.set(wire, w.at);
      return wire;
    }),
    segments: f.segments.list().map((s) => {
      const o = s.object(['name', 'members', 'learning', 'latencyMs']);
      const members = o.members.list().map((m) => m.string('a link, HOST:LINK'));
      if (members.length === 0) o.members.fail('list the links on the segment');
      const seg = { name: o.name.string(), members, learning: o.learning.optBoolean(), latencyMs: o.latencyMs.optNumber(0, MAX_LATENCY_MS) };
      paths.set(seg, s.at);
      return seg;
    }),
    traffic: f.traffic.list().map((t) => {
      const probe = readProbe(t);
      paths.set(probe, t.at);
      return probe;
    }),
    properties: f.properties.list().map((p) => {
      const prop = readProperty(p);
      paths.set(prop, p.at);
      return prop;
    }),
    paths,
    locate,
  };
  if (scenario.docker && scenario.calico) f.calico.fail('a scenario uses one builder at most (docker or calico)');
  if (scenario.docker) paths.set(scenario.docker, f.docker.at);
  if (scenario.calico) paths.set(scenario.calico, f.calico.at);
  const names = new Set<string>();
  for (const [i, h] of scenario.hosts.entries()) {
    if (names.has(h.name)) f.hosts.child(i).child('name').fail(`host ${h.name} is listed twice`);
    names.add(h.name);
  }
  return scenario;
}

function readDocker(f: Field): DockerShorthand {
  const o = f.object(['containers', 'userlandProxy']);
  const containers = o.containers.list().map((c) => {
    const co = c.object(['name', 'publish']);
    return { name: co.name.string(), publish: co.publish.list().map(readPublish) };
  });
  if (containers.length === 0) o.containers.fail('list at least one container');
  return { containers, userlandProxy: o.userlandProxy.optBoolean() };
}

/** `8080:80`, `5353:53/udp` (docker run -p), or { hostPort, containerPort, proto }. */
function readPublish(f: Field): DockerShorthand['containers'][number]['publish'][number] {
  if (typeof f.value === 'string') {
    const m = /^(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(f.value);
    if (!m) f.fail('expected HOSTPORT:CONTAINERPORT[/tcp|/udp], as docker run -p');
    const hostPort = Number(m[1]);
    const containerPort = Number(m[2]);
    if (!(hostPort >= 1 && hostPort <= 65535 && containerPort >= 1 && containerPort <= 65535)) f.fail('ports are 1..65535');
    return { hostPort, containerPort, proto: (m[3] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
  }
  const o = f.object(['hostPort', 'containerPort', 'proto']);
  return { hostPort: o.hostPort.integer(1, 65535), containerPort: o.containerPort.integer(1, 65535), proto: o.proto.present ? o.proto.oneOf(PROTOS) : 'tcp' };
}

function readCalico(f: Field): CalicoShorthand {
  const o = f.object(['nodes', 'podsPerNode', 'ipipMode', 'pool', 'subnets', 'tunnelMtu', 'natOutgoing', 'felix']);
  return {
    nodes: o.nodes.integer(1, 10_000),
    podsPerNode: o.podsPerNode.integer(0, 1000),
    ipipMode: o.ipipMode.present ? o.ipipMode.oneOf(['Always', 'CrossSubnet', 'Never'] as const) : undefined,
    pool: o.pool.optString(),
    subnets: o.subnets.optInteger(1, 250),
    tunnelMtu: o.tunnelMtu.optInteger(MIN_MTU, MAX_MTU),
    natOutgoing: o.natOutgoing.optBoolean(),
    felix: o.felix.optBoolean(),
  };
}

function readHost(f: Field, paths: WeakMap<object, Path>): ScenarioHost {
  const o = f.object(HOST);
  const name = o.name.string('a host name');
  if (name.includes(':')) o.name.fail('a host name cannot contain ":" (links are named HOST:LINK)');
  const remember = <T extends object>(value: T, at: Field): T => {
    paths.set(value, at.at);
    return value;
  };
  const host: ScenarioHost = {
    name,
    forwarding: o.forwarding.optBoolean(),
    neighSlots: o.neighSlots.optInteger(8, 1 << 20),
    links: o.links.list().map((l) => remember(readLink(l), l)),
    addresses: o.addresses.list().map((a) => remember(readAddress(a), a)),
    routes: o.routes.list().map((r) => remember(readRoute(r), r)),
    neighbours: o.neighbours.list().map((n) => remember(readNeighbour(n), n)),
    fdb: o.fdb.list().map((e) => {
      const fo = e.object(['mac', 'dev']);
      return remember({ mac: fo.mac.string(), dev: fo.dev.string() }, e);
    }),
    listen: o.listen.list().map((l) => readSocket(l)),
    conntrackMax: o.conntrackMax.optInteger(1, 1 << 24),
    ipsets: o.ipsets.optText(),
    iptables: o.iptables.optText(),
  };
  paths.set(host, f.at);
  return host;
}

function readLink(f: Field): LinkSpec {
  const o = f.object(LINK);
  const peers = o.peers.present ? o.peers.list().map((p) => p.string('an IPv4 address')) : undefined;
  const spec: LinkSpec = {
    name: o.name.string('a device name'),
    type: o.type.oneOf(LINK_TYPES),
    mac: o.mac.optString(),
    mtu: o.mtu.optInteger(MIN_MTU, MAX_MTU),
    up: o.up.optBoolean(),
    master: o.master.optString(),
    proxyArp: o.proxyArp.optBoolean(),
    hairpin: o.hairpin.optBoolean(),
    learning: o.learning.optBoolean(),
    flood: o.flood.optBoolean(),
    fdbMax: o.fdbMax.optInteger(1, 1 << 24),
    ageingMs: o.ageingMs.optInteger(0, 2 ** 31 - 1),
    local: o.local.optString(),
    ttl: o.ttl.optInteger(0, 255),
    pmtudisc: o.pmtudisc.optBoolean(),
    peers,
  };
  return dropUndefined(spec);
}

/** `10.0.0.1/24 dev eth0` (ip addr add), or { dev, address }. */
function readAddress(f: Field): { dev: string; cidr: string } {
  if (typeof f.value === 'string') return f.parse(parseAddrLine);
  const o = f.object(['dev', 'address']);
  return { dev: o.dev.string(), cidr: o.address.string('an address, a.b.c.d/len') };
}

/** `default via 192.168.0.1`, `blackhole 10.244.0.0/26` (ip route add), or a RouteSpec. */
function readRoute(f: Field): RouteSpec {
  if (typeof f.value === 'string') return f.parse(parseRouteLine);
  const o = f.object(ROUTE);
  return dropUndefined({
    dst: o.dst.string("a destination: a.b.c.d/len or 'default'"),
    via: o.via.optString(),
    dev: o.dev.optString(),
    onlink: o.onlink.optBoolean(),
    type: o.type.present ? o.type.oneOf(ROUTE_TYPES) : undefined,
    src: o.src.optString(),
    metric: o.metric.optInteger(0, 2 ** 32 - 1),
  });
}

/** `192.168.0.12 lladdr 02:00:00:00:00:02 dev eth0` (ip neigh add), or { ip, mac, dev }. */
function readNeighbour(f: Field): { ip: string; mac: string; dev: string } {
  if (typeof f.value === 'string') return f.parse(parseNeighLine);
  const o = f.object(['ip', 'mac', 'dev']);
  return { ip: o.ip.string(), mac: o.mac.string(), dev: o.dev.string() };
}

function readSocket(f: Field): { proto: 'tcp' | 'udp'; port: number } {
  return f.parse((text) => {
    const m = /^(tcp|udp)\/(\d+)$/.exec(text);
    const port = Number(m?.[2]);
    if (!m || !(port >= 1 && port <= 65535)) throw new Error(`expected tcp/PORT or udp/PORT (1..65535), got "${text}"`);
    return { proto: m[1] as 'tcp' | 'udp', port };
  });
}

/** `[a:eth0, b:eth0]`, or { ends: [...], latencyMs }. */
function readWire(f: Field): Scenario['wires'][number] {
  let ends: Field;
  let latencyMs: number | undefined;
  if (Array.isArray(f.value)) {
    ends = f;
  } else {
    const o = f.object(['ends', 'latencyMs']);
    ends = o.ends;
    latencyMs = o.latencyMs.optNumber(0, MAX_LATENCY_MS);
  }
  const list = ends.list().map((e) => e.string('a link, HOST:LINK'));
  if (list.length !== 2) ends.fail(`a wire has two ends, got ${list.length}`);
  return { ends: [list[0], list[1]], latencyMs };
}

/** A probe: `from A to B tcp/80`, or { from, to, proto, port, count, size }. */
function readProbe(f: Field): Probe {
  if (typeof f.value === 'string') return f.parse(parseProbe);
  const o = f.object(['from', 'to', 'proto', 'port', 'count', 'size']);
  const proto = o.proto.present ? o.proto.oneOf(['icmp', 'tcp', 'udp'] as const) : 'icmp';
  const port = o.port.optInteger(1, 65535);
  if (proto !== 'icmp' && port === undefined) o.port.fail(`${proto} needs a port`);
  if (proto === 'icmp' && port !== undefined) o.port.fail('icmp has no port');
  return {
    from: o.from.string('a host name'),
    to: o.to.string('a host name or an IPv4 address'),
    proto,
    port,
    count: o.count.optInteger(1, 100_000) ?? 1,
    size: o.size.optInteger(0, 1400) ?? 0,
  };
}

/**
 * A property: one line (`from a to b tcp/80: delivered`, `no packet loops`),
 * or YAML's reading of such a line, a one-key mapping.
 */
function readProperty(f: Field): Property {
  if (typeof f.value === 'object' && f.value !== null && !Array.isArray(f.value)) {
    const entries = Object.entries(f.value);
    if (entries.length !== 1 || typeof entries[0][1] !== 'string') f.fail('expected one line, "PROBE: OUTCOME"');
    const [key, value] = entries[0] as [string, string];
    return f.parse(parseProperty, `${key}: ${value}`);
  }
  return f.parse(parseProperty);
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
