// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgp-rr - TCP request/response probe for the benchmarks.
 *
 *   cgp-rr server ADDR PORT            echo server (epoll, one thread): every byte
 *                                      read is written back
 *   cgp-rr rr  ADDR PORT SECONDS [SIZE]   one connection, SIZE-byte request and
 *                                      response in lock step; prints transactions/s
 *   cgp-rr crr ADDR PORT SECONDS [SIZE]   a new connection per transaction
 *                                      (connect, request, response, close with
 *                                      RST so no TIME_WAIT piles up); prints
 *                                      connections/s
 *
 * `rr` measures the established-flow path of a firewall, `crr` the per-connection
 * (rule lookup) path. Exit 1 on any socket error (e.g. the policy blocks it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/io.h"

#define MAXSZ 65536

static struct sockaddr_in sa;
static char buf[MAXSZ];

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int server(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ep;
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];

	if (lfd < 0)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1024)) {
		perror("cgp-rr: bind/listen");
		return 1;
	}
	ep = epoll_create1(0);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (c < 0)
					continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					/* responses are small: a blocking-style retry is fine */
					ssize_t w = 0;

					while (w < r) {
						ssize_t k = write(fd, buf + w, (size_t)(r - w));

						if (k < 0 && errno == EAGAIN)
							continue;
						if (k <= 0)
							break;
						w += k;
					}
					continue;
				}
				if (r < 0 && errno == EAGAIN)
					break;
				close(fd);	/* EOF or error; closing removes it from epoll */
				break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	double secs, t0, t1;
	size_t size = 64;
	long count = 0;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: cgp-rr server ADDR PORT | cgp-rr rr|crr ADDR PORT SECONDS [SIZE]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "cgp-rr: bad IPv4 address %s\n", argv[2]);
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return server();
	if (argc < 5)
		return 2;
	secs = atof(argv[4]);
	if (argc > 5)
		size = (size_t)atoi(argv[5]);
	if (size < 1 || size > MAXSZ)
		return 2;
	memset(buf, 'x', size);

	if (!strcmp(argv[1], "rr")) {
		fd = dial();
		if (fd < 0) {
			perror("cgp-rr: connect");
			return 1;
		}
		t0 = now();
		do {
			for (int i = 0; i < 64; i++, count++)
				if (full_io(fd, buf, size, 1) || full_io(fd, buf, size, 0)) {
					perror("cgp-rr: transaction");
					return 1;
				}
			t1 = now();
		} while (t1 - t0 < secs);
		close(fd);
	} else if (!strcmp(argv[1], "crr")) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		t0 = now();
		do {
			for (int i = 0; i < 16; i++, count++) {
				fd = dial();
				if (fd < 0 || full_io(fd, buf, size, 1) || full_io(fd, buf, size, 0)) {
					perror("cgp-rr: connection");
					return 1;
				}
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(fd);
			}
			t1 = now();
		} while (t1 - t0 < secs);
	} else {
		fprintf(stderr, "cgp-rr: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%.1f\n", count / (t1 - t0));
	return 0;
}
