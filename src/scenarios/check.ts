// Runs a built scenario: its traffic, then one probe per reachability
// property, every link captured; then checks the properties and sums up what
// happened (deliveries, drops by reason, per-link counters).
import type { Capture } from '../network.js';
import { errorAt, ScenarioError } from './spec.js';
import type { BuiltScenario } from './build.js';
import { formatProbe, type Probe, type Property } from './grammar.js';
import { NoSettle, Prober, formatTuple, type PacketFate } from './probe.js';

export interface ProbeReport {
  text: string;
  /** A line of `traffic`, or the probe of a property. */
  from: 'traffic' | 'property';
  probe: Probe;
  packets: PacketFate[];
}

export interface PropertyReport {
  text: string;
  holds: boolean;
  /** Why it fails, or what it rests on. */
  detail: string;
}

export interface LinkCounters {
  link: string;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export interface ScenarioReport {
  scenario: string;
  hosts: number;
  probes: ProbeReport[];
  properties: PropertyReport[];
  /** Packets each host's sockets took (tcp/udp) over the whole run. */
  deliveries: Record<string, number>;
  /** Drops by reason, and by host within a reason. */
  drops: Record<string, { count: number; hosts: Record<string, number> }>;
  links: LinkCounters[];
  /** Why the run stopped early (a loop that never settles). */
  unsettled?: string;
  /** Every property holds and the run settled. */
  ok: boolean;
}

export interface RunResult {
  report: ScenarioReport;
  /** Every link's capture, by 'host:link'. */
  captures: Map<string, Capture>;
}

/** Sends the scenario's traffic and checks its properties. */
export function runScenario(built: BuiltScenario): RunResult {
  const { scenario, net } = built;
  const captures = new Map<string, Capture>();
  for (const h of net.hosts) for (const l of h.link.list()) captures.set(`${h.name}:${l.name}`, net.capture(`${h.name}:${l.name}`));

  const prober = new Prober(net);
  const probes: ProbeReport[] = [];
  const reach = scenario.properties.filter((p): p is Extract<Property, { kind: 'reach' }> => p.kind === 'reach');
  const jobs: { probe: Probe; from: ProbeReport['from']; part: object }[] = [
    ...scenario.traffic.map((probe) => ({ probe, from: 'traffic' as const, part: probe })),
    ...reach.map((p) => ({ probe: p.probe, from: 'property' as const, part: p })),
  ];
  // A name that does not exist is the scenario's mistake, found before anything is sent.
  for (const job of jobs) {
    for (const [field, name] of [['from', job.probe.from], ['to', job.probe.to]] as const) {
      try {
        if (field === 'from' && !net.hosts.some((h) => h.name === name)) throw new Error(`no host named "${name}"`);
        if (field === 'to') prober.target(name);
      } catch (err) {
        throw errorAt(scenario, job.part, (err as Error).message);
      }
    }
  }
  let unsettled: string | undefined;
  const reportOf = new Map<object, ProbeReport>();
  for (const job of jobs) {
    if (unsettled) break;
    const r: ProbeReport = { text: formatProbe(job.probe), from: job.from, probe: job.probe, packets: [] };
    probes.push(r);
    reportOf.set(job.part, r);
    for (let seq = 1; seq <= job.probe.count; seq++) {
      try {
        r.packets.push(prober.send(job.probe, seq));
      } catch (err) {
        if (!(err instanceof NoSettle)) throw err;
        unsettled = `the network did not settle after ${r.text}: ${err.message}`;
        break;
      }
    }
  }

  const properties = scenario.properties.map((p): PropertyReport => {
    if (p.kind === 'reach') return checkReach(p, reportOf.get(p));
    if (p.kind === 'no-loops') return checkLoops(p.text, captures, unsettled);
    return checkReplies(p.text, probes);
  });

  const deliveries: Record<string, number> = {};
  for (const h of net.hosts) {
    const n = net.delivered(h.name).length;
    if (n) deliveries[h.name] = n;
  }
  const drops: ScenarioReport['drops'] = {};
  for (const d of net.drops()) {
    const e = (drops[d.reason] ??= { count: 0, hosts: {} });
    e.count++;
    e.hosts[d.host] = (e.hosts[d.host] ?? 0) + 1;
  }
  const links: LinkCounters[] = [];
  for (const h of net.hosts) {
    for (const [name, s] of Object.entries(h.stats().links)) {
      if (s.rxPackets || s.txPackets) links.push({ link: `${h.name}:${name}`, ...s });
    }
  }
  const report: ScenarioReport = {
    scenario: scenario.name,
    hosts: net.hosts.length,
    probes,
    properties,
    deliveries,
    drops,
    links,
    ...(unsettled ? { unsettled } : {}),
    ok: !unsettled && properties.every((p) => p.holds),
  };
  return { report, captures };
}

function checkReach(p: Extract<Property, { kind: 'reach' }>, r: ProbeReport | undefined): PropertyReport {
  if (!r || r.packets.length === 0) return { text: p.text, holds: false, detail: 'not run: the network stopped settling before it' };
  const o = p.outcome;
  for (const f of r.packets) {
    const fate = describeFate(f);
    if (o.expect === 'delivered') {
      if (!f.deliveredAt) return { text: p.text, holds: false, detail: fate };
      if (o.at && f.deliveredAt !== o.at) return { text: p.text, holds: false, detail: `${fate}, not at ${o.at}` };
    } else if (o.expect === 'answered') {
      if (!f.answered) return { text: p.text, holds: false, detail: fate };
    } else {
      if (f.deliveredAt) return { text: p.text, holds: false, detail: fate };
      const match = f.drops.some((d) => (!o.reason || d.reason === o.reason) && (!o.at || d.host === o.at));
      if ((o.reason || o.at) && !match) return { text: p.text, holds: false, detail: fate };
    }
  }
  return { text: p.text, holds: true, detail: describeFate(r.packets[0]) };
}

/**
 * A packet seen twice by the same host — the same IPv4 header and first 8
 * bytes of payload, TTL and header checksum aside — went round in a loop.
 */
function checkLoops(text: string, captures: Map<string, Capture>, unsettled: string | undefined): PropertyReport {
  if (unsettled) return { text, holds: false, detail: unsettled };
  const seen = new Map<string, string>();
  let frames = 0;
  for (const [key, c] of captures) {
    const host = key.slice(0, key.indexOf(':'));
    for (const f of c.frames) {
      if (f.direction !== 'in') continue;
      const id = packetKey(f.frame);
      if (id === undefined) continue;
      frames++;
      const k = `${host}\0${id}`;
      const before = seen.get(k);
      if (before) return { text, holds: false, detail: `${host} received the same packet twice (on ${before}, then on ${key} at ${f.timeMs} ms)` };
      seen.set(k, key);
    }
  }
  return { text, holds: true, detail: `${frames} IPv4 packets, none seen twice by a host` };
}

function packetKey(frame: Uint8Array): string | undefined {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return undefined;
  const ihl = (frame[14] & 0x0f) * 4;
  if (ihl < 20 || frame.length < 14 + ihl) return undefined;
  const ip = frame.subarray(14);
  const parts = [...ip.subarray(0, 8), ip[9], ...ip.subarray(12, ihl), ...ip.subarray(ihl, ihl + 8)];
  return parts.join(',');
}

function checkReplies(text: string, probes: ProbeReport[]): PropertyReport {
  let checked = 0;
  for (const r of probes) {
    for (const f of r.packets) {
      if (!f.deliveredAt || !f.reply) continue;
      checked++;
      const rp = f.reply;
      if (!rp.back) {
        const why = rp.drops.length ? `dropped ${rp.drops.map((d) => `${d.reason} at ${d.host}`).join(', ')}` : 'lost';
        return { text, holds: false, detail: `${r.text}: the answer from ${f.deliveredAt} did not come back (${why})` };
      }
      if (!rp.translated) {
        const s = f.sent;
        const expected = formatTuple({ src: s.dst, dst: s.src, sport: s.dport, dport: s.sport });
        return { text, holds: false, detail: `${r.text}: the answer came back as ${formatTuple(rp.got!)}, expected ${expected}` };
      }
    }
  }
  return { text, holds: true, detail: checked ? `${checked} answers came back as the sender addressed them, reversed` : 'no packet was delivered, no answer to check' };
}

/** One phrase: `delivered at web (172.17.0.2:80), answer back` or `dropped NETFILTER_DROP at docker-host`. */
export function describeFate(f: PacketFate): string {
  const parts: string[] = [];
  if (f.deliveredAt) {
    parts.push(`delivered at ${f.deliveredAt}${f.arrived ? ` (as ${formatTuple(f.arrived)})` : ''}`);
    if (f.reply) {
      if (!f.reply.back) parts.push('no answer back');
      else parts.push(f.reply.translated ? 'answered' : `answer back as ${formatTuple(f.reply.got!)}`);
    }
  } else if (f.drops.length) {
    const first = f.drops[0];
    parts.push(`dropped ${first.reason} at ${first.host}`);
  } else {
    parts.push('not delivered (left the network or still queued)');
  }
  if (f.errors.length) parts.push(`ICMP back: ${f.errors[0].replace(/ ttl \d+.*$/, '')}`);
  return parts.join(', ');
}

export { ScenarioError };
