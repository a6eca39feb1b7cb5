# cgpolicy - per-cgroup network policy with eBPF.
# make            build build/cgpolicy (and its BPF objects)
# make deps       install the Debian packages needed to build and test
# make test       unit, BPF and end-to-end tests (installs deps if missing)
# make test-kernels      the tests on Debian 12's 6.1 in a qemu VM (tests/vm/, docs/TESTING.md)
# make test-kernels-ci   its CI subset (enforce stats accel reuseport sets icmp on 6.1)
# make bench      benchmarks (bench/), results under bench/results/
# make install    install to $(DESTDIR)$(PREFIX); make uninstall
# make deb        Debian package; make image: OCI image (packaging/pkg.mk)
# make fuzz       a longer libFuzzer run of policy/
# V=1 shows full commands.

PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE -MMD -MP \
             -DCGP_VERSION='"$(VERSION)"' -I$(BUILD) -I.
LDLIBS    += -lbpf -lelf -lz -linih -lcap -lresolv
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror -MMD -MP -I$(BUILD) -I.

DEB_PKGS  := make gcc clang llvm libbpf-dev libelf-dev libcap-dev libinih-dev zlib1g-dev \
             bpftool pkg-config iproute2 curl socat python3 iperf3 procps util-linux \
             libclang-rt-dev valgrind dnsmasq-base
# end-to-end tests with real container runtimes (tests/e2e/runtimes*.sh)
DEB_PKGS  += runc podman docker.io busybox-static
# `make bench` only (installed by it when missing): the firewalls it compares with, timing
BENCH_PKGS := nftables iptables hyperfine linux-perf

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_PROGS   := enforce sockstat reuseport
BPF_OBJS    := $(patsubst %,$(BUILD)/%.bpf.o,$(BPF_PROGS))
SKELS       := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))

