// The benchmark modes `podnet bench --mode` can run. A new mode is one import
// and one entry in MODES (and in DEFAULT_MODES if a bare `podnet bench` should run it).
import type { BenchMode } from './types.js';
import { lpmMode } from './lpm.js';
import { bridgeMode } from './bridge.js';
import { routeMode } from './route.js';
import { scaleMode } from './scale.js';
import { natMode, natNewMode, dockerMode } from './nat.js';
import { calicoIpipMode, calicoNativeMode, ipipEncapMode, ipipDecapMode } from './calico.js';
import { clusterMode } from './cluster.js';

export type { BenchMode, BenchOptions, BenchResult } from './types.js';
import type { BenchResult } from './types.js';

export const MODES: BenchMode[] = [calicoIpipMode, calicoNativeMode, ipipEncapMode, ipipDecapMode, lpmMode, bridgeMode, routeMode, natMode, natNewMode, dockerMode, scaleMode, clusterMode];

/** What `podnet bench` runs without --mode. */
export const DEFAULT_MODES: string[] = ['calico-ipip', 'calico-native'];

/**
 * Relations between rows of one run: each calico-ipip row gets its packet
 * rate as a ratio of calico-native's at the same frame size.
 */
export function relate(results: BenchResult[]): BenchResult[] {
  return results.map((r) => {
    if (r.mode !== 'calico-ipip') return r;
    const native = results.find((n) => n.mode === 'calico-native' && n.size === r.size);
    return native ? { ...r, ipipToNative: r.mpps / native.mpps } : r;
  });
}

export function findMode(name: string): BenchMode | undefined {
  return MODES.find((m) => m.name === name);
}
