// One rule of a compiled ruleset, as assembly/tables/rules-layout.ts lays it
// out: the fixed 64-byte struct (the common matches and the target) and the
// extension records of the matches that do not fit it.
//
// The common matches (interfaces, protocol, addresses, ports, ctstate, one
// mark) sit in the rule itself and are tested first. That reorders them
// against the others, which only matters when a match has state (-m limit,
// -m statistic): a rule with one keeps every match in its place, as
// extension records tested in the order they were written.
import * as L from '../engine/layout.gen.js';
import { ADDR_TYPES, REJECT_WITH, protoNumber, type CtState, type Match, type Rule } from './ir.js';
import { maskOf } from '../packet/addr.js';

export const CT_STATE_BITS: Record<CtState, number> = {
  NEW: L.CTS_NEW,
  ESTABLISHED: L.CTS_ESTABLISHED,
  RELATED: L.CTS_RELATED,
  INVALID: L.CTS_INVALID,
  UNTRACKED: L.CTS_UNTRACKED,
  SNAT: L.CTS_SNAT,
  DNAT: L.CTS_DNAT,
};

/** --ctstatus names as the data plane's connection status bits (EXPECTED: never set). */
const CT_STATUS_BITS: Record<string, number> = { EXPECTED: 0x80, SEEN_REPLY: L.CS_SEEN_REPLY, ASSURED: L.CS_ASSURED, CONFIRMED: L.CS_LIVE };

const KIND: Record<string, number> = {
  ACCEPT: L.TGT_ACCEPT, DROP: L.TGT_DROP, DNAT: L.TGT_DNAT, SNAT: L.TGT_SNAT, MASQUERADE: L.TGT_MASQUERADE, REJECT: L.TGT_REJECT,
  RETURN: L.TGT_RETURN, JUMP: L.TGT_JUMP, GOTO: L.TGT_GOTO, NONE: L.TGT_NONE, MARK: L.TGT_MARK, CONNMARK: L.TGT_CONNMARK,
  NOTRACK: L.TGT_NOTRACK, LOG: L.TGT_LOG,
};
/** Target kind names by TGT_* value. */
export const TARGET_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KIND).map(([k, v]) => [v, k]));

/** xt_limit with HZ 1000: CREDITS_PER_JIFFY = POW2_BELOW32(0xffffffff / (HZ * 86400)) = 32. */
export const LIMIT_CREDITS_PER_MS = 32;
/** user2credits: a rate's average (x XT_LIMIT_SCALE seconds) in credits. */
export function user2credits(user: number): number {
  const hz = 1000 * LIMIT_CREDITS_PER_MS;
  if (user > Math.floor(0xffffffff / hz)) return (Math.floor(user / 10000) * hz) >>> 0;
  return Math.floor((user * hz) / 10000) >>> 0;
}

