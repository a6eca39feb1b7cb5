/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * percpu.h - summing the per-CPU copies of a counter value. Every per-CPU
 * counter value of cgpolicy (struct cgp_counters, struct cgp_redir_cnt) is
 * an array of 64-bit counters, so one sum serves all. Pure C: the lookup
 * that fills the per-CPU array is agent/mapiter.h's.
 */
#ifndef CGP_UTIL_PERCPU_H
#define CGP_UTIL_PERCPU_H

#include <stddef.h>
#include <stdint.h>

/* Adds ncpu consecutive copies (value_size bytes each, a multiple of 8, so
 * the kernel's per-CPU stride is value_size) of percpu to sum, word by word. */
void cgp_percpu_sum_u64(void *sum, const void *percpu, size_t value_size, int ncpu);

#endif
