// bridge fdb: static entries in, the forwarding database out.
import * as L from '../engine/layout.gen.js';
import { formatMac } from '../packet/addr.js';
import type { Host, FdbInfo } from '../host.js';
import { parseMacFor, macWords, checkEntry } from './common.js';

export class FdbNoun {
  constructor(private readonly host: Host) {}

  /** A static entry: mac is behind port dev (bridge fdb add MAC dev PORT master static). */
  add(spec: { mac: string; dev: string }): void {
    const h = this.host;
    checkEntry('fdb add', spec, ['mac', 'dev']);
    const what = `fdb add ${spec.mac} dev ${spec.dev}`;
    const mac = parseMacFor(what, spec.mac);
    const port = h.linkIndex(spec.dev);
    const br = this.bridgeOf(what, port);
    const [lo, hi] = macWords(mac);
    if (!h.call('fdb_set', h.ptr, br, lo, hi, port, L.FF_STATIC, h.now)) throw new Error(`${what}: FDB full`);
  }

  del(spec: { mac: string; dev: string }): void {
    const h = this.host;
    checkEntry('fdb del', spec, ['mac', 'dev']);
    const what = `fdb del ${spec.mac} dev ${spec.dev}`;
    const mac = parseMacFor(what, spec.mac);
    const br = this.bridgeOf(what, h.linkIndex(spec.dev));
    const [lo, hi] = macWords(mac);
    if (!h.call('fdb_del', h.ptr, br, lo, hi)) throw new Error(`${what}: no such entry`);
  }

  /**
   * Like `bridge fdb show br BRIDGE`, as of `now` (ms; default: the host's
   * clock): entries that have aged by then are gone, swept or not.
   */
  list(bridge: string, now = this.host.now): FdbInfo[] {
    const h = this.host;
    if (!Number.isInteger(now) || now < 0 || now > 0xffff_ffff) throw new Error(`fdb show: now must be an integer number of ms, got ${now}`);
    const br = h.linkIndex(bridge);
    if (h.links[br].type !== 'bridge') throw new Error(`fdb show: "${bridge}" is not a bridge`);
    const dv = h.engine.dv;
    const p = h.linkPtr(br);
    const base = dv.getUint32(p + L.L_FDB, true);
    const slots = dv.getUint32(p + L.L_FDB_MASK, true) + 1;
    const out: FdbInfo[] = [];
    for (let i = 0; i < slots; i++) {
      const e = base + i * L.FDB_SIZE;
      const port = dv.getUint16(e + L.F_PORT, true);
      if (port === 0) continue;
      const flags = dv.getUint32(e + L.F_FLAGS, true);
      const age = (now - dv.getUint32(e + L.F_UPDATED, true)) >>> 0;
      if (!(flags & (L.FF_STATIC | L.FF_LOCAL)) && age >= dv.getUint32(p + L.L_AGEING, true)) continue; // aged: gone
      out.push({
        mac: formatMac(h.engine.u8, e + L.F_MAC),
        dev: h.links[port - 1].name,
        master: bridge,
        static: (flags & L.FF_STATIC) !== 0,
        ageMs: age,
      });
    }
    return out.sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }

  private bridgeOf(what: string, port: number): number {
    const h = this.host;
    const master = h.engine.dv.getUint16(h.linkPtr(port) + L.L_MASTER, true);
    if (!master) throw new Error(`${what}: ${h.links[port].name} is not a bridge port`);
    return master - 1;
  }
}
