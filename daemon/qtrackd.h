/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackd.h - state shared by the daemon's modules.
 *
 * One struct qtd per process.  Each NFQUEUE queue is served by one
 * struct qtd_worker with its own netlink socket and its own engine (its
 * shard of the table); today there is one worker running on the main loop,
 * the layout lets several run on their own threads later.
 */
#ifndef QTRACKD_H
#define QTRACKD_H

#include <stdbool.h>
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
};

struct qtd_worker {
	struct qtd *d;
	uint16_t queue_num;
	struct qt_engine *engine;
	struct qtd_qstats qstats;
	void *io; /* queue I/O state, private to queue.c */
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
	ev_timer tick; /* idle expiry and housekeeping */
	unsigned ticks;
};

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
