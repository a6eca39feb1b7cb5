// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgp-xfer - TCP probe for socket-acceleration tests and benchmarks.
 *
 *   cgp-xfer echo ADDR PORT [CLOSE_MS]      epoll echo server, non-blocking sockets;
 *                                           after a client's EOF it waits CLOSE_MS
 *                                           before it closes (default 0)
 *   cgp-xfer sink ADDR PORT                 epoll server that reads and discards;
 *                                           on EOF answers the byte count (8 bytes)
 *   cgp-xfer echo-blocking ADDR PORT        echo server, a thread per connection,
 *                                           blocking read() then write()
 *   cgp-xfer pingpong ADDR PORT SIZE SECS   SIZE-byte request, SIZE-byte echo, in
 *                                           lock step on a non-blocking socket
 *                                           (poll() when it would block, as an
 *                                           event loop): "p50_us p99_us count"
 *   cgp-xfer pingpong-unix SIZE SECS [CPU]  the same over an AF_UNIX socket pair
 *                                           (forked blocking echo, on CPU if given)
 *   cgp-xfer bulk ADDR PORT SIZE SECS       SIZE-byte writes to a sink on a
 *                                           non-blocking socket; throughput up to
 *                                           the sink's count: "gbit_s bytes"
 *   cgp-xfer verify ADDR PORT BYTES [CHUNK] pseudo-random payload through an echo
 *                                           server on a blocking socket, a writer
 *                                           thread and a reader thread, every byte
 *                                           compared, then shutdown(SHUT_WR) and a
 *                                           blocking read that must return 0: "ok BYTES"
 *   cgp-xfer halfclose ADDR PORT BYTES      send BYTES then shutdown(SHUT_WR); the
 *                                           echo must return all of them, then EOF
 *   cgp-xfer waitall ADDR PORT BYTES        a writer thread sends 100-byte writes
 *                                           through an echo server; the blocking
 *                                           reader's recv(2500, MSG_WAITALL) must
 *                                           return 2500 bytes each time, then EOF
 *   cgp-xfer verify-nb ADDR PORT BYTES [CHUNK]  like verify (writes of 1..CHUNK, 16384
 *                                           by default), on one non-blocking socket
 *                                           driven by poll() (an event-loop client);
 *                                           the first byte goes alone and comes
 *                                           back before the rest (a greeting)
 *
 * Blocking clients (verify, halfclose, waitall) connect with a blocking
 * connect(); with CGP_XFER_CONNECT=nonblocking they connect non-blocking and
 * turn the socket to blocking once connected (as many libraries do for a
 * connect timeout). Blocking sockets never retry EAGAIN: it is an error.
 *
 * ADDR may be IPv4 or IPv6; a server on "::" is dual-stack. Exit 1 on any
 * error, with the reason on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/io.h"

#define MAXSZ (1 << 20)

