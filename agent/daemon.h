/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* daemon.h - pieces of `cgpolicy agent`: log, file checks, deny events, metrics, privileges. */
#ifndef CGP_DAEMON_H
#define CGP_DAEMON_H

#include "policy/policy.h"

/* A line of the agent's log (stderr), always shown. */
void cgp_alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The policy file must be owned by root (or the caller) and not writable by
 * group or others, like sshd's StrictModes. 0, or CGP_EXIT_POLICY with a message. */
int cgp_policy_file_check(const char *file);

/* Deny events (events.c): the pinned ring buffer, read from the agent's epoll. */
struct cgp_events;
struct cgp_events *cgp_events_open(const char *pin_path, int epoll_fd);
void cgp_events_setup(struct cgp_events *ev, const struct cgp_agent_conf *ac);
void cgp_events_poll(struct cgp_events *ev);
void cgp_events_close(struct cgp_events *ev);

/* Prometheus text-format file, written atomically (metrics.c). No-op without metrics_file. */
int cgp_metrics_write(const char *pin_path, const struct cgp_agent_conf *ac);

/* Keep only the capabilities reload, attach and stats need (caps.c). */
int cgp_drop_caps(const struct cgp_config *cfg);

#endif
