/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_internal.h - what the files of the control socket share: the
 * client and server structures and the output buffer.
 *
 *   control.c         the socket: open, accept (peer credentials), read
 *                     the request, dispatch it, write the reply
 *   control_walk.c    table walks: list, count, flush, expect, save,
 *                     and delete of one connection
 *   control_stats.c   the statistics in text, JSON and Prometheus form
 *   control_events.c  `events` subscribers
 *   control_update.c  `update`: a connection's mark (conntrack -U)
 *
 * Everything here runs on the main loop; nothing is for other modules,
 * which use control.h.
 */
#ifndef QTRACKD_CONTROL_INTERNAL_H
#define QTRACKD_CONTROL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>
#include <time.h>

#include "control.h"
#include "ctlreq.h"
#include "format.h"
#include "log.h"

#define CTL_MAX_CLIENTS 64	   /* connections served at once */
#define CTL_OUTBUF (256 * 1024)	   /* each client's output bound */
#define CTL_CHUNK 256		   /* entries per writable callback */
#define CTL_LINE 2048		   /* longest line we format */
#define CTL_FINAL_ROOM (64 * 1024) /* room a final block needs */
#define CTL_REQUEST_TIMEOUT 10.0   /* seconds to send the request */
#define CTL_BACKLOG 16
#define CTL_SLOW_NS 1000000ull /* a chunk over 1 ms is counted */

enum ctl_phase {
	CTL_READING,  /* waiting for the request line */
	CTL_WALKING,  /* streaming a table walk */
	CTL_EVENTS,   /* an `events` subscriber */
	CTL_DRAINING, /* reply complete: close once it is written */
};

struct state_walk;

struct ctl_client {
	struct qt_control *c;
	struct ctl_client *next;
	struct ctl_client **pprev;
	int fd;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	enum ctl_phase phase;
	struct qt_ctlreq req;

	char in[QT_CTL_MAX_LINE];
	size_t inlen;

	char *out; /* outsize bytes; data is out[head, tail) */
	size_t outsize; /* CTL_OUTBUF, more for a large stats block */
	size_t head;
	size_t tail;

	/* Table walk: engine of workers[worker], its cursor, and tallies. */
	unsigned worker;
	uint32_t cursor;
	uint64_t matched;
	uint32_t by_proto[256];
	uint32_t by_tcp_state[QT_TCP_STATE_MAX];

	uint64_t lost; /* events dropped since the last [LOST] */

	struct state_walk *save; /* `save`: the walk producing the file */
};

struct qt_control {
	struct qtd *d;
	int fd;
	ev_io lio;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool have_group;
	gid_t gid;
	struct ctl_client *clients;
	unsigned nclients;
	unsigned nsubscribers;
	unsigned njson;	      /* subscribers that want JSON */
	uint64_t events_lost; /* over all subscribers, ever */
	uint64_t refused;     /* connections refused: credentials, limit */
	struct log_rl refuse_rl;

	/* What table walks cost the packet path (issue 5), main thread
	 * only: a chunk is one stretch of a walk under one worker's lock
	 * (the worker's thread waits at most that long); a write callback
	 * is one turn of the main loop, which with one queue is also the
	 * packet path's, so its longest is the verdict pause there. */
	uint64_t chunks;	   /* chunks walked, ever */
	uint64_t chunks_slow;	   /* of them, over CTL_SLOW_NS */
	uint64_t chunk_max_ns;	   /* longest lock hold of a chunk */
	uint64_t chunk_max_cpu_ns; /* most CPU time one chunk used */
	uint64_t callback_max_ns;  /* longest write callback */
};

static inline uint64_t ctl_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ctl_now_ns(void)
{
	return ctl_clock_ns(CLOCK_MONOTONIC);
}

/* ---- output buffer and replies (control.c) ---------------------------- */

static inline size_t ctl_room(const struct ctl_client *cl)
{
	return cl->outsize - (cl->tail - cl->head);
}

/* Make the free space contiguous at the tail. */
void ctl_compact(struct ctl_client *cl);

/* Append @n bytes; -1 (nothing appended) if they do not fit. */
int ctl_put(struct ctl_client *cl, const char *s, size_t n);

int ctl_printf(struct ctl_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Have the write callback run: there is output, or a walk to go on with. */
void ctl_want_write(struct ctl_client *cl);

/* Finish the reply with an ERR line; the connection closes once the
 * line is out. */
void ctl_reply_err(struct ctl_client *cl, const char *reason);

/* Finish the reply with "OK". */
void ctl_reply_ok(struct ctl_client *cl);

/* Make the output buffer hold at least @size bytes.  0, or -1 when
 * there is no memory for it (the buffer stays as it was). */
int ctl_reserve(struct ctl_client *cl, size_t size);

/* ---- table walks (control_walk.c) ------------------------------------- */

/* Start the walk cl->req asks for (list, stats, count with filters,
 * flush, expect, save); the write callback goes on with it. */
void ctl_walk_start(struct ctl_client *cl);

/* Go on with the walk: one chunk, then the final block once every
 * engine is done and it fits. */
void ctl_walk_step(struct ctl_client *cl);

/* Fill @o with @ct's timeout, counters and offload as a line about it
 * shows them; @sum is room for an offloaded entry's summed counters. */
void ctl_format_opts(const struct qtd *d, const struct qt_engine *eng,
		     const struct qt_conn *ct, uint64_t now,
		     struct qt_format_opts *o, struct qt_acct *sum);

/* `count` (without filters only the engines' counters are read, with
 * filters it is a walk) and `delete`. */
void ctl_cmd_count(struct ctl_client *cl);
void ctl_cmd_delete(struct ctl_client *cl);

/* ---- statistics (control_stats.c) ------------------------------------- */

/* `stats`: make room for the block, then walk the tables for the
 * per-protocol and per-state tallies. */
void ctl_cmd_stats(struct ctl_client *cl);

/* The output buffer room the statistics block needs, which grows with
 * the number of queues. */
size_t ctl_stats_room(const struct qtd *d);

/* Write the statistics block for cl->req.fmt, with the per-protocol and
 * per-state tallies the walk left in @cl.  0, or -1 (nothing written)
 * when there is no memory for the per-queue rows. */
int ctl_stats_write(struct ctl_client *cl);

/* ---- update (control_update.c) ---------------------------------------- */

/* `update`: set the mark of the connection the request's tuple names. */
void ctl_cmd_update(struct ctl_client *cl);

/* ---- events (control_events.c) ---------------------------------------- */

/* Make @cl an `events` subscriber. */
void ctl_events_subscribe(struct ctl_client *cl);

/* The subscriber's client is going away. */
void ctl_events_unsubscribe(struct ctl_client *cl);

/* Write the pending "[LOST] N events" line if it fits. */
void ctl_lost_line(struct ctl_client *cl);

#endif
