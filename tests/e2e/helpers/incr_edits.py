#!/usr/bin/env python3
"""incr_edits.py - versions of a policy for tests/e2e/incremental.sh.

    incr_edits.py OUTDIR CGROUP OTHER_CGROUP NVERSIONS SEED

Writes OUTDIR/v0.ini (a [set], a policy on OTHER_CGROUP, then the policy on
CGROUP with ~400 rules of every kind) and OUTDIR/v1.ini ...
vN.ini, each one random edit of the one before: a rule replaced (same
ports, a new port, another address, verdict, direction, an ICMP type), a
rule inserted or deleted, a comment added, a set reference, several rules
replaced at once. Some edits can be applied incrementally, some cannot
(set references, the other policy): both must give the maps a whole apply
gives.
"""
import random
import sys

outdir, cgroup, other, nver, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
PORTS = ["22", "80", "443", "80,443", "1000-2000", "53", "8080-8090", "5432"]


def addr():
    k = rng.random()
    if k < 0.6:
        return "10.%d.%d.0/24" % (rng.randrange(8), rng.randrange(40))
    if k < 0.8:
        return "10.%d.0.0/16" % rng.randrange(8)
    if k < 0.95:
        return "2001:db8:%x::/48" % rng.randrange(30)
    return "any"


def rule():
    k = rng.random()
    v = "deny" if rng.random() < 0.25 else "allow"
    d = rng.choice(["in", "out", "both"])
    if k < 0.6:
        return "%s = %s %s %s port %s" % (v, d, rng.choice(["tcp", "udp"]), addr(), rng.choice(PORTS))
    if k < 0.75:
        return "%s = %s %s %s" % (v, d, rng.choice(["tcp", "any"]), addr())
    if k < 0.85:
        return "%s = %s icmp 10.%d.0.0/16 type %s" % (v, d, rng.randrange(8), rng.choice(["echo-request", "3", "8"]))
    if k < 0.95:
        return "%s = out tcp %s port %d" % (v, addr(), rng.randrange(1, 65536))
    return "%s = out tcp @web port 443" % v


head = ["; incremental.sh", "[set web]", "address = 192.0.2.0/24", "",
        "[other]", "cgroup = %s" % other, "deny = out tcp 10.9.0.0/16 port 22", "",
        "[cli]", "cgroup = %s" % cgroup, "default_egress = deny"]
body = [rule() for _ in range(400)]


def write(i):
    with open("%s/v%d.ini" % (outdir, i), "w") as f:
        f.write("\n".join(head + body) + "\n")


write(0)
for i in range(1, nver + 1):
    k = rng.random()
    at = rng.randrange(len(body))
    if k < 0.5:
        body[at] = rule()
    elif k < 0.65:
        body.insert(at, rule())
    elif k < 0.8 and len(body) > 10:
        del body[at]
    elif k < 0.85:
        body.insert(at, "; note %d" % i)
    elif k < 0.92:
        for j in range(at, min(at + 5, len(body))):
            body[j] = rule()
    else:
        head[6] = "deny = out tcp 10.9.0.0/16 port %d" % rng.randrange(1, 65536)
    write(i)
