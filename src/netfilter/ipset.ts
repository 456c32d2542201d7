// IP sets as `ipset save` prints them and `ipset restore` reads them:
// hash:ip, hash:net, hash:ip,port and list:set of family inet; and the blob
// the data plane looks them up in (assembly/tables/ipset-layout.ts).
//
// A restore text is all-or-nothing: the first line it cannot take throws a
// RulesetError naming the line, and the sets stay as they were.
import * as L from '../engine/layout.gen.js';
import { formatIPv4, maskOf } from '../packet/addr.js';
import { buildLpm, prefixSetFrom } from '../tables/lpm.js';
import { RulesetError } from './iptables.js';
import { parseCidr, parseIp, type Fail } from './matches.js';

export type IpsetType = 'hash:ip' | 'hash:net' | 'hash:ip,port' | 'list:set';
const TYPES: readonly IpsetType[] = ['hash:ip', 'hash:net', 'hash:ip,port', 'list:set'];
/** Dimensions of each type (IPSET_DIM_*): what `--match-set NAME src,dst` must at least give. */
export const SET_DIMS: Record<IpsetType, number> = { 'hash:ip': 1, 'hash:net': 1, 'hash:ip,port': 2, 'list:set': 0 };
/** Protocols hash:ip,port takes by name (ipset's default is tcp). */
const PORT_PROTOS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };
/** Elements a single add may expand to (a range or a network of hash:ip). */
const MAX_EXPAND = 65536;

export interface NetEntry {
  addr: number;
  plen: number;
  nomatch: boolean;
}

export interface Ipset {
  name: string;
  type: IpsetType;
  /** The words of the `create` line after the type, as given (printed back by save). */
  options: string;
  /** hash:ip: addresses; hash:net: networks; hash:ip,port: `ip proto port` keys; list:set: set names. In insertion order. */
  members: Map<string, NetEntry | { ip: number; proto: number; port: number } | string | number>;
}

/** The sets of a host, by name, in creation order. */
export type Ipsets = Map<string, Ipset>;

/** IPSET_MAXNAMELEN - 1 */
const NAME_MAX = 31;

/** Splits a line into words; double quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/**
 * Applies an `ipset save` / `ipset restore` text to sets: `create` makes a
 * set, or empties one that exists with that type (as a restore that swaps
 * in a fresh set would leave it); `add`, `del`, `flush`, `destroy`, `swap`
 * as ipset does them. `inUse` names the sets rules refer to (they cannot be
 * destroyed). Returns the new sets; `sets` is not changed.
 */
export function parseIpsets(text: string, sets: Ipsets, inUse: (name: string) => boolean = () => false): Ipsets {
  const out: Ipsets = new Map([...sets].map(([k, v]) => [k, { ...v, members: new Map(v.members) }]));
  const lines = text.split(/\r?\n/);
  const created = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i];
    const line = raw.trim();
    const fail: Fail = (what: string): never => {
      throw new RulesetError(`line ${n}: ${what} in "${raw}"`, n, raw);
    };
    if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    const w = words(line.replace(/^-(\w)/, (_, c) => ({ N: 'create', A: 'add', D: 'del', F: 'flush', X: 'destroy', W: 'swap' } as Record<string, string>)[c] ?? `-${c}`));
    const cmd = w[0];
    const get = (name: string | undefined): Ipset => {
      const s = name === undefined ? undefined : out.get(name);
      if (!s) fail(`set "${name}" doesn't exist`);
      return s!;
    };
    switch (cmd) {
      case 'create': {
        const [, name, type, ...rest] = w;
        if (!name || !type) fail('create needs a name and a type');
        if (name.length > NAME_MAX || !/^[^\s]+$/.test(name)) fail(`bad set name "${name}"`);
        if (!(TYPES as readonly string[]).includes(type)) fail(`unsupported set type "${type}" (want ${TYPES.join(', ')})`);
        const fam = rest.indexOf('family');
        if (fam >= 0 && rest[fam + 1] !== 'inet') fail(`family "${rest[fam + 1]}": only inet (IPv4) sets are supported`);
        if (rest.includes('timeout')) fail('sets with timeouts are not supported');
        const old = out.get(name);
        if (old && old.type !== type) fail(`set "${name}" exists with type ${old.type}`);
        if (created.has(name)) fail(`set "${name}" created twice`);
        created.add(name);
        out.set(name, { name, type: type as IpsetType, options: rest.join(' '), members: new Map() });
        continue;
      }
      case 'add': case 'del': {
        const [, name, elem, ...rest] = w;
        const s = get(name);
        if (elem === undefined) fail(`${cmd} needs an element`);
        const nomatch = rest.includes('nomatch');
        if (nomatch && s.type !== 'hash:net') fail('nomatch is for hash:net sets');
        for (const [k, v] of elements(s, elem, nomatch, out, fail)) {
          if (cmd === 'add') s.members.set(k, v);
          else if (!s.members.delete(k)) fail(`element "${elem}" is not in set "${name}"`);
        }
        continue;
      }
      case 'flush': {
        const targets = w[1] === undefined ? [...out.values()] : [get(w[1])];
        for (const s of targets) s.members.clear();
        continue;
      }
      case 'destroy': {
        const targets = w[1] === undefined ? [...out.values()] : [get(w[1])];
        for (const s of targets) {
          if (inUse(s.name)) fail(`set "${s.name}" cannot be destroyed: rules refer to it`);
          if ([...out.values()].some((o) => o.type === 'list:set' && o.members.has(s.name))) fail(`set "${s.name}" cannot be destroyed: a list:set holds it`);
        }
        for (const s of targets) out.delete(s.name);
        continue;
      }
      case 'swap': {
        const a = get(w[1]);
        const b = get(w[2]);
        if (a.type !== b.type) fail(`sets "${a.name}" and "${b.name}" have different types`);
        out.set(a.name, { ...b, name: a.name });
        out.set(b.name, { ...a, name: b.name });
        continue;
      }
      default:
        fail(`unknown command "${cmd}" (want create, add, del, flush, destroy, swap)`);
    }
  }
  return out;
}

