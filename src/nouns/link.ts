// ip link: links of a host, their flags, bridge ports, tunnel parameters.
import * as L from '../engine/layout.gen.js';
import { parseIPv4, formatIPv4, formatMac } from '../packet/addr.js';
import type { Host, LinkSpec, LinkChange, LinkInfo, LinkType } from '../host.js';
import { IFNAMSIZ, checkMtu, parseMacFor, wrap, defaultMac, checkBool, checkKeys } from './common.js';

const LINK_TYPES: Record<LinkType, number> = { ether: L.LT_ETHER, veth: L.LT_VETH, bridge: L.LT_BRIDGE, ipip: L.LT_IPIP };
const FLAGS = ['up', 'proxyArp', 'hairpin', 'learning', 'flood'] as const;
const SPEC_KEYS = ['name', 'type', 'mac', 'mtu', 'master', ...FLAGS, 'fdbMax', 'ageingMs', 'local', 'ttl', 'pmtudisc', 'peers'] as const;
const CHANGE_KEYS = ['mac', 'mtu', 'master', ...FLAGS, 'peers'] as const;

/** What every option of `ip link add/set` must be: flags true or false, a master a device name. */
function checkOptions(what: string, o: LinkSpec | LinkChange, known: readonly string[], masterMayBeNull: boolean): void {
  checkKeys(what, o, known);
  for (const f of [...FLAGS, 'pmtudisc'] as const) checkBool(what, f, (o as Record<string, unknown>)[f]);
  const master = (o as LinkChange).master;
  if (master !== undefined && typeof master !== 'string' && !(masterMayBeNull && master === null)) {
    throw new Error(`${what}: master must be a device name${masterMayBeNull ? ' or null' : ''}, got ${JSON.stringify(master)}`);
  }
  if (o.mtu !== undefined) checkMtu(what, o.mtu);
}

export class LinkNoun {
  constructor(private readonly host: Host) {}

  add(spec: LinkSpec): LinkInfo {
    const h = this.host;
    const what = `link add ${spec?.name ?? ''}`.trim();
    if (!spec || typeof spec.name !== 'string' || !/^[A-Za-z0-9_.@:+-]+$/.test(spec.name) || spec.name.length > IFNAMSIZ) {
      throw new Error(`${what}: invalid device name (1-${IFNAMSIZ} characters: letters, digits, _.@:+-)`);
    }
    if (h.links.some((l) => !l.deleted && l.name === spec.name)) throw new Error(`${what}: device exists`);
    const type = Object.hasOwn(LINK_TYPES, spec.type) ? LINK_TYPES[spec.type] : 0;
    if (!type) throw new Error(`${what}: unknown link type "${spec.type}" (ether, veth, bridge, ipip)`);
    checkOptions(what, spec, SPEC_KEYS, false);
    if (spec.type !== 'bridge' && (spec.fdbMax ?? spec.ageingMs) !== undefined) throw new Error(`${what}: fdbMax and ageingMs are for bridges`);
    const mac = spec.mac !== undefined ? parseMacFor(what, spec.mac) : defaultMac(h.name, spec.name);
    const mtu = spec.mtu ?? (spec.type === 'ipip' ? 1480 : 1500);
    checkMtu(what, mtu);
    const tunnel = spec.type === 'ipip' ? this.tunnelParams(what, spec) : undefined;
    if (spec.type !== 'ipip' && (spec.local ?? spec.ttl ?? spec.pmtudisc ?? spec.peers) !== undefined) {
      throw new Error(`${what}: local, ttl, pmtudisc and peers are for ipip links`);
    }
    if (spec.type === 'ipip' && spec.master !== undefined) throw new Error(`${what}: an ipip link cannot be a bridge port`);
    let master = 0;
    if (spec.master !== undefined) master = this.bridgeIndex(what, spec.master) + 1;
    if (spec.master !== undefined && spec.type === 'bridge') throw new Error(`${what}: a bridge cannot be a bridge port`);
    let fdb = 0;
    let slots = 0;
    const fdbMax = spec.fdbMax ?? 4096;
    if (spec.type === 'bridge') {
      if (!Number.isInteger(fdbMax) || fdbMax < 1 || fdbMax > 1 << 24) throw new Error(`${what}: fdbMax must be 1..16777216`);
      slots = 1 << Math.ceil(Math.log2(fdbMax * 2));
      fdb = h.engine.alloc(slots * L.FDB_SIZE);
    }
    const ageing = spec.ageingMs ?? 300_000;
    if (!Number.isInteger(ageing) || ageing < 0 || ageing > 0x7fffffff) throw new Error(`${what}: ageingMs out of range`);
    const index = h.links.length;
    if (index >= 0xffff) throw new Error(`${what}: too many links`);
    if (index >= h.linkCapacity) h.growLinks(h.linkCapacity * 2);
    h.links.push({ name: spec.name, type: spec.type });
    const p = h.linkPtr(index);
    const dv = h.engine.dv;
    dv.setUint32(h.ptr + L.H_NLINKS, h.links.length, true);
    dv.setUint8(p + L.L_TYPE, type);
    dv.setUint16(p + L.L_MASTER, master, true);
    dv.setUint16(p + L.L_MTU, mtu, true);
    h.engine.u8.set(mac, p + L.L_MAC);
    dv.setUint32(p + L.L_FDB, fdb, true);
    dv.setUint32(p + L.L_FDB_MASK, Math.max(0, slots - 1), true);
    dv.setUint32(p + L.L_FDB_MAX, fdbMax, true);
    dv.setUint32(p + L.L_AGEING, ageing, true);
    let flags = L.LF_LEARNING | L.LF_FLOOD;
    if (spec.up ?? true) flags |= L.LF_UP;
    if (spec.proxyArp) flags |= L.LF_PROXY_ARP;
    if (spec.hairpin) flags |= L.LF_HAIRPIN;
    if (spec.learning === false) flags &= ~L.LF_LEARNING;
    if (spec.flood === false) flags &= ~L.LF_FLOOD;
    dv.setUint8(p + L.L_FLAGS, flags);
    if (tunnel) {
      dv.setUint32(p + L.L_TUN_LOCAL, tunnel.local, true);
      dv.setUint8(p + L.L_TUN_TTL, tunnel.ttl);
      dv.setUint8(p + L.L_TUN_FLAGS, tunnel.pmtudisc ? L.TF_PMTUDISC : 0);
      this.writePeers(index, tunnel.peers);
      if (dv.getUint32(h.ptr + L.H_IPIP, true) === 0) dv.setUint32(h.ptr + L.H_IPIP, index + 1, true);
    }
    return this.info(index);
  }

