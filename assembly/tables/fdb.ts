// A bridge's forwarding database: open addressing on the MAC, linear probing,
// backward-shift deletion. An entry's MAC and port are one u64, written whole.
// A learned entry older than the ageing time is gone for every purpose
// (br_fdb_cleanup's sweep, had it run): lookups and learning remove it when
// they meet it, and a full table sweeps before refusing a new MAC, so no
// result depends on when a sweep ran.
import {
  L_FDB, L_FDB_MASK, L_FDB_USED, L_FDB_MAX, L_AGEING, L_FDB_OLDEST,
  FDB_SIZE, F_FLAGS, F_UPDATED, FF_STATIC, FF_LOCAL,
} from '../layout';
import { copy16, zero16 } from '../wire/words';

const MAC_MASK: u64 = 0xffffffffffff;

@inline function hashMac(mac: u64): u32 {
  let h = <u32>(mac ^ (mac >> 29)) * 0x9e3779b1;
  return h ^ (h >>> 15);
}

@inline function slot(br: usize, i: u32): usize {
  return <usize>load<u32>(br + L_FDB) + <usize>i * FDB_SIZE;
}

/**
 * Reads the home slot of mac, so that its cache miss overlaps others of the
 * batch (a prefetch, which wasm lacks); returns the word read.
 */
@inline export function fdbTouch(br: usize, mac: u64): u32 {
  return load<u32>(slot(br, hashMac(mac) & load<u32>(br + L_FDB_MASK)));
}

/** Port (link index + 1) of the entry at e; 0 for an empty slot. */
@inline export function fdbPort(e: usize): u32 {
  return <u32>(load<u64>(e) >> 48);
}

/** Finds the slot holding mac, or the empty slot where it would go. */
function probe(br: usize, mac: u64): usize {
  const mask = load<u32>(br + L_FDB_MASK);
  let i = hashMac(mac) & mask;
  while (true) {
    const e = slot(br, i);
    const w = load<u64>(e);
    if ((w >> 48) == 0 || (w & MAC_MASK) == mac) return e;
    i = (i + 1) & mask;
  }
}

/** A learned entry whose last frame is ageing time old (has_expired); static and local ones never age. */
@inline function aged(br: usize, e: usize, now: u32): bool {
  return (load<u32>(e + F_FLAGS) & (FF_STATIC | FF_LOCAL)) == 0 &&
    now - load<u32>(e + F_UPDATED) >= load<u32>(br + L_AGEING);
}

/** The live entry for mac, or 0. An aged entry is removed on the way (br_fdb_find + has_expired). */
export function fdbLookup(br: usize, mac: u64, now: u32): usize {
  const e = probe(br, mac);
  if (fdbPort(e) == 0) return 0;
  if (aged(br, e, now)) {
    fdbRemove(br, e);
    return 0;
  }
  return e;
}

/** The live entry for mac, or 0, writing nothing: for readers that share the table (a network segment's senders). */
export function fdbFind(br: usize, mac: u64, now: u32): usize {
  const e = probe(br, mac);
  if (fdbPort(e) == 0 || aged(br, e, now)) return 0;
  return e;
}

export const LEARN_OK: u32 = 0;
export const LEARN_FULL: u32 = 1;
export const LEARN_SKIPPED: u32 = 2;
export const LEARN_REFRESHED: u32 = 3;

/**
 * Records that mac was seen on port (link index); br_fdb_update. Almost every
 * frame refreshes a live learned entry: that is done here, inlined into the
 * bridge; the rest (new, static, aged, a full table) in fdbLearnSlow.
 */
@inline export function fdbLearn(br: usize, mac: u64, port: u32, now: u32): u32 {
  const e = probe(br, mac);
  const cur = fdbPort(e);
  if (cur == 0 || (load<u32>(e + F_FLAGS) & (FF_STATIC | FF_LOCAL)) != 0 || aged(br, e, now)) return fdbLearnSlow(br, mac, port, now, e);
  if (cur != port + 1) store<u64>(e, mac | (<u64>(port + 1) << 48));
  // Written only when it changes, as br_fdb_update does, to keep the line clean.
  if (load<u32>(e + F_UPDATED) != now) store<u32>(e + F_UPDATED, now);
  return LEARN_REFRESHED;
}

