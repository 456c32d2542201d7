// The kernel as the judge of the bridge: learning, flooding, hairpin, local
// delivery, reserved group addresses, invalid sources (arb-bridge.ts).
import { describeKernel, kernelProperty } from './judge.js';
import { arbBridgeCase } from './arb-bridge.js';

describeKernel('kernel: bridge', () => {
  kernelProperty('generated bridges and frames', arbBridgeCase, 40, 0xb41d);
});
