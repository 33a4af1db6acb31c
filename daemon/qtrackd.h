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
#include <sys/types.h>
#include <time.h>

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

/* Which version of the configuration file was loaded. */
struct qtd_conf_stamp {
	bool exists; /* false: the default path was missing */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
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
	/* Milliseconds (qtd_now_ms) of the last turn of this worker's
	 * loop: the watchdog pings only while every packet loop turns. */
	uint64_t alive_ms; /* atomic */
	/* The kernel's drop counters at the last look (main thread). */
	uint64_t kdrop_queue, kdrop_user;
	bool kdrop_seen;
};

struct qtd {
	struct ev_loop *loop;
	const char *conf_path;
	struct qt_conf conf; /* the configuration in force */
	struct qtd_conf_stamp conf_stamp; /* the file it came from */
	/* Why the file on disk is not what runs ("" when it is): for the
	 * status line systemctl status shows. */
	char conf_note[768];
	bool on_lastgood; /* started on the last-known-good copy */
	struct qtd_worker *workers;
	unsigned nworkers;
	struct qt_control *control; /* control socket, NULL if off */
	bool stopping;
	bool conf_explicit; /* -c given: a missing file is fatal */
	ev_signal sighup, sigterm, sigint;
	ev_timer tick; /* housekeeping: kernel drop counters */
	int kdrops_fd; /* /proc/net/netfilter/nfnetlink_queue, or -1 */
	unsigned ticks;
	uint64_t watchdog_ms;	   /* WatchdogSec= in ms, 0 when off */
	uint64_t watchdog_last_ms; /* last WATCHDOG=1 sent */
	bool threaded;		 /* workers run on their own threads */
	ev_async evasync;	 /* a worker's event ring has entries */
	unsigned events_wanted;	 /* atomic: subscribers exist */
	uint64_t events_dropped; /* atomic: event ring overflows */
	struct qtd_state *state;	/* periodic snapshot (state.c) */
	struct qtd_sync *sync;		/* replication (sync.c), or NULL */
	ev_signal sigusr1, sigusr2;	/* sync role: active, standby */
	struct qtd_bypass *bypass;	/* nftables offload, NULL if off */
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
 * @stamp (may be NULL) receives the identity of the version read.
 */
int qtd_conf_load(const char *path, bool must_exist, struct qt_conf *c,
		  struct qtd_conf_stamp *stamp, char *err, size_t errlen);

/* SIGHUP or the control socket's reload: parse, validate, check,
 * reconfigure every engine, swap.  Returns 0, or -1 with the reason in
 * @err; on failure the configuration in force stays, and the status line
 * says the file on disk is not what runs (config.c). */
int qtd_reload(struct qtd *d, char *err, size_t errlen);

/*
 * The last-known-good copy: QTD_LASTGOOD_NAME in the state directory
 * systemd gives the unit ($STATE_DIRECTORY, StateDirectory=qtrack), the
 * normalised configuration in force, rewritten after every successful
 * start and reload (config.c).  None when run without one.
 */
#define QTD_LASTGOOD_NAME "last-good.conf"
void qtd_conf_save_good(struct qtd *d);

/* Start-up found the file unusable for reason @why: load the copy into
 * d->conf and say so loudly (log, status line).  0, or -1 if there is no
 * usable copy. */
int qtd_conf_load_good(struct qtd *d, const char *why);

/* Send STATUS= to systemd: running, and whether the file on disk is what
 * runs. */
void qtd_status_update(struct qtd *d);

/* Look whether the file changed on disk since it was loaded; if so, say
 * so once in the log and in the status line. */
void qtd_conf_watch(struct qtd *d);

#endif
