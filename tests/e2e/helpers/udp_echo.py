#!/usr/bin/env python3
"""udp_echo.py ADDR PORT: answers "hello PORT\\n" to every datagram, from the
one socket it binds (no fork per peer, so no datagram is lost between a
parent and its child the way socat's UDP-RECVFROM,fork server loses them).
Prints "listening" once bound."""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((addr, port))
print("listening", flush=True)
msg = b"hello %d\n" % port
while True:
    _, peer = s.recvfrom(65536)
    try:
        s.sendto(msg, peer)
    except OSError:
        pass	# a reply the server's own policy denies: the client sees no answer
