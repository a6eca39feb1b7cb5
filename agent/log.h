/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* log.h - the one logger of the CLI and the agent (log.c). */
#ifndef CGP_LOG_H
#define CGP_LOG_H

#include <stdarg.h>

enum cgp_log_level { CGP_LOG_ERR, CGP_LOG_WARN, CGP_LOG_INFO, CGP_LOG_DEBUG };

extern int cgp_verbosity;	/* messages above this level are dropped */

void cgp_log(enum cgp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of the agent's log (stderr, "cgpolicy: agent: "), always shown, flushed. */
void cgp_alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "FILE:LINE: message" (policy/fileline.h's form; line <= 0: "FILE: message")
 * through cgp_log at lvl: a message about a line of the policy file. */
void cgp_log_at(enum cgp_log_level lvl, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Route libbpf's own messages through cgp_log, one level lower. */
void cgp_log_setup_libbpf(void);

#define pr_err(...)	cgp_log(CGP_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	cgp_log(CGP_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	cgp_log(CGP_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	cgp_log(CGP_LOG_DEBUG, __VA_ARGS__)

/* Exit codes (README.md, "Commands"). */
#define CGP_EXIT_OK	0
#define CGP_EXIT_POLICY	1	/* invalid policy or usage: nothing changed */
#define CGP_EXIT_SYSTEM	2	/* permission, kernel feature, cgroup gone ... */

#endif
