/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_walk.c - the requests that read or change the table: list,
 * count, stats (its tallies), expect, flush and save walk it chunk by
 * chunk; delete finds one connection.
 *
 * A walk shares the main loop with the packet path, so it formats at
 * most CTL_CHUNK entries per writable callback, holding one worker's lock
 * for one chunk at a time, and only while the client's output buffer has
 * room: a million-entry list streams while verdicts keep flowing, and a
 * client that reads slowly only slows itself.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bypass.h"
#include "control_internal.h"
#include "format.h"
#include "state.h"

/* When a chunk took a worker's lock: wall clock and this thread's CPU
 * time, so a long hold can be told apart from a descheduled one. */
struct ctl_stamp {
	uint64_t wall;
	uint64_t cpu;
};

static struct ctl_stamp ctl_stamp(void)
{
	struct ctl_stamp s = {ctl_now_ns(),
			      ctl_clock_ns(CLOCK_THREAD_CPUTIME_ID)};

	return s;
}

/* A chunk that held a worker's lock since @t0 has ended. */
static void ctl_chunk_done(struct qt_control *c, struct ctl_stamp t0)
{
	struct ctl_stamp t1 = ctl_stamp();
	uint64_t ns = t1.wall - t0.wall, cpu = t1.cpu - t0.cpu;

	c->chunks++;
	if (ns > CTL_SLOW_NS)
		c->chunks_slow++;
	if (ns > c->chunk_max_ns)
		c->chunk_max_ns = ns;
	if (cpu > c->chunk_max_cpu_ns)
		c->chunk_max_cpu_ns = cpu;
}

/* @ct's timeout, counters and offload as a line about it shows them: an
 * offloaded entry's counters include what its fast path counted. */
void ctl_format_opts(const struct qtd *d, const struct qt_engine *eng,
			    const struct qt_conn *ct, uint64_t now,
			    struct qt_format_opts *o, struct qt_acct *sum)
{
	o->timeout = qt_engine_timeout_left(eng, ct, now);
	o->accounting = d->conf.table.accounting;
	o->acct = qt_engine_acct(eng, ct);
	if (!d->bypass)
		return;
	*sum = o->acct ? *o->acct : (struct qt_acct){{0}};
	o->offload = bypass_query(d->bypass, eng, ct,
				  o->accounting ? sum : NULL);
	if (o->offload && o->accounting)
		o->acct = sum;
}

static void ctl_walk_entry(struct ctl_client *cl, const struct qt_engine *eng,
			   const struct qt_conn *ct, uint64_t now)
{
	struct qt_format_opts o = {0};
	struct qt_acct sum;
	char line[CTL_LINE];
	size_t n;

	if (cl->req.cmd == QT_CTL_STATS) {
		cl->by_proto[qt_conn_l4proto(ct)]++;
		if (qt_conn_l4proto(ct) == IPPROTO_TCP &&
		    ct->proto.tcp.state < QT_TCP_STATE_MAX)
			cl->by_tcp_state[ct->proto.tcp.state]++;
		return;
	}
	if (!qt_ctlreq_match(&cl->req.f, ct))
		return;
	cl->matched++;
	if (cl->req.cmd != QT_CTL_LIST)
		return;

	ctl_format_opts(cl->c->d, eng, ct, now, &o, &sum);
	o.id = (cl->req.f.have & QT_CTLF_SHOW_ID) != 0;
	if (cl->req.fmt == QT_CTL_FMT_JSON)
		n = qt_format_conn_json(ct, &o, line, sizeof(line) - 1);
	else
		n = qt_format_conn(ct, &o, line, sizeof(line) - 1);
	if (n >= sizeof(line) - 1)
		return; /* cannot happen with CTL_LINE; never cut */
	line[n++] = '\n';
	ctl_put(cl, line, n);
}

/* One expectation of @eng as /proc/net/nf_conntrack_expect (or JSON)
 * prints it; 0 when @eng has no more. */
