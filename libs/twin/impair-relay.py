#!/usr/bin/python3
"""netem in user space, for kernels built without sch_netem (tc answers "Specified qdisc kind is
unknown"). It carries the Ethernet frames of one twin link between the two wire-namespace ends of
its cable, in place of the tc redirect, adding to each direction on its own what netem would: a
delay, a uniform jitter around it, random loss and a rate (a frame leaves once its last bit would
have; netem's default limit of 1000 queued frames). Frames keep their order, as netem does with a
rate. It prints "ready" once both sockets listen, and runs until killed.

usage: impair-relay.py IF_A IF_B DELAY_MS JITTER_MS LOSS_PERCENT RATE_BITS_PER_S (0: unlimited)
"""
import collections
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
VNET_HDR = 10  # struct virtio_net_hdr, before each frame
PACKET_OUTGOING = 4  # a frame this socket's interface sent: our own, not one to carry
LIMIT = 1000


def listen(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    # Frames come with a virtio_net header (checksum to fill, segmentation offload): sent back with
    # it, the kernel finishes them as the plain redirect would; without it, a veth's TCP segments
    # would leave with the checksum never filled in, and the far end would drop them.
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


class Direction:
    def __init__(self, out, delay, jitter, loss, rate):
        self.out, self.delay, self.jitter, self.loss, self.rate = out, delay, jitter, loss, rate
        self.queue = collections.deque()
        self.free = 0.0  # when the cable has sent the last queued frame's last bit
        self.last_due = 0.0

    def admit(self, frame, now):
        if self.loss and random.random() * 100 < self.loss:
            return
        if len(self.queue) >= LIMIT:
            return
        sent = now
        if self.rate:
            self.free = max(now, self.free) + (len(frame) - VNET_HDR) * 8 / self.rate
            sent = self.free
        due = sent + self.delay + (random.uniform(-self.jitter, self.jitter) if self.jitter else 0)
        self.last_due = max(due, self.last_due)
        self.queue.append((self.last_due, frame))

    def flush(self, now):
        while self.queue and self.queue[0][0] <= now:
            frame = self.queue.popleft()[1]
            try:
                self.out.send(frame)
            except OSError:
                pass  # larger than the MTU (an offloaded segment) or the device's queue full: lost


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    a_name, b_name = sys.argv[1:3]
    delay, jitter = float(sys.argv[3]) / 1000, float(sys.argv[4]) / 1000
    loss, rate = float(sys.argv[5]), float(sys.argv[6])
    a, b = listen(a_name), listen(b_name)
    directions = {a: Direction(b, delay, jitter, loss, rate), b: Direction(a, delay, jitter, loss, rate)}
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        for d in directions.values():
            d.flush(now)
        dues = [d.queue[0][0] for d in directions.values() if d.queue]
        timeout = max(0.0, min(dues) - time.monotonic()) if dues else 1.0
        ready = select.select(list(directions), [], [], timeout)[0]
        now = time.monotonic()
        for s in ready:
            while True:
                try:
                    frame, address = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if address[2] != PACKET_OUTGOING:
                    directions[s].admit(frame, now)


if __name__ == "__main__":
    main()
