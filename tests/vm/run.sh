#!/usr/bin/env bash
# tests/vm/run.sh - run cgpolicy's tests inside a VM on another kernel.
#
# usage: tests/vm/run.sh [--kernel PKG|VERSION]... [--build DIR] [--timeout S]
#                        [--mem SIZE] [--cpus N] [TEST NAME...]
#        tests/vm/run.sh [--kernel ...] --exec 'SHELL COMMAND'
#
# For each --kernel (default 6.1): fetches Debian's linux-image package with
# `apt-get download` into a cache (CGP_VM_CACHE, default /var/cache/cgpolicy-vm;
# nothing is installed into /boot), builds a busybox initramfs, boots the
# kernel under qemu-system-x86_64 -accel tcg with the host's root filesystem
# as a read-only 9p share under a tmpfs overlay, and runs
# `tests/run.sh BUILD NAME...` in this checkout inside the guest. The guest's
# output is printed as it goes; the run closes with the guest's summary line
# (summed over the kernels): "N passed, N failed, N skipped".
#
# --kernel VERSION  newest linux-image-VERSION[.-]*-amd64 the archive offers
#                   (generic flavour: cloud lacks 9p; rt is skipped), e.g. 6.1,
#                   6.12, 6.1.0-57-amd64; or a package name (shell glob allowed):
#                   linux-image-6.12.*+deb12-amd64-unsigned
# --build DIR       the build directory (default $BUILD or build), relative to
#                   the checkout or absolute; it must hold cgpolicy and the tests
# --timeout S       deadline for each VM, boot included (default 3600)
# --exec CMD        run CMD (bash -c, in the checkout, BUILD and CGP set)
#                   instead of tests/run.sh: a shell on the guest kernel for
#                   debugging; counts as 1 passed or 1 failed by its exit status
# TEST NAME...      passed to tests/run.sh (substrings of test paths); none:
#                   test_enforce and every e2e script (the kernel-dependent ones)
#
# Exit: 0 all passed; 1 a test failed in the guest; 2 setup error (kernel not
# found, missing dependency); 3 the VM did not boot, panicked or stopped before
# the tests ended; 4 the VM hit the deadline. The highest over the kernels.
# Logs of each kernel (console, output, dmesg, times) stay in BUILD/vm/KERNEL/.
# Needs root, qemu-system-x86, busybox-static, cpio, kmod (installed with
# apt-get when missing). docs/TESTING.md has the details.
set -u
set -o pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
VMDIR=$REPO/tests/vm
BUILD=${BUILD:-build}
CACHE=${CGP_VM_CACHE:-/var/cache/cgpolicy-vm}
TIMEOUT=3600
MEM=2G
CPUS=2
KERNELS=()
NAMES=()
EXEC=""

usage() {
	sed -n '3,4p' "$0" | sed 's/^# \{0,1\}//'
	echo "see the header of $0 or docs/TESTING.md"
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; KERNELS+=("$2"); shift 2 ;;
	--kernel=*) KERNELS+=("${1#*=}"); shift ;;
	--build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
	--build=*) BUILD=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--mem) [ $# -ge 2 ] || usage; MEM=$2; shift 2 ;;
	--cpus) [ $# -ge 2 ] || usage; CPUS=$2; shift 2 ;;
	--exec) [ $# -ge 2 ] || usage; EXEC=$2; shift 2 ;;
	-h | --help) usage ;;
	--) shift; NAMES+=("$@"); break ;;
	-*) echo "vm: unknown option $1" >&2; usage ;;
	*) NAMES+=("$1"); shift ;;
	esac
