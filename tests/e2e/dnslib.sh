# shellcheck shell=bash
# dnslib.sh - the world of the DNS-name tests (tests/e2e/dns.sh, bench/dns.sh):
# a private network namespace and mount namespace for the whole script, a
# real resolver (dnsmasq) and the project's own responder (helpers/dnsresp.py)
# on loopback addresses of that namespace, and a test /etc/resolv.conf,
# /etc/hosts and /etc/nsswitch.conf bind-mounted over the machine's, so every
# client resolves through the real libc path (getaddrinfo: nsswitch "files
# dns", resolv.conf, UDP or TCP to port 53) and nothing else on the machine
# sees or disturbs it: port 53, the 127.0.53.x resolvers and the fd00:53::
# addresses exist only in the namespace. The namespaces die with the script;
# its processes are killed by lib.sh's trap (PIDS).
#
# Source lib.sh first, then this, then call dns_enter (re-executes the script
# inside the namespaces; before e2e_init) and, after e2e_init, dns_world.
#
#   127.0.53.1    dnsmasq (UDP and TCP), the well-behaved resolver, trusted
#   127.0.53.2    dnsresp.py serving $TMPD/zone, trusted
#   127.0.53.3    dnsresp.py serving the same zone, NOT trusted (a forger)
#   127.0.53.4    trusted, nobody listens: the source of unsolicited answers
#   fd00:53::/64  local (AnyIP route): AAAA answers land on the servers too

DNS_RESOLVER=127.0.53.1
DNS_RESP=127.0.53.2
DNS_FORGER=127.0.53.3
DNS_SPOOF=127.0.53.4
# shellcheck disable=SC2034 # for the scripts that source this file
DNS_TRUSTED="$DNS_RESOLVER, $DNS_RESP, $DNS_SPOOF"

# dns_enter ARGS...: run the calling script again, whole, in a new network and
# mount namespace (same PID: unshare execs), unless it already is.
dns_enter() {
	[ -n "${CGP_DNS_INNER:-}" ] && return 0
	[ "$(id -u)" = 0 ] || skip_all "DNS tests need root"
	local t
	for t in dnsmasq unshare curl getent python3 socat; do
		command -v "$t" >/dev/null || skip_all "$t is missing (make deps: dnsmasq-base, curl)"
	done
	CGP_DNS_INNER=1 exec unshare --net --mount --propagation private -- bash "$0" "$@"
}

# dns_files: the test's resolv.conf, hosts and nsswitch.conf, mounted over
# the machine's for the whole namespace.
dns_files() {
	printf 'nameserver %s\noptions timeout:2 attempts:3\n' "$DNS_RESOLVER" > "$TMPD/resolv.conf"
	printf 'nameserver %s\noptions timeout:2 attempts:3 use-vc\n' "$DNS_RESOLVER" > "$TMPD/resolv-tcp.conf"
	printf 'nameserver %s\noptions timeout:2 attempts:3\n' "$DNS_RESP" > "$TMPD/resolv-resp.conf"
	printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_FORGER" > "$TMPD/resolv-forger.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' > "$TMPD/hosts"
	# "files dns" whatever the machine has (resolve, mdns, myhostname would
	# answer without a DNS packet through the cgroup)
	if [ -e /etc/nsswitch.conf ]; then
		grep -v '^hosts:' /etc/nsswitch.conf > "$TMPD/nsswitch.conf"
	fi
	echo 'hosts: files dns' >> "$TMPD/nsswitch.conf"
	chmod 644 "$TMPD"/resolv*.conf "$TMPD/hosts" "$TMPD/nsswitch.conf"
	# cgpolicy mounts bpffs itself where /sys/fs/bpf has none (the 6.1 VM), but
	# run in a nested mount namespace (DNS_RC) it would mount it there, and its
	# pins, links included, would go with that namespace: mount it once here
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || return 1
	mount --bind "$TMPD/resolv.conf" /etc/resolv.conf &&
		mount --bind "$TMPD/hosts" /etc/hosts &&
		mount --bind "$TMPD/nsswitch.conf" /etc/nsswitch.conf || return 1
	# nscd would answer from its cache, over a unix socket: hide it
	if [ -d /run/nscd ]; then mount -t tmpfs none /run/nscd || return 1; fi
	grep -q '^hosts: *files dns$' /etc/nsswitch.conf && ! grep -q '\.test' /etc/hosts
}

