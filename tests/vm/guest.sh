#!/bin/bash
# tests/vm/guest.sh - PID 1 of the test VM (after tests/vm/init's switch_root).
#
# The host (tests/vm/run.sh) put into the result share /run/cgpvm:
#   repo   the checkout's path     build  the BUILD directory (as given)
#   tests  test names, one a line (tests/run.sh's NAME arguments)
#   exec   (optional) a shell command to run instead of tests/run.sh
# This writes back: booted (uptime when it started), kernel (uname -r),
# output (tests/run.sh's output, as it goes), times ("NAME RESULT SECONDS"
# per test), rc (tests/run.sh's exit status), dmesg; then powers off.
# Its own messages go to the serial console, prefixed with "cgpvm:".

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
R=/run/cgpvm

read -r up _ < /proc/uptime
echo "$up" > "$R/booted"
uname -r > "$R/kernel"
echo "cgpvm: up after ${up}s, kernel $(uname -r)"

poweroff_now() {
	sync
	busybox poweroff -f 2>/dev/null
	echo o > /proc/sysrq-trigger
	sleep 60
}

hostname cgpvm 2>/dev/null || echo cgpvm > /proc/sys/kernel/hostname
ip link set lo up || echo "cgpvm: warning: could not bring lo up"
# modules of the guest kernel come from the cgpmods share (veth, sch_*, ...)
echo /sbin/modprobe > /proc/sys/kernel/modprobe 2>/dev/null

repo=$(cat "$R/repo")
build=$(cat "$R/build")
mapfile -t names < "$R/tests"

cd "$repo" || { echo "cgpvm: FATAL: checkout $repo not visible in the guest"; echo 2 > "$R/rc"; poweroff_now; }

# Run the suite; stamp each test's duration from its "=== NAME" header to its
# "[NAME] PASS|FAIL|SKIPPED" line.
: > "$R/times"
(
	echo "# vm: guest kernel $(uname -r), up after ${up}s, $(nproc) CPUs, cgroup2 at /sys/fs/cgroup"
	if [ -f "$R/exec" ]; then
		BUILD=$build CGP=$build/cgpolicy bash -c "$(cat "$R/exec")" 2>&1
	else
		tests/run.sh "$build" "${names[@]}" 2>&1
	fi
	echo "$?" > "$R/rc.tmp"
) | while IFS= read -r line; do
	printf '%s\n' "$line"
	case $line in
	"=== "*) start=$EPOCHREALTIME ;;
	"["*"] PASS"* | "["*"] FAIL"* | "["*"] SKIPPED"*)
		name=${line#\[}; name=${name%%\]*}
		res=${line#*\] }; res=${res%% *}
		now=$EPOCHREALTIME
		us=$(( ${now/./} - ${start/./} ))
		printf '%s %s %d.%d\n' "$name" "$res" $((us / 1000000)) $((us % 1000000 / 100000)) >> "$R/times"
		;;
	esac
done > "$R/output"

dmesg > "$R/dmesg" 2>/dev/null
mv "$R/rc.tmp" "$R/rc" 2>/dev/null || echo 2 > "$R/rc"
echo "cgpvm: tests done (exit $(cat "$R/rc")), powering off"
poweroff_now
