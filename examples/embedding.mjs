// Embedding the engine in a simulator of your own: two hosts on a cable with
// a 2 ms delay, driven by a small discrete-event loop that owns the clock and
// the links. Frames never leave the engine's shared memory: an output
// descriptor (buffer, offset, length) goes into the event queue as it is and
// becomes the peer's input descriptor when its time comes. Every input's fate
// comes back as a record with the input's tag: sent, delivered, taken by the
// host, queued for ARP, or dropped with Linux's reason.
// Run: node examples/embedding.mjs
import { Engine, Context, Host, descriptor, packet } from 'podnet';

const DELAY_MS = 2;
const engine = new Engine();
const ctx = new Context(engine, { buffers: 1024, batch: 64, outputs: 256 });
ctx.recordDrops = true;
ctx.recordFates = true;

const a = new Host({ name: 'a', engine });
a.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0a' });
a.addr.add('eth0', '10.0.0.1/24');
const b = new Host({ name: 'b', engine });
b.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0b' });
b.addr.add('eth0', '10.0.0.2/24');
b.listen('udp', 9);

/** Each end of the cable leads to the other: host and link index. */
const cable = new Map([
  ['a:0', { host: b, link: b.link.get('eth0').index }],
  ['b:0', { host: a, link: a.link.get('eth0').index }],
]);

/** @typedef {{ buf: number, off: number, len: number, link: number, kind: number, tag: number }} Descriptor */
/** @typedef {{ at: number, seq: number, host: Host, d: Descriptor }} Event */
/** @type {Event[]} */
const queue = [];
let seq = 0;
/** @param {number} at @param {Host} host @param {Descriptor} d */
function schedule(at, host, d) {
  queue.push({ at, seq: seq++, host, d });
  queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
}

// a's stack sends three datagrams to b, 10 ms apart: the only copies into the engine.
for (let i = 0; i < 3; i++) {
  const datagram = packet.udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + i, dport: 9, size: 32 });
  // A stack's packet starts after room for the Ethernet header the host will add.
  const off = descriptor.HEADROOM + 14;
  const buf = ctx.allocBufferFor(off + datagram.length);
  engine.u8.set(datagram, buf + off);
  schedule(i * 10, a, { buf, off, len: datagram.length, link: 0, kind: descriptor.ORIGINATE, tag: 100 + i });
}

const name = (/** @type {number} */ tag) => (tag === descriptor.GENERATED ? 'generated' : `#${tag}`);
const log = [];
while (queue.length > 0) {
  const now = queue[0].at;
  const due = [];
  while (queue.length > 0 && queue[0].at === now) due.push(/** @type {Event} */ (queue.shift()));
  for (const host of new Set(due.map((e) => e.host))) {
    // Every event due for this host at this instant, one batch, descriptors as they are.
    const batch = due.filter((e) => e.host === host);
    batch.forEach((e, i) => ctx.setDescriptor(i, e.d));
    const n = host.process(ctx, batch.length, now);
    for (let i = 0; i < n; i++) {
      const o = ctx.readOutput(i);
      const who = `${now} ms ${host.name}: ${name(o.tag)}`;
      if (o.kind === descriptor.DROP) {
        log.push(`${who} dropped ${descriptor.dropName(o.reason)}`);
      } else if (o.kind === descriptor.QUEUED) {
        log.push(`${who} queued for ARP`);
      } else if (o.kind === descriptor.CONSUMED) {
        log.push(`${who} taken by the host`);
      } else if (o.kind === descriptor.LOCAL) {
        log.push(`${who} delivered ${packet.describeIp(engine.u8.subarray(o.buf + o.off, o.buf + o.off + o.len))}`);
        ctx.freeBuffer(o.buf);
      } else {
        // Sent on a link: onto the cable, buffer and all.
        log.push(`${who} sent ${packet.describe(engine.u8.subarray(o.buf + o.off, o.buf + o.off + o.len))}`);
        const peer = cable.get(`${host.name}:${o.link}`);
        if (peer) schedule(now + DELAY_MS, peer.host, { buf: o.buf, off: o.off, len: o.len, link: peer.link, kind: descriptor.RX, tag: o.tag });
        else ctx.freeBuffer(o.buf);
      }
    }
  }
}
console.log(log.join('\n'));
console.log(`buffers in use at the end: ${ctx.capacity - ctx.free}`);
