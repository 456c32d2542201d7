#!/usr/bin/env node
// Launches the compiled command line (dist/, built by `npm run build`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli/podnet.js', import.meta.url);

if (!existsSync(cli)) {
  process.stderr.write('podnet: not built; run `npm run build`\n');
  process.exitCode = 1;
} else {
  try {
    const { main } = await import(cli.href);
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    // A broken build (a missing module, a syntax error) rather than a user's mistake.
    const debug = process.env.PODNET_DEBUG === '1';
    process.stderr.write(`podnet: ${debug && err?.stack ? err.stack : String(err?.message ?? err).split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}