  private tunnelParams(what: string, spec: LinkSpec) {
    const local = spec.local !== undefined ? wrap(what, () => parseIPv4(spec.local!)) : 0;
    const ttl = spec.ttl ?? 0;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new Error(`${what}: ttl must be 0 (inherit) to 255`);
    const peers = spec.peers === undefined ? undefined : this.parsePeers(what, spec.peers);
    return { local, ttl, pmtudisc: spec.pmtudisc ?? true, peers };
  }

  private parsePeers(what: string, peers: string[]): Uint32Array {
    if (!Array.isArray(peers)) throw new Error(`${what}: peers must be a list of addresses`);
    return Uint32Array.from(new Set(peers.map((a) => wrap(what, () => parseIPv4(a))))).sort();
  }

  /** The allowlist is written aside and swapped in whole. */
  private writePeers(i: number, peers: Uint32Array | undefined): void {
    const h = this.host;
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    const flags = dv.getUint8(p + L.L_TUN_FLAGS);
    if (!peers) {
      dv.setUint8(p + L.L_TUN_FLAGS, flags & ~L.TF_PEERS);
      return;
    }
    const region = h.engine.alloc(Math.max(4, peers.length * 4));
    new Uint32Array(h.engine.memory.buffer, region, peers.length).set(peers);
    const old = dv.getUint32(p + L.L_TUN_PEERS, true);
    const oldN = dv.getUint32(p + L.L_TUN_NPEERS, true);
    dv.setUint32(p + L.L_TUN_NPEERS, 0, true);
    dv.setUint32(p + L.L_TUN_PEERS, region, true);
    dv.setUint32(p + L.L_TUN_NPEERS, peers.length, true);
    dv.setUint8(p + L.L_TUN_FLAGS, flags | L.TF_PEERS);
    if (old) h.engine.arena.release(old, Math.max(4, oldN * 4));
  }

  set(name: string, change: LinkChange): LinkInfo {
    const h = this.host;
    const what = `link set ${name}`;
    const i = h.linkIndex(name);
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    // Check everything before changing anything.
    if (!change || typeof change !== 'object' || Array.isArray(change)) throw new Error(`${what}: the change must be an object { ${CHANGE_KEYS.join(', ')} }, got ${JSON.stringify(change) ?? String(change)}`);
    checkOptions(what, change, CHANGE_KEYS, true);
    const mac = change.mac !== undefined ? parseMacFor(what, change.mac) : undefined;
    if (change.peers !== undefined && h.links[i].type !== 'ipip') throw new Error(`${what}: peers are for ipip links`);
    const peers = change.peers ? this.parsePeers(what, change.peers) : undefined;
    let master: number | undefined;
    if (change.master === null) master = 0;
    else if (change.master !== undefined) {
      if (h.links[i].type === 'bridge') throw new Error(`${what}: a bridge cannot be a bridge port`);
      if (h.links[i].type === 'ipip') throw new Error(`${what}: an ipip link cannot be a bridge port`);
      master = this.bridgeIndex(what, change.master) + 1;
    }
    if (change.mtu !== undefined) dv.setUint16(p + L.L_MTU, change.mtu, true);
    if (mac) h.engine.u8.set(mac, p + L.L_MAC);
    if (master !== undefined) {
      const old = dv.getUint16(p + L.L_MASTER, true);
      if (old !== 0 && old !== master) h.call('fdb_flush_port', h.ptr, old - 1, i);
      dv.setUint16(p + L.L_MASTER, master, true);
    }
    let flags = dv.getUint8(p + L.L_FLAGS);
    const flag = (on: boolean | undefined, bit: number) => {
      if (on === true) flags |= bit;
      else if (on === false) flags &= ~bit;
    };
    flag(change.up, L.LF_UP);
    flag(change.proxyArp, L.LF_PROXY_ARP);
    flag(change.hairpin, L.LF_HAIRPIN);
    flag(change.learning, L.LF_LEARNING);
    flag(change.flood, L.LF_FLOOD);
    dv.setUint8(p + L.L_FLAGS, flags);
    if (change.peers !== undefined) this.writePeers(i, peers);
    return this.info(i);
  }

