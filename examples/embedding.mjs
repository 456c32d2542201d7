// Embedding the engine in a simulator of your own: two hosts on a cable with
// a 2 ms delay, driven by a small discrete-event loop. Events (a packet from
// a host's stack, a frame arriving on a link) wait in a time-ordered queue;
// at each instant every host gets the events due for it as one batch, written
// into a Context's input vector and run by Host.process; its outputs are read
// back: frames sent go on the cable, deliveries and drops are logged.
// Run: node examples/embedding.mjs
import { Engine, Context, Host, descriptor, packet } from 'podnet';

const DELAY_MS = 2;
const engine = new Engine();
const ctx = new Context(engine, { buffers: 1024, batch: 64, outputs: 256 });

const a = new Host({ name: 'a', engine });
a.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0a' });
a.addr.add('eth0', '10.0.0.1/24');
const b = new Host({ name: 'b', engine });
b.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:0b' });
b.addr.add('eth0', '10.0.0.2/24');
b.listen('udp', 9);

/** Each end of the cable leads to the other. */
const cable = new Map([
  ['a:eth0', { host: b, link: 'eth0' }],
  ['b:eth0', { host: a, link: 'eth0' }],
]);

/** @typedef {{ at: number, seq: number, host: Host, kind: number, link: number, bytes: Uint8Array }} Event */
/** @type {Event[]} */
const queue = [];
let seq = 0;
/** @param {number} at @param {Host} host @param {number} kind @param {number} link @param {Uint8Array} bytes */
function schedule(at, host, kind, link, bytes) {
  queue.push({ at, seq: seq++, host, kind, link, bytes });
  queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
}

// a's stack sends three datagrams to b, 10 ms apart.
for (let i = 0; i < 3; i++) {
  const datagram = packet.udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + i, dport: 9, size: 32 });
  schedule(i * 10, a, descriptor.ORIGINATE, 0, datagram);
}

const log = [];
while (queue.length > 0) {
  const now = queue[0].at;
  const due = [];
  while (queue.length > 0 && queue[0].at === now) due.push(/** @type {Event} */ (queue.shift()));
  for (const host of new Set(due.map((e) => e.host))) {
    const batch = due.filter((e) => e.host === host);
    // A stack's packet starts after room for the Ethernet header the host will add.
    batch.forEach((e, i) => ctx.setInput(i, e.kind, e.link, e.bytes, i, descriptor.HEADROOM + (e.kind === descriptor.ORIGINATE ? 14 : 0)));
    const n = host.process(ctx, batch.length, now);
    for (let i = 0; i < n; i++) {
      const o = ctx.readOutput(i);
      if (o.kind === descriptor.DROP) {
        log.push(`${now} ms ${host.name}: dropped ${descriptor.dropName(o.reason)}`);
        continue;
      }
      const bytes = engine.u8.slice(o.buf + o.off, o.buf + o.off + o.len);
      ctx.freeBuffer(o.buf);
      if (o.kind === descriptor.LOCAL) {
        log.push(`${now} ms ${host.name}: delivered ${packet.describeIp(bytes)}`);
      } else {
        const link = host.link.list().find((l) => l.index === o.link)?.name ?? '?';
        log.push(`${now} ms ${host.name}:${link} sent ${packet.describe(bytes)}`);
        const peer = cable.get(`${host.name}:${link}`);
        if (peer) schedule(now + DELAY_MS, peer.host, descriptor.RX, peer.host.link.get(peer.link).index, bytes);
      }
    }
  }
}
console.log(log.join('\n'));
