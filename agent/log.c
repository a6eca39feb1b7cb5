// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <bpf/libbpf.h>

#include "agent/log.h"
#include "policy/fileline.h"
#include "policy/policy.h"

int cgp_verbosity = CGP_LOG_WARN;

static void vlog(enum cgp_log_level lvl, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

	if ((int)lvl > cgp_verbosity)
		return;
	fprintf(stderr, "cgpolicy: %s", prefix[lvl]);
	vfprintf(stderr, fmt, ap);
}

void cgp_log(enum cgp_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void cgp_log_at(enum cgp_log_level lvl, const char *file, int line, const char *fmt, ...)
{
	char msg[3 * CGP_PATH_MAX + 512];	/* two paths, a policy name and the text */
	va_list ap;

	if ((int)lvl > cgp_verbosity)
		return;
	va_start(ap, fmt);
	cgp_fileline_vsnprintf(msg, sizeof(msg), file, line, fmt, ap);
	va_end(ap);
	cgp_log(lvl, "%s", msg);
}

/* Agent messages are always shown (they are the daemon's log). */
void cgp_alog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cgpolicy: agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings are details of our own error messages: debug level. */
	enum cgp_log_level lvl = level == LIBBPF_WARN ? CGP_LOG_INFO : CGP_LOG_DEBUG;

	if ((int)lvl > cgp_verbosity)
		return 0;
	fputs("cgpolicy: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void cgp_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
