// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mapiter.c - map walks, per-CPU sums, the `info` map (mapiter.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/mapiter.h"
#include "util/percpu.h"

bool cgp_map_next(struct cgp_map_iter *it, void *key, size_t key_size)
{
	if (key_size > sizeof(it->prev)) {
		errno = EINVAL;
		return false;
	}
	if (bpf_map_get_next_key(it->fd, it->started ? it->prev : NULL, key))
		return false;
	memcpy(it->prev, key, key_size);
	it->started = true;
	return true;
}

int cgp_percpu_lookup_sum(int map_fd, const void *key, void *sum, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	void *pc;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	pc = calloc(ncpu, value_size);	/* value_size: a multiple of 8, no per-CPU padding */
	if (!pc)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, key, pc))
		err = -errno;
	else
		cgp_percpu_sum_u64(sum, pc, value_size, ncpu);
	free(pc);
	return err;
}

int cgp_percpu_zero(int map_fd, const void *key, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	void *z;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	z = calloc(ncpu, value_size);
	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(map_fd, key, z, BPF_ANY))
		err = -errno;
	free(z);
	return err;
}

unsigned cgp_info_read(const struct cgp_pins *p, struct cgp_info *out, unsigned max)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_INFO]);
	unsigned n = 0;
	__u32 slot;

	while (n < max && cgp_map_next(&it, &slot, sizeof(slot)))
		if (!bpf_map_lookup_elem(it.fd, &slot, &out[n]))
			n++;
	return n;
}
