#!/usr/bin/env python3
"""dnsresp.py - a small DNS responder for the DNS-name tests (tests/e2e/dns.sh),
for the answers a well-behaved server (dnsmasq) never sends.

  dnsresp.py serve ADDR ZONE [PORT]
      answer queries on ADDR:PORT (default 53), UDP and TCP, from ZONE;
      prints "listening" once both sockets are bound. Logs one line a query
      on stderr.
  dnsresp.py send SRC DST DPORT NAME ADDR [TTL]
      send one well-formed answer (A or AAAA of NAME, a random id) from
      SRC:53 to DST:DPORT over UDP, to a socket that asked nothing.

ZONE lines ("#" comments), matched case-insensitively, no trailing dot:
  NAME A ADDR TTL | NAME AAAA ADDR TTL | NAME CNAME TARGET TTL
  NAME OTHER OWNER A|AAAA ADDR TTL  a record of another owner (not in the
                                    chain) added to every answer for NAME
  NAME MODE WHAT [ARG]              how the answer for NAME is broken:
    ptrloop   the first answer's owner is a compression pointer to itself
    badrdlen  the last record's rdata runs past the end of the message
    ancount   the header claims 5 more answers than the message holds
    mismatch  the question section names ARG instead of the name asked
    notresp   the QR bit is clear (a query, not a response)
    tc        over UDP: the TC bit set (the answer records are still there),
              so the client asks again over TCP, which answers normally
    split     over TCP: the length prefix and the message in two segments
    many      ARG A records (127.5.ARG.1 ... 127.5.ARG.ARG, TTL 300), ARG < 255
An answer too large for UDP (512 bytes, 1232 with EDNS) is cut at a record
boundary and sent with TC, as real servers do. Unknown names: NXDOMAIN. Only what the tests need: one question a query,
class IN, no EDNS (an OPT record in the query is ignored)."""
import signal
import socket
import struct
import sys
import threading
import time

T_A, T_CNAME, T_AAAA = 1, 5, 28
TYPES = {"A": T_A, "AAAA": T_AAAA, "CNAME": T_CNAME}


def enc_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dec_name(msg, off):
    """The question name at off (queries are not compressed); (name, next)."""
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n


def rdata(rtype, value):
    if rtype == T_A:
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == T_AAAA:
        return socket.inet_pton(socket.AF_INET6, value)
    return enc_name(value)


def rr(owner, rtype, ttl, value):
    """owner: encoded bytes (a name or a compression pointer)."""
    rd = rdata(rtype, value)
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rd)) + rd


class Zone:
    def __init__(self, path):
        self.recs = {}		# name -> [(type, value, ttl)]
        self.other = {}		# name -> [(owner, type, value, ttl)]
        self.mode = {}		# name -> (what, arg)
        with open(path) as f:
            for line in f:
                w = line.split("#")[0].split()
                if not w:
                    continue
                name, kind = w[0].lower().strip("."), w[1].upper()
                if kind == "OTHER":
                    self.other.setdefault(name, []).append(
                        (w[2].lower(), TYPES[w[3].upper()], w[4], int(w[5])))
                elif kind == "MODE":
                    self.mode[name] = (w[2], w[3] if len(w) > 3 else "")
                else:
                    self.recs.setdefault(name, []).append((TYPES[kind], w[2], int(w[3])))

    def answer(self, qname, qtype):
        """The answer records (encoded) for qname/qtype, and whether the
        name exists. The first owner is written as a pointer to the
        question (offset 12), the others in full."""
        out, name, seen = [], qname, set()
        while name not in seen:
            seen.add(name)
            cname = [r for r in self.recs.get(name, []) if r[0] == T_CNAME]
            owner = b"\xc0\x0c" if name == qname else enc_name(name)
            if cname and qtype != T_CNAME:
                out.append(rr(owner, T_CNAME, cname[0][2], cname[0][1]))
                name = cname[0][1].lower().strip(".")
                continue
            out += [rr(owner, t, ttl, v) for t, v, ttl in self.recs.get(name, []) if t == qtype]
            break
        what, arg = self.mode.get(qname, ("", ""))
        if what == "many" and qtype == T_A:
            out += [rr(b"\xc0\x0c", T_A, 300, "127.5.%d.%d" % (int(arg), i + 1))
                    for i in range(int(arg))]
        for owner, t, v, ttl in self.other.get(qname, []):
            if t == qtype:
                out.append(rr(enc_name(owner), t, ttl, v))
        exists = qname in self.recs or what == "many" or qname in self.other
        return out, exists


