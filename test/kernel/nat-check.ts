// A NAT case judged by the kernel. Linux draws a port that has to move at
// random (nf_nat_l4proto_unique_tuple starts its search at a random offset),
// so each side's choices are first checked against get_unique_tuple's rules
// on that side's own connections: which connections keep their port, take
// their source's mapping again (find_appropriate_src), move (to a free port
// in the range or the port's class) or find none (dropped); then the frames
// are compared byte for byte with the moved port values masked (with the
// L4 checksum they change, checked valid first). Replies from outside are
// made per side, to the port that side chose.
import { checksum, formatIPv4, get16, get32, l4Checksum } from '../model/wire.js';
import { compareOutputs, explain } from './compare.js';
import { openLinux } from './linux.js';
import { buildHost, podnetSession } from './podnet.js';
import type { KCase, KOut, KStep } from './setup.js';
import {
  MARK_UDP, PUBLISHED_CLIENT, PUBLISHED_PORT, UPLINK, UPLINK_ADDR, clientIp, describeNat, eventFrame, natSetup, replyFrame, serverIp,
  type NatCase, type NatEvent, type NatProto,
} from './arb-nat.js';

const ETH_HLEN = 14;

/** Where a frame's translated port is, and which event it carries (by its marker). */
interface Marked {
  event: number;
  src: string;
  /** Offset of the source port (TCP, UDP) or echo id; of the L4 header. */
  portAt: number;
  l4: number;
  proto: number;
}

