/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * status_dns.h - DNS names in `status` and in deny events (status_dns.c).
 */
#ifndef CGP_AGENT_STATUS_DNS_H
#define CGP_AGENT_STATUS_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/state.h"

/* A policy's names, learned addresses and parser counters: a JSON member
 * (", \"dns\": {...}") of its object, or a text block. Nothing without names. */
void cgp_status_dns(const struct cgp_pins *p, const struct cgp_info *in, bool json);
/* The last name answered for addr at slot (cgp_dnsaddr), into name: false if none. */
bool cgp_dns_addr_name(const struct cgp_pins *p, __u32 slot, const __u8 addr[16], char *name,
		       size_t len);

#endif
