/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackd.h - state shared by the daemon's modules.
 *
 * One struct qtd per process.  Each NFQUEUE queue is served by one
 * struct qtd_worker with its own netlink socket and its own engine (its
 * shard of the table).  With one queue the worker runs on the main loop;
 * with several, each worker runs its own libev loop on its own thread.
 *
 * Locking: w->lock guards w->engine and w->qstats.  A worker holds its own
 * lock while it handles a batch and never holds two locks: it asks other
 * shards about ICMP errors (qt_engine_relate) after dropping its own.  The
 * main thread (control socket, reload) takes one worker's lock at a time,
 * briefly.  Engine events raised on a worker thread travel to the main
 * loop through the worker's event ring (dropped and counted when full).
 */
#ifndef QTRACKD_H
#define QTRACKD_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include <ev.h>

#include "qtrack.h"

struct qtd_qstats {
	uint64_t received; /* packets read from the queue */
	uint64_t verdicts; /* verdicts sent */
	uint64_t batches;  /* sendmsg calls carrying verdicts */
	uint64_t enobufs;  /* ENOBUFS on the socket: kernel dropped */
	uint64_t errors;   /* other receive/send errors */
	uint64_t unparsed; /* packets the engine could not parse */
	uint64_t xrelated; /* ICMP errors found RELATED in another shard */
};

struct qtd_evring; /* engine events from a worker thread (qtrackd.c) */

struct qtd_worker {
	struct qtd *d;
	uint16_t queue_num;
	struct qt_engine *engine;
	struct qtd_qstats qstats;
	void *io;	      /* queue I/O state, private to queue.c */
	pthread_mutex_t lock; /* guards engine and qstats */
	struct ev_loop *loop; /* d->loop, or the worker thread's own */
	bool threaded;
	pthread_t thread;
	ev_async wake;		  /* stop or reconfigure requested */
	ev_timer tick;		  /* idle expiry */
	bool stop;		  /* atomic: stop reading, answer, leave */
	bool reconf;		  /* atomic: next_conf holds queue parameters */
	struct qt_conf next_conf; /* guarded by lock */
	struct qtd_evring *ring;
};

struct qtd {
	struct ev_loop *loop;
	const char *conf_path;
	struct qt_conf conf; /* the configuration in force */
	struct qtd_worker *workers;
	unsigned nworkers;
	struct qt_control *control; /* control socket, NULL if off */
	bool stopping;
	bool conf_explicit; /* -c given: a missing file is fatal */
	ev_signal sighup, sigterm, sigint;
	ev_timer tick; /* housekeeping: kernel drop counters */
	unsigned ticks;
	bool threaded;		 /* workers run on their own threads */
	ev_async evasync;	 /* a worker's event ring has entries */
	unsigned events_wanted;	 /* atomic: subscribers exist */
	uint64_t events_dropped; /* atomic: event ring overflows */
	struct qtd_state *state;	/* periodic snapshot (state.c) */
	uint64_t state_saves;		/* atomic: snapshots taken */
	uint64_t state_hold_max_ns;	/* atomic: longest chunk of one */
};

static inline void qtd_worker_lock(struct qtd_worker *w)
{
	pthread_mutex_lock(&w->lock);
}

static inline void qtd_worker_unlock(struct qtd_worker *w)
{
	pthread_mutex_unlock(&w->lock);
}

/* Hand the queue parameters of @conf to worker @w: applied at once on the
 * main loop, or by the worker thread between batches (qtrackd.c). */
void qtd_worker_configure(struct qtd_worker *w, const struct qt_conf *conf);

/* Deliver the events the worker threads have queued (main thread). */
void qtd_events_drain(struct qtd *d);

/* Milliseconds on CLOCK_MONOTONIC: the clock handed to the engine. */
uint64_t qtd_now_ms(void);

/*
 * qtd_conf_load - defaults, then @path parsed on top (config.c).
 * A missing file is an error only if @must_exist.  Returns 0, or -1 with
 * "cannot read FILE: reason" or "FILE:LINE: [section] key: reason" in @err.
 */
int qtd_conf_load(const char *path, bool must_exist, struct qt_conf *c,
		  char *err, size_t errlen);

/* SIGHUP: parse, validate, check, reconfigure every engine, swap.  Any
 * failure is logged and the configuration in force stays (config.c). */
void qtd_reload(struct qtd *d);

#endif