static int ctl_expect_step(struct ctl_client *cl, const struct qt_engine *eng,
			   uint64_t now)
{
	const struct qt_expect *exp = qt_engine_expect_next(eng, &cl->cursor);
	char line[CTL_LINE];
	uint32_t left;
	size_t n;

	if (!exp)
		return 0;
	left = qt_engine_expect_timeout_left(eng, exp, now);
	if (cl->req.fmt == QT_CTL_FMT_JSON)
		n = qt_format_expect_json(exp, left, line, sizeof(line) - 1);
	else
		n = qt_format_expect(exp, left, line, sizeof(line) - 1);
	if (n < sizeof(line) - 1) {
		line[n++] = '\n';
		ctl_put(cl, line, n);
	}
	return 1;
}

/* `save`: the state file as a byte stream, a chunk per writable
 * callback.  Its header goes first with zero counts (they are known only
 * at the end, in the END record); qtrackctl writes the final header into
 * the file it makes.  The reply ends with "OK" after the END record. */
#define CTL_SAVE_ROOM (CTL_CHUNK * QT_REC_MAX + 2 * QT_REC_MAX)

static void ctl_save_step(struct ctl_client *cl)
{
	struct state_walk *sw = cl->save;
	struct ctl_stamp t0;
	size_t n;

	if (ctl_room(cl) < CTL_SAVE_ROOM)
		return;
	ctl_compact(cl);
	if (!sw) {
		uint8_t hdr[QT_STATE_HDR_LEN];

		sw = cl->save = malloc(sizeof(*sw));
		if (!sw) {
			ctl_reply_err(cl, "out of memory");
			return;
		}
		state_walk_init(sw, cl->c->d);
		state_walk_header(sw, hdr);
		ctl_put(cl, (const char *)hdr, sizeof(hdr));
		return;
	}
	t0 = ctl_stamp();
	n = state_walk_step(sw, (uint8_t *)cl->out + cl->tail,
			    cl->outsize - cl->tail, CTL_CHUNK);
	ctl_chunk_done(cl->c, t0);
	cl->tail += n;
	if (sw->done)
		ctl_reply_ok(cl);
}

/* The room the block after the walk needs: a count, or the statistics. */
static size_t ctl_final_room(const struct ctl_client *cl)
{
	return cl->req.cmd == QT_CTL_STATS ? ctl_stats_room(cl->c->d)
					   : CTL_FINAL_ROOM;
}

/* Go on with the walk: at most CTL_CHUNK entries, and only while a whole
 * line still fits.  When every engine is done and the final block fits,
 * write it and move to CTL_DRAINING. */