/** The members an element names (a range or network of hash:ip expands, as ipset does). */
function elements(s: Ipset, elem: string, nomatch: boolean, sets: Ipsets, fail: Fail): [string, Ipset['members'] extends Map<string, infer V> ? V : never][] {
  const out: [string, never][] = [];
  const push = (k: string, v: unknown) => {
    if (out.length >= MAX_EXPAND) fail(`element "${elem}" expands to more than ${MAX_EXPAND} entries`);
    out.push([k, v as never]);
  };
  const ipRange = (e: string): [number, number] => {
    if (e.includes('-')) {
      const [a, b] = e.split('-');
      const lo = parseIp(a, fail);
      const hi = parseIp(b, fail);
      if (hi < lo) fail(`bad range "${e}"`);
      return [lo, hi];
    }
    const { addr, plen } = parseCidr(e, fail);
    return [addr, (addr | ~maskOf(plen)) >>> 0];
  };
  switch (s.type) {
    case 'hash:ip': {
      const [lo, hi] = ipRange(elem);
      if (lo === 0) fail('the zero address cannot be a member');
      for (let a = lo; a <= hi; a++) push(formatIPv4(a), a);
      break;
    }
    case 'hash:net': {
      if (elem.includes('-')) {
        // A range is stored as the networks that cover it exactly.
        const [lo, hi] = ipRange(elem);
        let a = lo;
        while (a <= hi) {
          let plen = 32;
          while (plen > 0 && (a & ~maskOf(plen - 1)) >>> 0 === 0 && (a | ~maskOf(plen - 1)) >>> 0 <= hi) plen--;
          push(`${formatIPv4(a)}/${plen}`, { addr: a, plen, nomatch });
          const next = ((a | ~maskOf(plen)) >>> 0) + 1;
          if (next > 0xffffffff) break;
          a = next;
        }
      } else {
        const { addr, plen } = parseCidr(elem, fail);
        if (plen === 0) fail('a network of prefix length 0 cannot be a member');
        push(`${formatIPv4(addr)}/${plen}`, { addr, plen, nomatch });
      }
      break;
    }
    case 'hash:ip,port': {
      const m = /^([^,]+),(?:(\w+):)?(\d+(?:-\d+)?)$/.exec(elem);
      if (!m) fail(`bad element "${elem}" (want ip,[proto:]port)`);
      const proto = m![2] === undefined ? 6 : PORT_PROTOS[m![2]];
      if (proto === undefined) fail(`unsupported protocol "${m![2]}" in "${elem}" (tcp, udp, sctp or udplite)`);
      const [plo, phi] = m![3].split('-').map(Number);
      const top = phi ?? plo;
      if (plo > 65535 || top > 65535 || top < plo) fail(`bad port "${m![3]}"`);
      const [lo, hi] = ipRange(m![1]);
      if (lo === 0) fail('the zero address cannot be a member');
      for (let a = lo; a <= hi; a++) for (let p = plo; p <= top; p++) push(`${formatIPv4(a)},${protoName(proto)}:${p}`, { ip: a, proto, port: p });
      break;
    }
    case 'list:set': {
      const t = sets.get(elem);
      if (!t) fail(`set "${elem}" doesn't exist`);
      if (t!.type === 'list:set') fail('a list:set cannot hold a list:set');
      push(elem, elem);
      break;
    }
  }
  return out;
}

