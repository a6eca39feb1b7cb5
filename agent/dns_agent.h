/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns_agent.h - the agent resolves the names of `dns = agent|both` policies
 * itself (dns_agent.c), and sweeps expired learned members.
 */
#ifndef CGP_AGENT_DNS_AGENT_H
#define CGP_AGENT_DNS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/state.h"
#include "policy/policy.h"

struct cgp_dns_agent;

struct cgp_dns_agent *cgp_dns_agent_new(void);
void cgp_dns_agent_free(struct cgp_dns_agent *a);
/* Does a policy of cfg want the agent to resolve its names? */
bool cgp_dns_agent_wanted(const struct cgp_config *cfg);
/*
 * One round of the agent: the names due (all when `all`) resolved and their
 * addresses written at pin_path (locked while writing). Milliseconds until
 * the next name is due, 0 now, -1 when there is nothing to resolve.
 */
long cgp_dns_agent_round(struct cgp_dns_agent *a, const char *pin_path,
			 const struct cgp_config *cfg, bool all);
/* `cgpolicy apply`: every name of the agent-mode policies resolved once, on p (locked). */
void cgp_dns_agent_once(const struct cgp_pins *p, const struct cgp_config *cfg);
/* Expired learned members of implicit sets deleted (count). */
size_t cgp_dns_sweep(const struct cgp_pins *p);

#endif
