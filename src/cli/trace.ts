// `podnet trace --scenario S --from HOST[:LINK] PACKET`: one packet through a
// scenario on the trace build of the data plane, each stage's decision on
// each host, with the Linux function it follows.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Engine } from '../engine/engine.js';
import { readPcap } from '../packet/pcap.js';
import { formatTrace, tracePacket } from '../trace/trace.js';
import { UsageError, type Verb } from './podnet.js';
import { build, jsonPath, lastFlag, openScenario } from './scenario-arg.js';

export const traceVerb: Verb = {
  usage: 'podnet trace --scenario S --from HOST[:LINK] (PACKET | --pcap FILE [--frame N]) [--json FILE]',
  description:
    'Sends one packet into a scenario and prints every stage it passed through on every host, with the decision\n' +
    'taken and the Linux function it follows: bridge lookups, routes (as `ip route get`), the chain and rule that\n' +
    'decided, conntrack state and NAT, encapsulation, neighbours, the links it left on; and the same for what it\n' +
    'caused (ARP, answers, ICMP errors). From HOST its own stack sends the packet; from HOST:LINK it arrives on\n' +
    "that link from the wire. PACKET is written as tcpdump prints one (quote it: a shell takes '>' for itself):\n" +
    "  'udp 10.244.0.5:4000 > 10.244.1.9:53'   'tcp 203.0.113.10:40000 > 192.168.0.11:8080 flags S'   'icmp web > server'\n" +
    'options after the addresses: flags F (tcp), ttl N, size N, id N, df; `to` may stand for `>`; host names for addresses.',
  flags: [
    { name: 'scenario', value: 'S', help: 'a scenario file (JSON or YAML) or a built-in name (docker, calico, router)' },
    { name: 'from', value: 'HOST[:LINK]', help: "where the packet starts: a host's stack, or a link it arrives on" },
    { name: 'pcap', value: 'FILE', help: 'send the frames of a capture instead (needs --from HOST:LINK)' },
    { name: 'frame', value: 'N', help: 'with --pcap: only the capture\'s Nth frame (1 is the first)' },
    { name: 'json', value: 'FILE', help: 'also write the trace as JSON to FILE' },
  ],
  async run(args) {
    const scenarioArg = lastFlag(args.flags, 'scenario');
    const from = lastFlag(args.flags, 'from');
    const pcap = lastFlag(args.flags, 'pcap');
    const frameArg = lastFlag(args.flags, 'frame');
    const json = lastFlag(args.flags, 'json');
    if (scenarioArg === undefined) throw new UsageError('--scenario is required (a file, or docker, calico, router)');
    if (from === undefined) throw new UsageError('--from HOST or --from HOST:LINK is required: where the packet starts');
    if (!/^[^:]+(:[^:]+)?$/.test(from)) throw new UsageError(`--from ${from}: expected HOST or HOST:LINK`);
    const description = args.positionals.join(' ').trim();
    if (pcap === undefined && description === '') throw new UsageError("which packet? e.g. 'udp 10.0.0.1:4000 > 10.0.0.2:53', or --pcap FILE");
    if (pcap !== undefined && description !== '') throw new UsageError('a packet description or --pcap, not both');
    if (frameArg !== undefined && pcap === undefined) throw new UsageError('--frame goes with --pcap');
    const out = json === undefined ? undefined : jsonPath(json);
    let packet: string | Uint8Array[] = description;
    if (pcap !== undefined) {
      if (!from.includes(':')) throw new UsageError(`--pcap sends Ethernet frames: --from HOST:LINK (the link they arrive on), not ${from}`);
      if (!existsSync(pcap) || statSync(pcap).isDirectory()) throw new UsageError(`no capture file "${pcap}"`);
      let frames;
      try {
        frames = readPcap(new Uint8Array(readFileSync(pcap))).map((f) => f.frame);
      } catch (err) {
        throw new UsageError(`${pcap}: ${(err as Error).message}`);
      }
      if (frames.length === 0) throw new UsageError(`${pcap}: no frames`);
      if (frameArg !== undefined) {
        const n = Number(frameArg);
        if (!/^\d+$/.test(frameArg) || n < 1 || n > frames.length) throw new UsageError(`--frame ${frameArg}: the capture has frames 1..${frames.length}`);
        frames = [frames[n - 1]];
      }
      packet = frames;
    }
    const { scenario, label } = openScenario(scenarioArg);
    const { net } = build(scenario, label, new Engine({ trace: true }));
    const host = from.split(':')[0];
    if (!net.hosts.some((h) => h.name === host)) throw new UsageError(`--from ${from}: no host "${host}" in ${label} (hosts: ${net.hosts.map((h) => h.name).join(', ')})`);
    let t;
    try {
      t = tracePacket(net, { from, packet });
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^trace: /, ''));
    }
    process.stdout.write(formatTrace(t));
    if (out) {
      writeFileSync(out, JSON.stringify({ scenario: scenario.name, ...t }, null, 2) + '\n');
      process.stderr.write(`trace: wrote ${out}\n`);
    }
    return 0;
  },
};
