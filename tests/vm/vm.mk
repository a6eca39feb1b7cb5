# tests/vm/vm.mk - included by the Makefile. docs/TESTING.md.
#
# make test-kernels [KERNELS="6.1 6.12"] [TESTS="enforce stats"] [VM_TIMEOUT=S]
#     builds what `make test` builds, then runs tests/run.sh inside a VM
#     (qemu TCG) on each of Debian's kernels named in KERNELS (a version
#     prefix: the newest generic amd64 image the archive offers, or a package
#     name / glob such as linux-image-6.12.*+deb12-amd64-unsigned).
#     TESTS empty: test_enforce and every e2e script.
# make test-kernels-ci
#     the CI's subset on Debian 12's own kernel 6.1 (VM_CI_TESTS, deadline
#     VM_CI_TIMEOUT).

KERNELS     ?= 6.1
TESTS       ?=
# deadline of each VM (boot + tests): the whole suite takes over an hour under
# TCG on a busy 2-core host; the CI subset about 15 minutes
VM_TIMEOUT  ?= 7200
VM_CI_TESTS ?= enforce stats accel reuseport sets icmp test_dns
VM_CI_TIMEOUT ?= 2700
VM_PKGS     := qemu-system-x86 busybox-static cpio kmod xz-utils zstd

.PHONY: test-kernels test-kernels-ci vm-deps

# Installs the VM's packages only when something is missing.
vm-deps:
	@for p in $(VM_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || { \
	    echo "missing package $$p: installing the VM's dependencies"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(VM_PKGS); break; }; \
	done

test-kernels: check-deps vm-deps
	$(MAKE) --no-print-directory all $(UNIT_TESTS) $(BPF_TESTS) $(SAN_TARGETS) $(BUILD)/tools/cgp-xfer
	tests/vm/run.sh --build $(BUILD) --timeout $(VM_TIMEOUT) $(foreach k,$(KERNELS),--kernel $(k)) $(TESTS)

test-kernels-ci:
	$(MAKE) --no-print-directory test-kernels KERNELS=6.1 TESTS="$(VM_CI_TESTS)" VM_TIMEOUT=$(VM_CI_TIMEOUT)
