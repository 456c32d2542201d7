// The Linux side of a kernel case: two network namespaces made for the case
// (the host under test, and the wire that holds the outer ends of its veth
// pairs), configured with iproute2 and sysctls, then ./wire.py sends the
// frames and captures what comes back. Both namespaces are deleted
// afterwards, also when something fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { wireLinks, type KCase, type KOut, type KSetup, type KStep } from './setup.js';

const WIRE_PY = fileURLToPath(new URL('./wire.py', import.meta.url));
/** The outer ends take any frame the host may send (veth drops frames above the receiver's MTU). */
const WIRE_MTU = 9000;
/** Debian's own python3 first: a version manager's shim on PATH costs seconds a call. */
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => !p.startsWith('/') || existsSync(p))!;

let seq = 0;
let availability: string | undefined | null = null;

/**
 * Undefined when namespaces can be made here, else why not (one line). The
 * answer is found once per process by making and deleting a namespace.
 */
export function kernelUnavailable(): string | undefined {
  if (availability !== null) return availability;
  availability = probe();
  return availability;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'bridge', PYTHON]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const ns = `pnk${process.pid}t${threadId}probe`;
  const r = spawnSync('sh', ['-c', `ip netns add ${ns} && ip netns exec ${ns} ip link add v0 type veth peer name v1; s=$?; ip netns del ${ns}; exit $s`], { encoding: 'utf8' });
  if (r.status !== 0) return `network namespaces cannot be made (${(r.stderr || '').trim().split('\n')[0]})`;
  return undefined;
}

/** The shell commands that configure the host namespace (run inside it). */
function hostScript(s: KSetup, wire: string, sends: boolean): string {
  const sh: string[] = [
    'sys() { echo "$2" > "/proc/sys/net/$1" || { echo "FAILED: sysctl $1=$2" >&2; exit 3; }; }',
    // Quiet links: no IPv6 (no router solicitations, no MLD, no DAD).
    'sys ipv6/conf/all/disable_ipv6 1',
    'sys ipv6/conf/default/disable_ipv6 1',
    `sys ipv4/ip_forward ${s.forwarding ? 1 : 0}`,
  ];
  if (s.ipfragTime) sh.push(`sys ipv4/ipfrag_time ${s.ipfragTime}`);
  // Set for `all` and `default` before any link exists, so every link has them.
  const conf: [string, number][] = [
    ['rp_filter', 0],
    ['accept_local', 0],
    ['accept_source_route', s.acceptSourceRoute ? 1 : 0],
    // podnet sends no redirects (docs/semantics.md).
    ['send_redirects', 0],
    ['arp_ignore', 0],
    ['arp_announce', 0],
    ['arp_accept', 0],
    ['arp_filter', 0],
    ['log_martians', 0],
  ];
  for (const [k, v] of conf) sh.push(`sys ipv4/conf/all/${k} ${v}`, `sys ipv4/conf/default/${k} ${v}`);
  // One `ip -batch` for links, addresses, routes and neighbours: it stops at the first refusal and names its line.
  const ip: string[] = ['link set lo up'];
  for (const l of s.links.filter((x) => x.type === 'bridge')) {
    // IGMP snooping is not modelled: every multicast frame floods.
    ip.push(`link add ${l.name} address ${l.mac} type bridge stp_state 0 mcast_snooping 0`);
    if (l.mtu) ip.push(`link set ${l.name} mtu ${l.mtu}`);
  }
  const bridge: string[] = [];
  for (const l of s.links.filter((x) => x.type !== 'bridge')) {
    ip.push(`link add ${l.name} address ${l.mac} mtu ${l.mtu ?? 1500} type veth peer name ${l.name} netns ${wire} mtu ${WIRE_MTU}`);
    if (l.master) {
      ip.push(`link set ${l.name} master ${l.master}`);
      const flag = (v: boolean | undefined, dflt: boolean) => ((v ?? dflt) ? 'on' : 'off');
      bridge.push(`link set dev ${l.name} hairpin ${flag(l.hairpin, false)} learning ${flag(l.learning, true)} flood ${flag(l.flood, true)}`);
    }
  }
  for (const l of s.links) if (l.up ?? true) ip.push(`link set ${l.name} up`);
  const addrs: string[] = s.addrs.map((a) => `addr add ${a.cidr} dev ${a.dev}`);
  const routes: string[] = s.routes.map((r) => {
    const parts = ['route add'];
    if (r.type && r.type !== 'unicast') parts.push(r.type);
    parts.push(r.dst);
    if (r.via) parts.push('via', r.via);
    if (r.dev) parts.push('dev', r.dev);
    if (r.onlink) parts.push('onlink');
    if (r.src) parts.push('src', r.src);
    if (r.metric) parts.push('metric', String(r.metric));
    return parts.join(' ');
  });
  const neighs = s.neighs.map((n) => `neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`);
  sh.push(`ip -b - <<'IP' || exit 3`, ...ip, 'IP');
  if (bridge.length) sh.push(`bridge -b - <<'BR' || exit 3`, ...bridge, 'BR');
  for (const l of s.links) {
    if (l.proxyArp) sh.push(`sys ipv4/conf/${l.name}/proxy_arp 1`, `sys ipv4/neigh/${l.name}/proxy_delay 0`);
  }
  const rest = [...addrs, ...routes, ...neighs];
  if (rest.length) sh.push(`ip -b - <<'IP' || exit 4`, ...rest, 'IP');
  if (s.rules) sh.push(`iptables-restore <<'RULES' || exit 5`, s.rules.trim(), 'RULES');
  // What the host's own sockets send leaves with whole checksums (veth would leave them to an offload).
  if (sends) for (const l of s.links.filter((x) => x.type !== 'bridge')) sh.push(`ethtool -K ${l.name} tx off >/dev/null || exit 3`);
  return sh.join('\n');
}

