// Scenario files: reading JSON and YAML with errors at a path and a line, the
// one-line forms of ip, the traffic and property grammar, building on a
// Network (builders, new hosts, extensions, wires, segments), and checking.
import { describe, it, expect } from 'vitest';
import { parseScenarioText } from '../src/scenarios/text.js';
import { readScenario, ScenarioError } from '../src/scenarios/spec.js';
import { parseAddrLine, parseNeighLine, parseRouteLine } from '../src/scenarios/ip-syntax.js';
import { parseProbe, parseProperty } from '../src/scenarios/grammar.js';
import { buildScenario } from '../src/scenarios/build.js';
import { runScenario } from '../src/scenarios/check.js';
import { builtinScenario } from '../src/scenarios/builtin.js';
import { MAX_MTU } from '../src/nouns/common.js';

function errorOf(f: () => unknown): ScenarioError {
  try {
    f();
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('no error');
}

const twoHosts = `
name: pair
hosts:
  - name: a
    links:
      - { name: eth0, type: veth }
    addresses: ["10.0.0.1/24 dev eth0"]
  - name: b
    links:
      - name: eth0
        type: veth
        mtu: 99999
`;

describe('reading a scenario', () => {
  it('names the path and the line of a bad field, in YAML', () => {
    const e = errorOf(() => parseScenarioText(twoHosts));
    expect(e.message).toBe(`hosts[1].links[0].mtu: 99999 is out of range 68..${MAX_MTU}`);
    expect(e.line).toBe(12);
  });

  it('names the path and the line in JSON too', () => {
    const json = JSON.stringify({ hosts: [{ name: 'a', links: [{ name: 'eth0', type: 'vlan' }] }] }, null, 2);
    const e = errorOf(() => parseScenarioText(json));
    expect(e.message).toBe('hosts[0].links[0].type: expected one of ether, veth, bridge, ipip');
    expect(e.line).toBe(8);
  });

  it('refuses unknown fields, naming the known ones', () => {
    const e = errorOf(() => readScenario({ hosts: [{ name: 'a', lnks: [] }] }));
    expect(e.message).toMatch(/^hosts\[0\]\.lnks: unknown field \(known: name, forwarding, .*links/);
    expect(errorOf(() => readScenario({ hostz: [] })).message).toMatch(/^hostz: unknown field/);
  });

  it('reports YAML and JSON syntax errors with their line', () => {
    const y = errorOf(() => parseScenarioText('hosts:\n  - name: a\n   bad: [\n'));
    expect(y.message).toMatch(/^not valid YAML/);
    expect(y.line).toBeGreaterThan(0);
    const j = errorOf(() => parseScenarioText('{\n  "hosts": [,]\n}', { format: 'json' }));
    expect(j.message).toMatch(/^not valid JSON/);
    expect(j.line).toBe(2);
  });

  it('checks types, ranges and shapes', () => {
    const cases: [unknown, RegExp][] = [
      [{ hosts: [{ name: '' }] }, /^hosts\[0\]\.name: expected a host name/],
      [{ hosts: [{ name: 'a:b' }] }, /^hosts\[0\]\.name: a host name cannot contain ":"/],
      [{ hosts: [{ name: 'a' }, { name: 'a' }] }, /^hosts\[1\]\.name: host a is listed twice/],
      [{ hosts: [{ name: 'a', forwarding: 'yes' }] }, /^hosts\[0\]\.forwarding: expected true or false/],
      [{ hosts: [{ name: 'a', routes: ['default via'] }] }, /^hosts\[0\]\.routes\[0\]: route "default via": "via" needs a value/],
      [{ hosts: [{ name: 'a', listen: ['tcp/0'] }] }, /^hosts\[0\]\.listen\[0\]: expected tcp\/PORT or udp\/PORT/],
      [{ wires: [['a:eth0']] }, /^wires\[0\]: a wire has two ends, got 1/],
      [{ docker: { containers: [{ name: 'web', publish: ['80'] }] } }, /^docker\.containers\[0\]\.publish\[0\]: expected HOSTPORT:CONTAINERPORT/],
      [{ docker: { containers: [{ name: 'w' }] }, calico: { nodes: 1, podsPerNode: 1 } }, /^calico: a scenario uses one builder at most/],
      [{ calico: { nodes: 0, podsPerNode: 1 } }, /^calico\.nodes: 0 is out of range 1\.\.10000/],
      [{ traffic: ['to b from a'] }, /^traffic\[0\]: expected "from HOST to HOST\|ADDRESS/],
      [{ properties: ['from a to b: arrived'] }, /^properties\[0\]: expected "delivered \[at HOST\]"/],
      [{ properties: ['from a to b tcp/80: answered'] }, /^properties\[0\]: "answered" is for icmp probes/],
      [{ properties: ['from a to b: dropped NO_SUCH_REASON'] }, /^properties\[0\]: unknown drop reason "NO_SUCH_REASON"/],
    ];
    for (const [doc, message] of cases) expect(errorOf(() => readScenario(doc)).message).toMatch(message);
  });

  it('reads the one-line forms of ip addr, ip route and ip neigh', () => {
    expect(parseAddrLine('10.0.0.1/24 dev eth0')).toEqual({ dev: 'eth0', cidr: '10.0.0.1/24' });
    expect(parseRouteLine('default via 192.168.0.1')).toEqual({ dst: 'default', via: '192.168.0.1' });
    expect(parseRouteLine('10.244.1.0/26 via 192.168.0.12 dev tunl0 onlink')).toEqual({ dst: '10.244.1.0/26', via: '192.168.0.12', dev: 'tunl0', onlink: true });
    expect(parseRouteLine('blackhole 10.244.0.0/26')).toEqual({ dst: '10.244.0.0/26', type: 'blackhole' });
    expect(parseRouteLine('10.0.0.0/8 dev eth0 src 10.0.0.1 metric 100')).toEqual({ dst: '10.0.0.0/8', dev: 'eth0', src: '10.0.0.1', metric: 100 });
    expect(parseNeighLine('10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent')).toEqual({ ip: '10.0.0.2', mac: '02:00:00:00:00:02', dev: 'eth0' });
    expect(() => parseRouteLine('default gw 1.2.3.4')).toThrow(/unexpected "gw"/);
    expect(() => parseAddrLine('10.0.0.1/24')).toThrow(/dev DEVICE/);
  });

  it('reads probes and properties', () => {
    expect(parseProbe('from pod-a to pod-b tcp/8080')).toEqual({ from: 'pod-a', to: 'pod-b', proto: 'tcp', port: 8080, count: 1, size: 0 });
    expect(parseProbe('ping from a to 10.0.0.1')).toMatchObject({ proto: 'icmp', to: '10.0.0.1' });
    expect(parseProperty('from outside to 172.17.0.2: dropped')).toMatchObject({ kind: 'reach', outcome: { expect: 'dropped' } });
    expect(parseProperty('from a to b udp/53: dropped netfilter_drop at gw')).toMatchObject({ outcome: { expect: 'dropped', reason: 'NETFILTER_DROP', at: 'gw' } });
    expect(parseProperty('from a to b: delivered at b')).toMatchObject({ outcome: { expect: 'delivered', at: 'b' } });
    expect(parseProperty('No packet loops')).toEqual({ kind: 'no-loops', text: 'no packet loops' });
    expect(parseProperty('every reply is translated back')).toMatchObject({ kind: 'replies-translated' });
  });

  it("takes YAML's reading of `- from a to b: delivered`, a one-key mapping", () => {
    const s = parseScenarioText('properties:\n  - from a to b tcp/80: delivered\n  - no packet loops\n');
    expect(s.properties.map((p) => p.text)).toEqual(['from a to b tcp/80: delivered', 'no packet loops']);
  });
});

describe('building a scenario', () => {
  it('builds hosts, wires and segments, and names the part that the engine refused', () => {
    const s = parseScenarioText(`
hosts:
  - name: a
    links: [{ name: eth0, type: veth }]
    addresses: ["10.0.0.1/24 dev eth0"]
  - name: b
    links: [{ name: eth0, type: veth }]
    addresses: ["10.0.0.2/24 dev eth0"]
    routes: ["10.9.0.0/16 via 10.0.0.1", "default via 10.1.0.1"]
`);
    const e = errorOf(() => buildScenario(s));
    expect(e.message).toMatch(/^hosts\[1\]\.routes\[1\]: .*10\.1\.0\.1/);
    expect(e.line).toBe(9);
  });

  it('extends hosts a builder made, and joins its segments', () => {
    const s = parseScenarioText(`
calico: { nodes: 2, podsPerNode: 1 }
hosts:
  - name: node1-pod1
    listen: [udp/53]
  - name: gw
    links: [{ name: eth0, type: ether }]
    addresses: ["192.168.0.1/24 dev eth0"]
segments:
  - { name: underlay0, members: [gw:eth0] }
`);
    const { net } = buildScenario(s);
    expect(net.hosts.map((h) => h.name)).toEqual(['node1', 'node1-pod1', 'node2', 'node2-pod1', 'gw']);
    const r = runScenario(buildScenario(parseScenarioText(`
calico: { nodes: 2, podsPerNode: 1 }
hosts:
  - { name: gw, links: [{ name: eth0, type: ether }], addresses: ["192.168.0.1/24 dev eth0"] }
segments: [{ name: underlay0, members: [gw:eth0] }]
properties: ["from gw to 192.168.0.11: answered"]
`))).report;
    expect(r.properties).toMatchObject([{ holds: true }]);
  });

  it('loads ipsets before the rules that name them; a bad set is refused at its field', () => {
    const s = readScenario({ hosts: [{ name: 'a', ipsets: 'create x hash:ip\nadd x 10.0.0.1\n', iptables: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set x src -j DROP\nCOMMIT\n' }] });
    expect(() => buildScenario(s)).not.toThrow();
    expect(errorOf(() => buildScenario(readScenario({ hosts: [{ name: 'a', ipsets: 'create x hash:nope\n' }] }))).message).toMatch(/^hosts\[0\]\.ipsets: /);
  });

  it("names the builder when it refuses (a container named like one of the builder's hosts)", () => {
    expect(errorOf(() => buildScenario(readScenario({ docker: { containers: [{ name: 'router' }] } }))).message).toBe('docker: network: a host named router exists');
    expect(errorOf(() => buildScenario(readScenario({ calico: { nodes: 2000, podsPerNode: 1 } }))).message).toMatch(/^calico: the pool has too few \/26 blocks/);
  });

  it('loads iptables-save text, and reports its bad line at the field', () => {
    const bad = readScenario({ hosts: [{ name: 'a', iptables: ['*filter', '-A FORWARD -j NOPE', 'COMMIT'] }] });
    expect(errorOf(() => buildScenario(bad)).message).toMatch(/^hosts\[0\]\.iptables: .*line 2/);
  });
});

describe('checking properties', () => {
  it('the built-in docker, calico and router scenarios hold', () => {
    for (const name of ['docker', 'calico', 'router']) {
      const { report } = runScenario(buildScenario(builtinScenario(name)!));
      expect(report.properties.filter((p) => !p.holds)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it('a failing reachability property says what happened instead', () => {
    const s = readScenario({
      docker: { containers: [{ name: 'web', publish: ['8080:80'] }] },
      hosts: [{ name: 'web', listen: ['tcp/80'] }],
      properties: ['from server to 192.168.0.11 tcp/8080: dropped', 'from server to 192.168.0.11 tcp/8081: delivered', 'from web to server: delivered at router'],
    });
    const { report } = runScenario(buildScenario(s));
    expect(report.properties.map((p) => [p.holds, p.detail])).toEqual([
      [false, expect.stringMatching(/^delivered at web \(as 203\.0\.113\.10:\d+ > 172\.17\.0\.2:80\), answered$/)],
      [false, 'dropped NO_SOCKET at docker-host'],
      [false, 'delivered at server, answered, not at router'],
    ]);
    expect(report.ok).toBe(false);
  });

  it('finds a routing loop: the same packet twice at a router', () => {
    const s = parseScenarioText(`
hosts:
  - name: r1
    forwarding: true
    links: [{ name: eth0, type: veth }, { name: eth1, type: veth }]
    addresses: ["10.0.0.1/24 dev eth0", "10.1.0.1/24 dev eth1"]
    routes: ["default via 10.1.0.2"]
  - name: r2
    forwarding: true
    links: [{ name: eth0, type: veth }]
    addresses: ["10.1.0.2/24 dev eth0"]
    routes: ["default via 10.1.0.1"]
  - name: client
    links: [{ name: eth0, type: veth }]
    addresses: ["10.0.0.2/24 dev eth0"]
    routes: ["default via 10.0.0.1"]
wires: [[client:eth0, r1:eth0], [r1:eth1, r2:eth0]]
properties:
  - no packet loops
  - "from client to 8.8.8.8: dropped"
`);
    const { report } = runScenario(buildScenario(s));
    expect(report.properties[0]).toMatchObject({ holds: false, detail: expect.stringMatching(/^r1 received the same packet twice/) });
    expect(report.properties[1].holds).toBe(true);
    expect(report.drops).toHaveProperty('IP_INHDR');
  });

  it('finds a reply that is not translated back (DNAT without the way back through the NAT)', () => {
    // One L2 segment: the client asks the gateway's VIP, the gateway DNATs to
    // the server next to it, and the server answers the client directly.
    const s = parseScenarioText(`
hosts:
  - name: client
    links: [{ name: eth0, type: ether }]
    addresses: ["10.0.0.2/24 dev eth0"]
  - name: gw
    forwarding: true
    links: [{ name: eth0, type: ether }]
    addresses: ["10.0.0.1/24 dev eth0", "10.0.0.100/24 dev eth0"]
    iptables: |
      *nat
      :PREROUTING ACCEPT [0:0]
      :INPUT ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
      -A PREROUTING -d 10.0.0.100/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.3:80
      COMMIT
  - name: server
    links: [{ name: eth0, type: ether }]
    addresses: ["10.0.0.3/24 dev eth0"]
    listen: [tcp/80]
segments: [{ name: lan, members: [client:eth0, gw:eth0, server:eth0] }]
properties:
  - "from client to 10.0.0.100 tcp/80: delivered at server"
  - every reply is translated back
`);
    const { report } = runScenario(buildScenario(s));
    expect(report.properties[0].holds).toBe(true);
    expect(report.properties[1]).toMatchObject({ holds: false, detail: expect.stringMatching(/came back as 10\.0\.0\.3:80 > 10\.0\.0\.2:\d+, expected 10\.0\.0\.100:80 > 10\.0\.0\.2:\d+$/) });
  });

  it('names a probe whose host does not exist', () => {
    const s = readScenario({ hosts: [{ name: 'a' }], traffic: ['from a to 10.0.0.1', 'from nobody to a'] });
    expect(errorOf(() => runScenario(buildScenario(s))).message).toBe('traffic[1]: no host named "nobody"');
  });
});
