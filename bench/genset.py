#!/usr/bin/env python3
"""genset.py N SEED MEMBER AVOID/LEN > members.txt - the address set of bench/sets.sh.

N IPv4 members, one CIDR a line: about 1% random prefixes (/16../28), the rest random
/32s, and MEMBER (the address the benchmark's "member" flows go to). No member
overlaps another (nftables interval sets refuse overlapping elements), none but MEMBER
falls in AVOID/LEN (where the benchmark's other addresses are), in 0/8, 127/8 or 224/3.
Deterministic for a given SEED.
"""
import ipaddress
import random
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
member = int(ipaddress.IPv4Address(sys.argv[3]))
avoid = ipaddress.IPv4Network(sys.argv[4])
a_lo, a_hi = int(avoid.network_address), int(avoid.broadcast_address)
rng = random.Random(seed)

by16 = {}       # /16 -> [(lo, hi)] of the members inside it (every member is /16 or longer)
out = []


def free(lo, hi, anywhere=False):
    if not anywhere and hi >= a_lo and lo <= a_hi:
        return False
    if lo >> 24 in (0, 127) or lo >> 29 == 7:
        return False
    for x in range(lo >> 16, (hi >> 16) + 1):
        for l2, h2 in by16.get(x, ()):
            if lo <= h2 and hi >= l2:
                return False
    return True


def add(lo, plen, anywhere=False):
    hi = lo | ((1 << (32 - plen)) - 1)
    if not free(lo, hi, anywhere):
        return False
    for x in range(lo >> 16, (hi >> 16) + 1):
        by16.setdefault(x, []).append((lo, hi))
    out.append("%s/%d" % (ipaddress.IPv4Address(lo), plen) if plen < 32 else str(ipaddress.IPv4Address(lo)))
    return True


add(member, 32, True) or sys.exit("genset: bad member %s" % sys.argv[3])
prefixes = max(1, n // 100) if n > 1 else 0
while len(out) < 1 + prefixes:
    plen = rng.randint(16, 28)
    add(rng.getrandbits(32) & ~((1 << (32 - plen)) - 1) & 0xffffffff, plen)
while len(out) < n:
    add(rng.getrandbits(32), 32)
# the flows' member last in the file, as any other member
out.append(out.pop(0))
print("\n".join(out))
