// podnet's public API under Node: everything of src/library.ts, plus what
// reads files or needs Node's packages (scenario files, YAML).
export * from './library.js';
export { parseScenarioText } from './scenarios/text.js';
export type { ScenarioFormat, ParseOptions } from './scenarios/text.js';
export { loadScenario, buildScenarioFile } from './scenarios/file.js';