/** fdbLearn for a MAC without a live learned entry; e: its probe slot. */
function fdbLearnSlow(br: usize, mac: u64, port: u32, now: u32, e: usize): u32 {
  if (fdbPort(e) != 0) {
    if ((load<u32>(e + F_FLAGS) & (FF_STATIC | FF_LOCAL)) != 0) return LEARN_SKIPPED;
    fdbRemove(br, e); // aged, so gone: the MAC is learned anew
    e = probe(br, mac);
  }
  if (load<u32>(br + L_FDB_USED) >= load<u32>(br + L_FDB_MAX)) {
    // Full counting aged entries too: they are gone, so sweep them before refusing.
    if (!fdbSweep(br, now)) return LEARN_FULL;
    if (load<u32>(br + L_FDB_USED) >= load<u32>(br + L_FDB_MAX)) return LEARN_FULL;
    e = probe(br, mac);
  }
  if (load<u32>(br + L_FDB_USED) == 0) store<u32>(br + L_FDB_OLDEST, now);
  store<u32>(e + F_FLAGS, 0);
  store<u32>(e + F_UPDATED, now);
  store<u64>(e, mac | (<u64>(port + 1) << 48));
  store<u32>(br + L_FDB_USED, load<u32>(br + L_FDB_USED) + 1);
  return LEARN_OK;
}

/**
 * br_fdb_cleanup: removes every aged entry, if any can be (no learned entry
 * was refreshed before L_FDB_OLDEST, so none has aged before it does);
 * returns whether it swept. Afterwards L_FDB_OLDEST is exact again.
 */
export function fdbSweep(br: usize, now: u32): bool {
  if (now - load<u32>(br + L_FDB_OLDEST) < load<u32>(br + L_AGEING)) return false;
  const mask = load<u32>(br + L_FDB_MASK);
  let oldest = now;
  let i: u32 = 0;
  while (i <= mask) {
    const e = slot(br, i);
    if (fdbPort(e) != 0 && aged(br, e, now)) {
      fdbRemove(br, e); // the next entry may have shifted into slot i
      continue;
    }
    if (fdbPort(e) != 0 && (load<u32>(e + F_FLAGS) & (FF_STATIC | FF_LOCAL)) == 0 &&
        now - load<u32>(e + F_UPDATED) > now - oldest) {
      oldest = load<u32>(e + F_UPDATED);
    }
    i++;
  }
  store<u32>(br + L_FDB_OLDEST, oldest);
  return true;
}

/** Adds or replaces an entry from the control plane (bridge fdb add). */
export function fdbSet(br: usize, mac: u64, port: u32, flags: u32, now: u32): bool {
  let e = probe(br, mac);
  if (fdbPort(e) == 0) {
    if (load<u32>(br + L_FDB_USED) > load<u32>(br + L_FDB_MASK) >> 1) {
      if (!fdbSweep(br, now) || load<u32>(br + L_FDB_USED) > load<u32>(br + L_FDB_MASK) >> 1) return false;
      e = probe(br, mac);
    }
    store<u32>(br + L_FDB_USED, load<u32>(br + L_FDB_USED) + 1);
  }
  store<u32>(e + F_FLAGS, flags);
  store<u32>(e + F_UPDATED, now);
  store<u64>(e, mac | (<u64>(port + 1) << 48));
  return true;
}

/** Removes the entry at e, shifting later entries of its cluster back. */
export function fdbRemove(br: usize, e: usize): void {
  const mask = load<u32>(br + L_FDB_MASK);
  const base = <usize>load<u32>(br + L_FDB);
  let hole = <u32>((e - base) / FDB_SIZE);
  let i = (hole + 1) & mask;
  while (true) {
    const s = slot(br, i);
    const w = load<u64>(s);
    if ((w >> 48) == 0) break;
    const home = hashMac(w & MAC_MASK) & mask;
    // Move s into the hole unless its home lies cyclically in (hole, i].
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      copy16(slot(br, hole), s);
      hole = i;
    }
    i = (i + 1) & mask;
  }
  zero16(slot(br, hole));
  store<u32>(br + L_FDB_USED, load<u32>(br + L_FDB_USED) - 1);
}

/** Removes mac if present; returns whether it was. */
export function fdbDelete(br: usize, mac: u64): bool {
  const e = probe(br, mac);
  if (fdbPort(e) == 0) return false;
  fdbRemove(br, e);
  return true;
}

/** Removes every learned entry pointing at port (a port leaving the bridge). */
export function fdbFlushPort(br: usize, port: u32): void {
  const mask = load<u32>(br + L_FDB_MASK);
  let i: u32 = 0;
  while (i <= mask) {
    const e = slot(br, i);
    if (fdbPort(e) == port + 1 && (load<u32>(e + F_FLAGS) & FF_LOCAL) == 0) {
      fdbRemove(br, e); // the next entry may have shifted into slot i
    } else {
      i++;
    }
  }
}
