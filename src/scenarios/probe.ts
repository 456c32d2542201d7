// Sends one packet of a probe through a Network and tells what became of it.
// Each packet runs alone (everything it causes settles before the next), so
// deliveries and drops in its window are its own. A TCP or UDP packet that a
// socket took is answered by that socket (a SYN-ACK, or the datagram back),
// so NAT's way back is exercised too.
import type { Host } from '../host.js';
import type { Network } from '../network.js';
import { parseIPv4 } from '../packet/addr.js';
import { decodeIp, describeIp, ipv4Packet, tcpPacket, udpPacket, type Decoded } from '../packet/craft.js';
import { emitIcmp, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from '../packet/icmp.js';
import { IP_PROTO_ICMP } from '../packet/ipv4.js';
import type { Probe } from './grammar.js';

/** Time a packet may take to settle: ARP gives up after three retries, one a second. */
const SETTLE_TICKS = 5;
const EPHEMERAL = 32768; // ip_local_port_range's start

export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface DropSeen {
  host: string;
  reason: string;
}

export interface PacketFate {
  /** What the sender put on the wire (its source chosen by its routes). */
  sent: Tuple;
  /** The host whose socket (or, for icmp, whose stack) took it. */
  deliveredAt?: string;
  /** As it arrived there, after any NAT. */
  arrived?: Tuple;
  /** icmp: the echo reply came back to the sender. */
  answered?: boolean;
  /** The answer's way back (icmp echo reply, or the socket's answer for tcp/udp). */
  reply?: { back: boolean; translated: boolean; got?: Tuple; drops: DropSeen[] };
  drops: DropSeen[];
  /** ICMP errors about it that reached the sender, described. */
  errors: string[];
}

/** Raised when the network does not settle: frames keep moving (a loop). */
export class NoSettle extends Error {}

export class Prober {
  private nextId = 1;

  constructor(private readonly net: Network) {}

  /** The address a probe's `to` names: itself, or the host's first address. */
  target(to: string): string {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(to)) {
      parseIPv4(to);
      return to;
    }
    const host = this.net.hosts.find((h) => h.name === to);
    if (!host) throw new Error(`no host or address "${to}"`);
    const addr = host.addr.list().find((a) => !a.cidr.startsWith('127.'));
    if (!addr) throw new Error(`host ${to} has no address to send to`);
    return addr.cidr.split('/')[0];
  }

  /** Sends packet `seq` of a probe and follows it (and its answer). */
  send(probe: Probe, seq: number): PacketFate {
    const sender = this.host(probe.from);
    const dst = this.target(probe.to);
    const src = sender.route.get(dst)?.src ?? '0.0.0.0';
    const id = this.id();
    const sport = EPHEMERAL + (id % 28_000);
    const fate: PacketFate = { sent: { src, dst }, drops: [], errors: [] };
    let packet: Uint8Array;
    if (probe.proto === 'icmp') {
      const icmp = emitIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id, seq, data: new Uint8Array(probe.size || 56) });
      packet = ipv4Packet({ src, dst, proto: IP_PROTO_ICMP, id }, icmp);
    } else {
      fate.sent = { src, dst, sport, dport: probe.port };
      const size = probe.size;
      packet = probe.proto === 'tcp'
        ? tcpPacket({ src, dst, sport, dport: probe.port!, flags: 'S', seq: id, id, payload: new Uint8Array(size) })
        : udpPacket({ src, dst, sport, dport: probe.port!, id, size });
    }
    // The sender's socket, open for the answer while the probe runs.
    const opened = probe.proto !== 'icmp' && this.open(sender, probe.proto, sport);
    try {
      const w = this.window(() => this.net.send(sender.name, [packet]));
      fate.drops = w.drops;
      for (const { host, packet: p } of w.delivered) {
        const d = decodeIp(p);
        if (probe.proto === 'icmp') {
          if (host === sender.name && d.icmp?.type === ICMP_ECHO_REPLY && d.icmp.id === id && d.icmp.seq === seq) {
            fate.answered = true;
            fate.reply = { back: true, translated: d.ip?.src === dst && d.ip?.dst === src, got: tupleOf(d), drops: [] };
          }
        } else if (d.ip?.id === id && d.ip.proto === packet[9] && !fate.deliveredAt) {
          fate.deliveredAt = host;
          fate.arrived = tupleOf(d);
        }
        if (host === sender.name && d.quoted?.ip.id === id) fate.errors.push(describeIp(p));
      }
      if (probe.proto === 'icmp') {
        fate.deliveredAt = w.answeredBy;
        fate.answered ??= false;
        if (fate.deliveredAt && !fate.reply) fate.reply = { back: false, translated: false, drops: [] };
      } else if (fate.deliveredAt && fate.arrived) {
        fate.reply = this.answer(probe, fate, sender, id);
      }
    } finally {
      if (opened) sender.unlisten(probe.proto as 'tcp' | 'udp', sport);
    }
    return fate;
  }

  /** The receiving socket answers from where the packet arrived; did it come back as the sender sent it, reversed? */
  private answer(probe: Probe, fate: PacketFate, sender: Host, id: number): NonNullable<PacketFate['reply']> {
    const a = fate.arrived!;
    const replyId = (id + 0x8000) & 0xffff;
    const packet = probe.proto === 'tcp'
      ? tcpPacket({ src: a.dst, dst: a.src, sport: a.dport!, dport: a.sport!, flags: 'SA', seq: replyId, ack: id + 1, id: replyId })
      : udpPacket({ src: a.dst, dst: a.src, sport: a.dport!, dport: a.sport!, id: replyId, size: probe.size });
    const w = this.window(() => this.net.send(fate.deliveredAt!, [packet]));
    const reply: NonNullable<PacketFate['reply']> = { back: false, translated: false, drops: w.drops };
    for (const { host, packet: p } of w.delivered) {
      const d = decodeIp(p);
      if (host !== sender.name || d.ip?.id !== replyId) continue;
      const got = tupleOf(d);
      const s = fate.sent;
      reply.back = true;
      reply.got = got;
      reply.translated = got.src === s.dst && got.dst === s.src && got.sport === s.dport && got.dport === s.sport;
    }
    return reply;
  }

  /** Runs `send`, lets the network settle, and returns what happened in between. */
  private window(send: () => void): { delivered: { host: string; packet: Uint8Array }[]; drops: DropSeen[]; answeredBy?: string } {
    const net = this.net;
    const hosts = net.hosts;
    const seen = hosts.map((h) => net.delivered(h.name).length);
    const echoes = hosts.map((h) => h.stats().stages.icmp_echo_reply ?? 0);
    const dropsBefore = net.drops().length;
    send();
    settle(net);
    const delivered: { host: string; packet: Uint8Array }[] = [];
    hosts.forEach((h, i) => {
      for (const d of net.delivered(h.name).slice(seen[i])) delivered.push({ host: h.name, packet: d.packet });
    });
    const answered = hosts.find((h, i) => (h.stats().stages.icmp_echo_reply ?? 0) > echoes[i]);
    const drops = net.drops().slice(dropsBefore).map((d) => ({ host: d.host, reason: d.reason }));
    return { delivered, drops, answeredBy: answered?.name };
  }

  private host(name: string): Host {
    const h = this.net.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host named "${name}"`);
    return h;
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = (this.nextId % 0x7fff) + 1;
    return id;
  }

  /** Opens proto/port on the host unless it already listens there; true when opened. */
  private open(host: Host, proto: 'tcp' | 'udp', port: number): boolean {
    const key = ((proto === 'tcp' ? 6 : 17) << 16) | port;
    if (host.ports.has(key)) return false;
    host.listen(proto, port);
    return true;
  }
}

/** Delivers what is in flight, and lets time pass while a neighbour is being resolved. */
export function settle(net: Network): void {
  try {
    net.run();
    for (let i = 0; i < SETTLE_TICKS && resolving(net.hosts); i++) net.advance(1000);
  } catch (err) {
    if (/maxSteps/.test((err as Error).message)) throw new NoSettle((err as Error).message);
    throw err;
  }
}

function resolving(hosts: Host[]): boolean {
  return hosts.some((h) => h.neigh.list().some((n) => n.state === 'INCOMPLETE' && n.queued > 0));
}

function tupleOf(d: Decoded): Tuple {
  const ports = d.tcp ?? d.udp;
  return { src: d.ip?.src ?? '?', dst: d.ip?.dst ?? '?', ...(ports ? { sport: ports.sport, dport: ports.dport } : {}) };
}

export function formatTuple(t: Tuple): string {
  return t.sport === undefined ? `${t.src} > ${t.dst}` : `${t.src}:${t.sport} > ${t.dst}:${t.dport}`;
}
