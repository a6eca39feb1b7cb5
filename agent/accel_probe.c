// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * accel_probe.c - does socket redirection behave, on this kernel, the way
 * acceleration relies on? Checked by behaviour, not by version: a real
 * loopback TCP connection, both ends in a SOCKHASH, an sk_msg program that
 * redirects the client's sends into the server socket's receive queue
 * (BPF_F_INGRESS), exactly what bpf/accel.bpf.h's cgp_redir_msg does. Acceleration only
 * redirects to readers that use non-blocking I/O (see docs/ARCHITECTURE.md,
 * "The kernel's sockhash receive path"), so the probe reads as they do:
 *
 *   0. a send the program passes to TCP is counted by FIONREAD (SIOCINQ) at
 *      the peer, which is in the sockhash too (some kernels count only the
 *      redirect queue there: 0), and read;
 *   1. a send arrives whole at the peer and did not take TCP (the peer's
 *      tcpi_bytes_received does not grow);
 *   2. the peer is readable (poll), FIONREAD (SIOCINQ) counts the bytes, and
 *      a non-blocking read returns them (kernels whose sockhash sockets answer
 *      FIONREAD from the TCP queue only say 0: an application that sizes its
 *      reads with it, or waits for it to grow, would stall);
 *   3. a non-blocking read of the empty queue fails with EAGAIN;
 *   4. after the sender's shutdown(SHUT_WR) the peer polls readable and a
 *      read returns 0 (EOF), as with plain TCP.
 *
 * A kernel that fails one of them must not accelerate: the reason says
 * which. Takes a few milliseconds; needs the privileges of loading a program.
 * Test hook: CGP_TEST_ACCEL_PROBE=skip passes without checking (the e2e test
 * and the benchmark use it to exercise the redirect paths on such kernels).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "agent/accel_probe.h"

#define PROBE_BYTES	4096
#define PROBE_WAIT_MS	2000

static void why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* sk_msg: a 1-byte send takes TCP, others bpf_msg_redirect_hash(msg, map, &(u32){0}, BPF_F_INGRESS) */
static int load_redirect(int map_fd, char *why, size_t len)
{
	struct bpf_insn p[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct sk_msg_md, size) },
		{ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 2, .imm = 1 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0 },
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2, .src_reg = BPF_PSEUDO_MAP_FD,
		  .imm = map_fd },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_3, .imm = -4 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_4, .imm = BPF_F_INGRESS },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_6 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_msg_redirect_hash },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SK_MSG, "cgp_accel_probe", "GPL", p, sizeof(p) / sizeof(p[0]), NULL);

	if (fd < 0)
		why_set(why, len, "a redirecting sk_msg program does not load: %s", strerror(errno));
	return fd < 0 ? -errno : fd;
}

/* A connected loopback pair: *cli (connect) and *srv (accept), both non-blocking. */
static int tcp_pair(int *cli, int *srv, char *why, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l, err = 0;

	*cli = *srv = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		goto fail;
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*srv = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (*srv < 0 || fcntl(*cli, F_SETFL, O_NONBLOCK))
		goto fail;
	close(l);
	return 0;
fail:
	err = -errno;
	why_set(why, len, "no loopback TCP connection for the probe: %s", strerror(errno));
	if (l >= 0)
		close(l);
	if (*cli >= 0)
		close(*cli);
	if (*srv >= 0)
		close(*srv);
	*cli = *srv = -1;
	return err;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, PROBE_WAIT_MS) == 1 && (p.revents & POLLIN);
}

/* Both ends of the pair into the sockhash: srv at key 0, cli at key 1. 0 or -errno. */
static int join_sockhash(int map, int cli, int srv, char *why, size_t len)
{
	__u32 k = 0;
	__u64 v = (__u64)srv;
	int err;

	if (!bpf_map_update_elem(map, &k, &v, BPF_NOEXIST)) {
		k = 1, v = (__u64)cli;
		if (!bpf_map_update_elem(map, &k, &v, BPF_NOEXIST))
			return 0;
	}
	err = -errno;
	why_set(why, len, "an established TCP socket cannot join a SOCKHASH: %s", strerror(errno));
	return err;
}

/* 0. A byte the program passes to TCP: readable, counted by FIONREAD, read. 0 or -EPROTO. */
static int check_tcp_byte(int cli, int srv, char *why, size_t len)
{
	char in[PROBE_BYTES + 1];
	int n = -1;

	if (send(cli, "x", 1, MSG_NOSIGNAL) != 1 || !readable(srv)) {
		why_set(why, len, "a send passed to TCP by an sk_msg program did not reach the peer");
		return -EPROTO;
	}
	if (ioctl(srv, FIONREAD, &n) || n != 1) {
		why_set(why, len, "FIONREAD (SIOCINQ) on a sockhash socket holding 1 byte that came by TCP "
			"says %d: this kernel's sockhash sockets count only the redirect queue", n);
		return -EPROTO;
	}
	if (read(srv, in, sizeof(in)) != 1) {
		why_set(why, len, "a byte that came by TCP to a sockhash socket could not be read");
		return -EPROTO;
	}
	return 0;
}

