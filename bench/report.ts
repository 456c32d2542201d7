// What a benchmark run reports: the table printed at the end and the JSON
// document written by --json (DESIGN.md: bench JSON). Pure, except machineInfo().
import os from 'node:os';
import type { BenchResult } from './types.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface BenchReport {
  podnet: string;
  date: string;
  machine: Machine;
  results: BenchResult[];
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function buildReport(results: BenchResult[], version: string, machine: Machine, date: Date): BenchReport {
  return { podnet: version, date: date.toISOString(), machine, results };
}

/** Fields every result has; anything else is an extra worth a note in the table. */
const CORE_FIELDS = new Set([
  'mode', 'size', 'flows', 'workers', 'mpps', 'gbps', 'nsPerPacket', 'label', 'baselines', 'mppsP99', 'rmePercent',
  'scaling', 'ceiling', 'efficiency', 'identical', 'ipipToNative', 'ipipToNativeSpread', 'ipipToNativeNote',
]);

/** The table printed at the end of `podnet bench`. */
export function formatTable(results: BenchResult[]): string {
  if (results.length === 0) return 'no results\n';
  const showLabel = results.some((r) => r.label);
  const showWorkers = results.some((r) => r.workers !== 1);
  const showTiming = results.some((r) => typeof r.rmePercent === 'number');
  const showScaling = results.some((r) => typeof r.scaling === 'number');
  const showRatio = results.some((r) => 'ipipToNative' in r);
  const showBaselines = results.some((r) => r.baselines && Object.keys(r.baselines).length > 0);
  const notes = results.map(formatExtras);
  const showNotes = notes.some((n) => n !== '');

  const columns: Column[] = [
    { head: 'mode', cell: (r) => r.mode },
    ...(showLabel ? [{ head: 'measures', cell: (r: BenchResult) => r.label ?? '' }] : []),
    { head: 'frame', cell: (r) => `${r.size} B`, right: true },
    { head: 'flows', cell: (r) => String(r.flows), right: true },
    ...(showWorkers ? [{ head: 'workers', cell: (r: BenchResult) => String(r.workers), right: true }] : []),
    { head: 'Mpps', cell: (r) => formatNumber(r.mpps), right: true },
    ...(showTiming ? [
      { head: '±', cell: (r: BenchResult) => (typeof r.rmePercent === 'number' ? `${formatNumber(r.rmePercent)}%` : ''), right: true },
      { head: 'p99', cell: (r: BenchResult) => (typeof r.mppsP99 === 'number' ? formatNumber(r.mppsP99) : ''), right: true },
    ] : []),
    { head: 'Gbit/s', cell: (r) => formatNumber(r.gbps), right: true },
    { head: 'ns/packet', cell: (r) => formatNumber(r.nsPerPacket), right: true },
    ...(showScaling ? [
      { head: 'scaling', cell: (r: BenchResult) => (typeof r.scaling === 'number' ? formatNumber(r.scaling) : ''), right: true },
      { head: 'ceiling', cell: (r: BenchResult) => (typeof r.ceiling === 'number' ? formatNumber(r.ceiling) : ''), right: true },
      { head: 'eff.', cell: (r: BenchResult) => (typeof r.efficiency === 'number' ? formatNumber(r.efficiency) : ''), right: true },
      { head: 'same', cell: (r: BenchResult) => (r.identical === undefined ? '' : r.identical ? 'yes' : 'NO'), right: true },
    ] : []),
    ...(showRatio ? [{ head: 'IPIP/native', cell: formatRatio }] : []),
    ...(showBaselines ? [{ head: 'baselines', cell: formatBaselines }] : []),
    ...(showNotes ? [{ head: 'notes', cell: (_: BenchResult, i: number) => notes[i] }] : []),
  ];
  return renderColumns(columns, results);
}

/** `0.74 ±2%`, or why there is no number. */
export function formatRatio(r: BenchResult): string {
  if (!('ipipToNative' in r)) return '';
  if (typeof r.ipipToNative !== 'number') return typeof r.ipipToNativeNote === 'string' ? r.ipipToNativeNote : '-';
  const spread = typeof r.ipipToNativeSpread === 'number' ? ` ±${formatNumber(r.ipipToNativeSpread * 100)}%` : '';
  return `${r.ipipToNative.toFixed(2)}${spread}`;
}

interface Column {
  head: string;
  cell: (r: BenchResult, index: number) => string;
  right?: boolean;
}

function renderColumns(columns: Column[], results: BenchResult[]): string {
  const rows = [columns.map((c) => c.head), ...results.map((r, i) => columns.map((c) => c.cell(r, i)))];
  const widths = columns.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((text, c) => (columns[c].right ? text.padStart(widths[c]) : text.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return rows.map(line).join('\n') + '\n';
}

/** `model 0.91 Mpps (x35)` for each baseline, ours over theirs; `model absent` where it is not installed. */
export function formatBaselines(r: BenchResult): string {
  return Object.entries(r.baselines ?? {})
    .map(([name, mpps]) => (mpps === null ? `${name} absent` : `${name} ${formatNumber(mpps)} Mpps (${formatSpeedup(r.mpps, mpps)})`))
    .join(', ');
}

export function formatSpeedup(ours: number, theirs: number): string {
  if (!(theirs > 0) || !Number.isFinite(ours)) return 'x?';
  const ratio = ours / theirs;
  return `x${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}`;
}

/** Extra fields as short notes: `tableBytes: 4404019` reads `table 4.20 MiB`, `buildMs: 149` `build 149 ms`. */
export function formatExtras(r: BenchResult): string {
  const notes: string[] = [];
  for (const [key, value] of Object.entries(r)) {
    if (CORE_FIELDS.has(key) || value === undefined || value === null) continue;
    if (typeof value === 'number' && /bytes$/i.test(key)) {
      const what = words(key.replace(/bytes$/i, ''));
      notes.push(`${what ? `${what} ` : ''}${formatNumber(value / 2 ** 20)} MiB`);
    } else if (typeof value === 'number' && /[a-z]Ms$/.test(key)) {
      notes.push(`${words(key.slice(0, -2))} ${formatNumber(value)} ms`);
    } else if (typeof value === 'number') {
      notes.push(`${words(key)} ${formatNumber(value)}`);
    } else if (typeof value === 'string' || typeof value === 'boolean') {
      notes.push(`${words(key)} ${value}`);
    }
    // Objects and arrays are for the JSON document only.
  }
  return notes.join(', ');
}

/** Three significant digits for small numbers, whole numbers from 1000 up. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return '-';
  const abs = Math.abs(x);
  if (abs >= 1000 || Number.isInteger(x)) return Math.round(x).toString();
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  if (abs === 0) return '0';
  return x.toPrecision(2);
}

/** `routeCount` -> `route count`. */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
