// The `podnet` command: picks the verb, parses its flags, and turns a user's
// mistake into one line on stderr with exit status 2 (never a stack trace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../engine/engine.js';

/** A mistake in what the user typed: reported as one line, exit status 2. */
export class UsageError extends Error {}

export interface FlagSpec {
  /** The flag without its dashes: `mode` for `--mode`. */
  name: string;
  /** Placeholder shown in help (`BYTES`); absent for a switch such as `--quick`. */
  value?: string;
  help: string;
}

export interface ParsedArgs {
  /** Every value given for each flag, in order; a switch given has `['']`. */
  flags: Map<string, string[]>;
  positionals: string[];
  /** `--help` or `-h` was given. */
  help: boolean;
}

export interface Verb {
  /** One line, `podnet bench [--mode M] ...`. */
  usage: string;
  /** A short paragraph shown under the usage line. */
  description: string;
  flags: FlagSpec[];
  /** Extra help sections (such as the list of modes), shown after the options. */
  notes?: () => string;
  /** Throws UsageError for bad values, before doing any work. */
  run(args: ParsedArgs): Promise<number>;
}

interface VerbEntry {
  summary: string;
  /** Verbs are loaded on use, so `podnet --help` stays quick. */
  load(): Promise<Verb>;
}

// Adding a verb is one entry here.
const VERBS = new Map<string, VerbEntry>([
  [
    'bench',
    {
      summary: 'measure the data plane in packets per second and print a table',
      load: async () => (await import('./bench.js')).benchVerb,
    },
  ],
  [
    'run',
    {
      summary: 'build a scenario, send its traffic, print what happened and check its properties',
      load: async () => (await import('./run.js')).runVerb,
    },
  ],
  [
    'trace',
    {
      summary: 'follow one packet through a scenario, stage by stage, host by host',
      load: async () => (await import('./trace.js')).traceVerb,
    },
  ],
  [
    'fuzz',
    {
      summary: 'send random and mutated frames into a scenario, check every one, shrink what breaks',
      load: async () => (await import('./fuzz.js')).fuzzVerb,
    },
  ],
  [
    'replay',
    {
      summary: "feed a pcap through a scenario on the capture's own clock and print each frame's fate",
      load: async () => (await import('./replay.js')).replayVerb,
    },
  ],
]);

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let who = 'podnet';
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h') {
      write(globalHelp());
      return 0;
    }
    if (first === '--version' || first === '-V') {
      write(`podnet ${packageVersion()}\n`);
      return 0;
    }
    if (first === 'help') {
      if (rest.length > 1) throw new UsageError(`help takes one command, got ${rest.length}`);
      if (rest.length === 0) {
        write(globalHelp());
        return 0;
      }
      const verb = await lookup(rest[0]).load();
      write(verbHelp(verb));
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (see podnet --help)`);

    const entry = lookup(first);
    who = `podnet ${first}`;
    const verb = await entry.load();
    const args = parseArgs(rest, verb.flags, who);
    if (args.help) {
      write(verbHelp(verb));
      return 0;
    }
    return await verb.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${who}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(internalError(who, err));
    return 1;
  }
}

function lookup(name: string): VerbEntry {
  const entry = VERBS.get(name);
  if (!entry) throw new UsageError(`unknown command "${name}" (commands: ${[...VERBS.keys()].join(', ')})`);
  return entry;
}

/**
 * Parses `--flag value`, `--flag=value` and switches against a verb's flags.
 * `--` ends the flags; `-h`/`--help` anywhere wins over other mistakes, so a
 * user who is lost can always get help.
 */
export function parseArgs(argv: string[], specs: FlagSpec[], who = 'podnet'): ParsedArgs {
  const known = new Map(specs.map((s) => [s.name, s]));
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const end = argv.indexOf('--');
  const options = end < 0 ? argv : argv.slice(0, end);
  if (options.includes('--help') || options.includes('-h')) return { flags, positionals, help: true };

  for (let i = 0; i < options.length; i++) {
    const arg = options[i];
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg} (see ${who} --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = known.get(name);
    if (!spec) throw new UsageError(`unknown option --${name} (see ${who} --help)`);

    let value: string;
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      value = '';
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = options[i + 1];
      // A following `--flag` means the value was forgotten, not that it is `--flag`.
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value (${spec.value})`);
      value = next;
      i++;
    }
    if (spec.value && value === '') throw new UsageError(`--${name} needs a value (${spec.value})`);
    const values = flags.get(name) ?? [];
    values.push(value);
    flags.set(name, values);
  }
  if (end >= 0) positionals.push(...argv.slice(end + 1));
  return { flags, positionals, help: false };
}

function globalHelp(): string {
  const width = Math.max(...[...VERBS.keys()].map((v) => v.length));
  const verbs = [...VERBS].map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`);
  return [
    'Usage: podnet <command> [options]',
    '',
    'A packet-processing engine for container networking.',
    '',
    'Commands:',
    ...verbs,
    '',
    'Options:',
    '  -h, --help     show help (also: podnet help <command>, podnet <command> --help)',
    '  -V, --version  print the version',
    '',
  ].join('\n');
}

export function verbHelp(verb: Verb): string {
  const left = (s: FlagSpec) => `--${s.name}${s.value ? ` ${s.value}` : ''}`;
  const rows: [string, string][] = [...verb.flags.map((s) => [left(s), s.help] as [string, string]), ['-h, --help', 'show this help']];
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`Usage: ${verb.usage}`, '', verb.description, '', 'Options:', ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`)];
  const notes = verb.notes?.();
  if (notes) lines.push('', notes.trimEnd());
  return lines.join('\n') + '\n';
}

/** One line; the stack only with PODNET_DEBUG=1. */
function internalError(who: string, err: unknown): string {
  if (process.env.PODNET_DEBUG === '1' && err instanceof Error && err.stack) return `${who}: ${err.stack}\n`;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  // Errors raised inside the engine already name podnet.
  return message.startsWith('podnet') ? `${message}\n` : `${who}: ${message}\n`;
}

function write(text: string): void {
  process.stdout.write(text);
}
