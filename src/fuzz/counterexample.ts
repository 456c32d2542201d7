// A counterexample on disk: the frames that show a violation (where each
// goes, when, its bytes) in counterexample.json, the same frames as a pcap,
// and the scenario beside them, so `podnet fuzz --replay DIR/counterexample.json`
// runs them again on their own.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { PcapWriter } from '../packet/pcap.js';
import { BUILTIN_SCENARIOS } from '../scenarios/builtin.js';
import type { Violation } from './checks.js';
import type { ScenarioSource } from './epoch.js';
import type { FuzzFrame } from './lane.js';
import { hex } from './checks.js';

export const COUNTEREXAMPLE = 'counterexample.json';
export const FRAMES_PCAP = 'frames.pcap';

export interface CounterexampleFile {
  podnet: 'fuzz counterexample';
  /** The scenario file, beside this one. */
  scenario: string;
  seed: number;
  epoch: number;
  violation: Violation;
  frames: { at: string; timeMs: number; batch: boolean; frame: string }[];
}

/** Writes the counterexample, its pcap and its scenario into dir; returns the JSON file's path. */
export function writeCounterexample(dir: string, c: { source: ScenarioSource; seed: number; epoch: number; violation: Violation; frames: FuzzFrame[] }): string {
  mkdirSync(dir, { recursive: true });
  let scenario: string;
  if ('file' in c.source) {
    scenario = `scenario${extname(c.source.file) || '.json'}`;
    if (resolve(c.source.file) !== resolve(join(dir, scenario))) copyFileSync(c.source.file, join(dir, scenario));
  } else {
    scenario = 'scenario.json';
    const doc = { name: c.source.builtin, ...(BUILTIN_SCENARIOS[c.source.builtin] as object) };
    writeFileSync(join(dir, scenario), JSON.stringify(doc, null, 2) + '\n');
  }
  const pcap = new PcapWriter();
  for (const f of c.frames) pcap.add(f.timeMs, f.frame);
  writeFileSync(join(dir, FRAMES_PCAP), pcap.bytes());
  const file: CounterexampleFile = {
    podnet: 'fuzz counterexample',
    scenario,
    seed: c.seed,
    epoch: c.epoch,
    violation: c.violation,
    frames: c.frames.map((f) => ({ at: f.at, timeMs: f.timeMs, batch: f.batch, frame: hex(f.frame) })),
  };
  const path = join(dir, COUNTEREXAMPLE);
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  return path;
}

/** Reads a counterexample file: its scenario's path and its frames. */
export function readCounterexample(path: string): { scenarioFile: string; violation?: Violation; frames: FuzzFrame[] } {
  let doc: CounterexampleFile;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as CounterexampleFile;
  } catch (err) {
    throw new Error(`${path}: not a counterexample file (${(err as Error).message})`);
  }
  if (doc?.podnet !== 'fuzz counterexample' || !Array.isArray(doc.frames) || typeof doc.scenario !== 'string') {
    throw new Error(`${path}: not a counterexample file (podnet fuzz writes them)`);
  }
  const scenarioFile = join(dirname(path), doc.scenario);
  if (!existsSync(scenarioFile)) throw new Error(`${path}: its scenario ${basename(scenarioFile)} is not beside it`);
  const frames = doc.frames.map((f, i) => {
    if (typeof f.at !== 'string' || typeof f.frame !== 'string' || !/^([0-9a-f]{2})*$/.test(f.frame)) throw new Error(`${path}: frames[${i}] is malformed`);
    return { at: f.at, timeMs: Number(f.timeMs) || 0, batch: i === 0 || !!f.batch, frame: Uint8Array.from(f.frame.match(/../g) ?? [], (b) => parseInt(b, 16)) };
  });
  return { scenarioFile, violation: doc.violation, frames };
}
