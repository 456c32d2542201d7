// Fuzzing from the library: random and mutated frames into the Docker
// scenario, every one checked in the data plane; then one packet traced
// through it, stage by stage.
import { fuzz, traceScenario } from 'podnet';

const report = await fuzz({ scenario: 'docker', frames: 50_000, seed: 1 });
console.log(`${report.frames} frames checked, ${report.verified} hops verified, ${report.violations.length} violations`);
for (const v of report.violations) console.log(`${v.kind}: ${v.detail}`);

const trace = traceScenario('docker', { from: 'server', packet: 'tcp 203.0.113.10:40000 > 192.168.0.11:8080 flags S' });
for (const step of trace.steps.filter((s) => s.host === 'docker-host' && s.stage === 'netfilter')) {
  console.log(`${step.fn.padEnd(16)} ${step.text}`);
}
