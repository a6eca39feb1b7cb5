/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fileline.h - the one formatter of "FILE:LINE: message", the form every
 * error and warning about a policy file takes (docs/POLICY.md).
 *
 * line > 0 gives "FILE:LINE: message"; line <= 0 (an error about the file
 * as a whole: empty, too large, no policy sections) gives "FILE: message".
 * The message is formatted straight into the output, so it is cut only by
 * the caller's buffer. policy/ formats its errors with these; the agent's
 * messages about a line of the file should too.
 */
#ifndef CGP_FILELINE_H
#define CGP_FILELINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Into buf (len bytes, always NUL-terminated). Returns what snprintf
 * returns: the length of the whole text, or < 0 on an encoding error. A
 * NULL buf or a len of 0 writes nothing and returns 0.
 */
int cgp_fileline_snprintf(char *buf, size_t len, const char *file, int line,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int cgp_fileline_vsnprintf(char *buf, size_t len, const char *file, int line,
			   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* To a stream, like fprintf: the caller ends fmt with '\n'. */
int cgp_fileline_fprintf(FILE *f, const char *file, int line,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* CGP_FILELINE_H */
