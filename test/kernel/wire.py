#!/usr/bin/env python3
# The wire side of the kernel harness, run inside the namespace that holds the
# outer ends of the host's veth pairs: sends frames into the host under test
# and captures what it sends back, port by port (AF_PACKET, ETH_P_ALL).
#
# stdin: JSON {"ifaces": [...], "host": netns, "steps": [{"gap": ms, "sends": [...],
#              "frames": [{"iface", "hex"}]}], "settle": ms}
# A step's sends are datagrams the host's own stack sends first (a UDP socket
# in the host namespace, bound to sport, broadcasts allowed): {"dst", "sport",
# "dport", "hex"} (the payload).
# stdout: JSON {"rx": [{"iface", "hex", "t"}]}: every frame the host sent, in
# arrival order, t in ms from the first step. Our own transmissions
# (PACKET_OUTGOING) are left out.
import json
import os
import select
import socket
import subprocess
import sys
import time

# Run in the host's namespace: one datagram from a socket of its own.
SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(('0.0.0.0', int(sys.argv[2])))
try:
    s.sendto(bytes.fromhex(sys.argv[4]), (sys.argv[1], int(sys.argv[3])))
except OSError as e:
    print(e, file=sys.stderr)
"""

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    job = json.load(sys.stdin)
    # One CPU: the kernel handles each injected frame in the sending CPU's
    # softirq, so one CPU keeps the order of events as sent.
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    socks = {}
    for name in job["ifaces"]:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((name, 0))
        s.setblocking(False)
        socks[s.fileno()] = (name, s)
    rx = []
    start = time.monotonic()

    def drain(timeout):
        got = False
        r, _, _ = select.select(list(socks.keys()), [], [], timeout)
        for fd in r:
            name, s = socks[fd]
            while True:
                try:
                    data, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                got = True
                rx.append({"iface": name, "hex": data.hex(), "t": round((time.monotonic() - start) * 1000, 1)})
        return got

    for step in job["steps"]:
        deadline = time.monotonic() + step.get("gap", 0) / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            drain(left)
        for d in step.get("sends", []):
            subprocess.run(["ip", "netns", "exec", job["host"], sys.executable, "-S", "-c", SEND,
                            d["dst"], str(d["sport"]), str(d["dport"]), d["hex"]], check=True)
            drain(0)
        for f in step["frames"]:
            socks_by_name = {n: s for n, s in socks.values()}
            socks_by_name[f["iface"]].send(bytes.fromhex(f["hex"]))
            drain(0)
    # Quiet for `settle` ms: nothing more is coming.
    settle = job.get("settle", 50) / 1000
    while drain(settle):
        pass
    json.dump({"rx": rx}, sys.stdout)


main()
