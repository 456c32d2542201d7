// podnet in a browser: the browser entry imports nothing from Node, the
// example page builds the seed's Calico cluster, pings across it and draws the
// path in headless Chromium (Debian's package; .ci/run installs it), and the
// page `podnet bench --html` writes renders its charts without a console error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks, readme } from './helpers/snippets.js';

const root = join(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** Every module the browser entry loads, and any import that is not a relative file. */
/**
 * The modules an entry loads, following static imports and dynamic ones;
 * `onDemand` lists the dynamic imports not followed because they are
 * Node-only by design (worker threads: a Network with workers > 1).
 */
function importGraph(entry: string): { modules: number; foreign: string[]; onDemand: string[] } {
  const seen = new Set<string>();
  const foreign: string[] = [];
  const onDemand: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (m[2] !== undefined && spec.startsWith('./parallel/')) {
        onDemand.push(`${file.slice(root.length + 1)}: ${spec}`);
        continue;
      }
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else foreign.push(`${file.slice(root.length + 1)}: ${spec}`);
    }
  };
  walk(entry);
  return { modules: seen.size, foreign, onDemand };
}

describe('the browser entry', () => {
  it('loads nothing from node: and no package by name, only its own modules', () => {
    const g = importGraph(join(root, 'dist', 'src', 'browser.js'));
    expect(g.modules).toBeGreaterThan(20);
    expect(g.foreign).toEqual([]);
    // Worker threads are Node's: a Network loads them when asked for more than one worker.
    expect(g.onDemand).toEqual(['dist/src/network.js: ./parallel/pool.js']);
  });
});

describe.skipIf(!hasChromium)('in headless Chromium', () => {
  // Loaded only here: the rest of the suite runs without a browser.
  let browser: import('playwright-core').BrowserContext;
  let server: { url: string; close: () => Promise<unknown> };
  let profile: string;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    const { startServer } = await import(pathToFileURL(join(root, 'examples', 'browser', 'serve.mjs')).href);
    server = await startServer({ root });
    profile = mkdtempSync(join(tmpdir(), 'podnet-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Opens a page, collecting console errors and uncaught exceptions. */
  async function open(url: string) {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
    await page.goto(url);
    return { page, problems };
  }

  it('the example page builds the two-node Calico cluster, pings across it and draws both paths', async () => {
    const { page, problems } = await open(`${server.url}examples/browser/`);
    await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 30_000 });
    const state = await page.evaluate(() => ({
      state: document.body.dataset.state,
      hops: document.body.dataset.hops,
      isolated: crossOriginIsolated,
      log: document.getElementById('log')!.textContent!,
      arrows: document.querySelectorAll('svg line.hop').length,
      svg: document.querySelector('svg')!.getBoundingClientRect().width,
    }));
    expect(problems).toEqual([]);
    expect(state).toMatchObject({ state: 'done', hops: '3,3', isolated: true, arrows: 6 });
    expect(state.svg).toBeGreaterThan(500);
    expect(state.log).toMatch(/node1-pod1 \(10\.244\.0\.1\) pinged node2-pod1 \(10\.244\.0\.65\): answered/);
    expect(state.log).toMatch(/node1:eth0 -> node2:eth0 {2}192\.168\.0\.10 > 192\.168\.0\.11 IPIP/);
    await page.close();
  });

  it("the README's browser snippet runs as written in a page", async () => {
    const [snippet] = codeBlocks(readme()).filter((b) => b.lang === 'js' && b.code.includes("from 'podnet/browser'"));
    expect(snippet).toBeDefined();
    // A site of its own that has the package where a bundler would put it.
    const site = mkdtempSync(join(tmpdir(), 'podnet-site-'));
    const own = await (await import(pathToFileURL(join(root, 'examples', 'browser', 'serve.mjs')).href)).startServer({ root: site });
    try {
      for (const d of ['dist', 'build']) symlinkSync(join(root, d), join(site, d), 'dir');
      writeFileSync(join(site, 'index.html'), [
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">',
        '<script type="importmap">{ "imports": { "podnet/browser": "/dist/src/browser.js" } }</script>',
        '</head><body data-state="loading"><script type="module">',
        snippet.code,
        "document.body.dataset.state = 'done';",
        "document.body.dataset.hosts = String(net.hosts.length);",
        '</script></body></html>',
      ].join('\n'));
      const { page, problems } = await open(own.url);
      // On an error the state stays 'loading' and the problems say why.
      await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 }).catch(() => {});
      expect(problems).toEqual([]);
      expect(await page.evaluate(() => document.body.dataset.hosts)).toBe('4');
      await page.close();
    } finally {
      await own.close();
      rmSync(site, { recursive: true, force: true });
    }
  });

  it('podnet bench --html writes a page whose charts render without a console error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-html-'));
    try {
      const file = join(dir, 'bench.html');
      const r = spawnSync(process.execPath, [join(root, 'bin', 'podnet.js'), 'bench', '--mode', 'calico-ipip,calico-native', '--size', '64,512', '--quick', '--html', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`bench: wrote ${file}`);
      const html = readFileSync(file, 'utf8');
      // Self-contained: nothing to fetch, nothing to run.
      expect(html).not.toMatch(/<script|<link|src=|url\(/);
      const { page, problems } = await open(pathToFileURL(file).href);
      const charts = await page.evaluate(() => Array.from(document.querySelectorAll('figure svg')).map((svg) => ({
        title: svg.querySelector('title')!.textContent,
        bars: Array.from(svg.querySelectorAll('rect.bar')).map((b) => Math.round(b.getBoundingClientRect().height)),
        width: svg.getBoundingClientRect().width,
      })));
      expect(problems).toEqual([]);
      expect(charts.map((c) => c.title)).toEqual(['Packet rate, pod to pod across two nodes', 'Underlay throughput (frame bytes on the underlay)', 'Goodput (pod payload)']);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(300);
        expect(c.bars).toHaveLength(4); // IPIP and native at 64 and 512 bytes
        for (const h of c.bars) expect(h).toBeGreaterThan(0);
      }
      const rows = await page.evaluate(() => document.querySelectorAll('tbody tr').length);
      expect(rows).toBe(4);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
