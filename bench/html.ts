// `podnet bench --html FILE`: a page that stands alone (inline CSS and SVG, no
// script, nothing fetched) with the headline as charts — IPIP against native
// by frame size: packet rate, underlay throughput, goodput — and every result
// in a table.
import type { BenchReport } from './report.js';
import type { BenchResult } from './types.js';
import { formatBaselines, formatExtras, formatNumber } from './report.js';

interface Bar {
  name: string;
  value: number;
  kind: 'ipip' | 'native';
  note?: string;
}

interface Group {
  label: string;
  bars: Bar[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Grouped vertical bars, one group per frame size. */
export function barChart(title: string, unit: string, groups: Group[]): string {
  const W = 560;
  const H = 260;
  const left = 56;
  const bottom = 40;
  const top = 34;
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), 0) || 1;
  const scale = niceMax(max);
  const plotH = H - top - bottom;
  const groupW = (W - left - 16) / Math.max(1, groups.length);
  const barW = Math.min(48, (groupW - 24) / 2);
  const y = (v: number) => top + plotH - (v / scale) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<text x="${left}" y="18" class="title">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (scale * i) / 4;
    parts.push(`<line x1="${left}" x2="${W - 8}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${esc(formatNumber(v))}</text>`);
  }
  parts.push(`<text x="12" y="${top + plotH / 2}" class="axis" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`);
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * g.bars.length - 6 * (g.bars.length - 1)) / 2;
    g.bars.forEach((b, bi) => {
      const x = x0 + bi * (barW + 6);
      const h = Math.max(0, y(0) - y(b.value));
      parts.push(`<rect x="${x}" y="${y(b.value)}" width="${barW}" height="${h}" class="bar ${b.kind}"><title>${esc(`${b.name}, ${g.label}: ${formatNumber(b.value)} ${unit}${b.note ? ` (${b.note})` : ''}`)}</title></rect>`);
      parts.push(`<text x="${x + barW / 2}" y="${y(b.value) - 4}" class="value" text-anchor="middle">${esc(formatNumber(b.value))}</text>`);
      if (b.note) parts.push(`<text x="${x + barW / 2}" y="${y(0) + 28}" class="note" text-anchor="middle">${esc(b.note)}</text>`);
    });
    parts.push(`<text x="${left + gi * groupW + groupW / 2}" y="${y(0) + 15}" class="axis" text-anchor="middle">${esc(g.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A round number at or above x for the top of an axis. */
function niceMax(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** The IPIP and native rows side by side, by frame size. */
function headline(results: BenchResult[]): { size: number; ipip?: BenchResult; native?: BenchResult }[] {
  const sizes = [...new Set(results.filter((r) => r.mode === 'calico-ipip' || r.mode === 'calico-native').map((r) => r.size))].sort((a, b) => a - b);
  return sizes.map((size) => ({
    size,
    ipip: results.find((r) => r.mode === 'calico-ipip' && r.size === size),
    native: results.find((r) => r.mode === 'calico-native' && r.size === size),
  }));
}

export function renderHtml(report: BenchReport): string {
  const rows = headline(report.results);
  const groups = (value: (r: BenchResult) => number, note?: (r: BenchResult) => string): Group[] =>
    rows.map(({ size, ipip, native }) => ({
      label: `${size} B`,
      bars: [
        ...(ipip ? [{ name: 'IPIP', value: value(ipip), kind: 'ipip' as const, note: note?.(ipip) }] : []),
        ...(native ? [{ name: 'native', value: value(native), kind: 'native' as const, note: note?.(native) }] : []),
      ],
    }));
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const charts = rows.length
    ? [
        barChart('Packet rate, pod to pod across two nodes', 'Mpps', groups((r) => r.mpps)),
        barChart('Underlay throughput (frame bytes on the underlay)', 'Gbit/s', groups((r) => num(r.underlayGbps), (r) => `${num(r.underlayFrame)} B`)),
        barChart('Goodput (pod payload)', 'Gbit/s', groups((r) => num(r.goodputGbps))),
      ].map((svg) => `<figure>${svg}</figure>`).join('\n')
    : '<p class="none">This run has no calico-ipip or calico-native results: no headline charts. Run <code>podnet bench</code> (or --mode calico-ipip,calico-native) for them.</p>';
  const ratios = rows
    .filter((r) => r.ipip && r.native)
    .map((r) => `<li>${r.size} B: IPIP runs at ${formatNumber(r.ipip!.mpps / r.native!.mpps)} of native's packet rate</li>`)
    .join('\n');
  const m = report.machine;
  const table = [
    '<table>',
    '<thead><tr><th>mode</th><th>measures</th><th>frame</th><th>flows</th><th>workers</th><th>Mpps</th><th>Gbit/s</th><th>ns/packet</th><th>baselines</th><th>notes</th></tr></thead>',
    '<tbody>',
    ...report.results.map((r) => `<tr><td>${esc(r.mode)}</td><td>${esc(r.label ?? '')}</td><td class="n">${r.size} B</td><td class="n">${r.flows}</td><td class="n">${r.workers}</td><td class="n">${esc(formatNumber(r.mpps))}</td><td class="n">${esc(formatNumber(r.gbps))}</td><td class="n">${esc(formatNumber(r.nsPerPacket))}</td><td>${esc(formatBaselines(r))}</td><td>${esc(formatExtras(r))}</td></tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>podnet bench, ${esc(report.date)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
  figure { display: inline-block; margin: 0 1em 1em 0; }
  svg .title { font-weight: bold; font-size: 14px; }
  svg .axis, svg .note { font-size: 11px; fill: #555; }
  svg .value { font-size: 11px; }
  svg .grid { stroke: #ddd; }
  svg .bar.ipip { fill: #c4561a; }
  svg .bar.native { fill: #3a6bc4; }
  .legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
  table { border-collapse: collapse; margin-top: 1em; }
  th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
  td.n { text-align: right; white-space: nowrap; }
</style>
</head>
<body>
<h1>podnet bench</h1>
<p>podnet ${esc(report.podnet)}, ${esc(report.date)}; ${esc(m.cpu)}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${esc(m.node)}, ${esc(m.platform)}.</p>
<h2>Calico: IPIP against native, by frame size</h2>
<p class="legend"><span style="background:#c4561a"></span>IPIP (tunl0) <span style="background:#3a6bc4"></span>native (BGP)</p>
${charts}
${ratios ? `<ul>\n${ratios}\n</ul>` : ''}
<h2>All results</h2>
${table}
</body>
</html>
`;
}
