// What the nouns share: argument checks that name the problem, MAC helpers.
import * as L from '../engine/layout.gen.js';
import { parseMac } from '../packet/addr.js';

export const MIN_MTU = 68;
export const MAX_MTU = L.MAX_MTU;
export const IFNAMSIZ = 15;

export function checkMtu(what: string, mtu: number): void {
  if (typeof mtu !== 'number') throw new Error(`${what}: mtu must be an integer ${MIN_MTU}..${MAX_MTU}, got ${JSON.stringify(mtu)}`);
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new Error(`${what}: mtu ${mtu} out of range ${MIN_MTU}..${MAX_MTU}`);
  }
}

/** A unicast MAC a device or an entry can have: not multicast (nor broadcast), not all zeros. */
export function parseMacFor(what: string, mac: string): Uint8Array {
  const b = wrap(what, () => parseMac(mac));
  if (b[0] & 1) throw new Error(`${what}: ${mac} is a multicast MAC address`);
  if (b.every((x) => x === 0)) throw new Error(`${what}: ${mac} is the zero MAC address`);
  return b;
}

/** An optional flag: absent, true or false; anything else ("no", 1, null) is a mistake to name. */
export function checkBool(what: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw new Error(`${what}: ${name} must be true or false, got ${JSON.stringify(v)}`);
}

/** An argument that must be a plain object, with keys among `known` (one left undefined counts as absent). */
export function checkKeys(what: string, x: unknown, known: readonly string[], kind = 'option'): void {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${what}: expected an object, got ${JSON.stringify(x) ?? String(x)}`);
  for (const k of Object.keys(x)) {
    if (!known.includes(k) && (x as Record<string, unknown>)[k] !== undefined) throw new Error(`${what}: unknown ${kind} "${k}" (${known.join(', ')})`);
  }
}

/** An entry argument (neigh add, fdb del, ...): an object with known keys. */
export function checkEntry(what: string, x: unknown, known: readonly string[], kind = 'entry'): void {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${what}: the ${kind} must be an object { ${known.join(', ')} }, got ${JSON.stringify(x) ?? String(x)}`);
  checkKeys(what, x, known);
}

export function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

/** A MAC that depends only on the host's and the link's names: 02:xx:xx:xx:xx:xx. */
export function defaultMac(host: string, link: string): Uint8Array {
  let h = 0x811c9dc5;
  let g = 0x01000193;
  for (const ch of `${host}/${link}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    g = Math.imul(g ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
  }
  return Uint8Array.of(0x02, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff, g & 0xff);
}

export function macWords(mac: Uint8Array): [number, number] {
  return [(mac[0] | (mac[1] << 8) | (mac[2] << 16) | (mac[3] << 24)) >>> 0, mac[4] | (mac[5] << 8)];
}
