// Felix's own rules (Calico 3.26, iptables data plane) for one node, as
// iptables-save and ipset save print them: the raw, mangle, filter and nat
// tables with their cali-* chains (felix/rules: static.go, endpoints.go,
// dispatch.go, policy.go), and the ipsets they name. A node's workloads
// each get a from- and a to-workload chain; their namespace's profile
// (kns.<ns>) allows everything, their service account's (ksa.<ns>.default)
// nothing; one network policy selects every pod and lets in what `allow`
// lists from the pool's pods, so the to-workload chains drop the rest.
//
// Rule ids (`cali:…`) and hashed names are computed as Felix computes them:
// chained SHA-224 over the chain's rules, SHA-256 for names too long.
import { base64url, sha224, sha256 } from './sha2.js';

export interface FelixEndpoint {
  /** The host end of the workload's veth (cali…). */
  iface: string;
  ip: string;
}

export interface FelixAllow {
  proto: 'tcp' | 'udp' | 'icmp';
  ports?: number[];
}

export interface FelixNode {
  /** Every node's underlay address (the all-hosts set: IPIP in from them only). */
  nodes: string[];
  /** The IP pool. */
  pool: string;
  /** IPIP enabled (Always or CrossSubnet): tunl0 rules and the IPIP allowlist. */
  ipip: boolean;
  /** tunl0's address on this node, when IPIP is enabled. */
  tunnelAddr?: string;
  natOutgoing: boolean;
  /** This node's workloads. */
  endpoints: FelixEndpoint[];
  /** Every pod of the cluster (the policy's source selector). */
  pods: string[];
  /** What the policy lets in to every pod from the pool's pods. */
  allow: FelixAllow[];
  namespace?: string;
}

/** Felix's mark bits (IptablesMarkMask 0xffff0000): accept, pass, scratch 0 and 1. */
const ACCEPT = '0x10000';
const PASS = '0x20000';
const SCRATCH0 = '0x40000';
const ALL_BITS = '0xf0000';
const MAX_CHAIN = 28;
/** What the default policy lets in: the bench's udp/5201 and ping. */
export const FELIX_ALLOW: FelixAllow[] = [{ proto: 'udp', ports: [5201] }, { proto: 'icmp' }];


/** hashutils.GetLengthLimitedID */
function limitedId(prefix: string, suffix: string, max = MAX_CHAIN): string {
  const total = prefix.length + suffix.length;
  if (total > max || (total === max && suffix.startsWith('_'))) return `${prefix}_${base64url(sha256(suffix)).slice(0, max - 1 - prefix.length)}`;
  return prefix + suffix;
}

/** A selector's ipset (hash.MakeUniqueID("s", selector), IP set prefix cali40). */
export function selectorSet(selector: string): string {
  return `cali40s:${base64url(sha224(selector)).slice(0, 23)}`;
}

/** One table as iptables-save prints it; rules get Felix's ids per chain. */
class Table {
  private readonly chains = new Map<string, string[]>();
  constructor(readonly name: string, private readonly builtins: string[]) {
    for (const c of builtins) this.chains.set(c, []);
  }
  chain(name: string): this {
    if (!this.chains.has(name)) this.chains.set(name, []);
    return this;
  }
  /** A rule: its basic matches (-s -d -i -o -p), then the rest; the id comment goes between, as Felix renders it. */
  add(chain: string, basic: string, rest: string): this {
    this.chain(chain).chains.get(chain)!.push(basic ? `${basic}\u0000${rest}` : `\u0000${rest}`);
    return this;
  }
  render(): string {
    const user = [...this.chains.keys()].filter((c) => !this.builtins.includes(c)).sort();
    const lines = [`*${this.name}`, ...this.builtins.map((c) => `:${c} ACCEPT [0:0]`), ...user.map((c) => `:${c} - [0:0]`)];
    for (const chain of [...this.builtins, ...user]) {
      const rules = this.chains.get(chain)!;
      let hash = sha224(chain);
      for (const r of rules) {
        const [basic, rest] = r.split('\u0000');
        const text = new TextEncoder().encode(`${basic} ${rest}`);
        const both = new Uint8Array(hash.length + text.length);
        both.set(hash);
        both.set(text, hash.length);
        hash = sha224(both);
        const id = `-m comment --comment "cali:${base64url(hash).slice(0, 16)}"`;
        lines.push(['-A', chain, basic, id, rest].filter((w) => w).join(' '));
      }
    }
    return [...lines, 'COMMIT', ''].join('\n');
  }
}

