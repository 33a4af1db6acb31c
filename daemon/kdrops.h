/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kdrops.h - the kernel's drop counters for our queues.
 *
 * The kernel counts the packets it drops for a queue in
 * /proc/net/netfilter/nfnetlink_queue (this network namespace's view):
 * queue_dropped (the queue was full) and user_dropped (the netlink buffer
 * was full).  The file is 0440 root:root; the shipped unit hands it to
 * group qtrack before the daemon starts (qtrackd.8, FILES).  When it stays
 * unreadable the counters are "unavailable", never a made-up 0.
 */
#ifndef QTRACKD_KDROPS_H
#define QTRACKD_KDROPS_H

#include <stdbool.h>
#include <stdint.h>

#include "qtrackd.h"

#define QTD_KDROPS_PATH "/proc/net/netfilter/nfnetlink_queue"
/* A counter value that means "could not be read". */
#define QTD_KDROPS_UNAVAILABLE UINT64_MAX

/* One queue's line of the file. */
struct qtd_kdrops {
	uint64_t portid;	/* netlink port id bound to the queue */
	uint64_t queue_dropped; /* queue full */
	uint64_t user_dropped;	/* netlink buffer full */
	bool listed;		/* the file has a line for the queue */
};

/* Open the file and keep it open (d->kdrops_fd); if it cannot be read,
 * log why once and what to do.  Call after the queues are bound: the file
 * exists once the nfnetlink_queue module is loaded. */
void qtd_kdrops_open(struct qtd *d);

/* The one reader of the file: a single pass fills @k[i] with the line of
 * d->workers[i]'s queue, for every worker; a queue the file does not
 * list (not bound) is all zeros with listed false.  @k has d->nworkers
 * entries.  Returns 0, or -1 if the file cannot be read. */
int qtd_kdrops_read(struct qtd *d, struct qtd_kdrops *k);

/* Compare every worker's counters with the previous look and warn when
 * they grew.  The first look compares with 0: a freshly bound queue starts
 * at 0, so drops in the first seconds are reported too. */
void qtd_kdrops_check(struct qtd *d);

#endif