done
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1)
[ ${#NAMES[@]} -gt 0 ] || NAMES=(test_enforce e2e/)
case $TIMEOUT in '' | *[!0-9]*) echo "vm: --timeout wants seconds, not '$TIMEOUT'" >&2; exit 2 ;; esac

die() {	# setup errors: exit 2
	echo "vm: ERROR: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 2
}

[ "$(id -u)" = 0 ] || die "run as root (apt-get, 9p export of /, the tests themselves)"

case $BUILD in
/*) ABS_BUILD=$BUILD ;;
*) ABS_BUILD=$REPO/$BUILD ;;
esac
[ -x "$ABS_BUILD/cgpolicy" ] ||
	die "$ABS_BUILD/cgpolicy is not built: run 'make BUILD=$BUILD test-kernels' (or make all and the test binaries first)"
ABS_BUILD=$(cd "$ABS_BUILD" && pwd -P)

# ---- dependencies -------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
# the initramfs needs a static busybox (package busybox-static)
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need_pkgs+=(busybox-static); fi
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v depmod >/dev/null || need_pkgs+=(kmod)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v zstd >/dev/null || need_pkgs+=(zstd)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "vm: installing ${need_pkgs[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; } >&2 ||
		die "could not install ${need_pkgs[*]} (apt-get install ${need_pkgs[*]})"
fi

# ---- cleanup: every run leaves nothing behind ---------------------------
RUN=""
QPID=""
TPID=""
cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null	# timeout(1) passes it on to qemu
		for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$QPID" 2>/dev/null
	fi
	# qemu itself (its -pidfile), should it have outlived timeout(1)
	if [ -n "$RUN" ] && [ -s "$RUN/qemu.pid" ]; then
		local q
		q=$(cat "$RUN/qemu.pid")
		[ "$(cat "/proc/$q/comm" 2>/dev/null)" = qemu-system-x86 ] && kill -KILL "$q" 2>/dev/null
	fi
	if [ -n "$RUN" ]; then
		save_logs
		rm -rf "$RUN"
	fi
	RUN="" QPID="" TPID=""
}
# the last run's logs per kernel stay in BUILD/vm/KERNEL/ (also when interrupted)
save_logs() {
	local x
	[ -n "${KVER:-}" ] && [ -d "$RUN" ] || return 0
	mkdir -p "$ABS_BUILD/vm/$KVER" || return 0
	for x in console.log qemu.log out/output out/times out/dmesg; do
		rm -f "$ABS_BUILD/vm/$KVER/${x#out/}"
		[ -f "$RUN/$x" ] && cp "$RUN/$x" "$ABS_BUILD/vm/$KVER/"
	done
}
trap cleanup EXIT
trap 'echo "vm: interrupted" >&2; exit 130' INT
trap 'echo "vm: terminated" >&2; exit 143' TERM

# ---- kernel package -----------------------------------------------------
# resolve_pkg ARG: prints the package name to use
resolve_pkg() {
	local a=$1 names n re
	names=$(apt-cache pkgnames linux-image- 2>/dev/null)
	if [ -z "$names" ]; then
		apt-get update -qq >&2 || true
		names=$(apt-cache pkgnames linux-image- 2>/dev/null)
	fi
	case $a in
	linux-image-*)
		for n in $names; do
			# shellcheck disable=SC2053 # $a is a glob on purpose
			[[ $n == $a ]] && echo "$n"
		done ;;
	*)
		if grep -qxF "linux-image-$a" <<<"$names"; then
			echo "linux-image-$a"
			return
		fi
		re="^linux-image-${a//./\\.}[.-].*-amd64(-unsigned)?\$"
		grep -E "$re" <<<"$names" | grep -Ev -- '-(cloud|rt)-amd64'
		;;
	esac | awk '{ k = $0; sub(/-unsigned$/, "", k); print k "\t" $0 }' |
		sort -t "$(printf '\t')" -k1,1Vr -k2,2 | cut -f2 |
		while read -r n; do
			# the newest that apt can actually fetch
			v=$(apt-cache policy "$n" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
			if [ -n "$v" ] && [ "$v" != "(none)" ]; then echo "$n"; break; fi
		done
}

# fetch_kernel PKG: unpacks PKG into the cache once; sets KDIR, KVER, KPKGVER
fetch_kernel() {
	local pkg=$1 tmp deb vmlinuz mods
	KPKGVER=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2; exit }')
	KDIR=$CACHE/${pkg}_${KPKGVER}
	mkdir -p "$CACHE" || return 1
	(
		flock 9
		[ -f "$KDIR/kver" ] && exit 0
		tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX") || exit 1
		trap 'rm -rf "$tmp"' EXIT
		echo "vm: fetching $pkg $KPKGVER into $CACHE" >&2
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$KPKGVER") >&2 || exit 1
		deb=$(ls "$tmp"/*.deb) && dpkg-deb -x "$deb" "$tmp/x" || exit 1
		vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
		[ -n "$vmlinuz" ] || { echo "vm: no /boot/vmlinuz-* in $pkg" >&2; exit 1; }
		kver=${vmlinuz##*/vmlinuz-}
		mods=$tmp/x/lib/modules/$kver
		[ -d "$mods" ] || mods=$tmp/x/usr/lib/modules/$kver
		[ -d "$mods" ] || { echo "vm: no modules for $kver in $pkg" >&2; exit 1; }
		mkdir -p "$tmp/k/lib/modules"
		mv "$vmlinuz" "$tmp/k/vmlinuz" && mv "$mods" "$tmp/k/lib/modules/$kver" || exit 1
		cp "$tmp/x/boot/config-$kver" "$tmp/k/config" 2>/dev/null
		# busybox insmod and every modprobe can read plain .ko files
		find "$tmp/k/lib/modules" -name '*.ko.xz' -exec xz -d {} + || exit 1
		find "$tmp/k/lib/modules" -name '*.ko.zst' -exec zstd -q -d --rm {} + || exit 1
		depmod -b "$tmp/k" "$kver" || exit 1
		echo "$kver" > "$tmp/k/kver"
		rm -rf "$KDIR"
		mv "$tmp/k" "$KDIR"
	) 9>"$CACHE/.lock" || return 1
	KVER=$(cat "$KDIR/kver")
}

