// Control input a host must refuse: each a clear Error naming the problem,
// thrown before anything changes (the host, its tables, its buffers).
import { describe, it, expect } from 'vitest';
import { Host } from '../src/host.js';
import { Engine } from '../src/engine/engine.js';
import { mainContext } from '../src/engine/context.js';
import { ipFrame, udpPacket } from '../src/packet/index.js';

const FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

async function fixture() {
  const engine = new Engine();
  const h = await Host.create({ name: 'h', forwarding: true, engine });
  h.link.add({ name: 'eth0', type: 'ether', mac: '02:00:00:00:00:01' });
  h.link.add({ name: 'br0', type: 'bridge' });
  h.link.add({ name: 'veth0', type: 'veth', master: 'br0' });
  h.link.add({ name: 'tunl0', type: 'ipip' });
  h.addr.add('eth0', '10.0.0.1/24');
  h.addr.add('br0', '172.17.0.1/16');
  h.route.add({ dst: '10.9.0.0/16', via: '10.0.0.254' });
  h.neigh.add({ ip: '10.0.0.7', mac: '02:00:00:00:00:07', dev: 'eth0' });
  h.fdb.add({ mac: '02:00:00:00:00:42', dev: 'veth0' });
  h.rules.load(FILTER);
  h.listen('udp', 53);
  h.receive([{ link: 'eth0', frame: frame() }], 10);
  const ctx = mainContext(engine);
  const state = () => JSON.stringify([
    h.link.list(), h.addr.list(), h.route.list(), h.neigh.list(), h.neigh.params(), h.fdb.list('br0', 10),
    h.rules.save(), h.stats(), h.forwarding, h.now, ctx.free,
  ]);
  return { h, state };
}

const frame = () => ipFrame('02:00:00:00:00:01', '02:00:00:00:00:02', udpPacket({ src: '10.0.0.2', dst: '10.9.0.1', sport: 1, dport: 2 }));
const packet = () => udpPacket({ src: '0.0.0.0', dst: '10.9.0.1', sport: 1, dport: 2 });
const any = <T>(x: unknown) => x as T;

