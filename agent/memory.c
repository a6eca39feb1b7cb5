// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * memory.c - kernel memory of the pinned maps for `status --json`.
 *
 * The figure is the kernel's own: `memlock` in /proc/self/fdinfo/<fd> of
 * each map, what bpftool map show prints as "memlock" (on 6.4+ the map's
 * map_mem_usage(): the entries in use of a trie or a hash without
 * preallocation; before, an estimate from max_entries). The outer arrays
 * rules/ports/pols hold two inner maps each, the live generation's and the
 * inactive one (the previous generation, which the next apply overwrites):
 * both are counted, by id. The steering state (PIN/reuseport/) is not.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/memory.h"
#include "util/json.h"

#define MAP_NAME_(id, name, ...) name,
static const char *const map_names[CGP_MAP_N] = { CGP_ENFORCE_MAPS(MAP_NAME_) };

unsigned long long cgp_map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* memlock of the inner map in slot `set` of an outer array (0: none or unknown). */
static unsigned long long inner_memlock(int outer_fd, __u32 set)
{
	unsigned long long v;
	__u32 id;
	int fd;

	if (outer_fd < 0 || bpf_map_lookup_elem(outer_fd, &set, &id))
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	v = cgp_map_memlock(fd);
	close(fd);
	return v;
}

static void field(FILE *f, bool *first, const char *name, const char *sfx, unsigned long long v)
{
	char key[64];

	snprintf(key, sizeof(key), "%s%s", name, sfx);
	fprintf(f, "%s", *first ? "" : ", ");
	cgp_json_str(f, key);
	fprintf(f, ": %llu", v);
	*first = false;
}

void cgp_memory_json(const struct cgp_pins *p, unsigned long long gen, FILE *f)
{
	unsigned long long total = 0, inactive = 0;
	bool first = true;

	fprintf(f, "{\"maps\": {");
	for (unsigned i = 0; i < CGP_MAP_N; i++) {
		unsigned long long v = cgp_map_memlock(p->map_fd[i]);

		field(f, &first, map_names[i], "", v);
		total += v;
		if (i == CGP_MAP_RULES || i == CGP_MAP_PORTS || i == CGP_MAP_POLS) {
			unsigned long long l = inner_memlock(p->map_fd[i], (__u32)(gen & 1));
			unsigned long long o = inner_memlock(p->map_fd[i], (__u32)((gen + 1) & 1));

			field(f, &first, map_names[i], ".live", l);
			field(f, &first, map_names[i], ".inactive", o);
			total += l + o;
			inactive += o;
		}
	}
	fprintf(f, "}, \"total_bytes\": %llu, \"live_bytes\": %llu}", total, total - inactive);
}
