#!/usr/bin/env python3
"""dnsstatus.py WHAT POLICY [ARG] < `cgpolicy status --json`: one policy's DNS state.
  learned POLICY        "ADDRESS NAME SOURCE EXPIRES_IN" a line
  names POLICY          its names, one a line
  counter POLICY KEY    dns.counters.KEY (a parser counter)
  denied POLICY         counters.egress.denied_packets
Prints nothing (exit 1) when the policy or its "dns" object is missing."""
import json
import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)	# a reader that stops early (grep -q)

what, pol = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin)
p = [x for x in d.get("policies", []) if x.get("name") == pol]
if not p:
    sys.exit(1)
p = p[0]
if what == "denied":
    print(p["counters"]["egress"]["denied_packets"])
    sys.exit(0)
dns = p.get("dns")
if not dns:
    sys.exit(1)
if what == "learned":
    for a in dns["learned"]:
        print(a["address"], a["name"], a["source"], a["expires_in"])
elif what == "names":
    for n in dns["names"]:
        print(n["name"])
elif what == "counter":
    print(dns["counters"][sys.argv[3]])
else:
    sys.exit(__doc__)
