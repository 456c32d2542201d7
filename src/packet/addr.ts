// IPv4 addresses as unsigned 32-bit numbers in host order, and MAC addresses.
// One parser each: every other module (headers, craft, CLI) goes through here.

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

// Decimal octets without leading zeros: '01' is rejected because inet_aton would
// read it as octal, so accepting it would mean something different elsewhere.
const PLEN = /^(0|[1-9][0-9]?)$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * '10.0.0.1' -> 0x0a000001 (non-negative). Read a character at a time: a
 * cluster's build parses millions of addresses.
 */
export function parseIPv4(s: string): number {
  if (typeof s !== 'string') throw new Error(`invalid IPv4 address "${s}"`);
  let n = 0;
  let parts = 0;
  let i = 0;
  while (i <= s.length && parts < 4) {
    // One octet: 1 to 3 digits, no leading zero, at most 255, then '.' (or the end, after the fourth).
    let v = 0;
    let digits = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (digits === 1 && v === 0) throw new Error(`invalid IPv4 address "${s}"`);
      v = v * 10 + c;
      digits++;
    }
    if (digits === 0 || digits > 3 || v > 255) throw new Error(`invalid IPv4 address "${s}"`);
    n = n * 256 + v;
    parts++;
    if (parts < 4) {
      if (s.charCodeAt(i) !== 46) throw new Error(`invalid IPv4 address "${s}"`);
      i++;
    }
  }
  if (parts !== 4 || i !== s.length) throw new Error(`invalid IPv4 address "${s}"`);
  return n;
}

/** Accepts unsigned or signed 32-bit integers (results of `|`/`&` are signed). */
export function formatIPv4(n: number): string {
  if (!Number.isInteger(n) || n < -0x8000_0000 || n > 0xffff_ffff) throw new Error(`invalid IPv4 address number ${n}`);
  const u = n >>> 0;
  return `${u >>> 24}.${(u >>> 16) & 0xff}.${(u >>> 8) & 0xff}.${u & 0xff}`;
}

/** 'a.b.c.d/len' or a bare address (/32). Host bits are kept, as in `ip addr add 10.0.0.5/24`. */
export function parseCidr(s: string): { addr: number; plen: number } {
  const bad = () => new Error(`invalid CIDR "${s}"`);
  if (typeof s !== 'string') throw bad();
  const parts = s.split('/');
  if (parts.length > 2) throw bad();
  let addr: number;
  try {
    addr = parseIPv4(parts[0]);
  } catch {
    throw bad();
  }
  if (parts.length === 1) return { addr, plen: 32 };
  if (!PLEN.test(parts[1]) || Number(parts[1]) > 32) throw bad();
  return { addr, plen: Number(parts[1]) };
}

export function formatCidr(addr: number, plen: number): string {
  checkPlen(plen);
  return `${formatIPv4(addr)}/${plen}`;
}

/** Netmask for a prefix length, unsigned (maskOf(24) === 0xffffff00). */
export function maskOf(plen: number): number {
  checkPlen(plen);
  // A shift count of 32 is taken mod 32 in JS, so /0 needs its own case.
  return plen === 0 ? 0 : (0xffff_ffff << (32 - plen)) >>> 0;
}

export function networkOf(addr: number, plen: number): number {
  return (addr & maskOf(plen)) >>> 0;
}

export function broadcastOf(addr: number, plen: number): number {
  return (addr | ~maskOf(plen)) >>> 0;
}

/** True when `addr` lies in net/plen (host bits of `net` are ignored). */
export function inPrefix(addr: number, net: number, plen: number): boolean {
  return ((addr ^ net) & maskOf(plen)) === 0;
}

function checkPlen(plen: number): void {
  if (!Number.isInteger(plen) || plen < 0 || plen > 32) throw new Error(`invalid prefix length ${plen}`);
}

/** 'aa:bb:cc:dd:ee:ff' (any case) -> 6 bytes. */
export function parseMac(s: string): Uint8Array {
  if (typeof s !== 'string' || !MAC.test(s)) throw new Error(`invalid MAC address "${s}"`);
  return Uint8Array.from(s.split(':'), (h) => parseInt(h, 16));
}

/** Six bytes at `off` -> 'aa:bb:cc:dd:ee:ff' (lower case). */
export function formatMac(b: ArrayLike<number>, off = 0): string {
  if (off < 0 || b.length < off + 6) throw new Error(`formatMac: need 6 bytes at offset ${off}, have ${b.length}`);
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (b[off + i] & 0xff).toString(16).padStart(2, '0');
  return s;
}

/** I/G bit, the least significant bit of the first octet (IEEE 802-2014 8.2); broadcast included. */
export function isMulticastMac(b: ArrayLike<number> | string, off = 0): boolean {
  const bytes = typeof b === 'string' ? parseMac(b) : b;
  return (bytes[off] & 1) === 1;
}
