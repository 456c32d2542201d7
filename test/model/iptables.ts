// Reference model of iptables rule evaluation, written to be obviously right
// rather than fast: recursive, straight over the IR of
// src/netfilter/iptables.ts, with the kernel's matching rules
// (ip_packet_match: interface names with a `+` prefix wildcard, "" when the
// packet has no such device).

import type { CtState, Rule, Ruleset, TableName } from '../../src/netfilter/iptables.js';

export interface ModelPacket {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** IP protocol number. */
  proto: number;
  ctstate: CtState;
  /** Ingress / egress interface name, null when there is none. */
  in: string | null;
  out: string | null;
  srcLocal: boolean;
  dstLocal: boolean;
  /** A fragment other than the first (no ports to match). */
  frag?: boolean;
}

export type ModelKind = 'ACCEPT' | 'DROP' | 'DNAT' | 'SNAT' | 'MASQUERADE' | 'RETURN';

/** The verdict and the deciding rule: index === the chain's rule count means its policy (or falling off a user chain). */
export interface ModelVerdict {
  kind: ModelKind;
  chain: string;
  index: number;
}

/** Jumps nest at most this deep; one more decides DROP (the engine's limit). */
export const MODEL_MAX_DEPTH = 16;

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };

function inPrefix(addr: number, net: number, plen: number): boolean {
  return plen === 0 || addr >>> (32 - plen) === net >>> (32 - plen);
}

function ifaceMatch(pattern: string, name: string | null): boolean {
  const n = name ?? '';
  return pattern.endsWith('+') ? n.startsWith(pattern.slice(0, -1)) : n === pattern;
}

export function ruleMatches(r: Rule, p: ModelPacket): boolean {
  if (r.src && inPrefix(p.src, r.src.addr, r.src.plen) === r.src.invert) return false;
  if (r.dst && inPrefix(p.dst, r.dst.addr, r.dst.plen) === r.dst.invert) return false;
  if (r.in && ifaceMatch(r.in.name, p.in) === r.in.invert) return false;
  if (r.out && ifaceMatch(r.out.name, p.out) === r.out.invert) return false;
  if (r.proto && (p.proto === PROTO[r.proto]) === !!r.protoInvert) return false;
  if ((r.sport || r.dport) && p.frag) return false;
  if (r.sport && (p.sport >= r.sport.lo && p.sport <= r.sport.hi) === r.sport.invert) return false;
  if (r.dport && (p.dport >= r.dport.lo && p.dport <= r.dport.hi) === r.dport.invert) return false;
  if (r.ctstate && r.ctstate.includes(p.ctstate) === !!r.ctstateInvert) return false;
  if (r.srcType && p.srcLocal === r.srcType.invert) return false;
  if (r.dstType && p.dstLocal === r.dstType.invert) return false;
  return true;
}

/**
 * Runs a chain of a table for a packet. In a builtin chain, falling off the
 * end or RETURN applies the policy; in a user chain started directly, either
 * gives RETURN.
 */
export function modelRun(rs: Ruleset, table: TableName, chain: string, p: ModelPacket): ModelVerdict {
  const t = rs.tables[table];
  const start = t.chains.get(chain);
  if (!start) throw new Error(`no chain ${table}/${chain}`);
  const end = (): ModelVerdict => ({
    kind: start.builtin ? (start.policy ?? 'ACCEPT') : 'RETURN',
    chain,
    index: start.rules.length,
  });
  // Returns a verdict, or null when the chain returns to its caller.
  const walk = (name: string, depth: number): ModelVerdict | null => {
    const c = t.chains.get(name)!;
    for (let i = 0; i < c.rules.length; i++) {
      const r = c.rules[i];
      if (!ruleMatches(r, p)) continue;
      const tg = r.target;
      switch (tg.kind) {
        case 'NONE':
          continue;
        case 'RETURN':
          return null;
        case 'JUMP': {
          if (depth === MODEL_MAX_DEPTH) return { kind: 'DROP', chain: name, index: i };
          const v = walk(tg.chain, depth + 1);
          if (v) return v;
          continue;
        }
        default:
          return { kind: tg.kind, chain: name, index: i };
      }
    }
    return null;
  };
  return walk(chain, 0) ?? end();
}
