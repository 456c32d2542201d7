// Builds the seed's two-node Calico cluster in the browser, pings from a pod
// on node 1 to a pod on node 2, and draws the path the request and the reply
// took, hop by hop, from what each link captured.
import { loadDataPlane, buildCalico, calicoNetwork, packet } from 'podnet';

const log = document.getElementById('log');
const fail = (err) => {
  document.body.dataset.state = 'error';
  log.textContent = `error: ${err?.message ?? err}`;
};
window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));

await loadDataPlane(new URL('../../build/podnet.wasm', import.meta.url));
const cluster = buildCalico({ nodes: 2, podsPerNode: 1, ipipMode: 'Always' });
const net = calicoNetwork(cluster);
const captures = [];
for (const h of net.hosts) for (const l of h.link.list()) captures.push({ host: h.name, link: l.name, capture: net.capture(`${h.name}:${l.name}`) });

const [n1, n2] = cluster.nodes;
const from = n1.pods[0];
const to = n2.pods[0];
net.send(from.host.name, [packet.echoRequest({ src: '0.0.0.0', dst: to.ip, id: 7, seq: 1 })]);
const summary = net.run();

/** The echo of `type` with our id, bare or inside IPIP. */
const isEcho = (type) => (frame) => {
  const d = packet.decode(frame);
  const icmp = d.icmp ?? d.inner?.icmp;
  return icmp?.type === type && icmp.id === 7;
};

/** Follows a packet from host to host: the link it left on, the link it arrived on. */
function follow(match, start) {
  const hops = [];
  const visited = new Set([start]);
  let host = start;
  for (;;) {
    const out = captures.find((c) => c.host === host && c.capture.frames.some((f) => f.direction === 'out' && match(f.frame)));
    if (!out) break;
    const frame = out.capture.frames.find((f) => f.direction === 'out' && match(f.frame)).frame;
    // A wire carries the very bytes sent: the next hop received the same frame.
    const same = (f) => f.direction === 'in' && f.frame.length === frame.length && f.frame.every((b, i) => b === frame[i]);
    const into = captures.find((c) => !visited.has(c.host) && c.capture.frames.some(same));
    hops.push({ from: host, out: out.link, to: into?.host, in: into?.link, what: packet.describe(frame) });
    if (!into) break;
    host = into.host;
    visited.add(host);
  }
  return hops;
}

const request = follow(isEcho(8), from.host.name);
const reply = follow(isEcho(0), to.host.name);
const answered = net.delivered(from.host.name).some((d) => packet.decodeIp(d.packet).icmp?.type === 0);

function draw() {
  const hosts = [from.host.name, n1.host.name, n2.host.name, to.host.name];
  const W = 230;
  const x = (name) => 40 + hosts.indexOf(name) * W;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(hosts.length * W));
  svg.setAttribute('height', '330');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `ping from ${from.ip} to ${to.ip}`);
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  const defs = el('defs', {});
  for (const kind of ['request', 'reply']) {
    const m = document.createElementNS(ns, 'marker');
    Object.entries({ id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }).forEach(([k, v]) => m.setAttribute(k, String(v)));
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    p.setAttribute('class', kind);
    m.appendChild(p);
    defs.appendChild(m);
  }
  for (const name of hosts) {
    const pod = name.includes('-pod');
    el('rect', { x: x(name), y: 130, width: 150, height: 60, rx: 8, class: pod ? 'pod' : 'host' });
    el('text', { x: x(name) + 75, y: 158, 'text-anchor': 'middle', 'font-weight': 'bold' }, name);
    const ip = pod ? (name === from.host.name ? from.ip : to.ip) : cluster.nodes.find((n) => n.host.name === name).ip;
    el('text', { x: x(name) + 75, y: 176, 'text-anchor': 'middle' }, ip);
  }
  const arrows = (hops, kind, y, below) => {
    hops.forEach((h, i) => {
      if (!h.to) return;
      const right = x(h.to) > x(h.from);
      const x1 = x(h.from) + (right ? 150 : 0);
      const x2 = x(h.to) + (right ? 0 : 150);
      el('line', { x1, y1: y, x2, y2: y, class: `${kind} hop`, 'stroke-width': 2, 'marker-end': `url(#arrow-${kind})` });
      // Labels away from the hosts: the links, then what the frame was (alternating heights, they are long).
      const side = below ? 1 : -1;
      el('text', { x: (x1 + x2) / 2, y: y + side * 12 + (below ? 4 : 0), 'text-anchor': 'middle', class: kind }, `${h.out} > ${h.in}`);
      const what = h.what.includes('IPIP') ? `IPIP ${h.what.split(' IPIP')[0]}` : h.what.split(' ICMP')[0];
      el('text', { x: (x1 + x2) / 2, y: y + side * (30 + (i % 2) * 14) + (below ? 4 : 0), 'text-anchor': 'middle' }, what);
    });
  };
  arrows(request, 'request', 110, false);
  arrows(reply, 'reply', 210, true);
  el('text', { x: 40, y: 20, class: 'request' }, `echo request, ${request.length} hops`);
  el('text', { x: 40, y: 320, class: 'reply' }, `echo reply, ${reply.length} hops${answered ? ', delivered' : ''}`);
  document.getElementById('path').appendChild(svg);
}

draw();
log.textContent = [
  `${from.host.name} (${from.ip}) pinged ${to.host.name} (${to.ip}): ${answered ? 'answered' : 'no answer'}`,
  '',
  'request:',
  ...request.map((h) => `  ${h.from}:${h.out} -> ${h.to}:${h.in}  ${h.what}`),
  'reply:',
  ...reply.map((h) => `  ${h.from}:${h.out} -> ${h.to}:${h.in}  ${h.what}`),
  '',
  `${n1.host.name} routes:`,
  n1.host.route.show(),
  `run: ${JSON.stringify(summary)}`,
].join('\n');
document.body.dataset.state = answered ? 'done' : 'error';
document.body.dataset.hops = `${request.length},${reply.length}`;
