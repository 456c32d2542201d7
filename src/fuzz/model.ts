// Agreement with the reference model (test/model), for `podnet fuzz --model`:
// each host that fuzz frames go into is built twice more, as a host of its
// own on the engine and as the model, from its configuration; the frames sent
// into it go to both, batch by batch at the same times, and their outputs
// must agree frame for frame, their counters number for number. The model
// ships with the repository, not with the package: installed, it is absent.
import * as L from '../engine/layout.gen.js';
import type { Host, LinkSpec, RouteSpec } from '../host.js';
import { Host as EngineHost } from '../host.js';
import { Engine } from '../engine/engine.js';
import type { Scenario } from '../scenarios/spec.js';
import type { ModelHost } from '../../test/model/host.js';
import type * as Drive from '../../test/model/drive.js';
import { BATCH, pauseOf } from './epoch.js';
import { FuzzLane, type FuzzFrame } from './lane.js';
import { epochSeed } from './recipes.js';

/** Frames of the first epoch the model checks at most: it is a plain, slow implementation. */
export const MODEL_FRAMES = 50_000;

export interface ModelResult {
  status: 'agreed' | 'disagreed' | 'absent';
  /** Frames fed to both. */
  frames: number;
  /** The hosts compared, and those the model cannot build (IPIP tunnels). */
  hosts: string[];
  skipped: string[];
  /** The first disagreement: what differs, on which host, and the frames sent up to its batch. */
  detail?: string;
  host?: string;
  after?: number;
}

type Loaded = { ModelHost: typeof ModelHost; drive: typeof Drive };

async function loadModel(): Promise<Loaded | undefined> {
  try {
    const [host, drive] = await Promise.all([import('../../test/model/host.js'), import('../../test/model/drive.js')]);
    return { ModelHost: host.ModelHost, drive };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

interface Mirror {
  link: { add(spec: LinkSpec): void };
  addr: { add(dev: string, cidr: string): void };
  route: { add(spec: RouteSpec): void };
  neigh: { add(spec: { ip: string; mac: string; dev: string }): void };
  listen(proto: 'udp' | 'tcp', port: number): void;
  rules: { load(text: string): void };
}

/** Gives `m` the configuration of host h, in the order ip(8) would. */
function mirror(h: Host, m: Mirror): void {
  for (const l of h.link.list()) {
    m.link.add({ name: l.name, type: l.type, mac: l.mac, mtu: l.mtu, up: l.up, ...(l.master ? { master: l.master } : {}), proxyArp: l.proxyArp, hairpin: l.hairpin, learning: l.learning, flood: l.flood });
  }
  for (const a of h.addr.list()) m.addr.add(a.dev, a.cidr);
  for (const r of h.route.list()) {
    if (r.proto === 'kernel') continue;
    m.route.add({ dst: r.dst, ...(r.via ? { via: r.via } : {}), ...(r.dev ? { dev: r.dev } : {}), ...(r.onlink ? { onlink: true } : {}), type: r.type as RouteSpec['type'], ...(r.src ? { src: r.src } : {}), metric: r.metric });
  }
  for (const n of h.neigh.list()) if (n.state === 'PERMANENT' && n.mac) m.neigh.add({ ip: n.ip, mac: n.mac, dev: n.dev });
  for (const key of h.ports) m.listen(key >>> 16 === 6 ? 'tcp' : 'udp', key & 0xffff);
  if (netfilter(h)) m.rules.load(h.rules.save());
}

/** Whether the host has rules loaded (and so conntrack). */
function netfilter(h: Host): boolean {
  return h.engine.dv.getUint32(h.ptr + L.H_CT, true) !== 0;
}

/**
 * Sends the first epoch's frames (up to MODEL_FRAMES) into the engine and
 * the model, host by host, each host alone, and compares what comes out.
 */
export async function modelAgreement(scenario: Scenario, seed: number, frames: number): Promise<ModelResult> {
  const model = await loadModel();
  if (!model) return { status: 'absent', frames: 0, hosts: [], skipped: [] };
  const lane = new FuzzLane(scenario);
  const n = Math.min(frames, MODEL_FRAMES);
  const words = lane.drawWords(epochSeed(seed, 0), n, BATCH, (k) => pauseOf(seed, 0, k));
  return compareWithModel(model, lane, lane.render(words));
}

/** The model, when this copy of podnet has it. */
export const referenceModel = loadModel;
export type ReferenceModel = Loaded;

/**
 * Compares the engine and the model on frames rendered by a lane (its
 * network gives each host's configuration): each host alone, its frames in
 * their batches at their times. `after` is the number of frames up to the
 * batch that disagreed.
 */
export function compareWithModel(model: Loaded, lane: FuzzLane, sent: FuzzFrame[]): ModelResult {
  const byHost = new Map<string, { frame: FuzzFrame; tag: number }[]>();
  sent.forEach((frame, tag) => {
    const host = frame.at.slice(0, frame.at.indexOf(':'));
    if (!byHost.has(host)) byHost.set(host, []);
    byHost.get(host)!.push({ frame, tag });
  });
  const result: ModelResult = { status: 'agreed', frames: 0, hosts: [], skipped: [] };
  for (const [name, list] of byHost) {
    const h = lane.net.get(name);
    if (h.link.list().some((l) => l.type === 'ipip')) {
      result.skipped.push(name);
      continue;
    }
    result.hosts.push(name);
    const engine = new EngineHost({ name, forwarding: h.forwarding, ipfragTime: h.ipfragTime, engine: new Engine() });
    const m = model.ModelHost.create({ name, forwarding: h.forwarding, ipfragTime: h.ipfragTime });
    mirror(h, engine);
    mirror(h, m as unknown as Mirror);
    if (netfilter(h)) {
      engine.conntrack.max = h.conntrack.max;
      m.conntrack.max = h.conntrack.max;
    }
    // The batches of the fuzz run, at their times, this host's frames only.
    for (let i = 0; i < list.length;) {
      let j = i + 1;
      const batch = (k: number) => list[k].frame.batch || list[k].frame.timeMs !== list[k - 1].frame.timeMs;
      while (j < list.length && !batch(j) && j - i < 256) j++;
      const now = list[i].frame.timeMs;
      const input = list.slice(i, j).map(({ frame, tag }) => ({ link: frame.at.slice(frame.at.indexOf(':') + 1), frame: frame.frame, tag }));
      const want = m.receive(input.map((f) => ({ ...f, frame: f.frame.slice() })), now);
      const got = engine.receive(input.map((f) => ({ ...f, frame: f.frame.slice() })), now);
      result.frames += j - i;
      const where = { status: 'disagreed' as const, after: list[j - 1].tag + 1, host: name };
      const diff = model.drive.diffOutputs(want, got);
      if (diff) return { ...result, ...where, detail: `${name}, frames ${list[i].tag}..${list[j - 1].tag} at ${now} ms: ${diff}` };
      const ws = model.drive.comparableStats(m.stats());
      const gs = model.drive.comparableStats(engine.stats());
      if (JSON.stringify(ws) !== JSON.stringify(gs)) {
        return { ...result, ...where, detail: `${name}, after frame ${list[j - 1].tag}: counters differ: model ${JSON.stringify(ws)}, engine ${JSON.stringify(gs)}` };
      }
      i = j;
    }
  }
  return result;
}
