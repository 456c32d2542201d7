// The small language of a scenario's traffic and properties, one line each:
//
//   probe     := "from" HOST "to" DEST [PROTO]
//   DEST      := HOST | a.b.c.d           (a host stands for its first address)
//   PROTO     := "icmp" | "ping" | "tcp/" PORT | "udp/" PORT      (default: icmp)
//   property  := probe ":" outcome | "no packet loops" | "every reply is translated back"
//   outcome   := "delivered" ["at" HOST]   a socket (or, for icmp, the stack) of HOST took it
//              | "answered"               icmp: the echo reply came back to the sender
//              | "dropped" [REASON] ["at" HOST]   no socket took it; REASON is a drop reason
//
// e.g. `from pod-a to pod-b tcp/8080: delivered`, `from outside to 172.17.0.2: dropped`.
import { DROP_NAMES } from '../engine/layout.gen.js';

export interface Probe {
  from: string;
  to: string;
  proto: 'icmp' | 'tcp' | 'udp';
  port?: number;
  /** Packets to send (default 1). */
  count: number;
  /** Payload bytes (default 0; an echo request carries 56 when 0). */
  size: number;
}

export type Outcome =
  | { expect: 'delivered'; at?: string }
  | { expect: 'answered' }
  | { expect: 'dropped'; reason?: string; at?: string };

export type Property =
  | { kind: 'reach'; text: string; probe: Probe; outcome: Outcome }
  | { kind: 'no-loops'; text: string }
  | { kind: 'replies-translated'; text: string };

const REASONS = new Set(Object.values(DROP_NAMES));
const NAME = /^[A-Za-z0-9_.-]+$/;

export function parseProbe(text: string): Probe {
  const words = text.trim().split(/\s+/);
  const usage = `expected "from HOST to HOST|ADDRESS [icmp|tcp/PORT|udp/PORT]", got "${text.trim()}"`;
  if (words[0] === 'ping') words.shift();
  if (words.length < 4 || words[0] !== 'from' || words[2] !== 'to' || words.length > 5) throw new Error(usage);
  const [, from, , to, proto] = words;
  if (!NAME.test(from)) throw new Error(`"${from}" is not a host name`);
  if (!NAME.test(to)) throw new Error(`"${to}" is not a host name or an address`);
  const probe: Probe = { from, to, proto: 'icmp', count: 1, size: 0 };
  if (proto === undefined || proto === 'icmp' || proto === 'ping') return probe;
  const m = /^(tcp|udp)\/(\d+)$/.exec(proto);
  const port = Number(m?.[2]);
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`"${proto}": expected icmp, tcp/PORT or udp/PORT (ports 1..65535)`);
  return { ...probe, proto: m[1] as 'tcp' | 'udp', port };
}

export function parseProperty(text: string): Property {
  const line = text.trim().replace(/\s+/g, ' ');
  if (/^no (packet )?loops$/i.test(line)) return { kind: 'no-loops', text: 'no packet loops' };
  if (/^every reply is translated back$/i.test(line)) return { kind: 'replies-translated', text: 'every reply is translated back' };
  const colon = line.lastIndexOf(':');
  if (colon < 0 || !line.startsWith('from ')) {
    throw new Error(`expected "PROBE: OUTCOME", "no packet loops" or "every reply is translated back", got "${line}"`);
  }
  const probe = parseProbe(line.slice(0, colon));
  const outcome = parseOutcome(line.slice(colon + 1).trim());
  if (outcome.expect === 'answered' && probe.proto !== 'icmp') {
    throw new Error('"answered" is for icmp probes: only echo requests get an answer from the engine');
  }
  return { kind: 'reach', text: line, probe, outcome };
}

function parseOutcome(text: string): Outcome {
  const words = text.split(' ').filter((w) => w !== '');
  const usage = `expected "delivered [at HOST]", "answered" or "dropped [REASON] [at HOST]", got "${text}"`;
  const at = (rest: string[]): string | undefined => {
    if (rest.length === 0) return undefined;
    if (rest.length !== 2 || rest[0] !== 'at' || !NAME.test(rest[1])) throw new Error(usage);
    return rest[1];
  };
  switch (words[0]) {
    case 'delivered':
      return { expect: 'delivered', at: at(words.slice(1)) };
    case 'answered':
      if (words.length > 1) throw new Error(usage);
      return { expect: 'answered' };
    case 'dropped': {
      let rest = words.slice(1);
      let reason: string | undefined;
      if (rest.length > 0 && rest[0] !== 'at') {
        reason = rest[0].toUpperCase();
        if (!REASONS.has(reason)) throw new Error(`unknown drop reason "${rest[0]}" (reasons: ${[...REASONS].join(', ')})`);
        rest = rest.slice(1);
      }
      return { expect: 'dropped', reason, at: at(rest) };
    }
    default:
      throw new Error(usage);
  }
}

/** The probe as the grammar writes it. */
export function formatProbe(p: Probe): string {
  const proto = p.proto === 'icmp' ? 'icmp' : `${p.proto}/${p.port}`;
  return `from ${p.from} to ${p.to} ${proto}${p.count > 1 ? ` (x${p.count})` : ''}`;
}