/* 1, 2. A redirected send: whole, readable, counted by FIONREAD, read, not by TCP. 0 or -EPROTO. */
static int check_redirected(int cli, int srv, char *why, size_t len)
{
	char out[PROBE_BYTES], in[PROBE_BYTES + 1];
	struct tcp_info ti = {};
	socklen_t tl = sizeof(ti);
	int n = -1;
	ssize_t r;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	r = send(cli, out, sizeof(out), MSG_NOSIGNAL);
	if (r != (ssize_t)sizeof(out)) {
		why_set(why, len, "a send through the sk_msg redirect returned %zd (%s)", r,
			r < 0 ? strerror(errno) : "short");
		return -EPROTO;
	}
	if (!readable(srv)) {
		why_set(why, len, "redirected data did not make the peer readable (poll) within %d ms",
			PROBE_WAIT_MS);
		return -EPROTO;
	}
	if (ioctl(srv, FIONREAD, &n) || n != (int)sizeof(out)) {
		why_set(why, len, "FIONREAD (SIOCINQ) on a socket holding %zu redirected bytes says %d: "
			"this kernel's sockhash sockets count only TCP's queue", sizeof(out), n);
		return -EPROTO;
	}
	r = read(srv, in, sizeof(in));
	if (r != (ssize_t)sizeof(out) || memcmp(in, out, sizeof(out))) {
		why_set(why, len, "a non-blocking read of redirected data returned %zd bytes%s (%s)", r,
			r == (ssize_t)sizeof(out) ? " that differ" : "", r < 0 ? strerror(errno) : "sent 4096");
		return -EPROTO;
	}
	if (getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &tl) || ti.tcpi_bytes_received != 1) {
		why_set(why, len, "the probe's send took TCP (%llu bytes received by TCP, 1 expected): no redirect",
			(unsigned long long)ti.tcpi_bytes_received);
		return -EPROTO;
	}
	return 0;
}

/* 3, 4. EAGAIN on the empty queue, then 0 (EOF) after the peer's FIN. 0 or -EPROTO. */
static int check_empty_and_fin(int cli, int srv, char *why, size_t len)
{
	char in[PROBE_BYTES + 1];
	ssize_t r = read(srv, in, sizeof(in));

	if (r >= 0 || errno != EAGAIN) {
		why_set(why, len, "a non-blocking read of an empty redirect queue returned %zd (%s), not EAGAIN",
			r, r < 0 ? strerror(errno) : "data");
		return -EPROTO;
	}
	if (shutdown(cli, SHUT_WR) || !readable(srv)) {
		why_set(why, len, "the peer's FIN did not make the socket readable (poll) within %d ms",
			PROBE_WAIT_MS);
		return -EPROTO;
	}
	r = read(srv, in, sizeof(in));
	if (r != 0) {
		why_set(why, len, "a non-blocking read after the peer's FIN returned %zd (%s), not 0 (EOF)", r,
			r < 0 ? strerror(errno) : "data");
		return -EPROTO;
	}
	return 0;
}

int cgp_accel_probe_behaviour(char *why, size_t len)
{
	int map = -1, prog = -1, cli = -1, srv = -1, err;
	const char *hook = getenv("CGP_TEST_ACCEL_PROBE");

	if (hook && !strcmp(hook, "skip"))
		return 0;	/* test hook: tests of the redirect paths where the check fails */
	map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "cgp_accel_prb", 4, 8, 2, NULL);
	if (map < 0) {
		err = -errno;
		why_set(why, len, "no SOCKHASH map: %s", strerror(errno));
		return err;
	}
	prog = load_redirect(map, why, len);
	if (prog < 0) {
		err = prog;
		goto out;
	}
	if (bpf_prog_attach(prog, map, BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		why_set(why, len, "an sk_msg program does not attach to a SOCKHASH: %s", strerror(errno));
		goto out;
	}
	err = tcp_pair(&cli, &srv, why, len);
	if (!err)
		err = join_sockhash(map, cli, srv, why, len);
	if (!err)
		err = check_tcp_byte(cli, srv, why, len);
	if (!err)
		err = check_redirected(cli, srv, why, len);
	if (!err)
		err = check_empty_and_fin(cli, srv, why, len);
out:
	if (cli >= 0)
		close(cli);
	if (srv >= 0)
		close(srv);
	if (prog >= 0)
		close(prog);
	close(map);
	return err;
}