def respond(zone, query, tcp):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if qd != 1 or flags & 0x8000:
        return None, "", ""
    qname, off = dec_name(query, 12)
    qtype, = struct.unpack("!H", query[off:off + 2])
    qname = qname.lower()
    question = query[12:off + 4]
    answers, exists = zone.answer(qname, qtype)
    what, arg = zone.mode.get(qname, ("", ""))
    flags = 0x8000 | 0x0400 | (flags & 0x0100)	# QR, AA, RD copied
    if not exists:
        flags |= 3				# NXDOMAIN
    ancount = len(answers)
    if what == "mismatch":
        question = enc_name(arg) + question[-4:]
    elif what == "notresp":
        flags &= ~0x8000
    elif what == "tc" and not tcp:
        flags |= 0x0200
    elif what == "ancount":
        ancount += 5
    body = b"".join(answers)
    if what == "ptrloop" and answers:
        # the first record's owner points at itself: an endless pointer chain
        body = struct.pack("!H", 0xC000 | (12 + len(question))) + answers[0][2:] + b"".join(answers[1:])
    msg = struct.pack("!HHHHHH", qid, flags, 1, ancount, 0, 0) + question + body
    if what == "badrdlen" and answers:
        msg = msg[:-2]
    # over UDP a message larger than the client takes (512 bytes without EDNS,
    # 1232 with) goes out truncated at a record boundary with TC set, as a
    # real server does: the client asks again over TCP
    room = 1232 if struct.unpack("!H", query[10:12])[0] else 512
    if not tcp and len(msg) > room and what not in ("ancount", "badrdlen", "ptrloop"):
        keep, size = [], 12 + len(question)
        for a in answers:
            if size + len(a) > room:
                break
            keep.append(a)
            size += len(a)
        msg = struct.pack("!HHHHHH", qid, flags | 0x0200, 1, len(keep), 0, 0) + question + b"".join(keep)
    return msg, qname, what


def log(peer, proto, qname, what, n):
    print("dnsresp: %s %s %s %s %d bytes" % (proto, peer[0], qname, what or "-", n),
          file=sys.stderr, flush=True)


ZONE = [None]		# the zone in force (SIGHUP replaces it)


def serve_udp(sock):
    while True:
        q, peer = sock.recvfrom(65536)
        try:
            msg, qname, what = respond(ZONE[0], q, False)
        except (ValueError, IndexError, struct.error):
            continue
        if msg is not None:
            log(peer, "udp", qname, what, len(msg))
            sock.sendto(msg, peer)


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_tcp_conn(conn, peer):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while True:
            hdr = recv_exact(conn, 2)
            if hdr is None:
                return
            q = recv_exact(conn, struct.unpack("!H", hdr)[0])
            if q is None:
                return
            try:
                msg, qname, what = respond(ZONE[0], q, True)
            except (ValueError, IndexError, struct.error):
                return
            if msg is None:
                continue
            log(peer, "tcp", qname, what, len(msg))
            if what == "split":
                conn.sendall(struct.pack("!H", len(msg)))
                time.sleep(0.05)
                conn.sendall(msg)
            else:
                conn.sendall(struct.pack("!H", len(msg)) + msg)


def serve(addr, zonefile, port):
    ZONE[0] = Zone(zonefile)

    def reload(_sig, _frame):
        ZONE[0] = Zone(zonefile)
        print("reloaded", flush=True)
    signal.signal(signal.SIGHUP, reload)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((addr, port))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(64)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    print("listening", flush=True)
    while True:
        conn, peer = t.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, peer), daemon=True).start()


def send(src, dst, dport, name, addr, ttl):
    rtype = T_AAAA if ":" in addr else T_A
    qid = int.from_bytes(struct.pack("!d", time.time())[-2:], "big")
    question = enc_name(name) + struct.pack("!HH", rtype, 1)
    msg = struct.pack("!HHHHHH", qid, 0x8580, 1, 1, 0, 0) + question + rr(b"\xc0\x0c", rtype, ttl, addr)
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 53))
    s.sendto(msg, (dst, dport))
    print("sent id %d %s %s to %s:%d" % (qid, name, addr, dst, dport), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 53)
    elif len(sys.argv) >= 7 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6],
             int(sys.argv[7]) if len(sys.argv) > 7 else 300)
    else:
        sys.exit(__doc__)