const comment = (c: string) => `-m comment --comment "${c}"`;
const mark = (value: string, bits: string) => `-m mark --mark ${value}/${bits}`;
const setMark = (value: string, bits: string) => `-j MARK --set-xmark ${value}/${bits}`;

/**
 * Felix's dispatch chains (dispatch.go): names sorted, split on the character
 * after their common prefix; a character shared by several gets a child chain
 * reached by goto, each ending with the end rule.
 */
function dispatch(t: Table, root: string, names: string[], dir: '-i' | '-o', target: (n: string) => string): void {
  const sorted = [...names].sort();
  let common = sorted[0] ?? '';
  for (const n of sorted) while (!n.startsWith(common)) common = common.slice(0, -1);
  const bins = new Map<string, string[]>();
  for (const n of sorted) {
    const p = n.length > common.length ? n.slice(0, common.length + 1) : common;
    bins.set(p, [...(bins.get(p) ?? []), n]);
  }
  const end = (c: string) => t.add(c, '', `${comment('Unknown interface')} -j DROP`);
  for (const [p, members] of bins) {
    if (members.length === 1) {
      t.add(root, `${dir} ${members[0]}`, `-g ${target(members[0])}`);
      continue;
    }
    const child = `${root}-${p.slice(common.length)}`;
    t.add(root, `${dir} ${p}+`, `-g ${child}`);
    for (const n of members) t.add(child, `${dir} ${n}`, `-g ${target(n)}`);
    end(child);
  }
  end(root);
}

