// One copy of a scenario under fuzz: its network, built fresh on an engine
// of its own, with check mode on in every worker's context, the templates
// laid out, and room for a batch of recipes. Frames go in a batch at a time:
// drawn, then rendered straight into buffers and queued, in two calls into
// the data plane; then the network runs, then the invariants of the whole
// are read.
import * as L from '../engine/layout.gen.js';
import { Engine } from '../engine/engine.js';
import type { Network } from '../network.js';
import { buildScenario, type BuiltScenario } from '../scenarios/build.js';
import { runScenario } from '../scenarios/check.js';
import type { Scenario } from '../scenarios/spec.js';
import { attachChecks, buffers, checkedCount, conservation, readChecks, type Violation } from './checks.js';
import { WORDS } from './recipes.js';
import { layTemplates, scenarioTemplates, type LaidTemplates, type Template } from './templates.js';

type Fn = (...args: number[]) => number;

/** Frames in one batch at most: they are queued together and the network runs once. */
export const MAX_BATCH = 4096;
/** Time for every neighbour that will not answer to be given up (three ARP probes a second apart). */
const SETTLE_MS = 5000;

/** A frame of a counterexample: where it goes, when, and its bytes. */
export interface FuzzFrame {
  /** `host:link` it arrives on. */
  at: string;
  /** Milliseconds after the run's start. */
  timeMs: number;
  /** A batch starts here (the frames before it have settled); frames of a batch go in at once. */
  batch: boolean;
  frame: Uint8Array;
}

export interface LaneOptions {
  /** A data plane build of one's own (a variant) instead of the package's. */
  module?: WebAssembly.Module;
  /** Build on the trace build (to trace a counterexample). */
  trace?: boolean;
}

export class FuzzLane {
  readonly engine: Engine;
  readonly built: BuiltScenario;
  readonly net: Network;
  readonly templates: Template[];
  private readonly laid: LaidTemplates;
  private readonly checks: number[];
  /** A batch of recipes, in the engine's memory (drawn there, or copied in), and the generator's state. */
  private readonly recipes: number;
  private readonly state: number;
  /** Where render() has a frame rendered. */
  private readonly area: number;
  private readonly start: number;
  private readonly dp: { fuzz_render: Fn; fuzz_draw: Fn; fuzz_send: Fn };
  /** Frames sent so far. */
  sent = 0;

  constructor(readonly scenario: Scenario, opts: LaneOptions = {}) {
    this.engine = new Engine({ module: opts.module, trace: opts.trace });
    this.built = buildScenario(scenario, { engine: this.engine });
    this.net = this.built.net;
    this.net.record({ deliveries: false, drops: false });
    this.checks = attachChecks(this.net);
    this.templates = scenarioTemplates(this.net);
    this.laid = layTemplates(this.engine, this.templates);
    this.state = this.engine.alloc(8);
    this.recipes = this.engine.alloc(MAX_BATCH * WORDS * 4);
    this.area = this.engine.alloc(this.laid.maxFrame + L.PKD_HDR + 8);
    this.start = this.net.now;
    this.dp = this.engine.dp as unknown as { fuzz_render: Fn; fuzz_draw: Fn; fuzz_send: Fn };
  }

  /** Frames and packets the data plane has verified (each hop of each frame, each delivery). */
  get verified(): number {
    return checkedCount(this.net, this.checks);
  }

  /**
   * Sends n frames drawn from the seed, a batch of `batch` at a time (frame i
   * tagged i); `pause(k)` says how long to wait before batch k (ms; 0: right
   * after the one before has settled). Stops at the first violation and
   * returns it; `more` is asked after each batch whether to go on.
   */
  sendDrawn(seed: number, n: number, batch: number, pause: (k: number) => number, more?: (sent: number) => boolean): Violation | undefined {
    this.engine.dv.setUint32(this.state, seed >>> 0, true);
    for (let i = 0, k = 0; i < n; i += batch, k++) {
      const m = Math.min(batch, n - i);
      this.drawBatch(m, pause(k));
      const v = this.sendBatch(i, m);
      if (v) return v;
      if (more && !more(this.sent)) break;
    }
    return undefined;
  }

