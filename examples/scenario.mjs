// A scenario file from the library: load it, build it, send its traffic,
// check its properties. Run: node examples/scenario.mjs [FILE]
import { fileURLToPath } from 'node:url';
import { loadScenario, buildScenario, runScenario, describeFate } from 'podnet';

const file = process.argv[2] ?? fileURLToPath(new URL('./scenarios/docker-published-port.yaml', import.meta.url));
const scenario = loadScenario(file);
const { report } = runScenario(buildScenario(scenario));

for (const p of report.probes) console.log(p.text, '->', p.packets.map(describeFate).join('; '));
for (const p of report.properties) console.log(p.holds ? 'ok  ' : 'FAIL', p.text);
console.log('drops:', Object.entries(report.drops).map(([reason, d]) => `${reason} ${d.count}`).join(', ') || 'none');
process.exitCode = report.ok ? 0 : 1;
