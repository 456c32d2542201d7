// A Docker host as the seed walks through it: docker0, two containers, a
// published port (docker run -p 8080:80), Docker's own iptables rules, and a
// server outside. Run: node examples/docker.mjs
import { buildDocker, HOST_IP, SERVER_IP, packet } from 'podnet';

const d = buildDocker({ containers: [{ name: 'web', publish: [{ hostPort: 8080, containerPort: 80 }] }, { name: 'db' }] });
const web = d.containers[0];
web.host.listen('tcp', 80);
d.server.listen('tcp', 40000);

// A container pings the server: masqueraded to the host's address on the way out.
d.net.send('web', [packet.echoRequest({ src: '0.0.0.0', dst: SERVER_IP, id: 1, seq: 1 })]);
d.net.run();
for (const r of d.net.delivered('web')) console.log('web got:', packet.describeIp(r.packet));

// The server connects to the published port: DNAT to the container.
d.net.send('server', [packet.tcpPacket({ src: SERVER_IP, dst: HOST_IP, sport: 40000, dport: 8080, flags: 'S' })]);
d.net.run();
for (const r of d.net.delivered('web').slice(1)) console.log('web got:', packet.describeIp(r.packet));

console.log(d.host.conntrack.show());
console.log('drops:', d.net.drops());