/** Undefined when iptables-restore is here for cases with rules, else why not (one line). */
export function rulesUnavailable(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v iptables-restore']).status === 0 ? undefined : 'iptables-restore is not installed';
}

/** Undefined when ethtool is here for cases where the host sends (checksum offload off), else why not. */
export function sendsUnavailable(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v ethtool']).status === 0 ? undefined : 'ethtool is not installed';
}

/** Linux refused the configuration (podnet took it): a disagreement of the control plane. */
export class LinuxError extends Error {}

/** A case's namespaces kept between runs of frames: a case whose later frames depend on what came out earlier. */
export interface LinuxSession {
  /** Sends the steps' frames (the wire's clock starts again at 0), returns what the host sent, by arrival. */
  run(steps: KStep[]): KOut[];
  /** Deletes both namespaces. */
  close(): void;
}

/** Builds the setup in fresh namespaces; the caller closes the session, also when something fails. */
export function openLinux(s: KSetup, sends = false): LinuxSession {
  // Unique per process and worker thread: test files may run side by side.
  const id = `pnk${process.pid}t${threadId}x${seq++}`;
  const host = `${id}h`;
  const wire = `${id}w`;
  const ifaces = wireLinks(s);
  const close = () => {
    spawnSync('ip', ['-b', '-'], { input: `netns del ${host}\nnetns del ${wire}\n`, encoding: 'utf8' });
  };
  const script = [
    'set -u',
    `ip -b - <<'NS' || exit 2`,
    `netns add ${host}`,
    `netns add ${wire}`,
    'NS',
    `ip netns exec ${wire} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6' || exit 2`,
    `ip netns exec ${host} bash -s <<'HOST' || exit $?`,
    hostScript(s, wire, sends),
    'HOST',
    `ip -n ${wire} -b - <<'IP' || exit 2`,
    ...ifaces.map((i) => `link set ${i} up`),
    'IP',
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) {
    close();
    if (r.status === 3 || r.status === 4 || r.status === 5) {
      const what = r.status === 3 ? 'links' : r.status === 4 ? 'addresses, routes or neighbours' : 'rules';
      throw new LinuxError(`linux refused the ${what}: ${r.stderr.trim()}`);
    }
    throw new Error(`linux: ${(r.stderr || `exit ${r.status}`).trim()}`);
  }
  return {
    run(steps: KStep[]): KOut[] {
      const job = {
        ifaces,
        host,
        steps: steps.map((st) => ({
          gap: st.gap,
          sends: (st.sends ?? []).map((d) => ({ dst: d.dst, sport: d.sport, dport: d.dport, hex: Buffer.from(d.payload).toString('hex') })),
          frames: st.frames.map((f) => ({ iface: f.link, hex: Buffer.from(f.frame).toString('hex') })),
        })),
        settle: 40,
      };
      const w = spawnSync('ip', ['netns', 'exec', wire, PYTHON, '-S', WIRE_PY], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 64 << 20 });
      if (w.status !== 0) throw new Error(`linux: ${(w.stderr || `exit ${w.status}`).trim()}`);
      const out = JSON.parse(w.stdout) as { rx: { iface: string; hex: string }[] };
      return out.rx.map((x) => ({ link: x.iface, frame: new Uint8Array(Buffer.from(x.hex, 'hex')) }));
    },
    close,
  };
}

/** Builds the case in fresh namespaces, sends its frames, returns what the host sent (by arrival). */
export function runLinux(c: KCase): KOut[] {
  const linux = openLinux(c.setup, c.steps.some((st) => st.sends?.length));
  try {
    return linux.run(c.steps);
  } finally {
    linux.close();
  }
}
