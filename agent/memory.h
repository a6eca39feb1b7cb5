/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * memory.h - the kernel memory of a pinned enforcement state, as the kernel
 * accounts it (`memlock` of each map's fdinfo): `status --json`'s "memory".
 */
#ifndef CGP_AGENT_MEMORY_H
#define CGP_AGENT_MEMORY_H

#include <stdio.h>

#include "agent/state.h"

/*
 * Writes the "memory" object of `status --json`: bytes per pinned map, the
 * inner maps of both halves of rules/ports/pols ("rules.live",
 * "rules.inactive": the rule set in force and the one the next apply
 * overwrites), the total, and the live total (the total less the inactive
 * halves). gen: the live generation. A map whose size cannot be read counts 0.
 */
void cgp_memory_json(const struct cgp_pins *p, unsigned long long gen, FILE *f);

/* memlock bytes of a map fd (0 when unknown). */
unsigned long long cgp_map_memlock(int fd);

#endif
