// The kernel as the judge of fragments: reassembly for local delivery and by
// nf_defrag, queue expiry, overlaps and duplicates, and datagrams forwarded
// in pieces again (cases-fragments.ts, arb-fragments.ts).
import { it } from 'vitest';
import { describeKernel, judge, kernelProperty } from './judge.js';
import { rulesUnavailable } from './linux.js';
import { FRAGMENT_CASES } from './cases-fragments.js';
import { arbFragmentsCase } from './arb-fragments.js';

const noRules = rulesUnavailable();

describeKernel('kernel: fragments', () => {
  for (const [name, make] of Object.entries(FRAGMENT_CASES)) {
    if (make().setup.rules && noRules) it.skip(`${name} (skipped: ${noRules})`, () => {});
    else it(name, () => judge(make()));
  }
  kernelProperty(`generated fragment trains${noRules ? ` (without netfilter: ${noRules})` : ''}`, arbFragmentsCase, 12, 0xf4a6);
});