/** Extension records of one rule, as bytes. */
export class Ext {
  readonly bytes: number[] = [];
  private rec(type: number, flags: number, payload: number[]): void {
    const size = 4 + payload.length;
    this.bytes.push(type, flags, size & 255, size >> 8, ...payload);
  }
  static u16 = (v: number) => [v & 255, (v >> 8) & 255];
  static u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];

  ports(src: boolean, lo: number, hi: number, invert: boolean) {
    this.rec(L.X_PORTS, (src ? L.XF_SRC : L.XF_DST) | (invert ? L.XF_INV : 0), [...Ext.u16(lo), ...Ext.u16(hi)]);
  }
  add(m: Match, setIndex: (name: string) => number): void {
    const inv = (b: boolean | undefined) => (b ? L.XF_INV : 0);
    switch (m.m) {
      case 'tcp': case 'udp':
        if (m.sport) this.ports(true, m.sport.lo, m.sport.hi, m.sport.invert);
        if (m.dport) this.ports(false, m.dport.lo, m.dport.hi, m.dport.invert);
        if (m.m === 'tcp' && m.flags) this.rec(L.X_TCPFLAGS, inv(m.flags.invert), [m.flags.mask, m.flags.comp, 0, 0]);
        return;
      case 'icmp':
        this.rec(L.X_ICMP, inv(m.invert), [m.type, m.codeLo, m.codeHi, 0]);
        return;
      case 'state':
        this.rec(L.X_CTSTATE, inv(m.state.invert), [stateMask(m.state.states), 0, 0, 0]);
        return;
      case 'conntrack': {
        const sf = m.state ? L.XF_STATEFUL : 0;
        if (m.state) this.rec(L.X_CTSTATE, inv(m.state.invert), [stateMask(m.state.states), 0, 0, 0]);
        if (m.ctproto) this.rec(L.X_CTPROTO, sf | inv(m.ctproto.invert), [m.ctproto.proto, 0, 0, 0]);
        const addrs = [['origsrc', L.CTW_ORIG_SRC], ['origdst', L.CTW_ORIG_DST], ['replsrc', L.CTW_REPL_SRC], ['repldst', L.CTW_REPL_DST]] as const;
        for (const [k, w] of addrs) {
          const a = m[k];
          if (a) this.rec(L.X_CTADDR, sf | inv(a.invert), [w, 0, 0, 0, ...Ext.u32(a.addr), ...Ext.u32(maskOf(a.plen))]);
        }
        const ports = [['origsrcport', L.CTW_ORIG_SRC], ['origdstport', L.CTW_ORIG_DST], ['replsrcport', L.CTW_REPL_SRC], ['repldstport', L.CTW_REPL_DST]] as const;
        for (const [k, w] of ports) {
          const p = m[k];
          if (p) this.rec(L.X_CTPORT, sf | inv(p.invert), [w, 0, ...Ext.u16(p.lo), ...Ext.u16(p.hi), 0, 0]);
        }
        if (m.status) this.rec(L.X_CTSTATUS, sf | inv(m.status.invert), [m.status.statuses.reduce((b, s) => b | CT_STATUS_BITS[s], 0), 0, 0, 0]);
        if (m.expire) this.rec(L.X_CTEXPIRE, sf | inv(m.expire.invert), [...Ext.u32(m.expire.lo), ...Ext.u32(m.expire.hi)]);
        if (m.dir) this.rec(L.X_CTDIR, sf, [m.dir === 'REPLY' ? 1 : 0, 0, 0, 0]);
        return;
      }
      case 'addrtype': {
        let f = 0;
        if (m.src) f |= L.XF_SRC | (m.src.invert ? L.XF_SRC_INV : 0);
        if (m.dst) f |= L.XF_DST | (m.dst.invert ? L.XF_DST_INV : 0);
        if (m.limitIn) f |= L.XF_LIMIT_IN;
        if (m.limitOut) f |= L.XF_LIMIT_OUT;
        const bits = (t?: { types: readonly string[] }) => (t ? t.types.reduce((b, x) => b | (1 << ADDR_TYPES.indexOf(x as never)), 0) : 0);
        this.rec(L.X_ADDRTYPE, f, [...Ext.u16(bits(m.src)), ...Ext.u16(bits(m.dst))]);
        return;
      }
      case 'comment':
        return;
      case 'set': {
        const dirs = m.dirs.reduce((b, d, i) => b | (d === 'dst' ? 1 << i : 0), 0);
        this.rec(L.X_SET, inv(m.invert), [...Ext.u16(setIndex(m.name)), m.dirs.length, dirs]);
        return;
      }
      case 'mark':
        this.rec(L.X_MARK, inv(m.invert), [...Ext.u32(m.value), ...Ext.u32(m.mask)]);
        return;
      case 'connmark':
        this.rec(L.X_CONNMARK, inv(m.invert), [...Ext.u32(m.value), ...Ext.u32(m.mask)]);
        return;
      case 'multiport': {
        const side = m.which === 'sports' ? L.XF_SRC : m.which === 'dports' ? L.XF_DST : L.XF_SRC | L.XF_DST;
        this.rec(L.X_MULTIPORT, side | inv(m.invert), [...Ext.u16(m.ports.length), 0, 0, ...m.ports.flatMap((p) => [...Ext.u16(p.lo), ...Ext.u16(p.hi)])]);
        return;
      }
      case 'limit':
        this.rec(L.X_LIMIT, 0, [...Ext.u32(user2credits(m.avg)), ...Ext.u32(user2credits((m.avg * m.burst) >>> 0))]);
        return;
      case 'statistic':
        if (m.mode === 'random') this.rec(L.X_RANDOM, inv(m.invert), Ext.u32(m.probability));
        else this.rec(L.X_NTH, inv(m.invert), Ext.u32(m.every - 1));
        return;
      case 'rpfilter':
        this.rec(L.X_RPFILTER, inv(m.invert) | (m.loose ? L.XF_LOOSE : 0) | (m.acceptLocal ? L.XF_ACCEPT_LOCAL : 0), []);
        return;
    }
  }
}

