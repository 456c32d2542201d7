// The departures from Linux the kernel showed, one case each (cases.ts),
// judged by the kernel itself.
import { it } from 'vitest';
import { describeKernel, judge } from './judge.js';
import { CLASS_CASES } from './cases.js';

describeKernel('kernel: the classes of departures, one case each', () => {
  for (const [name, c] of Object.entries(CLASS_CASES)) it(name, () => judge(c()));
});