POLICY_SRCS := $(wildcard policy/*.c)
UTIL_SRCS   := $(wildcard util/*.c)
AGENT_SRCS  := $(wildcard agent/*.c)
POLICY_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(POLICY_SRCS))
UTIL_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(UTIL_SRCS))
AGENT_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(AGENT_SRCS))

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*.c))
BPF_TESTS   := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/*.c))

.PHONY: all deps test bench install clean check-deps example example-remove fuzz
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/cgpolicy

$(BUILD) $(BUILD)/policy $(BUILD)/util $(BUILD)/agent $(BUILD)/tests:
	$(Q)mkdir -p $@

# vmlinux.h from the running kernel's BTF; a failed dump leaves no file behind.
$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# -MT: the dependencies are the stripped object's (clang would name $@.full).
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(BUILD)/$*.bpf.d -MT $@ -c $< -o $@.full
	$(Q)$(LLVM_STRIP) -g $@.full -o $@ && rm -f $@.full

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cgp_$* > $@.tmp && mv $@.tmp $@

$(BUILD)/policy/%.o: policy/%.c | $(BUILD)/policy
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# util/: pure-C helpers of the agent (JSON strings, addresses, per-CPU sums), unit-tested without libbpf.
$(BUILD)/util/%.o: util/%.c | $(BUILD)/util
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/agent/%.o: agent/%.c $(SKELS) | $(BUILD)/agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/cgpolicy: $(AGENT_OBJS) $(POLICY_OBJS) $(UTIL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(POLICY_OBJS) $(UTIL_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c %.o,$^) -o $@ $(LDFLAGS) $(LDLIBS)

AGENT_LIB_OBJS := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJS))

$(BUILD)/tests/%: tests/bpf/%.c $(AGENT_LIB_OBJS) $(POLICY_OBJS) $(UTIL_OBJS) $(SKELS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c %.o,$^) -o $@ $(LDFLAGS) $(LDLIBS)

# Install build and test dependencies from Debian's archive (as root).
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS)

# Installs deps only when something is missing, so `make test` works on a fresh machine.
check-deps:
	@for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || { \
	    echo "missing package $$p: installing dependencies"; $(MAKE) --no-print-directory deps; break; }; \
	done

# The main job on the shipped example: create its cgroups, apply, show.
EXAMPLE ?= examples/policy.ini
example: check-deps
	$(MAKE) --no-print-directory all
	@mnt=$$(awk '{for (i = 1; i <= NF; i++) if ($$i == "-") { if ($$(i+1) == "cgroup2") print $$5; break }}' /proc/self/mountinfo | head -n 1); \
	for cg in $$(sed -n 's/^[[:space:]]*cgroup[[:space:]]*=[[:space:]]*\([^[:space:];]*\).*/\1/p' $(EXAMPLE)); do \
	  [ -d "$$mnt$$cg" ] || { echo "creating cgroup $$mnt$$cg"; mkdir -p "$$mnt$$cg"; }; done
	$(BUILD)/cgpolicy apply $(EXAMPLE)
	$(BUILD)/cgpolicy status

# Undo `make example`: detach, unpin, remove the example cgroups (if empty).
example-remove: all
	$(BUILD)/cgpolicy remove
	@mnt=$$(awk '{for (i = 1; i <= NF; i++) if ($$i == "-") { if ($$(i+1) == "cgroup2") print $$5; break }}' /proc/self/mountinfo | head -n 1); \
	for cg in $$(sed -n 's/^[[:space:]]*cgroup[[:space:]]*=[[:space:]]*\([^[:space:];]*\).*/\1/p' $(EXAMPLE)); do \
	  rmdir "$$mnt$$cg" 2>/dev/null; rmdir "$$(dirname "$$mnt$$cg")" 2>/dev/null; done; true

test: check-deps
	$(MAKE) --no-print-directory all $(UNIT_TESTS) $(BPF_TESTS) $(SAN_TARGETS) $(BUILD)/tools/cgp-xfer
	tests/run.sh $(BUILD)

# ---- hostile input (issue 7): unit tests under ASan+UBSan, libFuzzer harness ----
# `make test` builds both and tests/run.sh runs them (with a short fuzz run);
# `make fuzz` fuzzes for FUZZ_SECONDS. docs/SECURITY.md.
SAN_CC       ?= clang
SAN_CFLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -I.
FUZZ_SECONDS ?= 300
SAN_DEPS     := $(POLICY_SRCS) $(wildcard policy/*.h) $(UTIL_SRCS) $(wildcard util/*.h) $(filter-out %.bpf.h,$(wildcard bpf/*.h))
ASAN_TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/asan/%_asan,$(wildcard tests/unit/*.c))
SAN_TARGETS  := $(ASAN_TESTS) $(BUILD)/fuzz/fuzz_policy

$(BUILD)/asan $(BUILD)/fuzz:
	$(Q)mkdir -p $@

$(BUILD)/asan/%_asan: tests/unit/%.c $(SAN_DEPS) | $(BUILD)/asan
	$(call msg,CC-ASAN,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $< $(POLICY_SRCS) $(UTIL_SRCS) -o $@ -linih

$(BUILD)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(SAN_DEPS) | $(BUILD)/fuzz
	$(call msg,CC-FUZZ,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -fsanitize=fuzzer $< $(POLICY_SRCS) -o $@ -linih

fuzz: $(BUILD)/fuzz/fuzz_policy
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/fuzz.sh $(BUILD)

# Benchmarks (not run by CI): a full run takes ~35 minutes, BENCH_QUICK=1 ~10 minutes.
bench: all $(BUILD)/tools/cgp-rr $(BUILD)/tools/cgp-xfer
	@for p in $(BENCH_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || { \
	    echo "missing package $$p: installing benchmark dependencies"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_PKGS); break; }; \
	done
	bench/run.sh $(BUILD)

$(BUILD)/tools:
	$(Q)mkdir -p $@

$(BUILD)/tools/%: tools/%.c | $(BUILD)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lpthread

# install, uninstall, deb, image, --version with the git commit: packaging/README.md
-include packaging/pkg.mk

clean:
	rm -rf $(BUILD)

# `make test-kernels`: the e2e suite in a VM on other kernels (tests/vm/).
-include tests/vm/vm.mk

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/tests/*.d)
