// Connects Hosts' links pairwise (a veth pair, a cable) and moves frames
// until nothing is in flight: enough for tests until the Network arrives.
import type { Host, Output } from '../../src/host.js';

export interface End {
  host: Host;
  link: string;
}

export class Wires {
  private peers = new Map<string, End>();
  /** Everything each host delivered locally or dropped, in order. */
  readonly log: { host: string; out: Output }[] = [];

  connect(a: End, b: End): this {
    this.peers.set(`${a.host.name}/${a.link}`, b);
    this.peers.set(`${b.host.name}/${b.link}`, a);
    return this;
  }

  /** Delivers outputs of `from` and whatever they cause, breadth first. */
  pump(from: Host, outs: Output[], now: number, limit = 10_000): void {
    const queue: { host: Host; out: Output }[] = outs.map((out) => ({ host: from, out }));
    for (let steps = 0; queue.length > 0; steps++) {
      if (steps > limit) throw new Error('wires: no quiescence');
      const { host, out } = queue.shift()!;
      if (out.kind !== 'tx') {
        this.log.push({ host: host.name, out });
        continue;
      }
      const peer = this.peers.get(`${host.name}/${out.link}`);
      if (!peer) continue;
      for (const o of peer.host.receive([{ link: peer.link, frame: out.frame, tag: out.tag }], now)) {
        queue.push({ host: peer.host, out: o });
      }
    }
  }

  locals(host: string): Uint8Array[] {
    return this.log.filter((l) => l.host === host && l.out.kind === 'local').map((l) => (l.out as { packet: Uint8Array }).packet);
  }
}
