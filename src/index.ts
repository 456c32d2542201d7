// podnet's public API under Node: everything of src/library.ts, plus what
// reads files or needs Node's packages (scenario files, YAML, the fuzzer).
export * from './library.js';
export { parseScenarioText } from './scenarios/text.js';
export type { ScenarioFormat, ParseOptions } from './scenarios/text.js';
export { loadScenario, buildScenarioFile } from './scenarios/file.js';
export { fuzz } from './fuzz/fuzz.js';
export type { FuzzOptions, FuzzReport, FuzzViolation, FuzzProgress } from './fuzz/fuzz.js';
export type { Violation, ViolationKind } from './fuzz/checks.js';
export { readCounterexample } from './fuzz/counterexample.js';
export { replayFrames, traceFrames } from './fuzz/replay.js';
export type { FuzzFrame } from './fuzz/lane.js';
