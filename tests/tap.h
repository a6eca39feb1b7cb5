/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tap.h - the output every C test of cgpolicy prints: "ok N - name" or
 * "not ok N - name: detail" per check, and the closing "N passed, N failed"
 * that tests/run.sh adds up. Header-only: each test is one program.
 */
#ifndef CGP_TAP_H
#define CGP_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int ntest, npass, nfail;

static void __attribute__((format(printf, 3, 4), unused))
report(bool ok, const char *name, const char *fmt, ...)
{
	ntest++;
	if (ok) {
		npass++;
		printf("ok %d - %s\n", ntest, name);
	} else {
		char detail[1200];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		nfail++;
		printf("not ok %d - %s: %s\n", ntest, name, detail);
	}
	fflush(stdout);
}

/* A test name with printf arguments, for report(): valid until the next call. */
static __attribute__((format(printf, 1, 2), unused)) const char *
tap_name(const char *fmt, ...)
{
	static char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return name;
}

/* The closing line; the exit code of the test. */
static int __attribute__((unused)) tap_done(void)
{
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}

#endif
