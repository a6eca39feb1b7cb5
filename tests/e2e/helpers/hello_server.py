#!/usr/bin/env python3
"""hello_server.py ADDR PORT: a TCP server for the DNS-name tests. To each
connection it sends "hello PORT\\n" at once, then echoes every line it gets,
until the client closes or sends an HTTP request ("GET ...": curl --http0.9
reads the hello as the body and waits for the close). ADDR "::" listens on
every IPv4 and IPv6 address of the namespace (127.x.y.z, fd00::...), so one
server answers every address a name may resolve to. Prints "listening"."""
import socket
import sys
import threading

addr, port = sys.argv[1], int(sys.argv[2])


def client(conn):
    with conn:
        try:
            conn.sendall(b"hello %d\n" % port)
            conn.settimeout(600)
            while True:
                data = conn.recv(4096)
                if not data or data.startswith(b"GET "):
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(4096):	# until the client's FIN: no RST
                        pass
                    return
                conn.sendall(data)
        except OSError:
            return


s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if ":" in addr:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((addr, port))
s.listen(512)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=client, args=(c,), daemon=True).start()
