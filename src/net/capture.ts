// A capture of one link of a network: what the data plane copied of the
// frames sent and received there, as pcap.
import { PcapWriter } from '../packet/pcap.js';
import { nodeBuiltins } from '../platform.js';
import type { CapturedFrame } from './types.js';

/** Every frame sent or received on one link from the moment it was started. */
export class Capture {
  readonly frames: CapturedFrame[] = [];
  active = true;

  constructor(readonly link: string) {}

  stop(): void {
    this.active = false;
  }

  pcap(): Uint8Array {
    const w = new PcapWriter();
    for (const f of this.frames) w.add(f.timeMs, f.frame);
    return w.bytes();
  }

  /** Writes the pcap file (under Node). */
  save(path: string): void {
    const node = nodeBuiltins();
    if (!node) throw new Error('capture: saving a file needs Node; use pcap() for the bytes');
    node.fs.writeFileSync(path, this.pcap());
  }
}
