// Builds a scenario on a Network: the builder it names first (docker,
// calico), then its hosts (new ones, or more configuration for the builder's),
// each noun in the order `ip` would need it, then wires and segments. An error
// names the part of the scenario that caused it.
import { Engine } from '../engine/engine.js';
import { Host } from '../host.js';
import { Network } from '../network.js';
import { buildDocker } from './docker.js';
import { buildCalico } from './calico.js';
import { errorAt, type Scenario, type ScenarioHost } from './spec.js';

export interface BuiltScenario {
  scenario: Scenario;
  net: Network;
}

export interface BuildOptions {
  /** The engine to build in (default: a new one). */
  engine?: Engine;
}

export function buildScenario(scenario: Scenario, opts: BuildOptions = {}): BuiltScenario {
  const engine = opts.engine ?? new Engine();
  let net: Network;
  /** L2 segments of the builder, joined by the scenario's segments of the same name. */
  const segments = new Map<string, { members: string[]; learning?: boolean; latencyMs?: number }>();
  if (scenario.docker) {
    const d = scenario.docker;
    net = attempt(scenario, d, () => buildDocker({ containers: d.containers, userlandProxy: d.userlandProxy, engine }).net);
  } else {
    net = new Network({ engine });
    if (scenario.calico) {
      let cluster;
      try {
        cluster = buildCalico({ ...scenario.calico, engine });
      } catch (err) {
        throw errorAt(scenario, scenario.calico, (err as Error).message.replace(/^calico: /, ''));
      }
      // As calicoNetwork() lays it out, with room for the scenario's hosts on the underlay.
      if (cluster.router) net.add(cluster.router);
      for (const n of cluster.nodes) {
        net.add(n.host);
        for (const p of n.pods) net.add(p.host);
      }
      for (const [a, b] of cluster.veths) net.connect(a, b);
      for (const [name, members] of Object.entries(cluster.segments)) segments.set(name, { members: [...members] });
    }
  }

  for (const spec of scenario.hosts) configure(scenario, net, spec);

  for (const w of scenario.wires) {
    attempt(scenario, w, () => net.connect(w.ends[0], w.ends[1], { latencyMs: w.latencyMs }));
  }
  for (const s of scenario.segments) {
    const seg = segments.get(s.name);
    if (seg) {
      seg.members.push(...s.members);
      seg.learning = s.learning ?? seg.learning;
      seg.latencyMs = s.latencyMs ?? seg.latencyMs;
    } else {
      segments.set(s.name, { members: [...s.members], learning: s.learning, latencyMs: s.latencyMs });
    }
  }
  for (const [name, seg] of segments) {
    const part = scenario.segments.find((s) => s.name === name);
    const join = () => net.segment(name, seg.members, { learning: seg.learning, latencyMs: seg.latencyMs });
    if (part) attempt(scenario, part, join);
    else if (seg.members.length > 1) join(); // a one-node cluster's underlay has nobody to reach
  }
  return { scenario, net };
}

/** One host of the scenario: created, or the builder's host of that name, extended. */
function configure(scenario: Scenario, net: Network, spec: ScenarioHost): void {
  let host: Host;
  const existing = net.hosts.find((h) => h.name === spec.name);
  if (existing) {
    if (spec.neighSlots !== undefined) throw errorAt(scenario, spec, `host ${spec.name} exists (made by the builder): neighSlots is only for a new host`, 'neighSlots');
    host = existing;
  } else {
    host = attempt(scenario, spec, () => net.host({ name: spec.name, forwarding: spec.forwarding, neighSlots: spec.neighSlots }));
  }
  if (spec.forwarding !== undefined) host.forwarding = spec.forwarding;
  for (const l of spec.links) attempt(scenario, l, () => host.link.add(l));
  for (const a of spec.addresses) attempt(scenario, a, () => host.addr.add(a.dev, a.cidr));
  for (const r of spec.routes) attempt(scenario, r, () => host.route.add(r));
  for (const n of spec.neighbours) attempt(scenario, n, () => host.neigh.add(n));
  for (const e of spec.fdb) attempt(scenario, e, () => host.fdb.add(e));
  for (const s of spec.listen) host.listen(s.proto, s.port);
  if (spec.conntrackMax !== undefined) host.conntrack.max = spec.conntrackMax;
  // Sets first: rules name them.
  if (spec.ipsets !== undefined) attemptField(scenario, spec, 'ipsets', () => host.ipset.load(spec.ipsets!));
  if (spec.iptables !== undefined) attemptField(scenario, spec, 'iptables', () => host.rules.load(spec.iptables!));
}

function attempt<T>(scenario: Scenario, part: object, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw errorAt(scenario, part, (err as Error).message);
  }
}

function attemptField(scenario: Scenario, part: object, field: string, f: () => void): void {
  try {
    f();
  } catch (err) {
    throw errorAt(scenario, part, (err as Error).message, field);
  }
}
