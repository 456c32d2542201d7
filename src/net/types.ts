// What a Network takes and gives back: its options, a run's summary, and
// the records of deliveries, drops and captured frames.
import type { Engine } from '../engine/engine.js';

export interface NetworkOptions {
  /** The engine every host of the network lives in (default: a new one). */
  engine?: Engine;
  /** Worker threads that run the hosts (default 1: the calling thread alone). */
  workers?: number;
  /** Which worker runs which host or segment (by name); default: a partition of the topology. */
  assign?: (node: string) => number;
  /** Keep what hosts deliver to sockets for delivered() (default true); off, deliveries are only counted. */
  recordDeliveries?: boolean;
  /** Keep each drop for drops() (default true); off, drops are only counted. */
  recordDrops?: boolean;
  /** Packet buffers of each worker (small ones; default 16384). */
  buffers?: number;
}

export interface WireOptions {
  /** One-way delay in ms (default 0: same instant, still in order). */
  latencyMs?: number;
}

export interface SegmentOptions extends WireOptions {
  /** Learn source MACs and forward known unicast to one member only, like a switch (default true); false: a hub. */
  learning?: boolean;
}

export interface RunOptions {
  /** Run until this time (ms), ticking hosts every second on the way; without it, run until nothing is in flight. */
  until?: number;
  /** The most frame deliveries before the run gives up (default 1,000,000): a loop must not hang. */
  maxSteps?: number;
}

export interface RunSummary {
  /** The clock when the run ended (ms). */
  now: number;
  /** Frames delivered to links. */
  steps: number;
  /** Packets the hosts' own stacks sent (net.send). */
  sent: number;
  /** Packets delivered to sockets. */
  local: number;
  /** Packets the hosts dropped. */
  dropped: number;
  /** Frames sent on a link with no wire. */
  lost: number;
  /** Frames a learning segment kept back: the destination sits behind the sender's own port. */
  filtered: number;
  /** Frames and packets still queued (due after `until`). */
  inFlight: number;
}

export interface Delivery {
  timeMs: number;
  packet: Uint8Array;
}

export interface DropRecord {
  timeMs: number;
  host: string;
  reason: string;
}

export interface CapturedFrame {
  timeMs: number;
  frame: Uint8Array;
  /** 'out': the host sent it on the link; 'in': it arrived there. */
  direction: 'in' | 'out';
}
