// The code a user copies: the README's code blocks and the examples, run as
// written against the built package (imports of 'podnet' resolve to it) and
// type-checked against its declarations.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

export const root = join(import.meta.dirname, '..', '..');

export interface Block {
  lang: string;
  code: string;
  /** 1-based line of the block's first line of code in the file. */
  line: number;
}

/** Fenced code blocks of a Markdown file. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !lines[j].startsWith('```')) j++;
    blocks.push({ lang: open[1], code: lines.slice(start, j).join('\n') + '\n', line: start + 1 });
    i = j;
  }
  return blocks;
}

/** A directory outside the repository where `import 'podnet'` finds this package. */
export function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-snippets-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'podnet'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  return dir;
}

/** TypeScript to the JavaScript Node runs, types erased, nothing else changed. */
export function toJs(code: string): string {
  return ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } }).outputText;
}

/** Type errors of these files, checked strictly against the package's declarations. */
export function typeErrors(files: string[]): string[] {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    strict: true,
    noEmit: true,
    allowJs: true,
    checkJs: true,
    skipLibCheck: true,
    typeRoots: [join(root, 'node_modules', '@types')],
    types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${d.file!.fileName}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

export function readme(): string {
  return readFileSync(join(root, 'README.md'), 'utf8');
}

export function examples(): string[] {
  return readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mjs')).map((f) => join(root, 'examples', f));
}
