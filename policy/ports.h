/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGP_PORTS_H
#define CGP_PORTS_H

#include <stddef.h>
#include "policy/policy.h"

struct cgp_portlpm_entry {
	struct cgp_portlpm_key key;
	struct cgp_portlpm_val val;
};

/*
 * Turn a port map into LPM entries: every interval [lo, hi] that has a class
 * is split into aligned power-of-two blocks (at most 32 per interval); an
 * interval without a class gets none (the kernel's lookup misses). Appends to
 * *out (realloc'd), updating *n and *cap. 0 or -ENOMEM.
 */
int cgp_port_blocks(const struct cgp_portmap_entry *pm, struct cgp_portlpm_entry **out,
		    size_t *n, size_t *cap);

#endif