  /** Deletes a link with its addresses, routes through it and FDB entries. */
  del(name: string): void {
    const h = this.host;
    const i = h.linkIndex(name);
    if (h.links.some((l, j) => !l.deleted && h.engine.dv.getUint16(h.linkPtr(j) + L.L_MASTER, true) === i + 1)) {
      throw new Error(`link del ${name}: the bridge still has ports`);
    }
    const dv = h.engine.dv;
    const master = dv.getUint16(h.linkPtr(i) + L.L_MASTER, true);
    if (master) h.call('fdb_flush_port', h.ptr, master - 1, i);
    h.addrs = h.addrs.filter((a) => a.dev !== i);
    h.routes = h.routes.filter((r) => r.dev !== i);
    h.links[i].deleted = true;
    if (dv.getUint32(h.ptr + L.H_IPIP, true) === i + 1) {
      const next = h.links.findIndex((l) => !l.deleted && l.type === 'ipip');
      dv.setUint32(h.ptr + L.H_IPIP, next + 1, true);
    }
    // The slot stays (indices are stable) but the link is down and detached.
    dv.setUint8(h.linkPtr(i) + L.L_FLAGS, 0);
    dv.setUint16(h.linkPtr(i) + L.L_MASTER, 0, true);
    h.markDirty();
  }

  get(name: string): LinkInfo {
    return this.info(this.host.linkIndex(name));
  }

  list(): LinkInfo[] {
    return this.host.links.flatMap((l, i) => (l.deleted ? [] : [this.info(i)]));
  }

  private bridgeIndex(what: string, name: string): number {
    const h = this.host;
    const i = h.links.findIndex((l) => !l.deleted && l.name === name);
    if (i < 0) throw new Error(`${what}: no such device "${name}"`);
    if (h.links[i].type !== 'bridge') throw new Error(`${what}: "${name}" is not a bridge`);
    return i;
  }

  private tunnelInfo(p: number): NonNullable<LinkInfo['tunnel']> {
    const h = this.host;
    const dv = h.engine.dv;
    const local = dv.getUint32(p + L.L_TUN_LOCAL, true);
    const tf = dv.getUint8(p + L.L_TUN_FLAGS);
    const n = dv.getUint32(p + L.L_TUN_NPEERS, true);
    const base = dv.getUint32(p + L.L_TUN_PEERS, true);
    return {
      ...(local ? { local: formatIPv4(local) } : {}),
      ttl: dv.getUint8(p + L.L_TUN_TTL),
      pmtudisc: (tf & L.TF_PMTUDISC) !== 0,
      ...(tf & L.TF_PEERS ? { peers: Array.from({ length: n }, (_, k) => formatIPv4(dv.getUint32(base + k * 4, true))) } : {}),
    };
  }

  private info(i: number): LinkInfo {
    const h = this.host;
    const p = h.linkPtr(i);
    const dv = h.engine.dv;
    const flags = dv.getUint8(p + L.L_FLAGS);
    const master = dv.getUint16(p + L.L_MASTER, true);
    const n = (off: number) => Number(dv.getBigUint64(p + off, true));
    return {
      name: h.links[i].name,
      index: i,
      type: h.links[i].type,
      mac: formatMac(h.engine.u8, p + L.L_MAC),
      mtu: dv.getUint16(p + L.L_MTU, true),
      up: (flags & L.LF_UP) !== 0,
      ...(master ? { master: h.links[master - 1].name } : {}),
      proxyArp: (flags & L.LF_PROXY_ARP) !== 0,
      hairpin: (flags & L.LF_HAIRPIN) !== 0,
      learning: (flags & L.LF_LEARNING) !== 0,
      flood: (flags & L.LF_FLOOD) !== 0,
      ...(h.links[i].type === 'ipip' ? { tunnel: this.tunnelInfo(p) } : {}),
      stats: { rxPackets: n(L.L_RX_PACKETS), rxBytes: n(L.L_RX_BYTES), txPackets: n(L.L_TX_PACKETS), txBytes: n(L.L_TX_BYTES) },
    };
  }
}
