// A packet written the way tcpdump prints one, for `podnet trace`:
//
//   udp 10.244.0.5:4000 > 10.244.1.9:53
//   tcp 203.0.113.10:40000 > 192.168.0.11:8080 flags S
//   icmp 10.244.0.1 > 10.244.0.65
//
// (`to` may stand for `>`, which a shell wants quoted). Addresses may be
// host names of the scenario (their first address); after
// the addresses come options: `flags F` (tcp, default S), `ttl N`, `size N`
// (payload bytes), `id N` (IP id; for icmp the echo id too), `df`.
import { parseIPv4 } from '../packet/addr.js';
import { echoRequest, parseTcpFlags, tcpPacket, udpPacket } from '../packet/craft.js';

export interface PacketSpec {
  proto: 'udp' | 'tcp' | 'icmp';
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  flags: string;
  ttl: number;
  size?: number;
  id: number;
  df: boolean;
}

const USAGE = 'expected "udp|tcp SRC:PORT > DST:PORT [flags F] [ttl N] [size N] [id N] [df]" or "icmp SRC > DST [...]"';

/** Parses a description; `resolve` turns a host name into its address (or throws). */
export function parsePacketSpec(text: string, resolve: (name: string) => string = (n) => n): PacketSpec {
  const words = text.trim().split(/\s+/);
  const [proto, from, arrow, to, ...opts] = words;
  if (proto !== 'udp' && proto !== 'tcp' && proto !== 'icmp') throw new Error(`"${proto ?? ''}": ${USAGE}`);
  if (from === undefined || (arrow !== '>' && arrow !== 'to') || to === undefined) throw new Error(USAGE);
  const ports = proto !== 'icmp';
  const a = endpoint(from, ports, resolve);
  const b = endpoint(to, ports, resolve);
  const spec: PacketSpec = { proto, src: a.addr, dst: b.addr, sport: a.port, dport: b.port, flags: 'S', ttl: 64, id: 1, df: false };
  for (let i = 0; i < opts.length; i++) {
    const key = opts[i];
    if (key === 'df') {
      spec.df = true;
      continue;
    }
    const v = opts[++i];
    if (v === undefined) throw new Error(`"${key}" needs a value`);
    if (key === 'flags') {
      if (proto !== 'tcp') throw new Error('flags are for tcp');
      parseTcpFlags(v);
      spec.flags = v;
    } else if (key === 'ttl') {
      spec.ttl = number(key, v, 0, 255);
    } else if (key === 'size') {
      spec.size = number(key, v, 0, 65000);
    } else if (key === 'id') {
      spec.id = number(key, v, 0, 65535);
    } else {
      throw new Error(`unknown option "${key}" (flags, ttl, size, id, df)`);
    }
  }
  return spec;
}

function endpoint(s: string, ports: boolean, resolve: (name: string) => string): { addr: string; port?: number } {
  const colon = s.lastIndexOf(':');
  if (!ports) {
    if (colon >= 0) throw new Error(`"${s}": icmp has no ports`);
    return { addr: address(s, resolve) };
  }
  if (colon <= 0) throw new Error(`"${s}": expected ADDRESS:PORT`);
  return { addr: address(s.slice(0, colon), resolve), port: number('port', s.slice(colon + 1), 1, 65535) };
}

function address(s: string, resolve: (name: string) => string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) {
    parseIPv4(s);
    return s;
  }
  return resolve(s);
}

function number(what: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min || n > max) throw new Error(`${what} "${s}": expected ${min}..${max}`);
  return n;
}

/** The IPv4 packet a spec describes. */
export function packetOf(s: PacketSpec): Uint8Array {
  if (s.proto === 'icmp') return echoRequest({ src: s.src, dst: s.dst, id: s.id, seq: 1, ttl: s.ttl, df: s.df, size: s.size });
  if (s.proto === 'udp') return udpPacket({ src: s.src, dst: s.dst, sport: s.sport!, dport: s.dport!, size: s.size, ttl: s.ttl, df: s.df, id: s.id });
  return tcpPacket({ src: s.src, dst: s.dst, sport: s.sport!, dport: s.dport!, flags: s.flags, seq: 1000, ack: s.flags.includes('A') ? 1 : 0, ttl: s.ttl, df: s.df, id: s.id, payload: new Uint8Array(s.size ?? 0) });
}
