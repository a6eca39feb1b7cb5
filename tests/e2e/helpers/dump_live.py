#!/usr/bin/env python3
"""dump_live.py PIN - the live half of the rule maps under PIN (rules, ports,
pols: the inner maps of the generation in force), one sorted line per entry,
for comparing two pin paths byte for byte (tests/e2e/incremental.sh)."""
import json
import subprocess
import sys

pin = sys.argv[1]


def bt(*args):
    return json.loads(subprocess.check_output(["bpftool", "-j"] + list(args)))


def le(b):
    return int.from_bytes(bytes(int(x, 16) for x in b), "little")


gen = le(bt("map", "lookup", "pinned", pin + "/maps/state", "key", "0", "0", "0", "0")["value"][:8])
half = [str(gen & 1), "0", "0", "0"]
for m in ("rules", "ports", "pols"):
    inner = le(bt("map", "lookup", "pinned", "%s/maps/%s" % (pin, m), "key", *half)["value"])
    rows = []
    for e in bt("map", "dump", "id", str(inner)):
        v = "".join(x[2:] for x in e["value"])
        if m == "pols" and not v.strip("0"):
            continue	# a slot with no policy
        rows.append("%s %s %s" % (m, "".join(x[2:] for x in e["key"]), v))
    print("\n".join(sorted(rows)))