  /** The recipes sendDrawn would send, as an array (to shrink a sequence it found). */
  drawWords(seed: number, n: number, batch: number, pause: (k: number) => number): Uint32Array {
    const out = new Uint32Array(n * WORDS);
    this.engine.dv.setUint32(this.state, seed >>> 0, true);
    for (let i = 0, k = 0; i < n; i += batch, k++) {
      const m = Math.min(batch, n - i);
      this.drawBatch(m, pause(k));
      out.set(new Uint32Array(this.engine.memory.buffer, this.recipes, m * WORDS), i * WORDS);
    }
    return out;
  }

  private drawBatch(m: number, pause: number): void {
    this.dp.fuzz_draw(this.state, this.recipes, 0, m, this.laid.count);
    this.engine.dv.setUint32(this.recipes + L.FW_GAP * 4, 1 + pause, true);
  }

  /**
   * Sends the recipes of `words` (frame i tagged i), batch by batch: FW_GAP
   * marks where one starts and how long to wait first.
   */
  sendWords(words: Uint32Array, more?: (sent: number) => boolean): Violation | undefined {
    const n = words.length / WORDS;
    for (let i = 0; i < n;) {
      let j = i + 1;
      while (j < n && j - i < MAX_BATCH && words[j * WORDS + L.FW_GAP] === 0) j++;
      new Uint32Array(this.engine.memory.buffer, this.recipes, (j - i) * WORDS).set(words.subarray(i * WORDS, j * WORDS));
      const v = this.sendBatch(i, j - i);
      if (v) return v;
      if (more && !more(this.sent)) break;
      i = j;
    }
    return undefined;
  }

  /** The m recipes in the recipe area, frames first..: after the pause of the first, rendered, queued, run. */
  private sendBatch(first: number, m: number): Violation | undefined {
    const gap = this.engine.dv.getUint32(this.recipes + L.FW_GAP * 4, true);
    if (gap > 1) {
      try {
        this.net.advance(gap - 1);
      } catch (err) {
        return failure(err);
      }
    }
    const ctx = this.net.contextPointers[0];
    for (let done = 0; done < m;) {
      // Rendered straight into buffers and queued; when the pool runs dry, the network runs first.
      const queued = this.dp.fuzz_send(ctx, this.laid.table, this.laid.count, this.recipes + done * WORDS * 4, m - done, first + done, this.net.now);
      done += queued;
      const v = this.run(m);
      if (v) {
        this.sent += done;
        return v;
      }
      if (queued === 0 && done < m) return { kind: 'buffers', detail: `no buffer for a frame even with nothing in flight (${JSON.stringify(this.net.bufferPools())})` };
    }
    this.sent += m;
    return undefined;
  }

  /** Sends ready frames (a counterexample's), batch by batch, each batch at its time. */
  sendFrames(frames: FuzzFrame[]): Violation | undefined {
    for (let i = 0; i < frames.length;) {
      let j = i + 1;
      while (j < frames.length && !frames[j].batch) j++;
      const due = this.start + frames[i].timeMs;
      if (due > this.net.now) {
        try {
          this.net.advance(due - this.net.now);
        } catch (err) {
          return failure(err);
        }
      }
      // Frames for the same link go in together (one call into the data plane).
      for (let k = i; k < j;) {
        let m = k + 1;
        while (m < j && frames[m].at === frames[k].at) m++;
        this.net.inject(frames[k].at, frames.slice(k, m).map((f) => f.frame));
        k = m;
      }
      const v = this.run(j - i);
      this.sent += j - i;
      if (v) return v;
      i = j;
    }
    return undefined;
  }

