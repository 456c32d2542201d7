// Reading a parsed JSON or YAML document field by field: each value knows its
// path (`hosts[2].links[0].mtu`) so a mistake is named where it is, with its
// line when the format tells.

/** A mistake in a scenario, at a path in the document (and a line, when the format has them). */
export class ScenarioError extends Error {
  constructor(readonly path: string, readonly detail: string, readonly line?: number) {
    super(path ? `${path}: ${detail}` : detail);
  }
}

/** A path in the document: keys and list indexes. */
export type Path = (string | number)[];

/** Finds the line of a path in the source document, when it can. */
export type Locate = (path: Path) => number | undefined;

/** One value of the document and where it is. */
export class Field {
  constructor(readonly value: unknown, readonly at: Path, private readonly locate: Locate) {}

  get path(): string {
    return formatPath(this.at);
  }

  fail(detail: string): never {
    throw new ScenarioError(this.path, detail, this.locate(this.at));
  }

  child(key: string | number): Field {
    const v = this.value as Record<string | number, unknown>;
    return new Field(v?.[key], [...this.at, key], this.locate);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** The fields of an object, refusing any key not in `allowed` (typos are the common mistake). */
  object(allowed: string[]): Record<string, Field> {
    const v = this.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`expected a mapping with ${allowed.join(', ')}`);
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) this.child(key).fail(`unknown field (known: ${allowed.join(', ')})`);
    }
    return Object.fromEntries(allowed.map((k) => [k, this.child(k)]));
  }

  list(): Field[] {
    if (!this.present) return [];
    if (!Array.isArray(this.value)) this.fail('expected a list');
    return this.value.map((_, i) => this.child(i));
  }

  string(what = 'a string'): string {
    if (typeof this.value !== 'string' || this.value === '') this.fail(`expected ${what}`);
    return this.value;
  }

  optString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  /** Text blocks: a string, or a list of lines. */
  optText(): string | undefined {
    if (!this.present) return undefined;
    if (Array.isArray(this.value)) return this.list().map((l) => l.string('a line of text')).join('\n') + '\n';
    return this.string('text (a string or a list of lines)');
  }

  integer(min: number, max: number): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`expected a whole number ${min}..${max}`);
    if (v < min || v > max) this.fail(`${v} is out of range ${min}..${max}`);
    return v;
  }

  optInteger(min: number, max: number): number | undefined {
    return this.present ? this.integer(min, max) : undefined;
  }

  optNumber(min: number, max: number): number | undefined {
    if (!this.present) return undefined;
    const v = this.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`expected a number ${min}..${max}`);
    if (v < min || v > max) this.fail(`${v} is out of range ${min}..${max}`);
    return v;
  }

  optBoolean(): boolean | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== 'boolean') this.fail('expected true or false');
    return this.value;
  }

  oneOf<T extends string>(options: readonly T[]): T {
    if (typeof this.value !== 'string' || !options.includes(this.value as T)) this.fail(`expected one of ${options.join(', ')}`);
    return this.value as T;
  }

  /** Runs a parser of one-line forms, turning its error into one at this path. */
  parse<T>(f: (text: string) => T, text?: string): T {
    try {
      return f(text ?? this.string());
    } catch (err) {
      if (err instanceof ScenarioError) throw err;
      this.fail((err as Error).message);
    }
  }
}

export function formatPath(at: Path): string {
  let s = '';
  for (const k of at) s += typeof k === 'number' ? `[${k}]` : s === '' ? k : `.${k}`;
  return s;
}
