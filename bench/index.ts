// The benchmark modes `podnet bench --mode` can run. A new mode is one import
// and one entry in MODES (and in DEFAULT_MODES if a bare `podnet bench` should run it).
import type { BenchMode } from './types.js';
import { lpmMode } from './lpm.js';
import { bridgeMode } from './bridge.js';
import { routeMode } from './route.js';
import { scaleMode } from './scale.js';
import { calicoIpipMode, calicoNativeMode, ipipEncapMode, ipipDecapMode } from './calico.js';

export type { BenchMode, BenchOptions, BenchResult } from './types.js';

export const MODES: BenchMode[] = [calicoIpipMode, calicoNativeMode, ipipEncapMode, ipipDecapMode, lpmMode, bridgeMode, routeMode, scaleMode];

/** What `podnet bench` runs without --mode. */
export const DEFAULT_MODES: string[] = ['calico-ipip', 'calico-native'];

export function findMode(name: string): BenchMode | undefined {
  return MODES.find((m) => m.name === name);
}
