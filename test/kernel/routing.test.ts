// The kernel as the judge of routing: source address choice, route types,
// ICMP errors and their limits (arb-routing.ts).
import { describeKernel, kernelProperty } from './judge.js';
import { arbRoutingCase } from './arb-routing.js';

describeKernel('kernel: routing and ICMP errors', () => {
  kernelProperty('generated routing tables and traffic', arbRoutingCase, 40, 0x9001);
});
