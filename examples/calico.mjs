// The seed's Calico cluster: two nodes, a pod on each, IPIP Always. A pod
// pings the other across the underlay; the underlay frame is printed as
// tcpdump would show it. Run: node examples/calico.mjs [Always|Never]
import { buildCalico, calicoNetwork, packet } from 'podnet';

const ipipMode = process.argv[2] === 'Never' ? 'Never' : 'Always';
const cluster = buildCalico({ nodes: 2, podsPerNode: 1, ipipMode });
const net = calicoNetwork(cluster);
const [n1, n2] = cluster.nodes;
const underlay = net.capture('node1:eth0');

net.send(n1.pods[0].host.name, [packet.echoRequest({ src: '0.0.0.0', dst: n2.pods[0].ip, id: 1, seq: 1 })]);
const summary = net.run();

console.log(`${ipipMode}: ${n1.pods[0].ip} (${n1.host.name}) -> ${n2.pods[0].ip} (${n2.host.name})`);
console.log(n1.host.route.show());
for (const f of underlay.frames) console.log(f.direction, packet.describe(f.frame));
for (const r of net.delivered(n1.pods[0].host.name)) console.log('pod got:', packet.describeIp(r.packet));
console.log(summary);