void ctl_walk_step(struct ctl_client *cl)
{
	struct qtd *d = cl->c->d;
	uint64_t now = qtd_now_ms();
	unsigned budget = CTL_CHUNK;
	struct qtd_worker *locked = NULL;
	struct ctl_stamp t0 = {0, 0};

	if (cl->req.cmd == QT_CTL_SAVE) {
		ctl_save_step(cl);
		return;
	}
	/* A chunk holds the walked worker's lock: its thread waits at most
	 * one chunk for us. */
	while (cl->worker < d->nworkers && budget && ctl_room(cl) >= CTL_LINE) {
		struct qtd_worker *w = &d->workers[cl->worker];
		const struct qt_engine *eng = w->engine;
		const struct qt_conn *ct;

		if (locked != w) {
			if (locked) {
				qtd_worker_unlock(locked);
				ctl_chunk_done(cl->c, t0);
			}
			qtd_worker_lock(w);
			t0 = ctl_stamp();
			locked = w;
		}
		if (cl->req.cmd == QT_CTL_EXPECT) {
			if (ctl_expect_step(cl, eng, now) == 0) {
				cl->worker++;
				cl->cursor = 0;
			}
			budget--;
			continue;
		}
		ct = cl->req.f.have & QT_CTLF_UNCONFIRMED ?
			 qt_engine_next_unconfirmed(eng, &cl->cursor) :
			 qt_engine_next(eng, &cl->cursor);
		if (!ct) {
			cl->worker++;
			cl->cursor = 0;
			continue;
		}
		if (cl->req.cmd == QT_CTL_FLUSH) {
			/* Flush is a walk too, so that emptying a big table
			 * holds a worker's lock one chunk at a time. */
			struct qt_tuple t;

			qt_conn_tuple(ct, QT_DIR_ORIG, &t);
			if (qt_engine_delete(w->engine, &t) == 0)
				cl->matched++;
		} else {
			ctl_walk_entry(cl, eng, ct, now);
		}
		budget--;
	}
	if (locked) {
		qtd_worker_unlock(locked);
		ctl_chunk_done(cl->c, t0);
		/* A pthread mutex is not fair: without a yield the next chunk
		 * can take the lock back before the worker thread that waited
		 * for it runs, and a walk with nothing to write (flush) would
		 * hold it chunk after chunk. */
		if (d->nworkers > 1)
			sched_yield();
	}
	if (cl->worker < d->nworkers || ctl_room(cl) < ctl_final_room(cl))
		return;

	if (cl->req.cmd == QT_CTL_FLUSH)
		log_info("control: flushed %" PRIu64 " connections by request",
			 cl->matched);
	if (cl->req.cmd == QT_CTL_COUNT || cl->req.cmd == QT_CTL_FLUSH)
		ctl_printf(cl, "%" PRIu64 "\n", cl->matched);
	else if (cl->req.cmd == QT_CTL_STATS && ctl_stats_write(cl) < 0) {
		ctl_reply_err(cl, "out of memory");
		return;
	}
	ctl_reply_ok(cl);
}

void ctl_walk_start(struct ctl_client *cl)
{
	cl->phase = CTL_WALKING;
	cl->worker = 0;
	cl->cursor = 0;
	cl->matched = 0;
	ctl_want_write(cl);
}

/* `delete`: the connection of the request's whole tuple, printed as
 * conntrack -D prints it before it goes. */
void ctl_cmd_delete(struct ctl_client *cl)
{
	struct qtd *d = cl->c->d;
	struct qt_format_opts o = {0};
	struct qt_acct sum;
	struct qt_tuple t;
	char line[CTL_LINE];
	unsigned i;
	size_t n;

	qt_ctlreq_tuple(&cl->req.f, &t);
	for (i = 0; i < d->nworkers; i++) {
		struct qt_engine *eng = d->workers[i].engine;
		const struct qt_conn *ct;
		enum qt_dir dir;

		qtd_worker_lock(&d->workers[i]);
		ct = qt_engine_find(eng, &t, &dir);
		if (!ct) {
			qtd_worker_unlock(&d->workers[i]);
			continue;
		}
		/* Print the entry as conntrack -D does, before it goes. */
		ctl_format_opts(d, eng, ct, qtd_now_ms(), &o, &sum);
		o.id = (cl->req.f.have & QT_CTLF_SHOW_ID) != 0;
		n = qt_format_conn(ct, &o, line, sizeof(line) - 1);
		if (qt_engine_delete(eng, &t) < 0) {
			qtd_worker_unlock(&d->workers[i]);
			continue;
		}
		qtd_worker_unlock(&d->workers[i]);
		if (n < sizeof(line) - 1) {
			line[n++] = '\n';
			ctl_put(cl, line, n);
		}
		log_info("control: deleted a connection by request");
		ctl_reply_ok(cl);
		return;
	}
	ctl_reply_err(cl, "no such connection");
}

void ctl_cmd_count(struct ctl_client *cl)
{
	struct qtd *d = cl->c->d;
	size_t n = 0;
	unsigned i;

	if (cl->req.f.have) {
		ctl_walk_start(cl);
		return;
	}
	for (i = 0; i < d->nworkers; i++) {
		qtd_worker_lock(&d->workers[i]);
		n += qt_engine_stats(d->workers[i].engine)->count;
		qtd_worker_unlock(&d->workers[i]);
	}
	ctl_printf(cl, "%zu\n", n);
	ctl_reply_ok(cl);
}
