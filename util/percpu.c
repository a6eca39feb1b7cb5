// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* percpu.c - sums of per-CPU counter values (percpu.h). */
#include <string.h>

#include "util/percpu.h"

void cgp_percpu_sum_u64(void *sum, const void *percpu, size_t value_size, int ncpu)
{
	size_t words = value_size / sizeof(uint64_t);
	const unsigned char *p = percpu;

	for (int c = 0; c < ncpu; c++)
		for (size_t w = 0; w < words; w++) {
			uint64_t s, v;

			memcpy(&s, (unsigned char *)sum + w * 8, 8);
			memcpy(&v, p + (size_t)c * value_size + w * 8, 8);
			s += v;
			memcpy((unsigned char *)sum + w * 8, &s, 8);
		}
}