# build_initrd DIR: the busybox initramfs with the 9p/overlay modules
build_initrd() {
	local st=$1/initramfs m ko
	mkdir -p "$st/bin" "$st/dev" "$st/proc" "$st/sys" "$st/lib/modules"
	cp /bin/busybox "$st/bin/busybox" || return 1
	cp "$VMDIR/init" "$st/init" && chmod 755 "$st/init" || return 1
	mknod -m 600 "$st/dev/console" c 5 1 || return 1
	: > "$st/modules.list"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" || {
			echo "vm: module $m not found for $KVER" >&2; return 1; }
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
		cp "$ko" "$st/lib/modules/" || exit 1
		echo "/lib/modules/${ko##*/}" >> "$st/modules.list"
	done || return 1
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$1/initrd.gz"
}

# partial_counts FILE: "P F" from the [NAME] PASS/FAIL lines so far
partial_counts() {
	awk '/^\[[^]]*\] PASS \([0-9]+[,)]/ { match($0, /\(([0-9]+)[,)]/); p += substr($0, RSTART + 1, RLENGTH - 2) }
	     /^\[[^]]*\] FAIL \([0-9]+ passed, [0-9]+ failed/ { s = $0; sub(/.*FAIL \(/, "", s); split(s, a, /[ ,]+/); p += a[1]; f += (a[3] > 0 ? a[3] : 1) }
	     /^\[[^]]*\] FAIL \(exit/ { f++ }
	     END { print p + 0, f + 0 }' "$1" 2>/dev/null || echo "0 0"
}

TOTAL_P=0 TOTAL_F=0 TOTAL_S=0 WORST=0 RECAP=()

run_kernel() {	# ARG
	local arg=$1 pkg t0 t1 qrc boot="?" rc line p f s res code=0 kname
	pkg=$(resolve_pkg "$arg")
	if [ -z "$pkg" ]; then
		echo "vm: ERROR: no linux-image package for '$arg' in the archive (apt-cache search linux-image-$arg)"
		RECAP+=("$arg: SETUP ERROR (no package)"); TOTAL_F=$((TOTAL_F + 1)); return 2
	fi
	if ! fetch_kernel "$pkg"; then
		echo "vm: ERROR: could not fetch/unpack $pkg"
		RECAP+=("$arg: SETUP ERROR (fetch $pkg)"); TOTAL_F=$((TOTAL_F + 1)); return 2
	fi
	RUN=$(mktemp -d /tmp/cgpolicy-vm.XXXXXX)
	mkdir -p "$RUN/out"
	if ! build_initrd "$RUN"; then
		echo "vm: ERROR: could not build the initramfs for $KVER"
		RECAP+=("$KVER: SETUP ERROR (initramfs)"); TOTAL_F=$((TOTAL_F + 1)); cleanup; return 2
	fi
	cp "$VMDIR/guest.sh" "$RUN/out/guest.sh"
	echo "$REPO" > "$RUN/out/repo"
	echo "$BUILD" > "$RUN/out/build"
	printf '%s\n' "${NAMES[@]}" > "$RUN/out/tests"
	[ -n "$EXEC" ] && printf '%s\n' "$EXEC" > "$RUN/out/exec"
	# shellcheck disable=SC2054 # commas belong to qemu's option values
	local shares=(-fsdev "local,id=p0,path=$REPO,security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=p0,mount_tag=cgpp0)
	echo "cgpp0 $REPO" > "$RUN/out/shares"
	# the guest copies the checkout: without the other build directories
	local keep="" e
	case $ABS_BUILD/ in "$REPO"/*/) keep=${ABS_BUILD#"$REPO"/}; keep=${keep%%/*} ;; esac
	for e in "$REPO"/build "$REPO"/build-*; do
		[ -e "$e" ] && [ "${e##*/}" != "$keep" ] && echo "${e##*/}"
	done > "$RUN/out/skip.cgpp0"
	case $ABS_BUILD/ in
	"$REPO"/*) ;;
	*)	# shellcheck disable=SC2054
		shares+=(-fsdev "local,id=p1,path=$ABS_BUILD,security_model=none,readonly=on,multidevs=remap"
			-device virtio-9p-pci,fsdev=p1,mount_tag=cgpp1)
		echo "cgpp1 $ABS_BUILD" >> "$RUN/out/shares" ;;
	esac

	local what="tests/run.sh $BUILD ${NAMES[*]}"
	[ -n "$EXEC" ] && what="--exec $EXEC"
	echo "=== vm: $pkg $KPKGVER ($KVER) under qemu TCG, $CPUS vCPUs, $MEM, deadline ${TIMEOUT}s: $what"
	t0=$EPOCHREALTIME
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m "$MEM" -smp "$CPUS" \
		-nodefaults -display none -no-reboot -pidfile "$RUN/qemu.pid" \
		-chardev "file,id=con,path=$RUN/console.log" -serial chardev:con \
		-kernel "$KDIR/vmlinuz" -initrd "$RUN/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet rdinit=/init" \
		-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
		-fsdev "local,id=mods,path=$KDIR/lib/modules,security_model=none,readonly=on" \
		-device virtio-9p-pci,fsdev=mods,mount_tag=cgpmods \
		-fsdev "local,id=out,path=$RUN/out,security_model=none" \
		-device virtio-9p-pci,fsdev=out,mount_tag=cgpout \
		"${shares[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
	QPID=$!
	tail -n +1 -F --pid="$QPID" "$RUN/out/output" 2>/dev/null &
	TPID=$!
	wait "$QPID"
	qrc=$?
	t1=$EPOCHREALTIME
	QPID=""
	wait "$TPID" 2>/dev/null
	TPID=""

	# boot: from qemu's start to guest.sh's first write (wall clock, host)
	if [ -f "$RUN/out/booted" ]; then
		boot=$(awk -v t0="$t0" -v m="$(stat -c %.3Y "$RUN/out/booted")" 'BEGIN { printf "%.1f", m - t0 }')
		boot="${boot}s (guest uptime $(cat "$RUN/out/booted")s)"
	fi
	local total
	total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
	kname=$(cat "$RUN/out/kernel" 2>/dev/null || echo "$KVER")

	local panic
	panic=$(grep -m1 -a 'Kernel panic' "$RUN/console.log" 2>/dev/null)
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		code=4
		res="TIMEOUT after ${TIMEOUT}s"
		echo "vm: FAIL: the VM on $KVER hit the deadline of ${TIMEOUT}s (--timeout)"
		line=$(grep -a '^=== ' "$RUN/out/output" 2>/dev/null | tail -n 1)
		[ -n "$line" ] && echo "vm: the test running then: ${line#=== }"
	elif [ ! -f "$RUN/out/booted" ]; then
		code=3
		if [ -n "$panic" ]; then
			res="KERNEL PANIC at boot"
			echo "vm: FAIL: the guest kernel $KVER panicked before the tests started: $panic"
		else
			res="DID NOT BOOT"
			echo "vm: FAIL: the VM on $KVER did not boot (qemu exit $qrc)"
		fi
	elif [ ! -f "$RUN/out/rc" ]; then
		code=3
		if [ -n "$panic" ]; then
			res="KERNEL PANIC"
			echo "vm: FAIL: the guest kernel $KVER panicked during the tests: $panic"
		else
			res="VM STOPPED"
			echo "vm: FAIL: the VM on $KVER stopped before the tests ended (qemu exit $qrc)"
		fi
	fi
	if [ $code = 3 ] && [ -f "$RUN/out/booted" ]; then
		line=$(grep -a '^=== ' "$RUN/out/output" 2>/dev/null | tail -n 1)
		[ -n "$line" ] && echo "vm: the test running then: ${line#=== }"
	fi
	if [ $code != 0 ]; then
		echo "vm: last lines of the serial console ($RUN/console.log):"
		tail -n 40 "$RUN/console.log" 2>/dev/null | sed 's/^/vm| /'
		[ -s "$RUN/qemu.log" ] && { echo "vm: qemu said:"; sed 's/^/vm| /' "$RUN/qemu.log"; }
		read -r p f <<<"$(partial_counts "$RUN/out/output")"
		s=0
		f=$((f + 1))
	elif [ -n "$EXEC" ]; then
		rc=$(cat "$RUN/out/rc")
		s=0
		if [ "$rc" = 0 ]; then p=1 f=0 res="PASS (--exec exit 0)"; else p=0 f=1 res="FAIL (--exec exit $rc)" code=1; fi
	else
		rc=$(cat "$RUN/out/rc")
		line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$RUN/out/output" | tail -n 1)
		if [ -z "$line" ]; then
			read -r p f <<<"$(partial_counts "$RUN/out/output")"
			s=0 f=$((f + 1))
			res="FAIL (no summary line from tests/run.sh, exit $rc)"
			code=1
		else
			p=${line%% passed*}
			f=${line#*passed, }; f=${f%% failed*}
			s=0
			case $line in *skipped*) s=${line#*failed, }; s=${s%% skipped*} ;; esac
			if [ "$rc" = 0 ] && [ "$f" = 0 ]; then
				res="PASS"
			else
				res="FAIL"
				[ "$f" = 0 ] && f=1	# non-zero exit without a failure counted
				code=1
			fi
		fi
	fi
	TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f)) TOTAL_S=$((TOTAL_S + s))

	# kernel warnings are reported, not counted
	if [ -f "$RUN/out/dmesg" ] && grep -aqE 'BUG:|Oops|WARNING:|Call Trace' "$RUN/out/dmesg"; then
		echo "vm: the guest kernel logged warnings (BUG/Oops/WARNING), see $ABS_BUILD/vm/$KVER/dmesg:"
		grep -aE 'BUG:|Oops|WARNING:' "$RUN/out/dmesg" | head -n 10 | sed 's/^/vm| /'
	fi

	echo "vm: $kname: $res; boot $boot, total ${total}s (qemu TCG); logs in $ABS_BUILD/vm/$KVER/"
	if [ -s "$RUN/out/times" ]; then
		echo "vm: per test (seconds, in the guest):"
		awk '{ printf "vm|   %-24s %-8s %7.1f\n", $1, $2, $3 }' "$RUN/out/times"
	fi
	echo "vm: $kname: $p passed, $f failed, $s skipped"
	RECAP+=("$kname: $res ($p passed, $f failed, $s skipped; boot $boot, total ${total}s)")
	cleanup
	return $code
}

for k in "${KERNELS[@]}"; do
	run_kernel "$k"
	c=$?
	[ $c -gt $WORST ] && WORST=$c
done

if [ ${#KERNELS[@]} -gt 1 ]; then
	echo "vm: all kernels:"
	printf 'vm|   %s\n' "${RECAP[@]}"
fi
echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
exit $WORST
