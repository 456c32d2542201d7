// The benchmark modes `podnet bench --mode` can run. A new mode is one import
// and one entry in MODES (and in DEFAULT_MODES if a bare `podnet bench` should run it).
import type { BenchMode } from './types.js';
import { lpmMode } from './lpm.js';
import { bridgeMode } from './bridge.js';
import { routeMode } from './route.js';
import { scaleMode } from './scale.js';
import { natMode, natNewMode, dockerMode } from './nat.js';
import { calicoIpipMode, calicoNativeMode, ipipEncapMode, ipipDecapMode, calicoIpipFelixMode, calicoNativeFelixMode } from './calico.js';
import { clusterModeStaged, clusterModeSend } from './cluster.js';

export type { BenchMode, BenchOptions, BenchResult } from './types.js';
import type { BenchResult } from './types.js';
import { ratioOf } from './harness.js';

export const MODES: BenchMode[] = [calicoIpipMode, calicoNativeMode, calicoIpipFelixMode, calicoNativeFelixMode, ipipEncapMode, ipipDecapMode, lpmMode, bridgeMode, routeMode, natMode, natNewMode, dockerMode, scaleMode, clusterModeStaged, clusterModeSend];

/** What `podnet bench` runs without --mode. */
export const DEFAULT_MODES: string[] = ['calico-ipip', 'calico-native'];

/** A timed task's rounds, for ratios between tasks measured side by side. */
export interface RoundsOf {
  mode: { name: string };
  size: number;
  workers: number;
  rounds: number[];
}

/** A ratio whose spread is wider than this (half the interquartile range) is not worth reading. */
const READABLE_SPREAD = 0.1;

/**
 * Relations between rows of one run: each calico-ipip row gets its packet
 * rate as a ratio of calico-native's at the same frame size and worker count
 * (the median of the rounds' ratios, with its spread; timed side by side,
 * the cores' drift cancels), and a cluster row its host-hop rate as a ratio
 * of the engine's own per-hop rate (calico-native: two hosts a packet).
 */
export function relate(results: BenchResult[], timed: RoundsOf[] = []): BenchResult[] {
  const roundsOf = (mode: string, size: number, workers: number) => timed.find((t) => t.mode.name === mode && t.size === size && t.workers === workers)?.rounds;
  return results.map((r) => {
    if (r.mode === 'calico-ipip') {
      const native = results.find((n) => n.mode === 'calico-native' && n.size === r.size && n.workers === r.workers);
      if (!native) return r;
      const a = roundsOf('calico-native', r.size, r.workers);
      const b = roundsOf('calico-ipip', r.size, r.workers);
      if (!a || !b || a.length !== b.length) return { ...r, ipipToNative: r.mpps / native.mpps };
      // Sample times: native's over IPIP's is IPIP's rate over native's (the same packets per sample).
      const { ratio, spread } = ratioOf(a, b);
      return spread > READABLE_SPREAD
        ? { ...r, ipipToNative: null, ipipToNativeSpread: spread, ipipToNativeNote: `spread too wide to read (±${(spread * 100).toFixed(0)}%)` }
        : { ...r, ipipToNative: ratio, ipipToNativeSpread: spread };
    }
    if ((r.mode === 'cluster' || r.mode === 'cluster-send') && typeof r.hostHopsMpps === 'number') {
      const native = results.find((n) => n.mode === 'calico-native' && n.size === r.size && n.workers === 1);
      return native ? { ...r, perHopRatio: r.hostHopsMpps / (native.mpps * 2) } : r;
    }
    return r;
  });
}

export function findMode(name: string): BenchMode | undefined {
  return MODES.find((m) => m.name === name);
}
