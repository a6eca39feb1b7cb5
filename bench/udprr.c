// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udprr - UDP request/response probe for bench/sets.sh (built by it into its
 * temp dir).
 *
 *   udprr server ADDR PORT              echo every datagram back to its sender
 *   udprr rr ADDR PORT SECONDS [SIZE]   one connected socket, SIZE-byte datagram
 *                                       and its echo in lock step; prints
 *                                       transactions/s
 *
 * UDP is judged per packet (no connection state), so every request is a rule
 * (and set) lookup of the firewall on the client's egress. Exit 1 on a socket
 * error or when an answer does not come within a second (a refused send fails
 * with EPERM at once).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[65536];
	int fd;

	if (argc < 4 || (strcmp(argv[1], "server") && (strcmp(argv[1], "rr") || argc < 5))) {
		fprintf(stderr, "usage: udprr server ADDR PORT | udprr rr ADDR PORT SECONDS [SIZE]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "udprr: bad address %s\n", argv[2]);
		return 2;
	}
	sa.sin_port = htons(atoi(argv[3]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udprr: socket");
		return 1;
	}
	if (!strcmp(argv[1], "server")) {
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("udprr: bind");
			return 1;
		}
		for (;;) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

			if (n >= 0)
				sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl);
		}
	}

	double secs = atof(argv[4]), t0, t;
	size_t size = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
	struct timeval tv = { .tv_sec = 1 };
	unsigned long n = 0;

	if (size < 1 || size > sizeof(buf))
		size = 64;
	memset(buf, 'x', size);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udprr: connect");
		return 1;
	}
	t0 = now();
	do {
		if (send(fd, buf, size, 0) != (ssize_t)size) {
			perror("udprr: send");
			return 1;
		}
		if (recv(fd, buf, sizeof(buf), 0) < 0) {
			perror("udprr: recv");
			return 1;
		}
		n++;
		t = now();
	} while (t - t0 < secs);
	printf("%.0f\n", n / (t - t0));
	return 0;
}
