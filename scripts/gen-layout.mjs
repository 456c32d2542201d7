// Generates src/engine/layout.gen.ts from assembly/layout.ts (and the rule
// engine's assembly/tables/rules-layout.ts, ipset-layout.ts, the trace
// events, the fuzzer's templates): the one definition of the memory
// contract, read by both sides.
import { readFileSync, writeFileSync } from 'node:fs';

// The contract proper, and the layouts that live beside their code (tables, trace events, the fuzzer's templates).
const files = ['../assembly/layout.ts', '../assembly/tables/rules-layout.ts', '../assembly/tables/ipset-layout.ts', '../assembly/trace/events.ts', '../assembly/fuzz/layout.ts'];
const src = files.map((f) => { try { return readFileSync(new URL(f, import.meta.url), 'utf8'); } catch { return ''; } }).join('\n');
const consts = [...src.matchAll(/^export const (\w+): u32 = (0x[0-9a-f]+|\d+);/gim)];
const out = ['// Generated from assembly/layout.ts by scripts/gen-layout.mjs. Do not edit.', ''];
for (const [, name, value] of consts) out.push(`export const ${name} = ${value};`);
const names = (prefix) => consts.filter(([, n]) => n.startsWith(prefix) && !n.endsWith('_COUNT'))
  .map(([, n, v]) => `  [${v}]: '${n.slice(prefix.length)}',`);
out.push('', '/** Drop reason names by code. */', 'export const DROP_NAMES: Record<number, string> = {', ...names('DROP_'), '};');
out.push('', '/** Stage event names by index. */', 'export const STAT_NAMES: Record<number, string> = {', ...names('STAT_'), '};', '');
writeFileSync(new URL('../src/engine/layout.gen.ts', import.meta.url), out.join('\n'));
