// The shape of a benchmark mode and of one result row (DESIGN.md: bench JSON).

export interface BenchOptions {
  /** Frame size in bytes (64 unless a mode says otherwise). */
  size: number;
  /** Flows (or table entries, or MACs) the mode should use; 0 = the mode's default. */
  flows: number;
  /** Worker threads; 1 = single core. */
  workers: number;
  /** Shorter runs (tests, smoke checks): fewer iterations, smaller tables. */
  quick: boolean;
  /** Called with 0..1 as the mode makes progress. */
  progress: (fraction: number, label?: string) => void;
}

export interface BenchResult {
  mode: string;
  size: number;
  flows: number;
  workers: number;
  /** Million packets (or lookups) per second, all workers together. */
  mpps: number;
  /** Gigabits per second of frames (size * 8 * pps). */
  gbps: number;
  /** Median nanoseconds per packet. */
  nsPerPacket: number;
  /** What was measured, for the printed table. */
  label?: string;
  /** Baselines measured in the same run: name -> Mpps; null: absent here (not installed). */
  baselines?: Record<string, number | null>;
  [extra: string]: unknown;
}

export interface BenchMode {
  name: string;
  description: string;
  /** Frame sizes the mode runs when --size is not given. */
  defaultSizes?: number[];
  /** What --flows counts for this mode, and the values it takes (every one of them works). */
  flows: { what: string; min: number; max: number };
  /** Frame sizes it takes, when narrower than 64..1514, and why. */
  sizes?: { min: number; max: number; why: string };
  /**
   * A mode the harness times (bench/harness.ts): its task at opts.workers
   * workers, whose samples tinybench takes in rounds with the run's others.
   */
  task?(opts: BenchOptions): Promise<import('./task.js').BenchTask>;
  /** The --flows values it runs by default, each a row (absent: one, opts.flows or the mode's default). */
  variants?(opts: BenchOptions): number[];
  /** A mode that times itself, on one worker (lookups, table builds, a cluster's build). */
  run?(opts: BenchOptions): Promise<BenchResult[]>;
}