  private run(n: number): Violation | undefined {
    try {
      this.net.run({ maxSteps: Math.max(1_000_000, n * 1000) });
    } catch (err) {
      return failure(err);
    }
    return readChecks(this.net, this.checks)[0] ?? conservation(this.net) ?? buffers(this.net);
  }

  /**
   * The end of a run: time passes until every unanswered neighbour is given
   * up and every unfinished datagram's fragments have expired (a host's
   * ipfragTime), then the pools must be whole, and the scenario's properties must
   * still hold (with the connections the fuzz frames left forgotten first).
   */
  finish(properties: boolean): Violation | undefined {
    try {
      this.net.advance(SETTLE_MS + Math.max(0, ...this.net.hosts.map((h) => h.ipfragTime * 1000)));
    } catch (err) {
      return failure(err);
    }
    const v = readChecks(this.net, this.checks)[0] ?? conservation(this.net) ?? buffers(this.net, true);
    if (v || !properties) return v;
    return this.properties('after the fuzz frames');
  }

  /** The scenario's properties, checked by its probes on the network as it stands. */
  properties(when: string): Violation | undefined {
    if (this.scenario.properties.length === 0) return undefined;
    for (const h of this.net.hosts) if (h.conntrack.count > 0) h.conntrack.flush();
    this.net.record({ deliveries: true, drops: true });
    try {
      const { report } = runScenario(this.built);
      const bad = report.properties.find((p) => !p.holds);
      if (bad) return { kind: 'property', detail: `${when}, "${bad.text}" does not hold: ${bad.detail}` };
      if (report.unsettled) return { kind: 'loop', detail: `${when}: ${report.unsettled}` };
    } catch (err) {
      return failure(err);
    } finally {
      this.net.record({ deliveries: false, drops: false });
    }
    return readChecks(this.net, this.checks)[0];
  }

  /** The frames recipes render to, where they go and when (the counterexample's bytes). */
  render(words: Uint32Array): FuzzFrame[] {
    const out: FuzzFrame[] = [];
    let t = 0;
    for (let i = 0; i < words.length / WORDS; i++) {
      const gap = words[i * WORDS + L.FW_GAP];
      if (gap > 1) t += gap - 1;
      new Uint32Array(this.engine.memory.buffer, this.recipes, WORDS).set(words.subarray(i * WORDS, (i + 1) * WORDS));
      this.dp.fuzz_render(this.laid.table, this.laid.count, this.recipes, 1, i, this.area);
      const dv = this.engine.dv;
      const h = this.net.hosts.find((x) => x.ptr === dv.getUint32(this.area + L.PKD_HOST, true))!;
      const len = dv.getUint16(this.area + L.PKD_LEN, true);
      out.push({
        at: `${h.name}:${h.links[dv.getUint16(this.area + L.PKD_LINK, true)].name}`,
        timeMs: t,
        batch: i === 0 || gap !== 0,
        frame: this.engine.u8.slice(this.area + L.PKD_HDR, this.area + L.PKD_HDR + len),
      });
    }
    return out;
  }

  /** Stops the network's workers, if any. */
  async close(): Promise<void> {
    await this.net.close();
  }
}

/**
 * An exception from a run, as a violation: a trap of the data plane, a loop
 * that never settles, or (engines that audit their buffers after every run:
 * the debug build, PODNET_AUDIT=1) a buffer lost.
 */
export function failure(err: unknown): Violation {
  const message = err instanceof Error ? err.message : String(err);
  if (/maxSteps/.test(message)) return { kind: 'loop', detail: `frames kept moving: ${message}` };
  if (/buffer audit/.test(message)) return { kind: 'buffers', detail: message.replace(/^podnet: /, '') };
  if (err instanceof WebAssembly.RuntimeError || /data plane/.test(message)) return { kind: 'trap', detail: `the data plane trapped: ${message}` };
  throw err;
}
