/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* events.h - the agent's deny events and Prometheus metrics file (events.c). */
#ifndef CGP_EVENTS_H
#define CGP_EVENTS_H

#include "policy/policy.h"

/* Deny events: the pinned ring buffer, read from the agent's epoll. */
struct cgp_events;
struct cgp_events *cgp_events_open(const char *pin_path, int epoll_fd);
void cgp_events_setup(struct cgp_events *ev, const struct cgp_agent_conf *ac);
void cgp_events_poll(struct cgp_events *ev);
void cgp_events_close(struct cgp_events *ev);

/* Prometheus text-format file, written atomically. No-op without metrics_file. */
int cgp_metrics_write(const char *pin_path, const struct cgp_agent_conf *ac);

#endif
