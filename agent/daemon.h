/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* daemon.h - `cgpolicy agent FILE` (daemon.c) and the policy file check it shares with apply. */
#ifndef CGP_DAEMON_H
#define CGP_DAEMON_H

/* The policy file must be owned by root (or the caller) and not writable by
 * group or others, like sshd's StrictModes. 0, or CGP_EXIT_POLICY with a message. */
int cgp_policy_file_check(const char *file);

/* Apply FILE, then stay: reloads, glob attaches, deny events, metrics, stats rounds. */
int cgp_cmd_agent(const char *file, const char *pin_override);

#endif
