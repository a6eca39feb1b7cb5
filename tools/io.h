/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* io.h - what the benchmark/test probes (cgp-rr, cgp-xfer) share. */
#ifndef CGP_TOOLS_IO_H
#define CGP_TOOLS_IO_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Read or write exactly n bytes (EINTR retried): 0, or -1 on error or EOF.
 * On a non-blocking socket EAGAIN means "not yet": wait in poll() (at most
 * 10 s), as an event loop would. On a blocking socket EAGAIN is an error: a
 * blocking read or write never returns it, and a test must see it.
 */
static inline int full_io(int fd, char *buf, size_t n, int wr)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = wr ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && (fcntl(fd, F_GETFL) & O_NONBLOCK)) {
			struct pollfd p = { .fd = fd, .events = wr ? POLLOUT : POLLIN };

			if (poll(&p, 1, 10000) <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

#endif
