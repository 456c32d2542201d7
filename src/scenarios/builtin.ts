// Scenarios every podnet knows by name (`podnet run docker`): small versions
// of the seed's two setups and a plain router, written as a scenario file
// would write them.
import { readScenario, type Scenario } from './spec.js';

const DOCKER = {
  name: 'docker',
  description: "a Docker host (docker0, Docker's rules) with web publishing 8080:80, a router and a server outside",
  docker: { containers: [{ name: 'web', publish: ['8080:80'] }, { name: 'db' }] },
  hosts: [
    { name: 'web', listen: ['tcp/80'] },
    { name: 'db', listen: ['tcp/5432'] },
    { name: 'server', listen: ['udp/53'] },
  ],
  traffic: ['from web to server', 'from web to server udp/53', 'from server to docker-host tcp/8080'],
  properties: [
    'from server to 192.168.0.11 tcp/8080: delivered at web',
    'from server to 192.168.0.11 tcp/5432: dropped',
    'from web to db tcp/5432: delivered at db',
    'from web to server: answered',
    'no packet loops',
    'every reply is translated back',
  ],
};

const CALICO = {
  name: 'calico',
  description: "the seed's Calico cluster: two nodes, two pods each, IPIP Always",
  calico: { nodes: 2, podsPerNode: 2, ipipMode: 'Always' },
  hosts: [{ name: 'node2-pod1', listen: ['tcp/8080'] }],
  traffic: ['from node1-pod1 to node2-pod1', 'from node1-pod1 to node1-pod2'],
  properties: [
    'from node1-pod1 to node2-pod1 tcp/8080: delivered at node2-pod1',
    'from node1-pod1 to node2-pod2: answered',
    'from node2-pod2 to node1-pod1: answered',
    'no packet loops',
    'every reply is translated back',
  ],
};

// A Linux router between two LANs and an uplink with a smaller MTU: NAT to
// the uplink, a filter that keeps telnet out and the outside out unless
// answering, routes that drop (blackhole, unreachable, prohibit).
const ROUTER = {
  name: 'router',
  description: 'a router between two LANs and an uplink of MTU 1400 (MASQUERADE, a FORWARD filter, blackhole/unreachable/prohibit routes), an ISP and a web server beyond it',
  hosts: [
    {
      name: 'router',
      forwarding: true,
      links: [
        { name: 'eth0', type: 'ether', mac: '02:00:0a:00:01:01' },
        { name: 'eth1', type: 'ether', mac: '02:00:0a:00:02:01' },
        { name: 'eth2', type: 'ether', mac: '02:00:c6:33:64:02', mtu: 1400 },
      ],
      addresses: ['10.0.1.1/24 dev eth0', '10.0.2.1/24 dev eth1', '198.51.100.2/30 dev eth2'],
      routes: ['default via 198.51.100.1', 'blackhole 10.99.0.0/16', 'unreachable 10.98.0.0/16', 'prohibit 10.97.0.0/16'],
      iptables: [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A POSTROUTING -o eth2 -j MASQUERADE',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -p tcp -m tcp --dport 23 -j DROP',
        '-A FORWARD -i eth2 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -i eth2 -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    },
    {
      name: 'a',
      links: [{ name: 'eth0', type: 'ether', mac: '02:00:0a:00:01:0a' }],
      addresses: ['10.0.1.10/24 dev eth0'],
      routes: ['default via 10.0.1.1'],
      listen: ['udp/53'],
    },
    {
      name: 'b',
      links: [{ name: 'eth0', type: 'ether', mac: '02:00:0a:00:02:14' }],
      addresses: ['10.0.2.20/24 dev eth0'],
      routes: ['default via 10.0.2.1'],
      listen: ['tcp/80', 'tcp/23'],
    },
    {
      name: 'isp',
      forwarding: true,
      links: [
        { name: 'eth0', type: 'ether', mac: '02:00:c6:33:64:01', mtu: 1400 },
        { name: 'eth1', type: 'ether', mac: '02:00:cb:00:71:01' },
      ],
      addresses: ['198.51.100.1/30 dev eth0', '203.0.113.1/24 dev eth1'],
    },
    {
      name: 'web',
      links: [{ name: 'eth0', type: 'ether', mac: '02:00:cb:00:71:50' }],
      addresses: ['203.0.113.80/24 dev eth0'],
      routes: ['default via 203.0.113.1'],
      listen: ['tcp/80', 'udp/53'],
    },
  ],
  wires: [['router:eth0', 'a:eth0'], ['router:eth1', 'b:eth0'], ['router:eth2', 'isp:eth0'], ['isp:eth1', 'web:eth0']],
  traffic: ['from a to web tcp/80', 'from b to web'],
  properties: [
    'from a to b tcp/80: delivered at b',
    'from a to web tcp/80: delivered at web',
    'from b to web: answered',
    'from a to b tcp/23: dropped NETFILTER_DROP at router',
    'from web to 10.0.1.10: dropped IP_INNOROUTES at isp',
    'no packet loops',
    'every reply is translated back',
  ],
};

export const BUILTIN_SCENARIOS: Record<string, unknown> = { docker: DOCKER, calico: CALICO, router: ROUTER };

/** A built-in scenario by name, or undefined. */
export function builtinScenario(name: string): Scenario | undefined {
  const doc = BUILTIN_SCENARIOS[name];
  return doc === undefined ? undefined : readScenario(structuredClone(doc), { fallbackName: name });
}
