// An engine's shared memory as a thread of a network run uses it: views
// renewed after growth, regions from the shared arena, calls into this
// thread's instance of the data plane.
import type { Engine } from '../engine/engine.js';
import type { Memory } from './records.js';
import type { GrowthEnv } from '../tables/growth.js';

type Fn = (...args: number[]) => number;

export function threadMemory(engine: Engine): Memory & GrowthEnv {
  return {
    get dv() {
      return engine.dv;
    },
    get u8() {
      return engine.u8;
    },
    alloc: (size) => engine.alloc(size),
    release: (ptr, size) => engine.arena.release(ptr, size),
    call: (name, ...args) => (engine.dp[name] as Fn)(...args),
  };
}