function stateMask(states: readonly CtState[]): number {
  return states.reduce((m, s) => m | CT_STATE_BITS[s], 0);
}

/** What packet keys a match reads beyond the basic ones (RS_NEEDS). */
export function needsOf(m: Match): number {
  if (m.m === 'addrtype') return L.NEED_ADDRTYPE;
  if (m.m === 'rpfilter') return L.NEED_RPF;
  if (m.m === 'icmp' || (m.m === 'tcp' && m.flags)) return L.NEED_L4;
  return 0;
}

/** The matches a rule keeps in its own struct, and the rest as extension records. */
export interface Core {
  sport?: { lo: number; hi: number; invert: boolean };
  dport?: { lo: number; hi: number; invert: boolean };
  ctstate?: { mask: number; invert: boolean };
  mark?: { value: number; mask: number; invert: boolean };
  ext: Ext;
}

export function splitMatches(r: Rule, setIndex: (name: string) => number): Core {
  const core: Core = { ext: new Ext() };
  const ms = r.matches ?? [];
  // A match with state keeps every match in its place (see the top of this file).
  const inOrder = ms.some((m) => m.m === 'limit' || m.m === 'statistic');
  for (const m of ms) {
    if (!inOrder) {
      if ((m.m === 'tcp' || m.m === 'udp') && !core.sport && !core.dport && (m.sport || m.dport)) {
        core.sport = m.sport;
        core.dport = m.dport;
        if (m.m === 'tcp' && m.flags) core.ext.add({ m: 'tcp', flags: m.flags }, setIndex);
        continue;
      }
      if ((m.m === 'state' || (m.m === 'conntrack' && m.state)) && !core.ctstate) {
        const st = m.m === 'state' ? m.state : m.state!;
        core.ctstate = { mask: stateMask(st.states), invert: st.invert };
        if (m.m === 'conntrack') {
          // The rest of it still passes without a connection, as it had --ctstate (XF_STATEFUL).
          const from = core.ext.bytes.length;
          core.ext.add({ ...m, state: undefined }, setIndex);
          markStateful(core.ext.bytes, from);
        }
        continue;
      }
      if (m.m === 'mark' && !core.mark) {
        core.mark = m;
        continue;
      }
    }
    core.ext.add(m, setIndex);
  }
  return core;
}

/** Marks the X_CT* records from byte `from` on stateful. */
function markStateful(b: number[], from: number): void {
  for (let at = from; at < b.length; at += b[at + 2] | (b[at + 3] << 8)) {
    const t = b[at];
    if (t >= L.X_CTADDR && t <= L.X_CTDIR) b[at + 1] |= L.XF_STATEFUL;
  }
}