const cases: [string, (h: Host) => unknown, RegExp][] = [
  // link add: every option typed strictly, unknown options named.
  ['link.add up: "no"', (h) => h.link.add({ name: 'v1', type: 'veth', up: any('no') }), /link add v1: up must be true or false/],
  ['link.add proxyArp: 1', (h) => h.link.add({ name: 'v1', type: 'veth', proxyArp: any(1) }), /link add v1: proxyArp must be true or false/],
  ['link.add hairpin: "yes"', (h) => h.link.add({ name: 'v1', type: 'veth', master: 'br0', hairpin: any('yes') }), /hairpin must be true or false/],
  ['link.add learning: null', (h) => h.link.add({ name: 'v1', type: 'veth', master: 'br0', learning: any(null) }), /learning must be true or false/],
  ['link.add flood: 0', (h) => h.link.add({ name: 'v1', type: 'veth', flood: any(0) }), /flood must be true or false/],
  ['link.add pmtudisc: "off"', (h) => h.link.add({ name: 't1', type: 'ipip', pmtudisc: any('off') }), /pmtudisc must be true or false/],
  ['link.add MAC 00:00:00:00:00:00', (h) => h.link.add({ name: 'v1', type: 'veth', mac: '00:00:00:00:00:00' }), /00:00:00:00:00:00 is the zero MAC address/],
  ['link.add a multicast MAC', (h) => h.link.add({ name: 'v1', type: 'veth', mac: '01:00:5e:00:00:01' }), /multicast MAC/],
  ['link.add the broadcast MAC', (h) => h.link.add({ name: 'v1', type: 'veth', mac: 'ff:ff:ff:ff:ff:ff' }), /multicast MAC/],
  ['link.add an unknown option', (h) => h.link.add(any({ name: 'v1', type: 'veth', proxy_arp: true })), /link add v1: unknown option "proxy_arp"/],
  ['link.add mtu as a string', (h) => h.link.add({ name: 'v1', type: 'veth', mtu: any('1500') }), /mtu 1500 out of range|mtu must be/],
  ['link.add fdbMax on a veth', (h) => h.link.add({ name: 'v1', type: 'veth', fdbMax: 10 }), /fdbMax and ageingMs are for bridges/],
  ['link.add master that is not a string', (h) => h.link.add({ name: 'v1', type: 'veth', master: any(3) }), /master must be a device name/],
  ['link.add ttl as a string', (h) => h.link.add({ name: 't1', type: 'ipip', ttl: any('64') }), /ttl must be 0 \(inherit\) to 255/],
  ['link.add peers of numbers', (h) => h.link.add({ name: 't1', type: 'ipip', peers: any([1]) }), /invalid IPv4 address/],
  ['link.add null', (h) => h.link.add(any(null)), /link add: invalid device name/],
  ['link.add no type', (h) => h.link.add(any({ name: 'v1' })), /unknown link type "undefined"/],
  // link set
  ['link.set up: "no"', (h) => h.link.set('eth0', { up: any('no') }), /link set eth0: up must be true or false/],
  ['link.set proxyArp: 1', (h) => h.link.set('eth0', { proxyArp: any(1) }), /link set eth0: proxyArp must be true or false/],
  ['link.set MAC 00:00:00:00:00:00', (h) => h.link.set('eth0', { mac: '00:00:00:00:00:00' }), /zero MAC address/],
  ['link.set a multicast MAC', (h) => h.link.set('eth0', { mac: '33:33:00:00:00:01' }), /multicast MAC/],
  ['link.set tunl0 master br0', (h) => h.link.set('tunl0', { master: 'br0' }), /link set tunl0: an ipip link cannot be a bridge port/],
  ['link.set null', (h) => h.link.set('eth0', any(null)), /link set eth0: the change must be an object/],
  ['link.set undefined', (h) => h.link.set('eth0', any(undefined)), /link set eth0: the change must be an object/],
  ['link.set a string', (h) => h.link.set('eth0', any('up')), /link set eth0: the change must be an object/],
  ['link.set an unknown option', (h) => h.link.set('eth0', any({ name: 'eth9' })), /link set eth0: unknown option "name"/],
  ['link.set master that is not a string', (h) => h.link.set('veth0', { master: any(0) }), /master must be a device name or null/],
  ['link.set a bad change after a good one', (h) => h.link.set('eth0', { mtu: 1400, up: any('no') }), /up must be true or false/],
  ['link.set a device name that is not a string', (h) => h.link.set(any(null), { up: true }), /a device name is required/],
  ['link.del null', (h) => h.link.del(any(null)), /a device name is required/],
  // addr
  ['addr.add null CIDR', (h) => h.addr.add('eth0', any(null)), /invalid CIDR/],
  ['addr.add null device', (h) => h.addr.add(any(null), '10.0.1.1/24'), /a device name is required/],
  ['addr.del null', (h) => h.addr.del('eth0', any(null)), /invalid CIDR/],
  // route
  ['route via the subnet broadcast address', (h) => h.route.add({ dst: '10.8.0.0/16', via: '10.0.0.255' }), /gateway 10.0.0.255 is a broadcast address/],
  ['route onlink via the subnet broadcast address', (h) => h.route.add({ dst: '10.8.0.0/16', via: '10.0.0.255', dev: 'eth0', onlink: true }), /gateway 10.0.0.255 is a broadcast address/],
  ['route onlink via a local address', (h) => h.route.add({ dst: '10.8.0.0/16', via: '10.0.0.1', dev: 'eth0', onlink: true }), /gateway 10.0.0.1 is a local address/],
  ['route onlink: "yes"', (h) => h.route.add({ dst: '10.8.0.0/16', via: '10.0.0.9', dev: 'eth0', onlink: any('yes') }), /onlink must be true or false/],
  ['route.add an unknown option', (h) => h.route.add(any({ dst: '10.8.0.0/16', gateway: '10.0.0.9' })), /route add 10.8.0.0\/16: unknown option "gateway"/],
  ['route.add null', (h) => h.route.add(any(null)), /route add: dst is required/],
  ['route.del null', (h) => h.route.del(any(null)), /route del: dst is required/],
  ['route.del a number', (h) => h.route.del(any(5)), /route del: dst is required/],
  ['route.addMany null', (h) => h.route.addMany(any(null)), /route addMany: a list of routes is required/],
  ['route.addMany with a null entry', (h) => h.route.addMany(any([{ dst: '10.7.0.0/16', dev: 'eth0' }, null])), /route add: dst is required/],
  ['route.get null', (h) => h.route.get(any(null)), /route get null: invalid IPv4 address/],
  // neigh
  ['neigh.add null', (h) => h.neigh.add(any(null)), /neigh add: the entry must be an object/],
  ['neigh.add undefined', (h) => h.neigh.add(any(undefined)), /neigh add: the entry must be an object/],
  ['neigh.del null', (h) => h.neigh.del(any(null)), /neigh del: the entry must be an object/],
  ['neigh.add a zero MAC', (h) => h.neigh.add({ ip: '10.0.0.8', mac: '00:00:00:00:00:00', dev: 'eth0' }), /zero MAC address/],
  ['neigh.add an unknown option', (h) => h.neigh.add(any({ ip: '10.0.0.8', lladdr: '02:00:00:00:00:08', dev: 'eth0' })), /unknown option "lladdr"/],
  // fdb
  ['fdb.add null', (h) => h.fdb.add(any(null)), /fdb add: the entry must be an object/],
  ['fdb.del null', (h) => h.fdb.del(any(null)), /fdb del: the entry must be an object/],
  ['fdb.add a zero MAC', (h) => h.fdb.add({ mac: '00:00:00:00:00:00', dev: 'veth0' }), /zero MAC address/],
  ['fdb.list at NaN', (h) => h.fdb.list('br0', NaN), /fdb show: now must be/],
  // rules, conntrack
  ['rules.load null', (h) => h.rules.load(any(null)), /rules load: .*iptables-save text/],
  ['rules.load a number', (h) => h.rules.load(any(5)), /rules load: .*iptables-save text/],
  ['conntrack.flush null', (h) => h.conntrack.flush(any(null)), /conntrack flush: the filter must be an object/],
  ['conntrack.list at -1', (h) => h.conntrack.list(-1), /conntrack list: now must be/],
  // time: missing, NaN, negative, fractional, backwards
  ['receive without now', (h) => h.receive([{ link: 'eth0', frame: frame() }], any(undefined)), /receive: now must be an integer/],
  ['receive at NaN', (h) => h.receive([{ link: 'eth0', frame: frame() }], NaN), /receive: now must be an integer/],
  ['receive at -1', (h) => h.receive([{ link: 'eth0', frame: frame() }], -1), /receive: now must be an integer/],
  ['receive at 1.5', (h) => h.receive([{ link: 'eth0', frame: frame() }], 11.5), /receive: now must be an integer/],
  ['receive backwards', (h) => h.receive([{ link: 'eth0', frame: frame() }], 9), /receive: now 9 is before the host's clock \(10\)/],
  ['send backwards', (h) => h.send([{ packet: packet() }], 5), /send: now 5 is before the host's clock \(10\)/],
  ['tick backwards', (h) => h.tick(0), /tick: now 0 is before the host's clock \(10\)/],
  ['tick without now', (h) => any<(n?: number) => unknown>(h.tick.bind(h))(), /tick: now must be an integer/],
  ['tick past the 32-bit clock', (h) => h.tick(2 ** 32), /tick: now must be an integer/],
  // frames and packets
  ['receive null', (h) => h.receive(any(null), 20), /receive: frames must be a list/],
  ['receive an unknown link after a good frame', (h) => h.receive([{ link: 'eth0', frame: frame() }, { link: 'eth9', frame: frame() }], 20), /no such device "eth9"/],
  ['receive a frame that is not bytes', (h) => h.receive([{ link: 'eth0', frame: any([1, 2, 3]) }], 20), /receive: frame #0 must be a Uint8Array/],
  ['receive a null frame', (h) => h.receive([any(null)], 20), /receive: frame #0 must be/],
  ['receive a negative tag', (h) => h.receive([{ link: 'eth0', frame: frame(), tag: -1 }], 20), /receive: tag -1 of frame #0/],
  ['send null', (h) => h.send(any(null), 20), /send: packets must be a list/],
  ['process without a context', (h) => h.process(any(null), 1, 20), /process: ctx must be a Context/],
  ['process more than a batch', (h) => h.process(mainContext(h.engine), 100_000, 20), /process: n must be an integer 0..256/],
  ['send a packet that is not bytes', (h) => h.send([{ packet: any('x') }], 20), /send: packet #0 must be a Uint8Array/],
  // host options and sockets
  ['forwarding = "yes"', (h) => { h.forwarding = any('yes'); }, /forwarding must be true or false/],
  ['unlisten an invalid port', (h) => h.unlisten('udp', 70000), /unlisten: invalid port 70000/],
];

describe('the control plane refuses bad input, by name, and changes nothing', () => {
  for (const [name, act, message] of cases) {
    it(name, async () => {
      const { h, state } = await fixture();
      const before = state();
      expect(() => act(h)).toThrow(message);
      expect(state()).toBe(before);
    });
  }

  it('Host.create refuses non-boolean forwarding and unknown options', async () => {
    await expect(Host.create({ name: 'x', forwarding: any('yes') })).rejects.toThrow(/host x: forwarding must be true or false/);
    await expect(Host.create(any({ name: 'x', forwardng: true }))).rejects.toThrow(/host x: unknown option "forwardng"/);
    await expect(Host.create(any(null))).rejects.toThrow(/host: a name is required/);
  });

  it('raw Ethernet never leaves an ipip link: the refused master leaves tunl0 as it was', async () => {
    const { h } = await fixture();
    expect(() => h.link.set('tunl0', { master: 'br0' })).toThrow();
    expect(h.link.get('tunl0').master).toBeUndefined();
  });

  it('the network address of a subnet is a valid gateway, as Linux has it since 5.14', async () => {
    const { h } = await fixture();
    h.route.add({ dst: '10.8.0.0/16', via: '10.0.0.0' });
    expect(h.route.get('10.8.0.1')).toMatchObject({ gateway: '10.0.0.0', dev: 'eth0' });
  });

  it('a host remembers the last time it was given; the same time again is fine', async () => {
    const { h } = await fixture();
    expect(h.now).toBe(10);
    h.tick(10);
    h.send([{ packet: packet() }], 10);
    h.receive([{ link: 'eth0', frame: frame() }], 25);
    expect(h.now).toBe(25);
  });
});