const protoName = (p: number): string => Object.entries(PORT_PROTOS).find(([, v]) => v === p)![0];

/** The sets as `ipset save` prints them: each set's create line, then its members. */
export function formatIpsets(sets: Ipsets): string {
  const out: string[] = [];
  for (const s of sets.values()) {
    out.push(`create ${s.name} ${s.type}${s.options ? ` ${s.options}` : ''}`);
    for (const [k, v] of s.members) {
      const nm = typeof v === 'object' && 'nomatch' in v && v.nomatch ? ' nomatch' : '';
      // hash:net prints a host as its address alone.
      const text = s.type === 'hash:net' ? k.replace(/\/32$/, '') : k;
      out.push(`add ${s.name} ${text}${nm}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The hash of a hash:ip,port key, as assembly/tables/ipset.ts computes it. */
function hashIpPort(ip: number, pp: number): number {
  let h = (Math.imul(ip, 0x9e3779b1) ^ Math.imul(pp, 0x85ebca6b)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return (h ^ (h >>> 12)) >>> 0;
}

/**
 * The data plane's blob for the sets, each at the index `indexOf` gives
 * (indexes the rules were compiled with; a name with none gets none).
 * `count`: entries in the index table (holes are ST_NONE).
 */
export function compileIpsets(sets: Ipsets, indexOf: (name: string) => number | undefined, count: number): Uint8Array {
  const parts: { at: number; bytes: Uint8Array }[] = [];
  const entries: { type: number; off: number; n: number; dims: number }[] = Array.from({ length: count }, () => ({ type: L.ST_NONE, off: 0, n: 0, dims: 0 }));
  let end = align(L.SB_HDR_SIZE + count * L.SE_SIZE, 64);
  const place = (bytes: Uint8Array): number => {
    const at = end;
    parts.push({ at, bytes });
    end = align(at + bytes.length, 64);
    return at;
  };
  for (const s of sets.values()) {
    const idx = indexOf(s.name);
    if (idx === undefined) continue;
    const e = entries[idx];
    e.dims = SET_DIMS[s.type];
    if (s.type === 'hash:ip' || s.type === 'hash:net') {
      e.type = L.ST_NET;
      const list = [...s.members.values()].map((v) =>
        typeof v === 'number' ? { addr: v, len: 32, value: 1 } : { addr: (v as NetEntry).addr, len: (v as NetEntry).plen, value: (v as NetEntry).nomatch ? 2 : 1 });
      e.off = place(buildLpm(prefixSetFrom(list)));
    } else if (s.type === 'hash:ip,port') {
      e.type = L.ST_IPPORT;
      const slots = 1 << Math.max(3, Math.ceil(Math.log2(Math.max(1, s.members.size) * 2)));
      const table = new Uint8Array(slots * L.IPP_SIZE);
      const dv = new DataView(table.buffer);
      for (const v of s.members.values()) {
        const { ip, proto, port } = v as { ip: number; proto: number; port: number };
        const pp = ((proto << 16) | port) >>> 0;
        let i = hashIpPort(ip, pp) & (slots - 1);
        while (dv.getUint32(i * L.IPP_SIZE + L.IPP_IP, true) !== 0) i = (i + 1) & (slots - 1);
        dv.setUint32(i * L.IPP_SIZE + L.IPP_IP, ip, true);
        dv.setUint32(i * L.IPP_SIZE + L.IPP_PORT, pp, true);
      }
      e.n = slots - 1;
      e.off = place(table);
    } else {
      e.type = L.ST_LIST;
      const members = [...s.members.keys()].map((m) => indexOf(m)).filter((x): x is number => x !== undefined);
      const list = new Uint8Array(Math.max(4, members.length * 4));
      members.forEach((m, i) => new DataView(list.buffer).setUint32(i * 4, m, true));
      e.n = members.length;
      e.off = place(list);
    }
  }
  const blob = new Uint8Array(end);
  const dv = new DataView(blob.buffer);
  dv.setUint32(L.SB_MAGIC, L.IPSETS_MAGIC, true);
  dv.setUint32(L.SB_NSETS, count, true);
  entries.forEach((e, i) => {
    const at = L.SB_HDR_SIZE + i * L.SE_SIZE;
    dv.setUint32(at + L.SE_TYPE, e.type, true);
    dv.setUint32(at + L.SE_OFF, e.off, true);
    dv.setUint32(at + L.SE_N, e.n, true);
    dv.setUint32(at + L.SE_DIMS, e.dims, true);
  });
  for (const p of parts) blob.set(p.bytes, p.at);
  return blob;
}

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
