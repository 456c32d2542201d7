// The one-line forms a scenario may use for addresses, routes and neighbours:
// the arguments of `ip addr add`, `ip route add` and `ip neigh add`, so a
// configuration can be copied from a real host.
import type { RouteSpec } from '../host.js';

/** `10.0.0.1/24 dev eth0` */
export function parseAddrLine(text: string): { dev: string; cidr: string } {
  const words = split(text);
  const args = keywords(words.slice(1), ['dev'], `address "${text}"`);
  if (words.length === 0 || !args.dev) throw new Error(`expected "ADDRESS/LEN dev DEVICE", got "${text}"`);
  return { dev: args.dev, cidr: words[0] };
}

const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit'] as const;

/**
 * `default via 192.168.0.1`, `10.244.1.0/26 via 192.168.0.12 dev tunl0 onlink`,
 * `blackhole 10.244.0.0/26`, `10.0.0.0/8 dev eth0 src 10.0.0.1 metric 100`.
 */
export function parseRouteLine(text: string): RouteSpec {
  const words = split(text);
  let type: RouteSpec['type'];
  if ((ROUTE_TYPES as readonly string[]).includes(words[0])) type = words.shift() as RouteSpec['type'];
  const dst = words.shift();
  if (!dst) throw new Error(`expected "[TYPE] DESTINATION [via GATEWAY] [dev DEVICE] [onlink] [src ADDRESS] [metric N]", got "${text}"`);
  const onlink = words.includes('onlink');
  const args = keywords(words.filter((w) => w !== 'onlink'), ['via', 'dev', 'src', 'metric'], `route "${text}"`);
  let metric: number | undefined;
  if (args.metric !== undefined) {
    metric = Number(args.metric);
    if (!/^\d+$/.test(args.metric) || metric > 2 ** 32 - 1) throw new Error(`route "${text}": metric is a whole number`);
  }
  const spec: RouteSpec = { dst };
  if (type) spec.type = type;
  if (args.via) spec.via = args.via;
  if (args.dev) spec.dev = args.dev;
  if (onlink) spec.onlink = true;
  if (args.src) spec.src = args.src;
  if (metric !== undefined) spec.metric = metric;
  return spec;
}

/** `192.168.0.12 lladdr 02:00:00:00:00:02 dev eth0` */
export function parseNeighLine(text: string): { ip: string; mac: string; dev: string } {
  const words = split(text);
  const ip = words.shift();
  const args = keywords(words.filter((w) => w !== 'permanent' && w !== 'nud'), ['lladdr', 'dev'], `neighbour "${text}"`);
  if (!ip || !args.lladdr || !args.dev) throw new Error(`expected "ADDRESS lladdr MAC dev DEVICE", got "${text}"`);
  return { ip, mac: args.lladdr, dev: args.dev };
}

function split(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

/** `key value` pairs, each key at most once and known. */
function keywords(words: string[], known: string[], what: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i];
    if (!known.includes(key)) throw new Error(`${what}: unexpected "${key}" (expected ${known.join(', ')})`);
    if (out[key] !== undefined) throw new Error(`${what}: "${key}" given twice`);
    if (words[i + 1] === undefined) throw new Error(`${what}: "${key}" needs a value`);
    out[key] = words[i + 1];
  }
  return out;
}
