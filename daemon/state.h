/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.h - the table across restarts: the state file ([state] file,
 * docs/state-format.md), saved on stop and every [state] save_interval,
 * restored on start.
 */
#ifndef QTRACKD_STATE_H
#define QTRACKD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "qtrackd.h"
#include "record.h"
#include "statefile.h"

/* Restore the tables of d->workers from [state] file, before the queues
 * are served.  A missing file is normal; a file that is refused is
 * renamed to FILE.bad and the tables stay empty.  Logs what it did. */
void state_restore(struct qtd *d);

/* Save every worker's table to [state] file (at stop: workers stopped). */
void state_save_now(struct qtd *d);

/* Start and stop the background snapshot thread of [state]
 * save_interval; state_tick() runs on the main loop once a second. */
void state_periodic_start(struct qtd *d);
void state_tick(struct qtd *d);
void state_periodic_stop(struct qtd *d);

/* Wall clock, ms since the epoch: the reference of saved times. */
uint64_t state_wall_ms(void);

/*
 * A walk over every worker's table producing records, a chunk at a time
 * under one worker's lock (the control socket's `save` and the snapshot
 * share it).  Records are encoded into @buf, which the caller drains
 * between chunks.
 */
struct state_walk {
	struct qtd *d;
	unsigned worker;
	unsigned phase;		/* 0 SHARD, 1 connections, 2 expectations */
	uint32_t cursor;
	uint64_t ref_mono;	/* the records' reference, CLOCK_MONOTONIC */
	uint64_t ref_wall;	/* the same moment on the wall clock */
	struct qt_state_tally tally;
	bool done;		/* END written */
	bool final;		/* no packet comes after: QT_STATE_F_FINAL */
	uint64_t hold_max_ns;	/* longest lock hold of a chunk */
};

void state_walk_init(struct state_walk *sw, struct qtd *d);

/* Append at most @budget entries' records (and the END record when the
 * walk is over) to @buf, whose free room is @room (at least
 * QT_REC_MAX * 2); returns the bytes appended.  Takes and releases
 * worker locks itself, at most one chunk each call. */
size_t state_walk_step(struct state_walk *sw, uint8_t *buf, size_t room,
		       unsigned budget);

/* The header a walk begins with (counts zero) or ends with. */
void state_walk_header(const struct state_walk *sw, uint8_t *buf);

#endif