export function writeRule(
  dv: DataView, at: number, r: Rule, core: Core, extAt: number, jumpTo: number, tabFor: (name: string, invert: boolean) => number,
): void {
  let f = 0;
  if (r.in) {
    f |= L.RF_IN;
    dv.setUint32(at + L.RU_IN, tabFor(r.in.name, r.in.invert), true);
  }
  if (r.out) {
    f |= L.RF_OUT;
    dv.setUint32(at + L.RU_OUT, tabFor(r.out.name, r.out.invert), true);
  }
  if (r.proto) {
    f |= L.RF_PROTO | (r.protoInvert ? L.RF_PROTO_INV : 0);
    dv.setUint8(at + L.RU_PROTO, protoNumber(r.proto)!);
  }
  if (r.src) {
    f |= L.RF_SRC | (r.src.invert ? L.RF_SRC_INV : 0);
    dv.setUint32(at + L.RU_SRC, (r.src.addr & maskOf(r.src.plen)) >>> 0, true);
    dv.setUint32(at + L.RU_SMASK, maskOf(r.src.plen), true);
  }
  if (r.dst) {
    f |= L.RF_DST | (r.dst.invert ? L.RF_DST_INV : 0);
    dv.setUint32(at + L.RU_DST, (r.dst.addr & maskOf(r.dst.plen)) >>> 0, true);
    dv.setUint32(at + L.RU_DMASK, maskOf(r.dst.plen), true);
  }
  if (core.sport) {
    f |= L.RF_SPORT | (core.sport.invert ? L.RF_SPORT_INV : 0);
    dv.setUint16(at + L.RU_SPORT_LO, core.sport.lo, true);
    dv.setUint16(at + L.RU_SPORT_SPAN, core.sport.hi - core.sport.lo, true);
  }
  if (core.dport) {
    f |= L.RF_DPORT | (core.dport.invert ? L.RF_DPORT_INV : 0);
    dv.setUint16(at + L.RU_DPORT_LO, core.dport.lo, true);
    dv.setUint16(at + L.RU_DPORT_SPAN, core.dport.hi - core.dport.lo, true);
  }
  if (core.ctstate) {
    f |= L.RF_CTSTATE | (core.ctstate.invert ? L.RF_CTSTATE_INV : 0);
    dv.setUint8(at + L.RU_CTSTATE, core.ctstate.mask);
  }
  if (core.mark) {
    f |= L.RF_MARK | (core.mark.invert ? L.RF_MARK_INV : 0);
    dv.setUint32(at + L.RU_MARK, core.mark.value >>> 0, true);
    dv.setUint32(at + L.RU_MARK_MASK, core.mark.mask >>> 0, true);
  }
  if (extAt) {
    f |= L.RF_EXT;
    dv.setUint32(at + L.RU_EXT, extAt, true);
  }
  dv.setUint32(at + L.RU_FLAGS, f, true);
  const t = r.target;
  dv.setUint8(at + L.RU_KIND, KIND[t.kind]);
  switch (t.kind) {
    case 'JUMP': case 'GOTO':
      dv.setUint32(at + L.RU_JUMP, jumpTo, true);
      break;
    case 'DNAT': case 'SNAT': case 'MASQUERADE': {
      let nf = 0;
      if (t.kind !== 'MASQUERADE') {
        dv.setUint32(at + L.RU_T0, t.addr >>> 0, true);
        dv.setUint32(at + L.RU_T1, (t.addrHi ?? t.addr) >>> 0, true);
      }
      if (t.portLo !== undefined) {
        nf |= L.NATF_PORTS;
        dv.setUint32(at + L.RU_NAT_PORTS, (t.portLo | ((t.portHi ?? t.portLo) << 16)) >>> 0, true);
      }
      if (t.random) nf |= L.NATF_RANDOM;
      if (t.kind !== 'DNAT' && t.randomFully) nf |= L.NATF_RANDOM_FULLY;
      dv.setUint8(at + L.RU_TFLAGS, nf);
      break;
    }
    case 'REJECT':
      dv.setUint32(at + L.RU_T0, REJECT_WITH[t.with], true);
      break;
    case 'MARK':
      dv.setUint32(at + L.RU_T0, t.value >>> 0, true);
      dv.setUint32(at + L.RU_T1, t.mask >>> 0, true);
      break;
    case 'CONNMARK':
      dv.setUint8(at + L.RU_TFLAGS, t.mode === 'set' ? L.CM_SET : t.mode === 'save' ? L.CM_SAVE : L.CM_RESTORE);
      dv.setUint32(at + L.RU_T0, (t.mode === 'set' ? t.value : t.nfmask) >>> 0, true);
      dv.setUint32(at + L.RU_T1, (t.mode === 'set' ? t.mask : t.ctmask) >>> 0, true);
      break;
  }
}
