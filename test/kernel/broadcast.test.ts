// The kernel as the judge of what the host sends to broadcast addresses
// (cases-broadcast.ts): the harness sends from a socket in the host's own
// namespace.
import { it } from 'vitest';
import { describeKernel, judge } from './judge.js';
import { sendsUnavailable } from './linux.js';
import { BROADCAST_CASES } from './cases-broadcast.js';

const noSends = sendsUnavailable();

describeKernel('kernel: the host\'s own broadcasts', () => {
  for (const [name, make] of Object.entries(BROADCAST_CASES)) {
    if (noSends) it.skip(`${name} (skipped: ${noSends})`, () => {});
    else it(name, () => judge(make()));
  }
});
