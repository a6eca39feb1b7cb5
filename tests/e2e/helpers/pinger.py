#!/usr/bin/env python3
"""pinger.py HOST PORT SECONDS [STALL_SECONDS]: one TCP connection to an echo
server; sends a line, waits for its echo, prints "ok N", and sends the next
one after a 50 ms pause (the pause only paces the traffic; nothing waits on
it), for at most SECONDS (an upper bound: callers wait for echoes, not for the
pinger's end), then prints "done N". An echo that does not come within
STALL_SECONDS (default 20: generous, an allowed connection on a busy machine
never gets near it) prints "stalled N" and exits 1: the connection is
blocked. A denied connection is "stalled" together with a deny the policy
counted (the caller checks the counter); a closed one prints "closed N"."""
import socket
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
stall = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
s = socket.create_connection((host, port), timeout=stall)
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
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
    except (socket.timeout, OSError) as e:
        print("stalled %d (%s)" % (n, e), flush=True)
        sys.exit(1)
    time.sleep(0.05)
print("done %d" % n, flush=True)
