// ip neigh: permanent entries in, the ARP cache out.
import * as L from '../engine/layout.gen.js';
import { mainContext } from '../engine/context.js';
import { parseIPv4, formatIPv4, formatMac } from '../packet/addr.js';
import type { Host, NeighInfo, NeighParams } from '../host.js';
import { growNeighbours } from '../tables/growth.js';
import { parseMacFor, wrap, macWords, checkEntry, checkKeys } from './common.js';

/** The host block's field for each parameter. */
const PARAM_FIELDS: Record<keyof NeighParams, number> = {
  gcThresh1: L.H_GC_THRESH1,
  gcThresh2: L.H_GC_THRESH2,
  gcThresh3: L.H_GC_THRESH3,
  unresQlenBytes: L.H_UNRES_QLEN_BYTES,
  unresHostBytes: L.H_UNRES_HOST_BYTES,
};
const INT_MAX = 0x7fff_ffff;

const NUD_NAMES: Record<number, NeighInfo['state']> = {
  [L.NUD_INCOMPLETE]: 'INCOMPLETE',
  [L.NUD_REACHABLE]: 'REACHABLE',
  [L.NUD_FAILED]: 'FAILED',
  [L.NUD_PERMANENT]: 'PERMANENT',
};

export class NeighNoun {
  constructor(private readonly host: Host) {}

  /** A permanent entry (ip neigh add ... nud permanent). */
  add(spec: { ip: string; mac: string; dev: string }): void {
    const h = this.host;
    checkEntry('neigh add', spec, ['ip', 'mac', 'dev']);
    const what = `neigh add ${spec.ip} dev ${spec.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const mac = parseMacFor(what, spec.mac);
    const dev = h.linkIndex(spec.dev);
    if (ip === 0 || ip === 0xffffffff || ip >>> 28 === 0xe) throw new Error(`${what}: not a unicast address`);
    const [lo, hi] = macWords(mac);
    growNeighbours(h.growth, h.ptr, 1);
    if (!h.call('neigh_set', h.ptr, ip, dev, lo, hi)) throw new Error(`${what}: neighbour table full`);
  }

  del(spec: { ip: string; dev: string }): void {
    const h = this.host;
    checkEntry('neigh del', spec, ['ip', 'dev']);
    const what = `neigh del ${spec.ip} dev ${spec.dev}`;
    const ip = wrap(what, () => parseIPv4(spec.ip));
    const dev = h.linkIndex(spec.dev);
    if (!h.call('neigh_del', mainContext(h.engine).ptr, h.ptr, ip, dev)) throw new Error(`${what}: no such entry`);
  }

  /** The table's bounds (net.ipv4.neigh.default.gc_thresh1/2/3, unres_qlen_bytes) and the host's queue bound. */
  params(): NeighParams {
    const dv = this.host.engine.dv;
    const p = this.host.ptr;
    return Object.fromEntries(Object.entries(PARAM_FIELDS).map(([k, off]) => [k, dv.getUint32(p + off, true)])) as unknown as NeighParams;
  }

  /** Changes some of the bounds, like writing the sysctls; all are checked before any changes. */
  setParams(change: Partial<NeighParams>): void {
    const ok = NeighNoun.check(`${this.host.name}: neigh`, change);
    const dv = this.host.engine.dv;
    for (const [k, v] of Object.entries(ok)) dv.setUint32(this.host.ptr + PARAM_FIELDS[k as keyof NeighParams], v, true);
  }

  /** The parameters of `change`, each an integer 0..INT_MAX as the sysctls take them. */
  static check(what: string, change: Partial<NeighParams>): Partial<NeighParams> {
    checkKeys(what, change, Object.keys(PARAM_FIELDS), 'parameter');
    for (const [k, v] of Object.entries(change)) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= INT_MAX)) throw new Error(`${what}: ${k} must be an integer 0..${INT_MAX}, got ${JSON.stringify(v)}`);
    }
    return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
  }

  list(): NeighInfo[] {
    const h = this.host;
    const dv = h.engine.dv;
    const base = dv.getUint32(h.ptr + L.H_NEIGH, true);
    const slots = dv.getUint32(h.ptr + L.H_NEIGH_MASK, true) + 1;
    const out: NeighInfo[] = [];
    for (let i = 0; i < slots; i++) {
      const e = base + i * L.NEIGH_SIZE;
      const ip = dv.getUint32(e + L.NB_IP, true);
      if (ip === 0 || ip === L.NB_DELETED) continue;
      const state = NUD_NAMES[dv.getUint8(e + L.NB_STATE)] ?? 'FAILED';
      out.push({
        ip: formatIPv4(ip),
        dev: h.links[dv.getUint16(e + L.NB_DEV, true)].name,
        ...(state === 'REACHABLE' || state === 'PERMANENT' ? { mac: formatMac(h.engine.u8, e + L.NB_MAC) } : {}),
        state,
        queued: dv.getUint16(e + L.NB_QLEN, true),
      });
    }
    return out;
  }
}
