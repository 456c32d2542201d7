// A scenario's text, JSON or YAML, into a checked Scenario. YAML errors and
// scenario errors carry the line they are about.
import { LineCounter, parseDocument, isNode } from 'yaml';
import { readScenario, ScenarioError, type Locate, type Scenario } from './spec.js';

export type ScenarioFormat = 'json' | 'yaml';

export interface ParseOptions {
  /** Default: JSON when the text starts with `{`, YAML otherwise. */
  format?: ScenarioFormat;
  /** The name of a scenario that has none (a file's base name). */
  name?: string;
}

export function parseScenarioText(text: string, opts: ParseOptions = {}): Scenario {
  const format = opts.format ?? (text.trimStart().startsWith('{') ? 'json' : 'yaml');
  // YAML reads JSON too: one reader gives both formats their lines.
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      // V8 names the position only sometimes; the YAML reader finds the same mistake with its place.
      const message = (err as Error).message.split('\n')[0].replace(/, ".*$/, '');
      const m = /position (\d+)/.exec(message);
      const pos = m ? Number(m[1]) : doc.errors[0]?.pos[0];
      throw new ScenarioError('', `not valid JSON: ${message}`, pos === undefined ? undefined : lines.linePos(pos).line);
    }
  } else {
    const e = doc.errors[0];
    if (e) throw new ScenarioError('', `not valid YAML: ${e.message.split('\n')[0]}`, lines.linePos(e.pos[0]).line);
    value = doc.toJS();
  }
  const locate: Locate = (path) => {
    if (doc.errors.length) return undefined;
    // The deepest node of the path that exists: a missing field is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = path.length === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
      if (n === 0) break;
    }
    return undefined;
  };
  return readScenario(value, { fallbackName: opts.name, locate });
}
