// Runs cases on both sides and fails on the first disagreement, with the case
// spelled out. Without root or network namespaces the kernel tests skip with
// one line saying why.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { compareOutputs, explain } from './compare.js';
import { kernelUnavailable, runLinux } from './linux.js';
import { buildHost, runPodnet } from './podnet.js';
import type { KCase } from './setup.js';

const why = kernelUnavailable();
let told = false;

/** describe() for kernel tests: skipped, with the reason in its name and on stderr, when the kernel cannot judge here. */
export function describeKernel(name: string, body: () => void): void {
  if (why && !told) {
    told = true;
    process.stderr.write(`kernel differential tests skipped: ${why}\n`);
  }
  if (why) describe.skip(`${name} (skipped: ${why})`, body);
  else describe(name, body);
}

/** How many generated cases a property runs: `n` in CI, scaled by PODNET_KERNEL_SCALE (e.g. 10). */
export function runs(n: number): number {
  const scale = Number(process.env.PODNET_KERNEL_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** Throws a readable account when Linux and podnet send different frames for the case. */
export async function judge(c: KCase): Promise<void> {
  const podnet = await runPodnet(c, await buildHost(c.setup));
  const linux = runLinux(c);
  const d = compareOutputs(c, linux, podnet);
  if (d.length) throw new Error(`podnet and Linux disagree\n${explain(c, linux, podnet, d)}`);
}

/** A fast-check property over generated cases, judged by the kernel. */
export function kernelProperty(name: string, arb: fc.Arbitrary<KCase>, n: number, seed: number): void {
  it(`${name} (${runs(n)} cases)`, async () => {
    const property = fc.asyncProperty(arb, async (c) => {
      // A setup podnet refuses is not a case (generators stay within what both accept).
      const host = await buildHost(c.setup).catch(() => undefined);
      fc.pre(host !== undefined);
      const podnet = await runPodnet(c, host);
      const linux = runLinux(c);
      const d = compareOutputs(c, linux, podnet);
      if (d.length) throw new Error(`podnet and Linux disagree\n${explain(c, linux, podnet, d)}`);
    });
    // PODNET_KERNEL_SEED draws other cases than the fixed seed's.
    const other = Number(process.env.PODNET_KERNEL_SEED);
    await fc.assert(property, { numRuns: runs(n), seed: Number.isInteger(other) ? seed ^ other : seed, endOnFailure: !!process.env.CI });
  }, 60_000 + runs(n) * 3_000);
}
