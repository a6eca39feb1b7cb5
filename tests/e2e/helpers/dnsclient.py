#!/usr/bin/env python3
"""dnsclient.py: clients of the DNS-name tests; names are resolved with
socket.getaddrinfo (the libc resolver: /etc/resolv.conf, /etc/nsswitch.conf)
and connected to at once, the first address only, with no retry.

  connect NAME PORT          print the server's "hello PORT" (exit 0), or
                             "<fail: REASON>" (exit 1)
  loop FORMAT FIRST LAST PORT [TIMES]
                             connect to FORMAT % i for i in FIRST..LAST, each
                             once; print "ok=N fail=M", the failures on
                             stderr; TIMES: a file for each try's
                             microseconds (resolve + connect + hello)
  cycle FORMAT FIRST ROUNDS PORT TIMES CGDIR...
                             the benchmark: ROUNDS times, for each cgroup
                             directory in turn (the order rotates every round),
                             move this process there (its new sockets belong to
                             it) and connect to the next name FORMAT % i; TIMES
                             gets "CGDIR,microseconds" a try; a failure ends it
  hold NAME PORT             connect, print the hello, then send each line of
                             stdin and print "echo: " + the line that comes back
  listen ADDR SECONDS        a UDP socket on ADDR port 0 that sends nothing:
                             print its port, then "got N" (datagrams) or
                             "got 0" after SECONDS
A connect that hangs (a dropped SYN) fails after 3 s; the hello may take 10 s."""
import os
import select
import socket
import sys
import time


def dial(name, port):
    """Resolve + connect + read the hello; returns (socket, hello) or raises."""
    ai = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    fam, typ, proto, _, sa = ai[0]
    s = socket.socket(fam, typ, proto)
    s.settimeout(3)
    try:
        s.connect(sa)
        s.settimeout(10)	# the hello: a slow server on a busy machine is not a deny
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(100)
            if not d:
                break
            buf += d
    except OSError as e:
        s.close()
        raise OSError("%s %s: %s" % (name, sa[0], e)) from None
    return s, buf.decode(errors="replace").strip()


def main(a):
    if a[0] == "connect":
        try:
            s, hello = dial(a[1], int(a[2]))
            s.close()
            print(hello)
            return 0 if hello else 1
        except OSError as e:
            print("<fail: %s>" % e)
            return 1
    if a[0] == "loop":
        fmt, first, last, port = a[1], int(a[2]), int(a[3]), int(a[4])
        times = open(a[5], "w") if len(a) > 5 else None
        ok = fail = 0
        for i in range(first, last + 1):
            t0 = time.monotonic()
            try:
                s, hello = dial(fmt % i, port)
                s.close()
                good = hello == "hello %d" % port
            except OSError as e:
                hello, good = str(e), False
            if times:
                times.write("%d\n" % ((time.monotonic() - t0) * 1e6))
            if good:
                ok += 1
            else:
                fail += 1
                print("fail %s: %s" % (fmt % i, hello), file=sys.stderr)
        print("ok=%d fail=%d" % (ok, fail))
        return 0 if fail == 0 else 1
    if a[0] == "cycle":
        fmt, i, rounds, port, cgs = a[1], int(a[2]), int(a[3]), int(a[4]), a[6:]
        with open(a[5], "w") as times:
            for r in range(rounds):
                for cg in cgs[r % len(cgs):] + cgs[:r % len(cgs)]:
                    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                        f.write(str(os.getpid()))
                    t0 = time.monotonic()
                    s, hello = dial(fmt % i, port)
                    s.close()
                    us = (time.monotonic() - t0) * 1e6
                    if hello != "hello %d" % port:
                        print("fail %s in %s: %s" % (fmt % i, cg, hello))
                        return 1
                    times.write("%s,%d\n" % (os.path.basename(cg), us))
                    i += 1
        print("ok=%d" % (rounds * len(cgs)))
        return 0
    if a[0] == "hold":
        s, hello = dial(a[1], int(a[2]))
        s.settimeout(10)
        print(hello, flush=True)
        for line in sys.stdin:
            s.sendall(line.encode())
            back = b""
            try:
                while not back.endswith(b"\n"):
                    d = s.recv(100)
                    if not d:
                        break
                    back += d
            except OSError as e:
                back = ("<%s>" % e).encode()
            print("echo: " + back.decode(errors="replace").strip(), flush=True)
        return 0
    if a[0] == "listen":
        s = socket.socket(socket.AF_INET6 if ":" in a[1] else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a[1], 0))
        print(s.getsockname()[1], flush=True)
        got, end = 0, time.monotonic() + float(a[2])
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
            if r:
                s.recv(65536)
                got += 1
                break
        print("got %d" % got, flush=True)
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
