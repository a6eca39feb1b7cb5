/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* accel_probe.h - behavioural check of socket redirection (accel_probe.c). */
#ifndef CGP_ACCEL_PROBE_H
#define CGP_ACCEL_PROBE_H

#include <stddef.h>

/*
 * 0 when a loopback TCP connection redirected through a SOCKHASH + sk_msg
 * (BPF_F_INGRESS) behaves as acceleration needs for non-blocking readers:
 * data arrives whole without TCP, FIONREAD counts it, EAGAIN on an empty
 * queue, 0 after the sender's FIN. Else a negative errno, and why (a sentence) in why.
 */
int cgp_accel_probe_behaviour(char *why, size_t len);

#endif
