// Reference model of the routing table's longest-prefix match, written to be
// obviously right rather than fast: one Map per prefix length, looked up from
// /32 down to /0.

function mask(addr: number, len: number): number {
  return len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
}

export class ModelLpm {
  private readonly byLen: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());

  set(addr: number, len: number, value: number): void {
    this.byLen[len].set(mask(addr, len), value);
  }

  delete(addr: number, len: number): void {
    this.byLen[len].delete(mask(addr, len));
  }

  /** The value of the longest prefix containing addr, 0 = none. */
  lookup(addr: number): number {
    for (let len = 32; len >= 0; len--) {
      const v = this.byLen[len].get(mask(addr, len));
      if (v !== undefined) return v;
    }
    return 0;
  }

  /** The prefixes in the table. */
  entries(): { addr: number; len: number; value: number }[] {
    const out: { addr: number; len: number; value: number }[] = [];
    for (let len = 0; len <= 32; len++) for (const [addr, value] of this.byLen[len]) out.push({ addr, len, value });
    return out;
  }
}
