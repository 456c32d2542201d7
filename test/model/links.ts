// Links of a model host: NICs, veth ends and bridges (with their FDB).
import { parseMac } from './wire.js';

export type LinkType = 'ether' | 'veth' | 'bridge';

export interface LinkSpec {
  name: string;
  type: LinkType;
  mac?: string;
  mtu?: number;
  up?: boolean;
  master?: string;
  proxyArp?: boolean;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
  fdbMax?: number;
  ageingMs?: number;
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  master?: string | null;
  proxyArp?: boolean;
  hairpin?: boolean;
  learning?: boolean;
  flood?: boolean;
}

/** A learned FDB entry (net/bridge/br_fdb.c). The bridge's own MAC is not an entry. */
export interface FdbEntry {
  port: Link;
  updated: number;
}

export const MIN_MTU = 68; // IPv4 minimum (RFC 791)
/** The engine's packet buffers hold 1920 bytes of frame: MTU + 14 must fit. */
export const MAX_MTU = 65390;
/** A device takes in frames up to MTU + Ethernet + VLAN header (is_skb_forwardable). */
export function frameFits(link: { mtu: number }, frame: Uint8Array): boolean {
  return frame.length <= link.mtu + 14 + 4;
}
export const DEFAULT_AGEING_MS = 300_000;

export class Link {
  up: boolean;
  mtu: number;
  master: Link | null = null;
  proxyArp: boolean;
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
  /** Bridges only: at most this many learned entries (Linux: unlimited by default). */
  fdbMax: number;
  ageingMs: number;
  readonly fdb = new Map<string, FdbEntry>();

  constructor(
    readonly index: number,
    readonly name: string,
    readonly type: LinkType,
    readonly mac: Uint8Array,
    spec: LinkSpec,
  ) {
    this.up = spec.up ?? true;
    this.mtu = spec.mtu ?? 1500;
    this.proxyArp = spec.proxyArp ?? false;
    this.hairpin = spec.hairpin ?? false;
    this.learning = spec.learning ?? true;
    this.flood = spec.flood ?? true;
    this.fdbMax = spec.fdbMax ?? Infinity;
    this.ageingMs = spec.ageingMs ?? DEFAULT_AGEING_MS;
  }
}

/** A locally administered MAC derived from the link index, for links created without one. */
export function defaultMac(index: number): Uint8Array {
  return parseMac(`02:00:00:00:${((index >> 8) & 0xff).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`);
}

export function checkMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) throw new Error(`invalid MTU ${mtu} (${MIN_MTU}..${MAX_MTU})`);
}
