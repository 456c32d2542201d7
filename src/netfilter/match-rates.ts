// The matches that take some packets and not others: limit (a token bucket
// at a rate, xt_limit) and statistic (random or every nth, xt_statistic).
import { bang, type Fail, type M, type Module } from './match-values.js';

/** XT_LIMIT_SCALE */
export const LIMIT_SCALE = 10000;
const RATES: [string, number][] = [['day', LIMIT_SCALE * 86400], ['hour', LIMIT_SCALE * 3600], ['min', LIMIT_SCALE * 60], ['sec', LIMIT_SCALE]];

function parseRate(s: string, fail: Fail): number {
  const [n, unit] = s.split('/');
  let mult = 1;
  if (unit !== undefined) {
    const u = unit.toLowerCase();
    const m = u === '' ? undefined : [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]].find(([w]) => (w as string).startsWith(u));
    if (!m) fail(`bad rate "${s}" (N/sec, /minute, /hour or /day)`);
    mult = m![1] as number;
  }
  if (!/^\d+$/.test(n) || Number(n) === 0) fail(`bad rate "${s}"`);
  const avg = Math.floor((LIMIT_SCALE * mult) / Number(n));
  if (avg === 0) fail(`rate "${s}" too fast`);
  return avg;
}

/** print_rate */
function rateText(avg: number): string {
  let i = 1;
  for (; i < RATES.length; i++) if (avg > RATES[i][1] || Math.floor(RATES[i][1] / avg) < RATES[i][1] % avg) break;
  return `${Math.floor(RATES[i - 1][1] / avg)}/${RATES[i - 1][0]}`;
}

export const limit: Module<M<'limit'>> = {
  create: () => ({ m: 'limit', avg: (LIMIT_SCALE * 3600) / 3, burst: 5 }),
  options: {
    '--limit': (m, r) => {
      if (r.invert) r.fail('option "--limit" cannot be inverted');
      m.avg = parseRate(r.value(), r.fail);
    },
    '--limit-burst': (m, r) => {
      if (r.invert) r.fail('option "--limit-burst" cannot be inverted');
      const v = r.value();
      if (!/^\d{1,5}$/.test(v) || Number(v) === 0 || Number(v) > 10000) r.fail(`bad burst "${v}" (1..10000)`);
      m.burst = Number(v);
    },
  },
  print: (m) => `--limit ${rateText(m.avg)}${m.burst !== 5 ? ` --limit-burst ${m.burst}` : ''}`,
};

type Statistic = M<'statistic'>;
export const statistic: Module<Statistic> = {
  create: () => ({ m: 'statistic', mode: 'random', probability: -1, invert: false }),
  options: {
    '--mode': (m, r) => {
      if (r.invert) r.fail('option "--mode" cannot be inverted');
      const v = r.value();
      if (v === 'nth') {
        delete (m as { probability?: number }).probability;
        Object.assign(m, { mode: 'nth', every: 0, packet: 0 });
      }
      else if (v !== 'random') r.fail(`bad mode "${v}" (random or nth)`);
    },
    '--probability': (m, r) => {
      if (m.mode !== 'random') r.fail('"--probability" needs "--mode random"');
      const v = r.value();
      const p = Number(v);
      if (!/^[\d.]+$/.test(v) || !(p >= 0 && p <= 1)) r.fail(`bad probability "${v}" (0..1)`);
      Object.assign(m, { probability: Math.round(0x80000000 * p), invert: r.invert });
    },
    '--every': (m, r) => {
      if (m.mode !== 'nth') r.fail('"--every" needs "--mode nth"');
      const v = r.value();
      if (!/^\d{1,10}$/.test(v) || Number(v) === 0 || Number(v) > 0xffffffff) r.fail(`bad --every "${v}"`);
      Object.assign(m, { every: Number(v), invert: r.invert });
    },
    '--packet': (m, r) => {
      if (m.mode !== 'nth') r.fail('"--packet" needs "--mode nth"');
      if (r.invert) r.fail('option "--packet" cannot be inverted');
      const v = r.value();
      if (!/^\d{1,10}$/.test(v)) r.fail(`bad --packet "${v}"`);
      (m as Extract<Statistic, { mode: 'nth' }>).packet = Number(v);
    },
  },
  check: (m, fail) => {
    if (m.mode === 'random' && m.probability < 0) fail('"--mode random" needs "--probability"');
    if (m.mode === 'nth' && (m.every === 0 || m.packet >= m.every)) fail('"--mode nth" needs "--every N" and a "--packet" below N');
  },
  print: (m) => m.mode === 'random'
    ? `--mode random ${bang(m.invert)}--probability ${(m.probability / 0x80000000).toFixed(11)}`
    : `--mode nth ${bang(m.invert)}--every ${m.every} --packet ${m.packet}`,
};
