// The kernel as the judge of NAT: MASQUERADE with and without a small port
// range, a published port, flows that collide on their ports, a source's
// next connection, replies from outside (arb-nat.ts, nat-check.ts).
import fc from 'fast-check';
import { it } from 'vitest';
import { describeKernel, runs } from './judge.js';
import { rulesUnavailable } from './linux.js';
import { arbNatCase, type NatCase, type NatEvent } from './arb-nat.js';
import { judgeNat } from './nat-check.js';

const noRules = rulesUnavailable();

const out = (client: number, proto: NatEvent['proto'], sport: number, server: number, dport: number, reply = true): NatEvent => ({ kind: 'out', proto, client, sport, server, dport, reply });

const CASES: Record<string, NatCase> = {
  'three clients from one port to one server: the first keeps it, the others move; replies come back to each': {
    events: [out(0, 'udp', 40000, 0, 53), out(1, 'udp', 40000, 0, 53), out(2, 'udp', 40000, 0, 53), out(3, 'tcp', 40000, 0, 53), out(0, 'tcp', 40000, 0, 53)],
  },
  "a moved source's next connection takes its mapping again (find_appropriate_src)": {
    events: [out(0, 'udp', 40001, 0, 53), out(1, 'udp', 40001, 0, 53), out(1, 'udp', 40001, 1, 53), out(1, 'udp', 40001, 0, 5000)],
  },
  'a range of two ports: in-range ports kept, others moved into it, the third connection to a server dropped': {
    toPorts: [20000, 20001],
    events: [out(0, 'udp', 20001, 0, 53), out(1, 'udp', 40000, 0, 53), out(2, 'udp', 40000, 0, 53), out(3, 'udp', 20000, 1, 53), out(3, 'icmp', 0x100, 0, 0)],
  },
  'echo requests with one id from two clients: the second id moves, replies find both': {
    events: [out(0, 'icmp', 0x100, 0, 0), out(1, 'icmp', 0x100, 0, 0), out(2, 'icmp', 0x101, 1, 0)],
  },
  "a published port: the outside's connection holds the port, a client from it to that peer moves; the published client answers": {
    publish: { proto: 'tcp', port: 8080 },
    events: [
      { kind: 'in', proto: 'tcp', client: 0, sport: 5000, server: 0, dport: 8080, reply: false },
      out(2, 'tcp', 8080, 0, 5000),
      out(3, 'tcp', 8080, 1, 5000),
      { kind: 'answer', proto: 'tcp', client: 1, sport: 80, server: 0, dport: 5000, reply: false },
      { kind: 'in', proto: 'udp', client: 0, sport: 53, server: 1, dport: 40000, reply: false },
      out(0, 'udp', 40000, 1, 53),
    ],
  },
};

describeKernel('kernel: NAT', () => {
  if (noRules) {
    it.skip(`MASQUERADE and DNAT (skipped: ${noRules})`, () => {});
    return;
  }
  for (const [name, c] of Object.entries(CASES)) it(`nat: ${name}`, () => judgeNat(c), 20_000);
  const n = runs(20);
  it(`generated NAT gateways and colliding flows (${n} cases)`, async () => {
    const other = Number(process.env.PODNET_KERNEL_SEED);
    await fc.assert(fc.asyncProperty(arbNatCase, judgeNat), { numRuns: n, seed: Number.isInteger(other) ? 0x7a7 ^ other : 0x7a7, endOnFailure: !!process.env.CI });
  }, 60_000 + n * 3_000);
});
