// One-line descriptions of outputs, for test assertions and failure messages.
import type { Output } from './host.js';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP, formatIPv4, formatMac, get16, get32 } from './wire.js';

const TAG_GEN = 0xffffffff;

export function showTag(tag: number): string {
  return tag === TAG_GEN ? 'gen' : String(tag);
}

/** 'ip 10.0.0.1>10.0.0.2 ttl 64 icmp 8/0 len 84' and the like. */
export function showIp(ip: Uint8Array): string {
  if (ip.length < 20) return `ip? ${ip.length}B`;
  const hlen = (ip[0] & 0x0f) * 4;
  const flags = get16(ip, 6);
  let s = `ip ${formatIPv4(get32(ip, 12))}>${formatIPv4(get32(ip, 16))} ttl ${ip[8]}`;
  if (flags & 0x4000) s += ' DF';
  if (flags & 0x3fff) s += ` frag ${(flags & 0x1fff) * 8}${flags & 0x2000 ? '+' : ''}`;
  const l4 = ip.subarray(hlen);
  const first = (flags & 0x1fff) === 0;
  if (ip[9] === 1 && first && l4.length >= 2) s += ` icmp ${l4[0]}/${l4[1]}`;
  else if (ip[9] === 17 && first && l4.length >= 4) s += ` udp ${get16(l4, 0)}>${get16(l4, 2)}`;
  else if (ip[9] === 6 && first && l4.length >= 14) s += ` tcp ${get16(l4, 0)}>${get16(l4, 2)} ${tcpFlags(l4[13])}`;
  else s += ` proto ${ip[9]}`;
  return `${s} len ${ip.length}`;
}

function tcpFlags(f: number): string {
  return ['F', 'S', 'R', 'P', 'A', 'U'].filter((_, i) => f & (1 << i)).join('') || '.';
}

export function showFrame(f: Uint8Array): string {
  if (f.length < ETH_HLEN) return `runt ${f.length}B`;
  const head = `${formatMac(f, 6)}>${formatMac(f, 0)}`;
  const type = get16(f, 12);
  const p = f.subarray(ETH_HLEN);
  if (type === ETH_P_ARP && p.length >= 28) {
    const op = get16(p, 6);
    const what = op === 1 ? `who-has ${formatIPv4(get32(p, 24))} tell ${formatIPv4(get32(p, 14))}` : `${formatIPv4(get32(p, 14))} is-at ${formatMac(p, 8)}`;
    return `${head} arp ${what}`;
  }
  if (type === ETH_P_IP) return `${head} ${showIp(p)}`;
  return `${head} type 0x${type.toString(16)} ${p.length}B`;
}

export function show(o: Output): string {
  switch (o.kind) {
    case 'tx':
      return `tx ${o.link} [${showTag(o.tag)}] ${showFrame(o.frame)}`;
    case 'local':
      return `local [${showTag(o.tag)}] ${showIp(o.packet)}`;
    case 'drop':
      return `drop ${o.reason} [${showTag(o.tag)}]`;
  }
}
