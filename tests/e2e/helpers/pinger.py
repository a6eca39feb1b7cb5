#!/usr/bin/env python3
"""pinger.py HOST PORT SECONDS: one TCP connection to an echo server; sends a
line every 50 ms and prints "ok N" for each echo, "stalled N" when an echo
takes longer than 1 s (the connection is then considered blocked) and exits."""
import socket
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=2)
s.settimeout(1.0)
n = 0
end = time.time() + secs
while time.time() < end:
    n += 1
    try:
        s.sendall(b"ping %d\n" % n)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(64)
            if not chunk:
                print("closed %d" % n, flush=True)
                sys.exit(1)
            buf += chunk
        print("ok %d" % n, flush=True)
    except (socket.timeout, OSError):
        print("stalled %d" % n, flush=True)
        sys.exit(1)
    time.sleep(0.05)
print("done %d" % n, flush=True)
