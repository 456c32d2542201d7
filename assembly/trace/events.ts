// The events a trace records, one per decision a stage takes (src/trace/
// events.ts names each one, with the Linux function it follows, and formats
// it). New events go at the end. The words each carries are in TR_A..; the
// ones marked "+ bytes" carry the packet too.
export const EV_RX: u32 = 1; // a frame arrives on a link: link, length + bytes
export const EV_ORIGINATE: u32 = 2; // the host's stack sends a packet: -, length + bytes
export const EV_TX: u32 = 3; // a frame leaves on a link: link, length + bytes
export const EV_DELIVER: u32 = 4; // a socket takes the packet: -, length + bytes
export const EV_DROP: u32 = 5; // dropped: reason
export const EV_CONSUME: u32 = 6; // used up by the host itself (ARP, an answered echo)
export const EV_BR_FORWARD: u32 = 7; // the bridge sends the frame to one port: port
export const EV_BR_FLOOD: u32 = 8; // the bridge floods: bridge, ingress port
export const EV_BR_LOCAL: u32 = 9; // the bridge passes the frame up to the host: bridge
export const EV_ROUTE_INPUT: u32 = 10; // a received packet's route: dst, type, dev, gateway, preferred source
export const EV_ROUTE_OUTPUT: u32 = 11; // a sent packet's route: dst, type, dev, gateway, source
export const EV_FORWARD: u32 = 12; // forwarded: TTL after the decrement, out link, its MTU
export const EV_LOCAL: u32 = 13; // for this host: protocol, destination
export const EV_ECHO_REPLY: u32 = 14; // an echo request answered
export const EV_TCP_RESET: u32 = 15; // a segment no socket wanted is answered with a RST
export const EV_ICMP_ERROR: u32 = 16; // an ICMP error is sent: type, code, to, info (MTU)
export const EV_FRAGMENT: u32 = 17; // fragmented: fragments, MTU, length
export const EV_ENCAP: u32 = 18; // into a tunnel: tunnel link, outer source, outer destination, outer TTL, out link
export const EV_DECAP: u32 = 19; // out of a tunnel: tunnel link, outer source, outer destination
export const EV_DECAP_REJECT: u32 = 20; // IPIP from a source the tunnel does not accept: -, outer source
export const EV_ARP: u32 = 21; // an ARP packet for the host: link, op, sender address, target address
export const EV_ARP_REPLY: u32 = 22; // answered: link, target address, asker, 1 when by proxy
export const EV_ARP_SOLICIT: u32 = 23; // a request sent: link, target address, source address
export const EV_NEIGH_UPDATE: u32 = 24; // a neighbour learnt: link, address, MAC (2 words), state
export const EV_NEIGH_OUTPUT: u32 = 25; // sent to a neighbour: link, address, MAC (2 words), state
export const EV_NEIGH_QUEUE: u32 = 26; // waits for a neighbour: link, address, packets waiting, -, state
export const EV_CONNTRACK: u32 = 27; // connection tracking: ct state, connection + 1, direction + the connection
export const EV_NF_CHAIN: u32 = 28; // a chain's verdict: chain id, verdict word (kind, deciding rule)
export const EV_NAT: u32 = 29; // translated: 1 destination / 0 source, then the other direction's tuple (source, destination, ports) and the protocol
export const EV_ICMP_RATELIMIT: u32 = 30; // an ICMP error not sent, rate limited: -, -, to
export const EV_FRAG_QUEUE: u32 = 31; // a fragment waits for the rest of its datagram: first byte, past its last, bytes in the queue, the datagram's length so far
export const EV_REASSEMBLED: u32 = 32; // a datagram made whole: fragments, length
