/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdstore.h - queue sockets kept in systemd's file descriptor store, so
 * that a queue stays bound while qtrackd restarts under systemd.
 */
#ifndef QTRACKD_FDSTORE_H
#define QTRACKD_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

/* Collect the sockets systemd passed in (LISTEN_FDS, names "queue-N");
 * none without systemd.  Call once, before the queues are opened. */
void fdstore_init(void);

/* The inherited socket of @queue, or -1; it is the caller's from now on. */
int fdstore_take(uint16_t queue);

/* Close what no queue took (the queue range changed). */
void fdstore_close_rest(void);

/* Hand a duplicate of @fd, @queue's bound socket, to systemd's store.
 * True when systemd has it: the socket then outlives this process and
 * must not be unbound at stop. */
bool fdstore_keep(uint16_t queue, int fd);

#endif
