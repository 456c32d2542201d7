// What the verbs that take a scenario share: finding it (a built-in name or
// a file), turning its mistakes into one line, and the output files.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BUILTIN_SCENARIOS, builtinScenario } from '../scenarios/builtin.js';
import { loadScenario } from '../scenarios/file.js';
import { buildScenario, type BuiltScenario } from '../scenarios/build.js';
import { ScenarioError, type Scenario } from '../scenarios/spec.js';
import type { Engine } from '../engine/engine.js';
import { UsageError } from './podnet.js';

/** A scenario named on the command line: a file, or one of the built-in names. */
export function openScenario(arg: string): { scenario: Scenario; label: string } {
  const names = Object.keys(BUILTIN_SCENARIOS).join(', ');
  if (!existsSync(arg)) {
    const builtin = builtinScenario(arg);
    if (builtin) return { scenario: builtin, label: arg };
    throw new UsageError(`no scenario file "${arg}" (or a built-in scenario: ${names})`);
  }
  if (statSync(arg).isDirectory()) throw new UsageError(`${arg} is a directory, not a scenario file`);
  try {
    return { scenario: loadScenario(arg), label: arg };
  } catch (err) {
    throw scenarioMistake(arg, err);
  }
}

export function build(scenario: Scenario, label: string, engine?: Engine): BuiltScenario {
  try {
    return buildScenario(scenario, { engine });
  } catch (err) {
    throw scenarioMistake(label, err);
  }
}

/** `file.yaml:14: hosts[2].links[0].mtu: ...`: a mistake in the scenario is the user's. */
export function scenarioMistake(label: string, err: unknown): unknown {
  if (!(err instanceof ScenarioError)) return err;
  return new UsageError(`${label}${err.line ? `:${err.line}` : ''}: ${err.message}`);
}

/** --pcap DIR: made if missing; refused when it is a file. */
export function pcapDir(dir: string): string {
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory()) throw new UsageError(`--pcap ${dir}: is a file, not a directory`);
  if (!existsSync(dirname(path))) throw new UsageError(`--pcap ${dir}: no directory ${dirname(path)}`);
  return path;
}

/** --json FILE: its directory must exist. */
export function jsonPath(file: string): string {
  const path = resolve(file);
  if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) throw new UsageError(`--json ${file}: no directory ${dirname(path)}`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--json ${file}: is a directory`);
  return path;
}

/** Writes one pcap file per link, `host.link.pcap`; returns how many. */
export function writePcaps(dir: string, files: Map<string, Uint8Array>): number {
  mkdirSync(dir, { recursive: true });
  for (const [link, bytes] of files) writeFileSync(join(dir, `${link.replace(':', '.')}.pcap`), bytes);
  return files.size;
}

/** The last value of a flag, or undefined. */
export function lastFlag(flags: Map<string, string[]>, name: string): string | undefined {
  return flags.get(name)?.at(-1);
}