function marked(f: Uint8Array): Marked | undefined {
  if (f.length < ETH_HLEN + 20 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  const ip = ETH_HLEN;
  const l4 = ip + (f[ip] & 15) * 4;
  if ((get16(f, ip + 6) & 0x3fff) !== 0) return undefined;
  const proto = f[ip + 9];
  const src = formatIPv4(get32(f, ip + 12));
  if (proto === 17 && f.length >= l4 + 10 && f[l4 + 8] === MARK_UDP) return { event: f[l4 + 9], src, portAt: l4, l4, proto };
  if (proto === 6 && f.length >= l4 + 20 && f[l4 + 4] === 0xf1) return { event: get32(f, l4 + 4) & 0xffffff, src, portAt: l4, l4, proto };
  if (proto === 1 && f.length >= l4 + 8 && f[l4] === 8) return { event: get16(f, l4 + 6), src, portAt: l4 + 4, l4, proto };
  return undefined;
}

/** The port (echo id) each event's packet left the uplink from, as the uplink's address. */
function chosenPorts(out: KOut[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const o of out) {
    if (o.link !== UPLINK) continue;
    const k = marked(o.frame);
    if (k && k.src === UPLINK_ADDR) m.set(k.event, get16(o.frame, k.portAt));
  }
  return m;
}

/**
 * The servers' replies to the events that ask for one, to the ports this
 * side chose; not to a TCP flow the server itself opened towards from its
 * port (a simultaneous open: its SYN set the sequence Linux's window
 * tracking expects, which podnet does not track).
 */
function replies(c: NatCase, chosen: Map<number, number>): KStep[] {
  const crossed = (e: NatEvent, port: number) =>
    e.proto === 'tcp' && c.events.some((o) => o.kind === 'in' && o.proto === 'tcp' && o.server === e.server && o.sport === e.dport && o.dport === port);
  const frames = c.events.flatMap((e, i) => (e.kind === 'out' && e.reply && chosen.has(i) && !crossed(e, chosen.get(i)!) ? [replyFrame(e, i, chosen.get(i)!)] : []));
  return [{ gap: 0, frames }];
}

const tuple = (p: NatProto, src: string, sport: number | string, dst: string, dport: number | string) => `${p} ${src}:${sport}>${dst}:${dport}`;

/**
 * get_unique_tuple's rules for MASQUERADE, replayed on one side's own
 * choices; the ways that side broke them. Every connection holds its two
 * tuples (a port is free when no connection holds the reply tuple it would
 * give, nf_nat_used_tuple); `port` is the uplink's source port of packets
 * with that tuple leaving the uplink.
 */
function checkSide(c: NatCase, side: string, chosen: Map<number, number>): string[] {
  const errors: string[] = [];
  const tuples = new Map<string, number>();
  const bysource: { proto: NatProto; src: string; sport: number; port: number }[] = [];
  for (const [i, e] of c.events.entries()) {
    const server = serverIp(e.server);
    if (e.kind === 'in') {
      const orig = tuple(e.proto, server, e.sport, UPLINK_ADDR, e.dport);
      if (tuples.has(orig)) continue; // a reply of a flow
      tuples.set(orig, -1);
      if (c.publish && c.publish.proto === e.proto && c.publish.port === e.dport) {
        const reply = tuple(e.proto, clientIp(PUBLISHED_CLIENT), PUBLISHED_PORT, server, e.sport);
        if (tuples.has(reply)) errors.push(`#${i}: not a case (the published connection's null binding would move)`);
        tuples.set(reply, e.dport);
      } else if (e.proto === 'tcp') {
        // No listener: the host's RST is the first answer, and ends the connection at once (nf_conntrack_tcp_packet).
        tuples.delete(orig);
      } else tuples.set(tuple(e.proto, UPLINK_ADDR, e.dport, server, e.sport), -1);
      continue;
    }
    const client = clientIp(e.client);
    const dport = e.proto === 'icmp' ? 'echo' : e.dport;
    const orig = tuple(e.proto, client, e.sport, server, dport);
    const got = chosen.get(i);
    const say = (what: string) => errors.push(`#${i} ${e.proto} ${client}:${e.sport}>${server}:${dport}: ${what}; ${side} sent it from ${got ?? '(nothing)'}`);
    const held = tuples.get(orig);
    if (held !== undefined) {
      if (got !== held) say(`a connection's later packet leaves from its mapping ${held}`);
      continue;
    }
    if (e.kind === 'answer' && e.proto === 'tcp') {
      // Its SYN went to another client (a flow's reply): a SYN-ACK starts no connection (INVALID), it leaves untranslated.
      if (got !== undefined) say('is INVALID and leaves untranslated');
      continue;
    }
    const replyOf = (p: number) => (e.proto === 'icmp' ? tuple('icmp', server, p, UPLINK_ADDR, 'echo-reply') : tuple(e.proto, server, dport, UPLINK_ADDR, p));
    const used = (p: number) => tuples.has(replyOf(p));
    const range = e.proto !== 'icmp' ? c.toPorts : undefined;
    const inRange = (p: number) => !range || (p >= range[0] && p <= range[1]);
    // find_appropriate_src: the newest connection of the same source whose mapping lies in the range.
    const prev = [...bysource].reverse().find((b) => b.proto === e.proto && b.src === client && b.sport === e.sport && inRange(b.port));
    if (prev && !used(prev.port)) {
      if (got !== prev.port) say(`takes its source's mapping ${prev.port} again (find_appropriate_src)`);
    } else if (inRange(e.sport) && !used(e.sport)) {
      if (got !== e.sport) say('keeps its port (the reply tuple is free)');
    } else {
      const [lo, hi] = range ?? (e.proto === 'icmp' ? [0, 65535] : e.sport < 512 ? [1, 511] : e.sport < 1024 ? [600, 1023] : [1024, 65535]);
      let free = false;
      for (let p = lo; p <= hi && !free; p++) free = !used(p);
      if (!free && got !== undefined) say(`finds no free port in ${lo}-${hi} (dropped)`);
      if (free && (got === undefined || got < lo || got > hi || used(got))) say(`moves to a free port in ${lo}-${hi}`);
    }
    if (got === undefined) continue;
    tuples.set(orig, got);
    tuples.set(replyOf(got), -1);
    bysource.push({ proto: e.proto, src: client, sport: e.sport, port: got });
  }
  return errors;
}

/** The frame with its translated port zeroed, and its L4 checksum (zero when it was valid, 0xffff when not). */
function maskPort(f: Uint8Array, k: Marked): Uint8Array {
  const g = f.slice();
  const ip = ETH_HLEN;
  const end = Math.min(g.length, ip + get16(g, ip + 2));
  const seg = g.subarray(k.l4, end);
  const sumAt = k.proto === 17 ? 6 : k.proto === 6 ? 16 : 2;
  const ok = k.proto === 1 ? checksum(seg) === 0 : (k.proto === 17 && get16(seg, 6) === 0) || l4Checksum(get32(g, ip + 12), get32(g, ip + 16), k.proto, seg) === 0;
  g.fill(0, k.portAt, k.portAt + 2);
  g.fill(ok ? 0 : 0xff, k.l4 + sumAt, k.l4 + sumAt + 2);
  return g;
}

/** Both sides' uplink frames of the events whose port moved on either side, masked. */
function masked(out: KOut[], moved: Set<number>): KOut[] {
  return out.map((o) => {
    const k = o.link === UPLINK ? marked(o.frame) : undefined;
    return k && k.src === UPLINK_ADDR && moved.has(k.event) ? { ...o, frame: maskPort(o.frame, k) } : o;
  });
}

/** Runs the case on both sides; throws a readable account of broken rules or a disagreement. */
export async function judgeNat(c: NatCase): Promise<void> {
  const setup = natSetup(c);
  const first: KStep[] = [{ gap: 0, frames: c.events.map((e, i) => eventFrame(c, e, i)) }];
  const pod = podnetSession(await buildHost(setup));
  const p1 = pod.run(first);
  const pChosen = chosenPorts(p1);
  const pReplies = replies(c, pChosen);
  const podnet = [...p1, ...pod.run(pReplies)];
  const session = openLinux(setup);
  let linux: KOut[];
  let lChosen: Map<number, number>;
  try {
    const l1 = session.run(first);
    lChosen = chosenPorts(l1);
    linux = [...l1, ...session.run(replies(c, lChosen))];
  } finally {
    session.close();
  }
  const errors = [...checkSide(c, 'linux', lChosen), ...checkSide(c, 'podnet', pChosen)];
  const moved = new Set<number>();
  for (const [i, e] of c.events.entries()) {
    if (e.kind === 'in') continue;
    for (const m of [lChosen, pChosen]) if (m.has(i) && m.get(i) !== e.sport) moved.add(i);
  }
  const kcase: KCase = { setup, steps: [...first, ...pReplies] };
  const d = compareOutputs(kcase, masked(linux, moved), masked(podnet, moved));
  if (errors.length || d.length) {
    const ports = (m: Map<number, number>) => [...m].map(([i, p]) => `#${i}>${p}`).join(' ');
    throw new Error(
      [
        'podnet and Linux disagree',
        describeNat(c),
        ...errors,
        `linux chose: ${ports(lChosen)}`,
        `podnet chose: ${ports(pChosen)}`,
        explain(kcase, linux, podnet, d),
      ].join('\n'),
    );
  }
}