static void die(const char *what)
{
	fprintf(stderr, "cgp-xfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int resolve(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE }, *ai;

	if (getaddrinfo(addr, port, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/*
 * A connected TCP socket, blocking unless `nonblock`. connect() itself is
 * non-blocking when the socket stays so, or when CGP_XFER_CONNECT=nonblocking.
 */
static int dial_opt(const char *addr, const char *port, int nodelay, int nonblock)
{
	const char *cm = getenv("CGP_XFER_CONNECT");
	int nbconnect = nonblock || (cm && !strcmp(cm, "nonblocking"));
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (resolve(addr, port, &ss, &len))
		die("bad address");
	fd = socket(ss.ss_family, SOCK_STREAM | (nbconnect ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t el = sizeof(err);

		if (!nbconnect || errno != EINPROGRESS)
			die("connect");
		if (poll(&p, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
			errno = err ? err : ETIMEDOUT;
			die("connect");
		}
	}
	if (nbconnect && !nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		die("fcntl");
	if (nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Request/response clients disable Nagle, like latency-sensitive apps do. */
static int dial(const char *addr, const char *port)
{
	return dial_opt(addr, port, 1, 0);
}

/* ---- servers: one epoll loop, non-blocking sockets ---- */

struct conn {
	int fd;
	int sink;
	uint64_t count;
	char *pend;	/* echo: bytes read but not yet written */
	size_t plen, poff;
	int rd_closed;
};

/* A listening TCP socket; on "::" dual-stack. flags: SOCK_NONBLOCK or 0. */
static int listen_on(const char *addr, const char *port, int flags)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, one = 1, zero = 0;

	if (resolve(addr, port, &ss, &len))
		die("bad address");
	lfd = socket(ss.ss_family, SOCK_STREAM | flags, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 4096))
		die("listen");
	return lfd;
}

static void serve(const char *addr, const char *port, int sink, int close_ms)
{
	struct epoll_event ev, evs[64];
	int lfd, ep, one = 1;
	char *buf = malloc(MAXSZ);

	if (!buf)
		die("malloc");
	lfd = listen_on(addr, port, SOCK_NONBLOCK);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					c->sink = sink;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			/* flush what an earlier short write left */
			while (c->plen > c->poff) {
				ssize_t w = write(c->fd, c->pend + c->poff, c->plen - c->poff);

				if (w < 0)
					break;
				c->poff += (size_t)w;
			}
			if (c->plen > c->poff) {
				if (errno != EAGAIN)
					goto drop;
				continue;	/* still EPOLLOUT-armed */
			}
			if (c->pend) {
				free(c->pend);
				c->pend = NULL;
				c->plen = c->poff = 0;
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
			for (;;) {
				ssize_t r = read(c->fd, buf, MAXSZ);

				if (r < 0) {
					if (errno == EAGAIN)
						break;
					goto drop;
				}
				if (r == 0) {
					if (c->sink) {
						uint64_t v = c->count;

						(void)!write(c->fd, &v, sizeof(v));
					}
					if (close_ms)	/* a late close: the client waits for EOF meanwhile */
						usleep((useconds_t)close_ms * 1000);
					shutdown(c->fd, SHUT_WR);
					goto drop;
				}
				c->count += (uint64_t)r;
				if (c->sink)
					continue;
				{
					ssize_t w = write(c->fd, buf, (size_t)r), off = w < 0 ? 0 : w;

					if (w < 0 && errno != EAGAIN)
						goto drop;
					if (off < r) {	/* keep the rest, wait for EPOLLOUT */
						c->pend = malloc((size_t)(r - off));
						memcpy(c->pend, buf + off, (size_t)(r - off));
						c->plen = (size_t)(r - off);
						c->poff = 0;
						ev.events = EPOLLOUT;
						ev.data.ptr = c;
						epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
						break;
					}
				}
			}
			continue;
drop:
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			free(c->pend);
			free(c);
		}
	}
}

/* ---- a thread per connection, blocking sockets (classic servers) ---- */

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	char *buf = malloc(MAXSZ);
	ssize_t r;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (buf) {
		r = read(fd, buf, MAXSZ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || full_io(fd, buf, (size_t)r, 1))
			break;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	free(buf);
	return NULL;
}

static void serve_blocking(const char *addr, const char *port)
{
	int lfd = listen_on(addr, port, 0);

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t th;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (pthread_create(&th, NULL, echo_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(th);
	}
}

/* ---- clients ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* SIZE-byte request, SIZE-byte answer, in lock step on fd: "p50_us p99_us count" */
static void rr_measure(int fd, size_t size, double secs)
{
	size_t cap = 1 << 20, n = 0;
	double *lat = malloc(cap * sizeof(*lat)), end;
	char *buf = calloc(1, size);

	/* warm up */
	for (int i = 0; i < 100; i++)
		if (full_io(fd, buf, size, 1) || full_io(fd, buf, size, 0))
			die("pingpong");
	end = now() + secs;
	for (double t = now(); t < end; ) {
		double t1;

		if (full_io(fd, buf, size, 1) || full_io(fd, buf, size, 0))
			die("pingpong");
		t1 = now();
		if (n == cap)
			lat = realloc(lat, (cap *= 2) * sizeof(*lat));
		lat[n++] = (t1 - t) * 1e6;
		t = t1;
	}
	qsort(lat, n, sizeof(*lat), cmp_d);
	printf("%.2f %.2f %zu\n", lat[n / 2], lat[(size_t)(n * 0.99)], n);
	free(lat);
	free(buf);
}

static void pingpong(const char *addr, const char *port, size_t size, double secs)
{
	int fd = dial_opt(addr, port, 1, 1);

	rr_measure(fd, size, secs);
	close(fd);
}

/*
 * The same exchange over an AF_UNIX socket pair with a forked blocking echo:
 * the cheapest two-process round trip the machine offers, the floor for any
 * local transport (a redirect included).
 */
static void pingpong_unix(size_t size, double secs, int cpu)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *buf = malloc(MAXSZ);
		ssize_t r;

		close(sv[0]);
		if (cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				die("sched_setaffinity");
		}
		while (buf && (r = read(sv[1], buf, MAXSZ)) > 0)
			if (full_io(sv[1], buf, (size_t)r, 1))
				break;
		_exit(0);
	}
	close(sv[1]);
	rr_measure(sv[0], size, secs);
	close(sv[0]);
	waitpid(pid, NULL, 0);
}

/* Bulk keeps Nagle on, as iperf3 and most streaming apps do. */
static void bulk(const char *addr, const char *port, size_t size, double secs)
{
	int fd = dial_opt(addr, port, 0, 1);
	char *buf = calloc(1, size);
	uint64_t sent = 0, got = 0;
	double t0 = now(), end = t0 + secs, t1;

	while (now() < end) {
		if (full_io(fd, buf, size, 1))
			die("bulk write");
		sent += size;
	}
	shutdown(fd, SHUT_WR);
	if (full_io(fd, (char *)&got, sizeof(got), 0))
		die("bulk: no count from the sink");
	t1 = now();
	if (got != sent) {
		fprintf(stderr, "cgp-xfer: bulk: sent %llu bytes, sink counted %llu\n",
			(unsigned long long)sent, (unsigned long long)got);
		exit(1);
	}
	printf("%.3f %llu\n", sent * 8 / (t1 - t0) / 1e9, (unsigned long long)sent);
	close(fd);
}

/* xorshift64*: the same stream on both sides */
static uint8_t next_byte(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint8_t)((*s * 2685821657736338717ull) >> 56);
}

/*
 * The writer of verify/verify-nb stays at most this far ahead of what came
 * back, like an application with bounded buffers: the echo server and the
 * two receive queues never hold more than that, whatever the scheduling.
 */
#define VERIFY_WINDOW (4u << 20)

struct writer {
	int fd;
	uint64_t bytes;
	size_t chunk;
	int err;
	uint64_t got;	/* bytes read back so far (the reader's, atomic) */
	uint64_t window;	/* 0: none (halfclose writes everything first) */
	size_t fixed;		/* every write this size (the last one cut), 0: random */
};

/*
 * Write sizes: uniform in 1..cap (partial and odd lengths, cap/2 on average),
 * the last one cut to what is left (no tail of ever smaller writes).
 */
static size_t write_size(uint64_t *s, uint64_t left, size_t cap)
{
	size_t n;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	n = 1 + (size_t)(*s % cap);
	return n < left ? n : (size_t)left;
}

static void *write_all(void *arg)
{
	struct writer *w = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull, sz = 0x2545f4914f6cdd1dull, left = w->bytes;
	char *buf = malloc(w->chunk);

	while (left) {
		size_t n = w->fixed ? (w->fixed < left ? w->fixed : (size_t)left) : write_size(&sz, left, w->chunk);

		for (uint64_t got; w->window; usleep(50)) {
			got = __atomic_load_n(&w->got, __ATOMIC_ACQUIRE);
			/* wait while some is outstanding and this write would pass the window */
			if (w->bytes - left <= got || w->bytes - left + n <= got + w->window)
				break;
		}
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)next_byte(&s);
		if (full_io(w->fd, buf, n, 1)) {
			w->err = errno ? errno : EPIPE;
			break;
		}
		left -= n;
	}
	free(buf);
	return NULL;
}

#define WAITALL_WRITE	100
#define WAITALL_READ	2500

static void verify(const char *addr, const char *port, uint64_t bytes, size_t chunk, int halfclose,
		   int waitall)
{
	struct writer w = { .fd = dial(addr, port), .bytes = bytes, .chunk = chunk,
			     .window = halfclose ? 0 : VERIFY_WINDOW, .fixed = waitall ? WAITALL_WRITE : 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull, got = 0;
	char *buf = malloc(65536);
	pthread_t th;

	pthread_create(&th, NULL, write_all, &w);
	if (halfclose) {
		pthread_join(th, NULL);
		if (w.err) {
			errno = w.err;
			die("write");
		}
		shutdown(w.fd, SHUT_WR);
	}
	while (got < bytes) {
		size_t want = bytes - got < WAITALL_READ ? (size_t)(bytes - got) : WAITALL_READ;
		ssize_t r = waitall ? recv(w.fd, buf, want, MSG_WAITALL) : read(w.fd, buf, 65536);

		if (r < 0 && errno == EINTR)
			continue;
		if (waitall && r > 0 && (size_t)r != want) {
			fprintf(stderr, "cgp-xfer: waitall: recv(%zu, MSG_WAITALL) returned %zd bytes at %llu of %llu\n",
				want, r, (unsigned long long)got, (unsigned long long)bytes);
			exit(1);
		}
		if (r <= 0) {
			fprintf(stderr, "cgp-xfer: verify: stream ended after %llu of %llu bytes (%s)\n",
				(unsigned long long)got, (unsigned long long)bytes, r < 0 ? strerror(errno) : "EOF");
			exit(1);
		}
		for (ssize_t i = 0; i < r; i++) {
			if ((uint8_t)buf[i] != next_byte(&s)) {
				fprintf(stderr, "cgp-xfer: verify: byte %llu differs\n",
					(unsigned long long)(got + i));
				exit(1);
			}
		}
		got += (uint64_t)r;
		__atomic_store_n(&w.got, got, __ATOMIC_RELEASE);
	}
	if (!halfclose) {
		pthread_join(th, NULL);
		shutdown(w.fd, SHUT_WR);
	}
	/* the echo server closes after our FIN: EOF, nothing more */
	{
		ssize_t r = read(w.fd, buf, 1);

		if (r != 0) {
			fprintf(stderr, "cgp-xfer: verify: expected EOF after the payload, got %s\n",
				r > 0 ? "more data" : strerror(errno));
			exit(1);
		}
	}
	printf("ok %llu\n", (unsigned long long)got);
	close(w.fd);
}

/* Full duplex on one non-blocking socket: write when writable, read when readable. */
static void verify_nb(const char *addr, const char *port, uint64_t bytes, size_t chunk)
{
	int fd = dial_opt(addr, port, 1, 1);	/* a non-blocking connect, as event loops do */
	uint64_t ws = 0x9e3779b97f4a7c15ull, rs = ws, sz = 0x2545f4914f6cdd1dull, sent = 0, got = 0;
	char *out = malloc(chunk), in[65536];
	size_t olen = 0, ooff = 0;
	int shut = 0;

	if (!out)
		die("malloc");

	for (;;) {
		/* the first byte alone, then nothing until it came back (a greeting) */
		int more = sent < bytes && sent < got + VERIFY_WINDOW && (sent == 0 || got > 0);
		struct pollfd p = { .fd = fd, .events = POLLIN | (more || ooff < olen ? POLLOUT : 0) };

		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "cgp-xfer: verify-nb: stalled at %llu/%llu bytes\n",
				(unsigned long long)got, (unsigned long long)bytes);
			exit(1);
		}
		if (p.revents & POLLOUT) {
			if (ooff == olen && more) {
				olen = sent ? write_size(&sz, bytes - sent, chunk) : 1;
				for (size_t i = 0; i < olen; i++)
					out[i] = (char)next_byte(&ws);
				ooff = 0;
				sent += olen;
			}
			while (ooff < olen) {
				ssize_t w = write(fd, out + ooff, olen - ooff);

				if (w < 0) {
					if (errno == EAGAIN)
						break;
					die("verify-nb: write");
				}
				ooff += (size_t)w;
			}
			if (sent == bytes && ooff == olen && !shut) {
				shutdown(fd, SHUT_WR);
				shut = 1;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in, sizeof(in));

			if (r < 0) {
				if (errno == EAGAIN)
					continue;
				die("verify-nb: read");
			}
			if (r == 0) {
				if (got != bytes) {
					fprintf(stderr, "cgp-xfer: verify-nb: EOF after %llu of %llu bytes\n",
						(unsigned long long)got, (unsigned long long)bytes);
					exit(1);
				}
				break;
			}
			for (ssize_t i = 0; i < r; i++) {
				if ((uint8_t)in[i] != next_byte(&rs)) {
					fprintf(stderr, "cgp-xfer: verify-nb: byte %llu differs\n",
						(unsigned long long)(got + i));
					exit(1);
				}
			}
			got += (uint64_t)r;
		}
	}
	printf("ok %llu\n", (unsigned long long)got);
	close(fd);
	free(out);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "echo"))
		serve(argv[2], argv[3], 0, argc > 4 ? atoi(argv[4]) : 0);
	else if (argc >= 4 && !strcmp(argv[1], "echo-blocking"))
		serve_blocking(argv[2], argv[3]);
	else if (argc >= 4 && !strcmp(argv[1], "sink"))
		serve(argv[2], argv[3], 1, 0);
	else if (argc >= 6 && !strcmp(argv[1], "pingpong"))
		pingpong(argv[2], argv[3], strtoul(argv[4], NULL, 0), atof(argv[5]));
	else if (argc >= 4 && !strcmp(argv[1], "pingpong-unix"))
		pingpong_unix(strtoul(argv[2], NULL, 0), atof(argv[3]), argc > 4 ? atoi(argv[4]) : -1);
	else if (argc >= 6 && !strcmp(argv[1], "bulk"))
		bulk(argv[2], argv[3], strtoul(argv[4], NULL, 0), atof(argv[5]));
	else if (argc >= 5 && !strcmp(argv[1], "verify"))
		verify(argv[2], argv[3], strtoull(argv[4], NULL, 0), argc > 5 ? strtoul(argv[5], NULL, 0) : 65536, 0, 0);
	else if (argc >= 5 && !strcmp(argv[1], "verify-nb"))
		verify_nb(argv[2], argv[3], strtoull(argv[4], NULL, 0), argc > 5 ? strtoul(argv[5], NULL, 0) : 16384);
	else if (argc >= 5 && !strcmp(argv[1], "halfclose"))
		verify(argv[2], argv[3], strtoull(argv[4], NULL, 0), 65536, 1, 0);
	else if (argc >= 5 && !strcmp(argv[1], "waitall"))
		verify(argv[2], argv[3], strtoull(argv[4], NULL, 0), WAITALL_WRITE, 0, 1);
	else {
		fprintf(stderr, "usage: see the comment at the top of tools/cgp-xfer.c\n");
		return 2;
	}
	return 0;
}
