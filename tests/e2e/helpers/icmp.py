#!/usr/bin/env python3
"""icmp.py ADDR TYPE CODE SECONDS [INTERVAL [dgram]]: a raw ICMP (IPv4 ADDR) or
ICMPv6 (IPv6 ADDR) socket, as root, sends a request of TYPE/CODE (echo: with an
identifier and a sequence number) every INTERVAL seconds (default 0.1) for
SECONDS, and counts the packets that come back from ADDR. Prints, flushed
after every event, one line per change and a last one:
    "sent=N errors=E replies=R types=T1,T2"
errors: sends the kernel refused (EPERM: a cgroup egress deny); replies:
packets from ADDR of the reply type of TYPE (echo 8/128 -> 0/129,
timestamp 13 -> 14) with our identifier; types: every ICMP type seen from
ADDR. A raw socket gets a copy of every ICMP packet of the host: packets of
other sources and identifiers are ignored. Raw sockets, like ping sockets,
are judged by cgroup_skb (egress when sending, ingress when a packet is
queued to the socket).
dgram: an ICMP datagram ("ping") socket instead, as ping(8) uses when
net.ipv4.ping_group_range allows it (echo requests only; the kernel sets the
identifier and the checksum, and hands the socket only its own replies)."""
import os
import select
import socket
import struct
import sys
import time

addr, typ, code, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.1
dgram = len(sys.argv) > 6 and sys.argv[6] == "dgram"
v6 = ":" in addr
ident = os.getpid() & 0xffff
reply_of = {8: 0, 13: 14, 128: 129}


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


kind = socket.SOCK_DGRAM if dgram else socket.SOCK_RAW
if v6:
    s = socket.socket(socket.AF_INET6, kind, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
peer = socket.getaddrinfo(addr, None, socket.AF_INET6 if v6 else socket.AF_INET)[0][4][0]
sent = errors = replies = 0
types = set()
last = None


def report(force=False):
    global last
    line = "sent=%d errors=%d replies=%d types=%s" % (sent, errors, replies,
                                                    ",".join(str(t) for t in sorted(types)))
    if force or line != last:
        print(line, flush=True)
        last = line


end = time.monotonic() + secs
next_send = 0.0
seq = 0
while time.monotonic() < end:
    now = time.monotonic()
    if now >= next_send:
        seq += 1
        body = struct.pack("!HH", ident, seq & 0xffff)
        if typ == 13:
            body += struct.pack("!III", 0, 0, 0)	# timestamps
        else:
            body += b"cgpolicy-icmp-test"
        hdr = struct.pack("!BBH", typ, code, 0)
        pkt = hdr + body
        if not v6:	# the kernel fills in the ICMPv6 checksum itself
            pkt = struct.pack("!BBH", typ, code, csum(pkt)) + body
        try:
            s.sendto(pkt, (addr, 0))
            sent += 1
        except OSError:
            errors += 1
        next_send = now + interval
        report()
    r, _, _ = select.select([s], [], [], max(0.0, min(next_send, end) - time.monotonic()))
    if not r:
        continue
    data, src = s.recvfrom(65536)
    if src[0] != peer:
        continue
    if not v6 and not dgram:	# IPv4 raw sockets get the IP header too
        data = data[(data[0] & 0xf) * 4:]
    if len(data) < 8:
        continue
    types.add(data[0])
    if data[0] == reply_of.get(typ, -1) and (dgram or struct.unpack("!H", data[4:6])[0] == ident):
        replies += 1
    report()
report(True)
