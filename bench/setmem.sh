#!/bin/bash
# bench/setmem.sh [BUILD] - kernel memory of an address set (docs/PERFORMANCE.md,
# "Address sets"), and the rate of `cgpolicy set add`.
#
# A set of N members (default 100,000 distinct /32s) used by 1 and then by 100
# policies (one rule `deny = out tcp @big` each, 100 cgroups): the memlock of
# the live rule trie (where a static set's members live), of the dynamic
# sets' trie, and of every map of the pin path, as `bpftool map show` reports
# it. The same with the set dynamic. Then `cgpolicy set add NAME -` of N
# addresses from stdin, timed, against `nft add element` of the same addresses
# into an nftables set (when nft is installed).
#
#   SET_N=N        members (default 100000)
#   BENCH_OUT=DIR  also write the results to DIR/setmem.md (make bench)
#
# Own cgroups (cgp-setmem-ID), pin path, nftables table (inet cgpsetmem_ID),
# temp dir; removed on exit.
set -u
export LC_ALL=C

BUILD=${1:-build}
CGP=$(realpath "$BUILD/cgpolicy")
N=${SET_N:-100000}
ID=$$
PIN=/sys/fs/bpf/cgpolicy-setmem-$ID
CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
CGR=$CGMNT/cgp-setmem-$ID
TMP=$(mktemp -d /tmp/cgp-setmem.XXXXXX)
cleanup() {
	"$CGP" --pin-path "$PIN" remove >/dev/null 2>&1
	command -v nft >/dev/null && nft delete table inet "cgpsetmem_$ID" 2>/dev/null
	[ -d "$CGR" ] && find "$CGR" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$CGR"
if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	exec > >(tee "$BENCH_OUT/setmem.md")
fi
for i in $(seq 100); do mkdir -p "$CGR/p$i"; done

members() {	# N: distinct /32s in 10.0.0.0/8
	python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255))' "$1"
}
members "$N" > "$TMP/members.txt"

policy() {	# USERS DYNAMIC
	{
		echo "[set big]"
		[ "$2" = yes ] && echo "dynamic = yes"
		sed 's/^/address = /' "$TMP/members.txt"
		for i in $(seq "$1"); do
			printf '[p%d]\ncgroup = /cgp-setmem-%d/p%d\ndeny = out tcp @big\n' "$i" "$ID" "$i"
		done
	} > "$TMP/p.ini"
	chmod 644 "$TMP/p.ini"
}

memlock() {	# bpftool JSON of one map -> bytes_memlock
	python3 -c 'import json, sys; print(json.load(sys.stdin).get("bytes_memlock", 0))'
}

report() {	# LABEL
	local gen half id rules dsets total
	gen=$(bpftool -j map dump pinned "$PIN/maps/state" | python3 -c '
import json, sys
v = json.load(sys.stdin)[0]["value"]
print(int.from_bytes(bytes(int(b, 16) for b in v[:8]), "little"))')
	half=$((gen & 1))
	id=$(bpftool -j map lookup pinned "$PIN/maps/rules" key $half 0 0 0 | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little"))')
	rules=$(bpftool -j map show id "$id" | memlock)
	dsets=$(bpftool -j map show pinned "$PIN/maps/dsets" | memlock)
	total=0
	for f in "$PIN"/maps/*; do
		total=$((total + $(bpftool -j map show pinned "$f" | memlock)))
	done
	total=$((total + rules))	# the live half's rule trie (not pinned itself)
	printf '| %s | %s | %s | %s |\n' "$1" "$((rules / 1024)) KiB" "$((dsets / 1024)) KiB" "$((total / 1024)) KiB"
}

echo "| $N-member set | live rule trie | dsets trie | all maps of the pin path + live rule trie |"
echo "|---|---|---|---|"
for dyn in no yes; do
	for users in 1 100; do
		policy "$users" "$dyn"
		"$CGP" --pin-path "$PIN" remove >/dev/null 2>&1
		if ! "$CGP" --pin-path "$PIN" apply "$TMP/p.ini" > "$TMP/apply.log" 2>&1; then
			echo "apply failed: $(tail -n 3 "$TMP/apply.log")" >&2
			exit 1
		fi
		report "$([ $dyn = yes ] && echo dynamic || echo static), used by $users"
	done
done

# set add rate: N addresses from stdin into an empty dynamic set
{
	printf '[set live]\ndynamic = yes\n[p1]\ncgroup = /cgp-setmem-%d/p1\ndeny = out tcp @live\n' "$ID"
} > "$TMP/p.ini"
"$CGP" --pin-path "$PIN" remove >/dev/null 2>&1
"$CGP" --pin-path "$PIN" apply "$TMP/p.ini" > /dev/null
t0=$(date +%s%N)
"$CGP" --pin-path "$PIN" set add live - < "$TMP/members.txt"
t1=$(date +%s%N)
echo
echo "set add live - of $N addresses: $(( (t1 - t0) / 1000000 )) ms, $(( N * 1000000000 / (t1 - t0) )) addresses/s"
t0=$(date +%s%N)
for i in $(seq 200); do "$CGP" --pin-path "$PIN" set add live "192.168.$((i / 256)).$((i % 256))" >/dev/null; done
t1=$(date +%s%N)
echo "200 single set add commands into the $N-member set: $(( (t1 - t0) / 200000 )) us each ($(( 200 * 1000000000 / (t1 - t0) ))/s)"

if command -v nft >/dev/null; then
	T="cgpsetmem_$ID"
	nft add table inet "$T" && nft add set inet "$T" live '{ type ipv4_addr; }' || exit 1
	{ printf 'add element inet %s live { ' "$T"; paste -sd, "$TMP/members.txt"; echo ' }'; } > "$TMP/nft.txt"
	t0=$(date +%s%N)
	nft -f "$TMP/nft.txt"
	t1=$(date +%s%N)
	echo "nft -f (one add element of the $N addresses): $(( (t1 - t0) / 1000000 )) ms, $(( N * 1000000000 / (t1 - t0) )) addresses/s"
	t0=$(date +%s%N)
	for i in $(seq 200); do nft add element inet "$T" live "{ 192.168.$((i / 256)).$((i % 256)) }"; done
	t1=$(date +%s%N)
	echo "200 single nft add element commands into the $N-member set: $(( (t1 - t0) / 200000 )) us each ($(( 200 * 1000000000 / (t1 - t0) ))/s)"
fi
