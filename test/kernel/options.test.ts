// The kernel as the judge of IP options: hand-made cases (cases-options.ts)
// and generated option-bearing packets (arb-options.ts).
import { it } from 'vitest';
import { describeKernel, judge, kernelProperty } from './judge.js';
import { OPTION_CASES } from './cases-options.js';
import { arbOptionsCase } from './arb-options.js';

describeKernel('kernel: IP options', () => {
  for (const [name, c] of Object.entries(OPTION_CASES)) it(name, () => judge(c()));
  kernelProperty('generated option-bearing packets', arbOptionsCase, 25, 0x0b7);
});
