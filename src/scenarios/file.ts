// Scenario files (Node only): read, parsed by their extension, and built.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseScenarioText, type ScenarioFormat } from './text.js';
import { buildScenario, type BuildOptions, type BuiltScenario } from './build.js';
import type { Scenario } from './spec.js';

/** Reads a .json, .yaml or .yml scenario file; errors name the path in the file and its line. */
export function loadScenario(file: string): Scenario {
  const ext = extname(file).toLowerCase();
  const format: ScenarioFormat | undefined = ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : undefined;
  const text = readFileSync(file, 'utf8');
  return parseScenarioText(text, { format, name: basename(file, extname(file)) });
}

/** loadScenario, then buildScenario. */
export function buildScenarioFile(file: string, opts: BuildOptions = {}): BuiltScenario {
  return buildScenario(loadScenario(file), opts);
}
