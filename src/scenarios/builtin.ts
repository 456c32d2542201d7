// Scenarios every podnet knows by name (`podnet run docker`): small versions
// of the seed's two setups, written as a scenario file would write them.
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

export const BUILTIN_SCENARIOS: Record<string, unknown> = { docker: DOCKER, calico: CALICO };

/** A built-in scenario by name, or undefined. */
export function builtinScenario(name: string): Scenario | undefined {
  const doc = BUILTIN_SCENARIOS[name];
  return doc === undefined ? undefined : readScenario(structuredClone(doc), { fallbackName: name });
}
