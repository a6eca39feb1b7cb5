// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fileline.c - "FILE:LINE: message" (fileline.h). */
#include "policy/fileline.h"

int cgp_fileline_vsnprintf(char *buf, size_t len, const char *file, int line,
			   const char *fmt, va_list ap)
{
	int n, m;

	if (!buf || !len)
		return 0;
	if (line > 0)
		n = snprintf(buf, len, "%s:%d: ", file, line);
	else
		n = snprintf(buf, len, "%s: ", file);
	if (n < 0)
		return n;
	if ((size_t)n >= len)
		return n + vsnprintf(NULL, 0, fmt, ap);
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	return m < 0 ? m : n + m;
}

int cgp_fileline_snprintf(char *buf, size_t len, const char *file, int line,
			  const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = cgp_fileline_vsnprintf(buf, len, file, line, fmt, ap);
	va_end(ap);
	return n;
}

int cgp_fileline_fprintf(FILE *f, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	if (line > 0)
		n = fprintf(f, "%s:%d: ", file, line);
	else
		n = fprintf(f, "%s: ", file);
	if (n < 0)
		return n;
	va_start(ap, fmt);
	m = vfprintf(f, fmt, ap);
	va_end(ap);
	return m < 0 ? m : n + m;
}