/** The rules of one node, as rules.save() prints them (tables raw, mangle, nat, filter). */
export function felixRules(node: FelixNode): string {
  const ns = node.namespace ?? 'default';
  const kns = `kns.${ns}`;
  const ksa = `ksa.${ns}.default`;
  const policy = `${ns}/knp.${ns}.allow-pool`;
  const podSet = selectorSet(`projectcalico.org/namespace == '${ns}'`);

  const raw = new Table('raw', ['PREROUTING', 'OUTPUT']);
  raw.add('PREROUTING', '', '-j cali-PREROUTING').add('OUTPUT', '', '-j cali-OUTPUT');
  raw.chain('cali-from-host-endpoint').chain('cali-to-host-endpoint').chain('cali-rpf-skip');
  raw.add('cali-OUTPUT', '', setMark('0x0', ALL_BITS))
    .add('cali-OUTPUT', '', '-j cali-to-host-endpoint')
    .add('cali-OUTPUT', '', `${mark(ACCEPT, ACCEPT)} -j ACCEPT`);
  raw.add('cali-PREROUTING', '', setMark('0x0', ALL_BITS))
    .add('cali-PREROUTING', '-i cali+', setMark(SCRATCH0, SCRATCH0))
    .add('cali-PREROUTING', '', `${mark(SCRATCH0, SCRATCH0)} -j cali-rpf-skip`)
    .add('cali-PREROUTING', '', `${mark(SCRATCH0, SCRATCH0)} -m rpfilter --validmark --invert -j DROP`)
    .add('cali-PREROUTING', '', `${mark('0x0', SCRATCH0)} -j cali-from-host-endpoint`)
    .add('cali-PREROUTING', '', `${mark(ACCEPT, ACCEPT)} -j ACCEPT`);

  const mangle = new Table('mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
  mangle.add('PREROUTING', '', '-j cali-PREROUTING').add('POSTROUTING', '', '-j cali-POSTROUTING');
  mangle.chain('cali-from-host-endpoint').chain('cali-to-host-endpoint');
  mangle.add('cali-POSTROUTING', '', `${mark(ACCEPT, ACCEPT)} -j RETURN`)
    .add('cali-POSTROUTING', '', setMark('0x0', ALL_BITS))
    .add('cali-POSTROUTING', '', '-m conntrack --ctstate DNAT -j cali-to-host-endpoint')
    .add('cali-POSTROUTING', '', `${comment('Host endpoint policy accepted packet.')} ${mark(ACCEPT, ACCEPT)} -j RETURN`);
  mangle.add('cali-PREROUTING', '', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    .add('cali-PREROUTING', '', `${mark(ACCEPT, ACCEPT)} -j ACCEPT`)
    .add('cali-PREROUTING', '', '-j cali-from-host-endpoint')
    .add('cali-PREROUTING', '', `${comment('Host endpoint policy accepted packet.')} ${mark(ACCEPT, ACCEPT)} -j ACCEPT`);

  const filter = new Table('filter', ['INPUT', 'FORWARD', 'OUTPUT']);
  filter.add('INPUT', '', '-j cali-INPUT')
    .add('FORWARD', '', '-j cali-FORWARD')
    .add('FORWARD', '', `${comment('Policy explicitly accepted packet.')} ${mark(ACCEPT, ACCEPT)} -j ACCEPT`)
    .add('FORWARD', '', setMark(ACCEPT, ACCEPT))
    .add('OUTPUT', '', '-j cali-OUTPUT');
  for (const c of ['cali-cidr-block', 'cali-from-hep-forward', 'cali-to-hep-forward', 'cali-from-host-endpoint', 'cali-to-host-endpoint']) filter.chain(c);
  filter.add('cali-FORWARD', '', setMark('0x0', '0xe0000'))
    .add('cali-FORWARD', '', `${mark('0x0', ACCEPT)} -j cali-from-hep-forward`)
    .add('cali-FORWARD', '-i cali+', '-j cali-from-wl-dispatch')
    .add('cali-FORWARD', '-o cali+', '-j cali-to-wl-dispatch')
    .add('cali-FORWARD', '', '-j cali-to-hep-forward')
    .add('cali-FORWARD', '', '-j cali-cidr-block');
  if (node.ipip) {
    filter.add('cali-INPUT', '-p ipencap', `${comment('Allow IPIP packets from Calico hosts')} -m set --match-set cali40all-hosts-net src -m addrtype --dst-type LOCAL -j ACCEPT`)
      .add('cali-INPUT', '-p ipencap', `${comment('Drop IPIP packets from non-Calico hosts')} -j DROP`);
  }
  filter.add('cali-INPUT', '-i cali+', '-g cali-wl-to-host')
    .add('cali-INPUT', '', `${mark(ACCEPT, ACCEPT)} -j ACCEPT`)
    .add('cali-INPUT', '', setMark('0x0', ALL_BITS))
    .add('cali-INPUT', '', '-j cali-from-host-endpoint')
    .add('cali-INPUT', '', `${comment('Host endpoint policy accepted packet.')} ${mark(ACCEPT, ACCEPT)} -j ACCEPT`);
  filter.add('cali-OUTPUT', '', `${mark(ACCEPT, ACCEPT)} -j ACCEPT`).add('cali-OUTPUT', '-o cali+', '-j RETURN');
  if (node.ipip) {
    filter.add('cali-OUTPUT', '-p ipencap', `${comment('Allow IPIP packets to other Calico hosts')} -m set --match-set cali40all-hosts-net dst -m addrtype --src-type LOCAL -j ACCEPT`);
  }
  filter.add('cali-OUTPUT', '', setMark('0x0', ALL_BITS))
    .add('cali-OUTPUT', '', '-m conntrack ! --ctstate DNAT -j cali-to-host-endpoint')
    .add('cali-OUTPUT', '', `${comment('Host endpoint policy accepted packet.')} ${mark(ACCEPT, ACCEPT)} -j ACCEPT`);
  filter.add('cali-wl-to-host', '', '-j cali-from-wl-dispatch')
    .add('cali-wl-to-host', '', `${comment('Configured DefaultEndpointToHostAction')} -j ACCEPT`);

  // Profiles: the namespace's allows all; the service account's has no rules.
  const pro = (dir: 'i' | 'o', name: string) => limitedId(`cali-pr${dir}-`, name);
  filter.add(pro('i', kns), '', `${comment(`Profile ${kns} ingress`)} ${setMark(ACCEPT, ACCEPT)}`)
    .add(pro('i', kns), '', `${mark(ACCEPT, ACCEPT)} -j RETURN`)
    .add(pro('o', kns), '', `${comment(`Profile ${kns} egress`)} ${setMark(ACCEPT, ACCEPT)}`)
    .add(pro('o', kns), '', `${mark(ACCEPT, ACCEPT)} -j RETURN`)
    .chain(pro('i', ksa)).chain(pro('o', ksa));
  // The policy: ingress from the namespace's pods, per allow rule.
  const pi = limitedId('cali-pi-', policy);
  for (const a of node.allow) {
    const ports = a.ports?.length ? ` -m multiport --dports ${a.ports.join(',')}` : '';
    filter.add(pi, `-p ${a.proto}`, `${comment(`Policy ${policy} ingress`)} -m set --match-set ${podSet} src${ports} ${setMark(ACCEPT, ACCEPT)}`)
      .add(pi, '', `${mark(ACCEPT, ACCEPT)} -j RETURN`);
  }
  filter.chain(pi);

  const ifaces = node.endpoints.map((e) => e.iface);
  dispatch(filter, 'cali-from-wl-dispatch', ifaces, '-i', (n) => `cali-fw-${n}`);
  dispatch(filter, 'cali-to-wl-dispatch', ifaces, '-o', (n) => `cali-tw-${n}`);
  for (const n of ifaces) {
    for (const [dir, chain] of [['o', `cali-fw-${n}`], ['i', `cali-tw-${n}`]] as const) {
      filter.add(chain, '', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
        .add(chain, '', '-m conntrack --ctstate INVALID -j DROP')
        .add(chain, '', setMark('0x0', ACCEPT));
      if (dir === 'o') {
        filter.add(chain, '-p udp', `${comment('Drop VXLAN encapped packets originating in workloads')} -m multiport --dports 4789 -j DROP`)
          .add(chain, '-p ipencap', `${comment('Drop IPinIP encapped packets originating in workloads')} -j DROP`);
      } else {
        filter.add(chain, '', `${comment('Start of policies')} ${setMark('0x0', PASS)}`)
          .add(chain, '', `${mark('0x0', PASS)} -j ${pi}`)
          .add(chain, '', `${comment('Return if policy accepted')} ${mark(ACCEPT, ACCEPT)} -j RETURN`)
          .add(chain, '', `${comment('Drop if no policies passed packet')} ${mark('0x0', PASS)} -j DROP`);
      }
      for (const p of [kns, ksa]) {
        filter.add(chain, '', `-j ${pro(dir, p)}`).add(chain, '', `${comment('Return if profile accepted')} ${mark(ACCEPT, ACCEPT)} -j RETURN`);
      }
      filter.add(chain, '', `${comment('Drop if no profiles matched')} -j DROP`);
    }
  }

  const nat = new Table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  nat.add('PREROUTING', '', '-j cali-PREROUTING').add('OUTPUT', '', '-j cali-OUTPUT').add('POSTROUTING', '', '-j cali-POSTROUTING');
  nat.chain('cali-fip-dnat').chain('cali-fip-snat').chain('cali-nat-outgoing');
  nat.add('cali-PREROUTING', '', '-j cali-fip-dnat').add('cali-OUTPUT', '', '-j cali-fip-dnat');
  nat.add('cali-POSTROUTING', '', '-j cali-fip-snat').add('cali-POSTROUTING', '', '-j cali-nat-outgoing');
  if (node.ipip && node.tunnelAddr) {
    nat.add('cali-POSTROUTING', '-o tunl0', '-m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully');
  }
  if (node.natOutgoing) {
    nat.add('cali-nat-outgoing', '', '-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully');
  }
  return [raw, mangle, nat, filter].map((t) => t.render()).join('');
}

/** The ipsets Felix's rules name, as `ipset save` prints them. */
export function felixIpsets(node: FelixNode): string {
  const ns = node.namespace ?? 'default';
  const sets: [string, string[]][] = [
    ['cali40all-ipam-pools', [node.pool]],
    ['cali40masq-ipam-pools', node.natOutgoing ? [node.pool] : []],
    ['cali40all-hosts-net', node.nodes],
    [selectorSet(`projectcalico.org/namespace == '${ns}'`), node.pods],
  ];
  const lines: string[] = [];
  for (const [name, members] of sets) {
    const d = sha256(name);
    const initval = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
    lines.push(`create ${name} hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x${initval.toString(16).padStart(8, '0')}`);
    for (const m of members) lines.push(`add ${name} ${m.endsWith('/32') ? m.slice(0, -3) : m}`);
  }
  return lines.join('\n') + '\n';
}
