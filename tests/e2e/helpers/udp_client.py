#!/usr/bin/env python3
"""udp_client.py ADDR PORT SECONDS MODE: one UDP socket sends "ping" every
50 ms for at most SECONDS.

MODE get:   stop at the first answer and print it (nothing when none came);
            for "this flow is allowed": a lost datagram is sent again.
MODE count: keep sending for the whole SECONDS, and until at least 5
            datagrams were tried (a busy machine may not run the client 5
            times in SECONDS; at most 60 s), and print
            "sent=N errors=E answers=A" (errors: sends the kernel refused,
            e.g. EPERM from a cgroup egress deny); for "this flow is denied":
            the counts prove the client really tried.
Always prints a "# udp_client: ..." summary on stderr."""
import select
import socket
import sys
import time

addr, port, secs, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
sent = errors = answers = 0
first = None
start = time.monotonic()
end = start + secs
next_send = 0.0
while True:
    now = time.monotonic()
    if now >= end and (mode != "count" or sent + errors >= 5 or now >= start + 60):
        break
    if now >= next_send:
        try:
            s.sendto(b"ping\n", (addr, port))
            sent += 1
        except OSError:
            errors += 1
        next_send = now + 0.05
    r, _, _ = select.select([s], [], [], max(0.0, next_send - time.monotonic()))
    if r:
        try:
            data = s.recv(65536)
        except OSError:
            continue	# ICMP port unreachable from an earlier datagram
        answers += 1
        if first is None:
            first = data.decode(errors="replace").strip()
        if mode == "get":
            break
if mode == "get":
    if first is not None:
        print(first)
else:
    print("sent=%d errors=%d answers=%d" % (sent, errors, answers))
print("# udp_client: %s port %d: %d sent, %d refused by the kernel, %d answers" %
      (addr, port, sent, errors, answers), file=sys.stderr)
sys.exit(0 if first is not None or mode == "count" else 1)