# DNS_RC=FILE before a client function (dnsc, curl_get, getent_get): that
# client resolves with FILE as its /etc/resolv.conf (a mount ns of its own).
rcw() {	# sets RCW: the command prefix for $DNS_RC (empty without)
	RCW=()
	[ -n "${DNS_RC:-}" ] || return 0
	RCW=(unshare --mount --propagation private --
		bash -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$DNS_RC")
}

# dns_net: loopback up, the resolver addresses, the IPv6 test prefix.
dns_net() {
	ip link set lo up || return 1
	local a
	for a in "$DNS_RESOLVER" "$DNS_RESP" "$DNS_FORGER" "$DNS_SPOOF"; do
		ip addr add "$a/32" dev lo || return 1
	done
	ip -6 addr add fd00:53::1/128 dev lo nodad &&
		ip -6 route add local fd00:53::/64 dev lo
}

# dnsmasq_start CONF_LINES_FILE: dnsmasq on $DNS_RESOLVER:53 (UDP and TCP) with
# the host-record/cname lines of the file; its log is $TMPD/dnsmasq.log (each
# query too, unless DNS_LOG_QUERIES=0: the benchmark).
dnsmasq_start() {
	{
		cat <<EOT
port=53
listen-address=$DNS_RESOLVER
bind-interfaces
no-resolv
no-hosts
user=root
group=root
pid-file=
log-facility=$TMPD/dnsmasq.log
$([ "${DNS_LOG_QUERIES:-1}" = 1 ] && echo log-queries)
local=/test/
local-ttl=300
cache-size=0
EOT
		cat "$1"
	} > "$TMPD/dnsmasq.conf"
	dnsmasq --keep-in-foreground --conf-file="$TMPD/dnsmasq.conf" >>"$TMPD/dnsmasq.out" 2>&1 &
	PIDS+=($!)
	wait_until "$WAIT_SERVER" 'ss -Hltn "sport = :53" | grep -qF "$DNS_RESOLVER:53"' && return 0
	echo "# dnsmasq did not start: $(tail -n 3 "$TMPD/dnsmasq.out")" >&2
	return 1
}

# dnsresp_start ADDR ZONE: the project's responder (UDP and TCP port 53).
dnsresp_start() {
	local log="$TMPD/dnsresp-$1.log"
	python3 "$E2E_HELPERS/dnsresp.py" serve "$1" "$2" >>"$log" 2>&1 &
	PIDS+=($!)
	echo $! > "$TMPD/dnsresp-$1.pid"	# SIGHUP: read the zone again
	wait_for "$WAIT_SERVER" grep -q listening "$log" && return 0
	echo "# dnsresp on $1 did not start: $(tail -n 3 "$log")" >&2
	return 1
}

# hello_start CG PORT: helpers/hello_server.py on [::]:PORT (every address of
# the namespace, IPv4 and IPv6) in cgroup CG.
hello_start() {
	bg_in_cg "$1" python3 "$E2E_HELPERS/hello_server.py" :: "$2"
	wait_for "$WAIT_SERVER" listening_in_cg tcp "$2" "$1" && return 0
	echo "# hello server of $1 on port $2 did not start: $(tail -n 3 "$TMPD/bg.log")" >&2
	return 1
}

# dns_world DNSMASQ_LINES ZONE: the namespace's network, files, resolvers.
dns_world() {
	dns_net || { echo "# dns_net failed" >&2; return 1; }
	dns_files || { echo "# dns_files failed" >&2; return 1; }
	dnsmasq_start "$1" && dnsresp_start "$DNS_RESP" "$2" && dnsresp_start "$DNS_FORGER" "$2"
}

# Clients in a cgroup, resolving through libc and connecting at once.
dnsc() {	# CG ARGS... : helpers/dnsclient.py in CG
	local cg=$1
	shift
	rcw
	in_cg "$cg" "${RCW[@]}" python3 "$E2E_HELPERS/dnsclient.py" "$@"
}
curl_get() {	# CG NAME PORT [CURL ARGS]: the body ("hello PORT") or ""
	local cg=$1 name=$2 port=$3
	shift 3
	rcw
	in_cg "$cg" "${RCW[@]}" curl -s --http0.9 --connect-timeout 5 -m 15 "$@" "http://$name:$port/" 2>/dev/null
}
getent_get() {	# CG NAME PORT: getent ahosts in CG, then socat to its first address
	local a
	rcw
	a=$(in_cg "$1" "${RCW[@]}" getent ahosts "$2" | awk 'NR == 1 { print $1 }')
	[ -n "$a" ] || return 1
	case "$a" in *:*) a="[$a]" ;; esac
	in_cg "$1" timeout 15 socat -T10 - "TCP:$a:$3,connect-timeout=3" </dev/null 2>/dev/null
}
