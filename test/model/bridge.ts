// The Linux bridge (net/bridge): learning, forwarding database, flooding.
import type { ModelHost } from './host.js';
import { frameFits, type FdbEntry, type Link } from './links.js';
import { isMulticastMac, isZeroMac, macEq, macKey } from './wire.js';

/** has_expired: the entry's last frame is ageing time old. */
function aged(br: Link, e: FdbEntry, now: number): boolean {
  return now - e.updated >= br.ageingMs;
}

/**
 * br_fdb_update: records that `mac` was seen on `port`. An aged entry is gone
 * (br_fdb_cleanup would have removed it by now): the MAC is learned anew, and
 * aged entries leave room in a full table.
 */
export function fdbLearn(br: Link, port: Link, mac: Uint8Array, now: number): 'learned' | 'refreshed' | 'full' | 'skipped' {
  if (isMulticastMac(mac) || isZeroMac(mac) || macEq(mac, 0, br.mac)) return 'skipped';
  const key = macKey(mac);
  const e = br.fdb.get(key);
  if (e && !aged(br, e, now)) {
    e.port = port;
    e.updated = now;
    return 'refreshed';
  }
  for (const [k, x] of br.fdb) if (aged(br, x, now)) br.fdb.delete(k);
  if (br.fdb.size >= br.fdbMax) return 'full';
  br.fdb.set(key, { port, updated: now });
  return 'learned';
}

/** br_fdb_find + has_expired: the port for `mac`; an aged-out entry is gone. */
export function fdbLookup(br: Link, mac: Uint8Array, now: number): Link | undefined {
  const key = macKey(mac);
  const e = br.fdb.get(key);
  if (!e) return undefined;
  if (aged(br, e, now)) {
    br.fdb.delete(key);
    return undefined;
  }
  return e.port;
}

/** Removes the learned entries that point at `port` (br_fdb_delete_by_port). */
export function fdbFlushPort(br: Link, port: Link): void {
  for (const [key, e] of br.fdb) if (e.port === port) br.fdb.delete(key);
}

/** 01:80:c2:00:00:0X: the IEEE 802.1D reserved group addresses; X, or -1 for any other MAC. */
function linkLocalGroup(frame: Uint8Array): number {
  const g = frame[0] === 0x01 && frame[1] === 0x80 && frame[2] === 0xc2 && frame[3] === 0 && frame[4] === 0 && frame[5] < 16;
  return g ? frame[5] : -1;
}

/** The port of br whose own MAC is at frame[off] (Linux keeps port MACs as local FDB entries). */
function portWithMac(h: ModelHost, br: Link, frame: Uint8Array, off: number): Link | undefined {
  return h.portsOf(br).find((p) => macEq(frame, off, p.mac));
}

/** br_handle_frame + br_handle_frame_finish: a frame received on `port` of `br`. */
export function bridgeInput(h: ModelHost, br: Link, port: Link, frame: Uint8Array, tag: number): void {
  if (!br.up) return h.drop('DEV_READY', tag);
  // is_valid_ether_addr(h_source)
  if (isMulticastMac(frame, 6) || isZeroMac(frame, 6)) return h.drop('MAC_INVALID_SOURCE', tag);
  const group = linkLocalGroup(frame);
  if (group === 1) return h.drop('MAC_IEEE_MAC_CONTROL', tag); // pause
  if (port.learning) learn(h, br, port, frame.subarray(6, 12));
  // Other reserved groups (LACP, 802.1X, LLDP...) go up the port's own stack; 01:80:c2:00:00:00 floods, STP being off.
  if (group > 0) return h.netifReceive(port, frame, tag);
  // should_deliver: every port that is up, the ingress port only in hairpin mode.
  const others = h.portsOf(br).filter((p) => p.up && (p !== port || p.hairpin));
  if (isMulticastMac(frame, 0)) {
    // br_flood with local_rcv, then br_pass_frame_up: the copies go first.
    h.gen(others.length); // copies beyond the frame itself, which goes up
    for (const p of others) portCopy(h, p, frame, tag);
    if (others.length) h.stage('bridge_flooded');
    h.stage('bridge_local');
    return h.netifReceive(br, frame, tag);
  }
  if (macEq(frame, 0, br.mac) || portWithMac(h, br, frame, 0)) {
    h.stage('bridge_local');
    // As the host's only when to the ingress port's own MAC (eth_type_trans there said PACKET_HOST).
    return h.netifReceive(br, frame, tag, macEq(frame, 0, port.mac));
  }
  const dst = fdbLookup(br, frame.subarray(0, 6), h.now);
  if (dst) {
    if (dst === port && !port.hairpin) return h.drop('BR_NO_EGRESS', tag);
    h.stage('bridge_forwarded');
    return portXmit(h, dst, frame, tag);
  }
  flood(h, others.filter((p) => p.flood), frame, tag);
}

function learn(h: ModelHost, br: Link, port: Link, src: Uint8Array): void {
  if (portWithMac(h, br, src, 0)) return; // a local entry: never learned
  const r = fdbLearn(br, port, src, h.now);
  if (r === 'learned') h.stage('bridge_learned');
  if (r === 'full') h.stage('bridge_fdb_full');
}

/** br_dev_xmit: the host sends a frame on the bridge device. */
export function bridgeXmit(h: ModelHost, br: Link, frame: Uint8Array, tag: number): void {
  const ports = h.portsOf(br).filter((p) => p.up);
  if (isMulticastMac(frame, 0)) return flood(h, ports, frame, tag);
  // A frame to the bridge's own MAC has nowhere to go (br_forward with a local entry).
  if (macEq(frame, 0, br.mac)) return h.drop('BR_NO_EGRESS', tag);
  const dst = fdbLookup(br, frame.subarray(0, 6), h.now) ?? portWithMac(h, br, frame, 0);
  if (dst) {
    h.stage('bridge_forwarded');
    return portXmit(h, dst, frame, tag);
  }
  flood(h, ports.filter((p) => p.flood), frame, tag);
}

/** The first port gets the frame, the others generated copies, in link order. */
function flood(h: ModelHost, ports: Link[], frame: Uint8Array, tag: number): void {
  if (ports.length === 0) return h.drop('BR_NO_EGRESS', tag);
  h.gen(ports.length - 1);
  h.stage('bridge_flooded');
  for (const p of ports) portCopy(h, p, frame, tag);
}

/** br_dev_queue_push_xmit: a frame longer than the port takes is dropped there. */
function portCopy(h: ModelHost, port: Link, frame: Uint8Array, tag: number): void {
  if (!frameFits(port, frame)) return h.drop('FRAME_TOO_LONG', tag);
  h.tx(port, frame, tag);
}

function portXmit(h: ModelHost, port: Link, frame: Uint8Array, tag: number): void {
  if (!port.up) return h.drop('DEV_READY', tag);
  portCopy(h, port, frame, tag);
}
