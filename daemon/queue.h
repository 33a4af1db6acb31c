/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.h - one NFQUEUE queue: netlink socket, batched receive, verdicts.
 *
 * Each struct qtd_worker owns one queue.  The worker's engine classifies
 * every packet read from the queue and the verdicts of one wakeup go back
 * to the kernel in a single sendmsg.  A packet is never kept across
 * wakeups: when queue_read() returns, every packet it read has a verdict.
 */
#ifndef QTRACKD_QUEUE_H
#define QTRACKD_QUEUE_H

#include <stddef.h>

#include "qtrackd.h"

/*
 * queue_open - open a netlink socket, bind w->queue_num and configure it
 * from @conf (copy mode, copy_range, maxlen, GSO, fail_open, rcvbuf).
 * w->engine must exist: packets may arrive before the bind is confirmed.
 * Returns 0, or -1 with a message that tells the administrator what to do
 * in @err.
 */
int queue_open(struct qtd_worker *w, const struct qt_conf *conf, char *err,
	       size_t errlen);

/* Apply the queue parameters of @conf to a bound queue (after a reload).
 * The queue number cannot change.  The message is sent without waiting
 * for the kernel's answer; a refusal is logged when it arrives.  0, or -1
 * with a message in @err if it could not be sent. */
int queue_configure(struct qtd_worker *w, const struct qt_conf *conf, char *err,
		    size_t errlen);

/* Start / stop watching the socket on w->d->loop. */
void queue_start(struct qtd_worker *w);
void queue_stop(struct qtd_worker *w);

/* Read everything the socket holds now and answer it (used at shutdown,
 * after queue_stop(), so nothing read is left without a verdict). */
void queue_drain(struct qtd_worker *w);

/* Unbind the queue and close the socket.  Packets the kernel still holds
 * for the queue are dropped by the kernel; packets arriving later follow
 * the rule's --queue-bypass. */
void queue_close(struct qtd_worker *w);

/* Warn once if connections were made but no confirm rule's packet came
 * (called with the drop check, without the worker's lock). */
void queue_check_confirm(struct qtd_worker *w);

#endif
