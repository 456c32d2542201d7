// Packet formats, TypeScript side: validated Reprs with parse/emit (in the
// style of smoltcp's wire layer), builders, a decoder and pcap files.
// Note the two IPv4 parsers: parseIPv4 (an address string) and parseIpv4 (a header).
export * from './addr.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './craft.js';
export * from './pcap.js';
