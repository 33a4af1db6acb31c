/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync.h - replication of the table to the other firewall of a pair
 * ([sync], docs/failover.md, docs/state-format.md "The sync stream").
 */
#ifndef QTRACKD_SYNC_H
#define QTRACKD_SYNC_H

#include "qtrackd.h"

/* Open the sync socket and read the key when [sync] peer is set (after
 * the workers exist, before they run).  Fatal on a bad key or address. */
void sync_open(struct qtd *d);

/* Stop and free (at shutdown, workers stopped). */
void sync_close(struct qtd *d);

/* An engine event of worker @w, with its lock held, on any thread: queued
 * for the peer when this node is active.  Never blocks. */
void sync_event(struct qtd_worker *w, enum qt_event_type type,
		const struct qt_conn *ct);

/* Take role @active now (SIGUSR1 active, SIGUSR2 standby). */
void sync_set_role(struct qtd *d, bool active);

/* qtrackctl sync-active, sync-standby (@resync false: the role @active)
 * and sync-resync (@resync true: an active node sends its whole table, a
 * standby asks for the peer's).  0, or -1 with the reason in @err. */
int sync_request_cmd(struct qtd *d, bool active, bool resync, char *err,
		     size_t errlen);

/* What `qtrackctl stats` shows of the replication (all zero when off). */
struct qtd_sync_stats {
	uint64_t active;	/* 1 active, 0 standby */
	uint64_t in_sync;	/* standby: holds the peer's whole table */
	uint64_t sent, sent_bytes, received, applied, refused, replayed, gaps,
	    dumps, resyncs_sent, events_dropped;
	uint64_t stale_removed; /* standby: what a dump no longer had */
	uint64_t foreign;	/* datagrams not from [sync] peer's address */
	/* Standby: datagrams with items applied, and their lag from the
	 * active side's change (the oldest item) to the last item applied:
	 * median, 99th percentile (an eighth's resolution) and maximum. */
	uint64_t lag_samples, lag_p50_us, lag_p99_us, lag_max_us;
	uint64_t lag_ms; /* age of the last datagram received, at receipt */
};

void sync_stats(const struct qtd *d, struct qtd_sync_stats *st);

#endif
