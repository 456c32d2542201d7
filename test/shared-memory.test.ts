// The data plane instantiated twice over one shared memory: two threads,
// each with its own instance and context, forwarding for two hosts at once.
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Engine } from '../src/engine/engine.js';
import { Context } from '../src/engine/context.js';
import * as L from '../src/engine/layout.gen.js';
import { Host } from '../src/host.js';
import { udpPacket, ipFrame, decode } from '../src/packet/index.js';

const N = 64;
const ROUNDS = 2000;

function router(engine: Engine, name: string): Host {
  const r = new Host({ name, forwarding: true, engine });
  r.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  r.link.add({ name: 'eth1', type: 'ether', mac: '02:00:00:00:01:01' });
  r.addr.add('eth0', '10.0.0.1/24');
  r.addr.add('eth1', '10.0.1.1/24');
  r.neigh.add({ ip: '10.0.1.2', mac: '02:00:00:00:01:02', dev: 'eth1' });
  for (let i = 0; i < 200; i++) r.route.add({ dst: `100.${i}.0.0/16`, via: '10.0.1.2' });
  r.commit();
  return r;
}

describe('one shared memory, two instances', () => {
  it('two threads forward batches for two hosts side by side, each correctly', async () => {
    const engine = new Engine();
    const hosts = [router(engine, 'a'), router(engine, 'b')];
    const ctxs = [new Context(engine, { buffers: 256 }), new Context(engine, { buffers: 256 })];
    const stride = 128;
    const tmpl = engine.alloc(N * stride);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const f = ipFrame('02:00:00:00:00:01', '02:00:00:00:00:02', udpPacket({ src: '10.0.0.2', dst: `100.${i}.1.1`, sport: 1000 + i, dport: 53 }));
      frames.push(f);
      engine.u8.set(f, tmpl + i * stride);
    }
    for (const c of ctxs) for (let i = 0; i < N; i++) c.setInput(i, L.K_RX, 0, frames[i], i);

    const worker = new Worker(new URL('./fixtures/dataplane-worker.mjs', import.meta.url), {
      workerData: { module: engine.module, memory: engine.memory, ctx: ctxs[1].ptr, host: hosts[1].ptr, vec: ctxs[1].input, n: N, rounds: ROUNDS, tmpl, stride },
    });
    const done = new Promise<{ outputs: number }>((resolve, reject) => {
      worker.on('message', resolve);
      worker.on('error', reject);
    });
    let outputs = 0;
    const refill = engine.dp.rx_refill as (...a: number[]) => void;
    for (let r = 0; r < ROUNDS; r++) {
      refill(ctxs[0].input, N, tmpl, stride);
      outputs += ctxs[0].process(hosts[0].ptr, N, r);
      if (r % 100 === 0) await new Promise((res) => setImmediate(res));
    }
    const theirs = await done;
    await worker.terminate();
    expect(outputs).toBe(N * ROUNDS);
    expect(theirs.outputs).toBe(N * ROUNDS);
    for (const [k, h] of hosts.entries()) {
      const s = h.stats();
      expect(s.fates.in).toBe(N * ROUNDS);
      expect(s.fates.sent).toBe(N * ROUNDS);
      expect(s.fates.dropped).toBe(0);
      // The last batch's outputs are each thread's own: right host, right bytes.
      for (let i = 0; i < N; i++) {
        const o = ctxs[k].readOutput(i);
        expect(o.host).toBe(h.ptr);
        const d = decode(engine.u8.slice(o.buf + o.off, o.buf + o.off + o.len));
        expect(d.eth?.dst).toBe('02:00:00:00:01:02');
        expect(d.ip).toMatchObject({ dst: `100.${i}.1.1`, ttl: 63, checksumOk: true });
      }
    }
  });
});
