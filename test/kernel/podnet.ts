// The podnet side of a kernel case: a Host built from the same description,
// the same frames at the same times (the steps' gaps on its clock).
import { Host } from '../../src/host.js';
import { Engine } from '../../src/engine/engine.js';
import * as L from '../../src/engine/layout.gen.js';
import { udpPacket } from '../../src/packet/index.js';
import type { KCase, KOut, KSetup, KStep } from './setup.js';

let engine: Engine | undefined;
let hosts = 0;

export async function buildHost(s: KSetup): Promise<Host> {
  // A fresh engine now and then: hosts are never freed.
  if (!engine || ++hosts % 200 === 0) engine = new Engine();
  const h = await Host.create({ name: 'kernel-case', forwarding: s.forwarding, engine, ipfragTime: s.ipfragTime });
  for (const l of s.links) {
    h.link.add({
      name: l.name, type: l.type, mac: l.mac, mtu: l.mtu, up: l.up, master: l.master,
      proxyArp: l.proxyArp, hairpin: l.hairpin, learning: l.learning, flood: l.flood,
    });
  }
  for (const a of s.addrs) h.addr.add(a.dev, a.cidr);
  for (const r of s.routes) h.route.add({ ...r });
  for (const n of s.neighs) h.neigh.add({ ...n });
  if (s.rules) h.rules.load(s.rules);
  return h;
}

/** A Host fed steps on its own clock, step after step, as later frames are made from what came out earlier. */
export interface PodnetSession {
  host: Host;
  /** The steps' frames at their times (gaps count on from the last step run); what the host transmitted, in order. */
  run(steps: KStep[]): KOut[];
}

export function podnetSession(h: Host): PodnetSession {
  let now = 0;
  return {
    host: h,
    run(steps: KStep[]): KOut[] {
      const out: KOut[] = [];
      const sent = (outs: ReturnType<Host['tick']>, own = false) => {
        for (const o of outs) if (o.kind === 'tx') out.push({ link: o.link, frame: o.frame, generated: own || o.tag === L.TAG_GENERATED });
      };
      for (const st of steps) {
        now += st.gap;
        // Linux's timers fire on their own while time passes: podnet's run at the step's time.
        if (st.gap > 0) sent(h.tick(now));
        // As a socket sends them: source chosen by routing, DF set, TTL 64; the IP ID is the host's choice.
        for (const d of st.sends ?? []) {
          sent(h.send([{ packet: udpPacket({ src: '0.0.0.0', dst: d.dst, sport: d.sport, dport: d.dport, payload: d.payload, df: true }) }], now), true);
        }
        // One frame a call: Linux too takes each frame to its end before the next.
        for (const f of st.frames) {
          sent(h.receive([{ link: f.link, frame: f.frame.slice() }], now));
        }
      }
      return out;
    },
  };
}

/** Runs the case's frames through a Host; what it transmitted, in order. */
export async function runPodnet(c: KCase, host?: Host): Promise<KOut[]> {
  return podnetSession(host ?? (await buildHost(c.setup))).run(c.steps);
}
