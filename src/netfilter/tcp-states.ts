// TCP conntrack state names by number, as assembly/tables/conntrack-tcp.ts numbers them
// (the kernel's enum tcp_conntrack) and as `conntrack -L` prints them.
export const TCP_STATE_NAMES: Record<number, string> = {
  0: 'NONE',
  1: 'SYN_SENT',
  2: 'SYN_RECV',
  3: 'ESTABLISHED',
  4: 'FIN_WAIT',
  5: 'CLOSE_WAIT',
  6: 'LAST_ACK',
  7: 'TIME_WAIT',
  8: 'CLOSE',
  9: 'SYN_SENT2',
};
