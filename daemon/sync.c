// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sync.c - replication of the table between the two qtrackd of a firewall
 * pair.
 *
 * Both nodes run all the time and classify with their own tables.  The
 * active node sends every confirmed connection's birth, its changes
 * (engine UPDATE events: status, TCP state) and its death as they happen,
 * and walks its whole table once every [sync] refresh, so that the
 * standby's timers, marks and expectations stay true.  The standby applies
 * what it receives to its tables; when it becomes active (keepalived's
 * notify script sends SIGUSR1) there is nothing to commit: its tables are
 * the ones the packets already meet.
 *
 * Engine events arrive with a worker's lock held, perhaps on the worker's
 * thread: they are encoded there into the worker's ring (bounded; when it
 * is full the event is dropped and a full dump is scheduled instead) and
 * the main loop packs them into datagrams.  The packet path never waits
 * for the socket.  Every datagram carries the sender's epoch and sequence
 * number and an HMAC-SHA256; the standby asks for a full dump when it
 * starts, when it sees a gap and when the peer restarts, and after a
 * dump that arrived whole removes what the dump did not bring (a DESTROY
 * that was lost, entries from before it became standby).  Only datagrams
 * from the peer's address and the sync port are looked at.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bypass.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "syncmsg.h"

/* Events one worker may have waiting for the main loop. */
#define SYNC_RING_SIZE 8192
/* How often the main loop sends what the rings hold, at the latest. */
#define SYNC_FLUSH_SECONDS 0.01
/* Heartbeat and resync retry interval. */
#define SYNC_IDLE_MS 1000
/* A message whose clock is this far from ours is refused (replay). */
#define SYNC_SKEW_MS 60000
/* Entries a dump exports per lock hold. */
#define SYNC_CHUNK 64
/* Socket buffers: a dump is sent as fast as the socket takes it. */
#define SYNC_SOCKBUF (4 << 20)
/* Entries a sweep after a dump examines per lock hold, and lock holds per
 * turn of the main loop. */
#define SYNC_SWEEP_CHUNK 1024
#define SYNC_SWEEP_TURN 64

struct sync_slot {
	uint8_t op;
	uint16_t len;
	uint64_t us; /* wall clock of the event, µs */
	uint8_t rec[QT_REC_MAX];
};

/* Sync lag: log-linear buckets of microseconds, 8 per power of two above
 * 16 (an eighth's resolution), up to 2^36 µs. */
#define SYNC_LAG_BUCKETS (16 + 33 * 8)

struct sync_ring {
	unsigned head;	  /* atomic: producer (the worker, under its lock) */
	unsigned tail;	  /* atomic: consumer (the main loop) */
	bool overflow;	  /* atomic: an event was dropped */
	uint64_t dropped; /* atomic: events dropped, ever */
	struct sync_slot slot[SYNC_RING_SIZE];
};

/* The walk that refreshes the table (paced) or dumps it (at once). */
struct sync_walk {
	unsigned worker;
	unsigned phase; /* 0 connections, 1 expectations */
	uint32_t cursor;
	bool dump;	  /* a requested full dump: unpaced, framed */
	bool dump_begun;  /* DUMP_BEGIN sent */
	uint64_t started; /* ms, this pass of the refresh */
};

struct qtd_sync {
	struct qtd *d;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t key[QT_SYNC_KEY_MAX];
	size_t keylen;
	bool active; /* atomic: workers read it */
	struct sync_ring **rings;
	ev_io rd, wr;
	ev_timer flush;
	ev_async wake;
	/* The datagram being filled, and whether it waits for room in the
	 * socket (then nothing else is sent before it). */
	uint8_t out[QT_SYNC_DGRAM_MAX];
	size_t outlen;
	uint64_t out_us; /* the wall clock of its first item (µs), or 0 */
	bool blocked;
	uint64_t epoch, seq;
	uint64_t last_sent_ms;
	struct sync_walk walk;
	/* What we know of the peer's stream. */
	bool peer_known;
	uint64_t peer_epoch, peer_seq, peer_wall;
	bool synced; /* standby: a full dump arrived since the last gap */
	bool dumping; /* standby: a dump began and nothing was lost since */
	uint64_t last_req_ms;
	uint64_t last_items_ms; /* standby: a datagram with items arrived */
	/* Standby: after a complete dump, removing what it did not bring. */
	struct {
		bool on;
		unsigned worker;
		uint32_t cursor;
		size_t removed;
	} sweep;
	/* Counters (qtrackd's log at stop). */
	uint64_t sent, sent_bytes, received, applied, refused, replayed, gaps,
	    resyncs_sent, dumps, drops, stale_removed, foreign;
	uint64_t lag_ms;
	/* Standby: the lag of every datagram with items applied, from the
	 * active side's change (its oldest item) to the last item applied. */
	uint64_t lag_hist[SYNC_LAG_BUCKETS];
	uint64_t lag_samples, lag_max_us;
};

static uint64_t sync_wall_ms(void)
{
	return state_wall_ms();
}

static uint64_t sync_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static unsigned sync_lag_bucket(uint64_t us)
{
	unsigned e;

	if (us < 16)
		return (unsigned)us;
	e = 63 - (unsigned)__builtin_clzll(us);
	if (e > 36)
		return SYNC_LAG_BUCKETS - 1;
	return 16 + (e - 4) * 8 + (unsigned)((us >> (e - 3)) & 7);
}

/* The largest value bucket @b holds. */
static uint64_t sync_lag_bucket_max(unsigned b)
{
	unsigned e;

	if (b < 16)
		return b;
	e = (b - 16) / 8 + 4;
	return ((8ull + (b - 16) % 8 + 1) << (e - 3)) - 1;
}

/* The @permille-th lag, as its bucket's upper bound. */
static uint64_t sync_lag_quantile(const struct qtd_sync *s, unsigned permille)
{
	uint64_t want = (s->lag_samples * permille + 999) / 1000, n = 0;

	if (!s->lag_samples)
		return 0;
	for (unsigned b = 0; b < SYNC_LAG_BUCKETS; b++) {
		n += s->lag_hist[b];
		if (n >= want) {
			uint64_t v = sync_lag_bucket_max(b);

			return v < s->lag_max_us ? v : s->lag_max_us;
		}
	}
	return s->lag_max_us;
}

/* ---- sending ---------------------------------------------------------- */

static void sync_start_dgram(struct qtd_sync *s)
{
	struct qt_sync_hdr h = {
	    .type = QT_SYNC_DATA,
	    .epoch = s->epoch,
	    .seq = 0, /* set when sealed: only sent datagrams count */
	    .wall_ms = sync_wall_ms(),
	};

	s->outlen = qt_sync_begin(s->out, &h);
	s->out_us = 0;
}

/* Seal and send the datagram in s->out.  On EAGAIN it stays there and
 * s->blocked stops every sender until the socket has room. */
static void sync_send_out(struct qtd_sync *s)
{
	uint8_t buf[QT_SYNC_DGRAM_MAX];
	uint64_t us = s->out_us ? s->out_us : sync_wall_us();
	struct qt_sync_hdr h;
	size_t n;

	memcpy(buf, s->out, s->outlen);
	h.type = s->out[5];
	h.epoch = s->epoch;
	h.seq = s->seq + 1;
	/* The time of its oldest item: the records' reference time (later
	 * items' timers are then a little short, never long) and where the
	 * standby's lag counts from. */
	h.wall_ms = us / 1000;
	h.wall_us = (uint16_t)(us % 1000);
	qt_sync_begin(buf, &h);
	n = qt_sync_seal(buf, s->outlen, s->key, s->keylen);
	if (sendto(s->fd, buf, n, 0, (struct sockaddr *)&s->peer, s->peerlen) <
	    0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			s->blocked = true;
			ev_io_start(s->d->loop, &s->wr);
			return;
		}
		/* The peer unreachable (ECONNREFUSED, no route): the
		 * datagram is lost like one lost on the wire; the peer sees
		 * the gap and asks for a dump. */
		s->drops++;
	} else {
		s->sent++;
		s->sent_bytes += n;
	}
	s->seq++;
	s->last_sent_ms = qtd_now_ms();
	s->blocked = false;
	sync_start_dgram(s);
}

static bool sync_has_items(const struct qtd_sync *s)
{
	return s->outlen > QT_SYNC_HDR;
}

/* Append an item; sends the datagram first when it is full.  False when
 * the socket is blocked (the item is not taken). */
static bool sync_put(struct qtd_sync *s, enum qt_sync_op op, uint16_t queue,
		     const struct qt_rec *rec)
{
	size_t n;

	if (s->blocked)
		return false;
	n = qt_sync_add(s->out, s->outlen, op, queue, rec);
	if (!n) {
		sync_send_out(s);
		if (s->blocked)
			return false;
		n = qt_sync_add(s->out, s->outlen, op, queue, rec);
		if (!n)
			return true; /* cannot happen: a record fits */
	}
	s->outlen = n;
	if (!s->out_us)
		s->out_us = sync_wall_us();
	return true;
}

/* Append an already encoded record (from a ring slot). */
static bool sync_put_raw(struct qtd_sync *s, const struct sync_slot *sl,
			 uint16_t queue)
{
	size_t room = QT_SYNC_DGRAM_MAX - QT_SYNC_MAC;

	if (s->blocked)
		return false;
	if (s->outlen + QT_SYNC_ITEM_HDR + sl->len > room) {
		sync_send_out(s);
		if (s->blocked)
			return false;
	}
	s->out[s->outlen] = sl->op;
	s->out[s->outlen + 1] = 0;
	s->out[s->outlen + 2] = (uint8_t)(queue >> 8);
	s->out[s->outlen + 3] = (uint8_t)queue;
	memcpy(s->out + s->outlen + QT_SYNC_ITEM_HDR, sl->rec, sl->len);
	s->outlen += QT_SYNC_ITEM_HDR + sl->len;
	if (!s->out_us)
		s->out_us = sl->us;
	return true;
}

static void sync_send_resync(struct qtd_sync *s)
{
	uint8_t buf[QT_SYNC_HDR + QT_SYNC_MAC];
	struct qt_sync_hdr h = {
	    .type = QT_SYNC_RESYNC,
	    .epoch = s->epoch,
	    .seq = ++s->seq,
	    .wall_ms = sync_wall_ms(),
	};
	size_t n = qt_sync_seal(buf, qt_sync_begin(buf, &h), s->key, s->keylen);

	if (sendto(s->fd, buf, n, 0, (struct sockaddr *)&s->peer, s->peerlen) ==
	    (ssize_t)n)
		s->resyncs_sent++;
	s->last_req_ms = qtd_now_ms();
}

/* ---- events (worker side) --------------------------------------------- */

void sync_event(struct qtd_worker *w, enum qt_event_type type,
		const struct qt_conn *ct)
{
	struct qtd_sync *s = w->d->sync;
	struct sync_ring *r;
	struct sync_slot *sl;
	struct qt_rec rec;
	unsigned head, tail;
	size_t n;

	if (!s || !__atomic_load_n(&s->active, __ATOMIC_RELAXED))
		return;
	r = s->rings[w - w->d->workers];
	head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head - tail >= SYNC_RING_SIZE) {
		__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&r->overflow, true, __ATOMIC_RELEASE);
		return;
	}
	rec.type = QT_REC_CONN;
	if (type == QT_EV_DESTROY) {
		/* Only the tuple matters to the receiver. */
		memset(&rec.conn, 0, sizeof(rec.conn));
		qt_conn_tuple_orig(ct, &rec.conn.orig);
		rec.conn.left_ms = 1;
	} else {
		qt_engine_export_conn(w->engine, ct, qtd_now_ms(), &rec.conn);
		bypass_export(w->d->bypass, w->engine, ct, &rec.conn);
	}
	sl = &r->slot[head % SYNC_RING_SIZE];
	n = qt_rec_encode(&rec, sl->rec, sizeof(sl->rec));
	if (!n)
		return;
	sl->len = (uint16_t)n;
	sl->us = sync_wall_us();
	sl->op = type == QT_EV_DESTROY ? QT_SYNC_OP_DESTROY : QT_SYNC_OP_CONN;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	ev_async_send(w->d->loop, &s->wake);
}

/* Move what worker @i's ring holds into datagrams (main loop).  With the
 * worker's lock held by the caller, nothing newer can slip in between. */
static void sync_ring_drain(struct qtd_sync *s, unsigned i)
{
	struct sync_ring *r = s->rings[i];
	unsigned tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	unsigned head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

	for (; tail != head; tail++)
		if (!sync_put_raw(s, &r->slot[tail % SYNC_RING_SIZE],
				  s->d->workers[i].queue_num))
			break;
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	if (__atomic_exchange_n(&r->overflow, false, __ATOMIC_ACQ_REL)) {
		/* Events were lost: only the whole table makes the peer
		 * right again. */
		s->walk = (struct sync_walk){.dump = true};
	}
}

/* ---- the table walk: refresh and dump --------------------------------- */

/* Export at most @budget entries of the walk; returns how many. */
static unsigned sync_walk_step(struct qtd_sync *s, unsigned budget)
{
	struct qtd *d = s->d;
	struct sync_walk *sw = &s->walk;
	unsigned done = 0;

	if (sw->dump && !sw->dump_begun) {
		if (!sync_put(s, QT_SYNC_OP_DUMP_BEGIN, 0, NULL))
			return 0;
		sw->dump_begun = true;
		s->dumps++;
	}
	while (done < budget && sw->worker < d->nworkers) {
		struct qtd_worker *w = &d->workers[sw->worker];
		uint64_t now = qtd_now_ms();
		struct qt_rec rec;
		unsigned held = 0;

		/* At most SYNC_CHUNK entries per lock hold: the worker's
		 * packets wait meanwhile. */
		qtd_worker_lock(w);
		/* Older events first, so a record never overtakes them. */
		sync_ring_drain(s, sw->worker);
		while (done < budget && held++ < SYNC_CHUNK && !s->blocked) {
			uint32_t cur = sw->cursor;

			if (sw->phase == 0) {
				const struct qt_conn *ct =
				    qt_engine_next(w->engine, &cur);

				if (!ct) {
					sw->phase = 1;
					sw->cursor = 0;
					continue;
				}
				rec.type = QT_REC_CONN;
				qt_engine_export_conn(w->engine, ct, now,
						      &rec.conn);
				bypass_export(w->d->bypass, w->engine, ct,
					      &rec.conn);
				if (!sync_put(s, QT_SYNC_OP_CONN, w->queue_num,
					      &rec))
					break;
			} else {
				const struct qt_expect *x =
				    qt_engine_expect_next(w->engine, &cur);

				if (!x) {
					sw->phase = 0;
					sw->cursor = 0;
					sw->worker++;
					break;
				}
				rec.type = QT_REC_EXPECT;
				qt_engine_export_expect(w->engine, x, now,
							&rec.expect);
				if (!sync_put(s, QT_SYNC_OP_EXPECT,
					      w->queue_num, &rec))
					break;
			}
			sw->cursor = cur;
			done++;
		}
		qtd_worker_unlock(w);
		if (s->blocked)
			return done;
	}
	if (sw->worker >= d->nworkers) {
		if (sw->dump && !sync_put(s, QT_SYNC_OP_DUMP_END, 0, NULL))
			return done;
		*sw = (struct sync_walk){.started = qtd_now_ms()};
	}
	return done;
}

/* Entries in every table (for the refresh's pace). */
static uint64_t sync_table_count(struct qtd *d)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < d->nworkers; i++)
		n += __atomic_load_n(
		    &qt_engine_stats(d->workers[i].engine)->count,
		    __ATOMIC_RELAXED);
	return n;
}

/* The active node's turn: events, then the walk (@tick: the paced
 * refresh's turn, every SYNC_FLUSH_SECONDS), then send. */
static void sync_pump(struct qtd_sync *s, bool tick)
{
	struct qtd *d = s->d;
	uint64_t now = qtd_now_ms();

	if (s->blocked)
		return;
	for (unsigned i = 0; i < d->nworkers && !s->blocked; i++) {
		qtd_worker_lock(&d->workers[i]);
		sync_ring_drain(s, i);
		qtd_worker_unlock(&d->workers[i]);
	}
	if (s->walk.dump) {
		/* As fast as the socket takes it, a bounded chunk per turn
		 * of the loop. */
		sync_walk_step(s, SYNC_CHUNK * 16);
	} else if (tick) {
		/* The whole table once per refresh period, evenly. */
		uint64_t total = sync_table_count(d) + 1;
		uint64_t per = total * (uint64_t)(SYNC_FLUSH_SECONDS * 1000) /
				   ((uint64_t)d->conf.sync.refresh * 1000) +
			       1;

		sync_walk_step(s, (unsigned)(per > 4096 ? 4096 : per));
	}
	if (!s->blocked &&
	    (sync_has_items(s) || now - s->last_sent_ms >= SYNC_IDLE_MS))
		sync_send_out(s); /* an empty one is the heartbeat */
}

/* ---- receiving -------------------------------------------------------- */

static void sync_request(struct qtd_sync *s, const char *why);

static struct qtd_worker *sync_worker(struct qtd *d, uint16_t queue)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].queue_num == queue)
			return &d->workers[i];
	return &d->workers[queue % d->nworkers];
}

/* Whether @w's engine has @rx already (a refresh resends it). */
static bool sync_expect_known(struct qtd_worker *w,
			      const struct qt_rec_expect *rx)
{
	const struct qt_expect *x;
	uint32_t cur = 0;

	while ((x = qt_engine_expect_next(w->engine, &cur)))
		if (qt_tuple_equal(&x->tuple, &rx->tuple))
			return true;
	return false;
}

/* Sweep a bounded part of the tables after a complete dump (standby). */
static void sync_sweep_step(struct qtd_sync *s)
{
	struct qtd *d = s->d;

	for (unsigned n = 0; s->sweep.on && n < SYNC_SWEEP_TURN; n++) {
		struct qtd_worker *w = &d->workers[s->sweep.worker];
		bool done;

		qtd_worker_lock(w);
		done = qt_engine_sync_sweep(w->engine, &s->sweep.cursor,
					    SYNC_SWEEP_CHUNK,
					    &s->sweep.removed);
		qtd_worker_unlock(w);
		if (!done)
			continue;
		s->sweep.cursor = 0;
		if (++s->sweep.worker < d->nworkers)
			continue;
		s->sweep.on = false;
		s->stale_removed += s->sweep.removed;
		if (s->sweep.removed)
			log_info("sync: removed %zu entries the peer no longer "
				 "has",
				 s->sweep.removed);
	}
}

/* A full dump begins: what it brings is marked as seen in it. */
static void sync_dump_begin(struct qtd_sync *s)
{
	struct qtd *d = s->d;

	for (unsigned i = 0; i < d->nworkers; i++) {
		qtd_worker_lock(&d->workers[i]);
		qt_engine_sync_dump_begin(d->workers[i].engine);
		qtd_worker_unlock(&d->workers[i]);
	}
	/* A sweep of the previous dump would now take entries this one has
	 * not resent yet for stale. */
	s->sweep.on = false;
	s->dumping = true;
}

/* The dump is complete: the standby has the peer's whole table, and what
 * else it holds (a DESTROY that was lost, entries from before it became
 * standby) goes.  A dump with a gap in it proves nothing: neither. */
static void sync_dump_end(struct qtd_sync *s)
{
	if (!s->dumping) {
		sync_request(s, "the dump was incomplete");
		return;
	}
	s->dumping = false;
	if (!s->synced)
		log_info("sync: standby has the peer's table");
	s->synced = true;
	s->sweep.on = true;
	s->sweep.worker = 0;
	s->sweep.cursor = 0;
	s->sweep.removed = 0;
	sync_sweep_step(s);
}

static void sync_apply(struct qtd_sync *s, const struct qt_sync_item *it,
		       uint64_t age)
{
	struct qtd_worker *w = sync_worker(s->d, it->queue);
	struct qt_rec_conn rc;

	switch (it->op) {
	case QT_SYNC_OP_DUMP_BEGIN:
		sync_dump_begin(s);
		return;
	case QT_SYNC_OP_DUMP_END:
		sync_dump_end(s);
		return;
	default:
		break;
	}
	qtd_worker_lock(w);
	qt_engine_expire(w->engine, qtd_now_ms(), SYNC_CHUNK);
	switch (it->op) {
	case QT_SYNC_OP_CONN:
		rc = it->rec.conn;
		if (rc.orig.proto == IPPROTO_TCP) {
			/* The window moves with every packet and does not
			 * travel: the standby takes each direction's window
			 * from its first packet (be liberal until then). */
			rc.tcp.seen[0].maxwin = 0;
			rc.tcp.seen[1].maxwin = 0;
		}
		qt_engine_update_conn(w->engine, &rc, age);
		break;
	case QT_SYNC_OP_DESTROY:
		qt_engine_delete(w->engine, &it->rec.conn.orig);
		break;
	case QT_SYNC_OP_EXPECT:
		if (!sync_expect_known(w, &it->rec.expect))
			qt_engine_import_expect(w->engine, &it->rec.expect,
						age);
		break;
	default:
		break;
	}
	qtd_worker_unlock(w);
	s->applied++;
}

static void sync_request(struct qtd_sync *s, const char *why)
{
	uint64_t now = qtd_now_ms();

	s->synced = false;
	if (now - s->last_req_ms < 200)
		return;
	log_info("sync: asking the peer for its table (%s)", why);
	sync_send_resync(s);
}

static void sync_receive(struct qtd_sync *s, const uint8_t *buf, size_t len)
{
	uint64_t wall = sync_wall_ms();
	struct qt_sync_item it;
	struct qt_sync_hdr h;
	enum qt_sync_err err;
	bool newpeer, gap = false;
	size_t off = 0;
	uint64_t age;

	err = qt_sync_check(buf, len, s->key, s->keylen, &h);
	if (err != QT_SYNC_OK) {
		if (s->refused++ < 10 || !(s->refused % 1000))
			log_warnx("sync: refused a message: %s (%" PRIu64
				  " refused)",
				  qt_sync_strerror(err), s->refused);
		return;
	}
	/* Replay protection: a message from far in the past or future, an
	 * old sequence number of the current epoch, or another epoch that
	 * is not newer than what we have. */
	newpeer = !s->peer_known || h.epoch != s->peer_epoch;
	if (h.wall_ms + SYNC_SKEW_MS < wall ||
	    h.wall_ms > wall + SYNC_SKEW_MS ||
	    (!newpeer && h.seq <= s->peer_seq) ||
	    (newpeer && s->peer_known && h.wall_ms < s->peer_wall)) {
		s->replayed++;
		return;
	}
	if (!newpeer && h.seq != s->peer_seq + 1) {
		s->gaps++;
		gap = true;
	}
	s->peer_known = true;
	s->peer_epoch = h.epoch;
	s->peer_seq = h.seq;
	s->peer_wall = h.wall_ms;
	s->received++;
	s->lag_ms = wall > h.wall_ms ? wall - h.wall_ms : 0;

	if (h.type == QT_SYNC_RESYNC) {
		if (__atomic_load_n(&s->active, __ATOMIC_RELAXED)) {
			log_info("sync: the peer asks for the table");
			s->walk = (struct sync_walk){.dump = true};
			ev_async_send(s->d->loop, &s->wake);
		}
		return;
	}
	/* An active node keeps its own table: what another node believes
	 * active sends is ignored. */
	if (__atomic_load_n(&s->active, __ATOMIC_RELAXED))
		return;
	/* After a gap or from a peer we did not know, only a whole table
	 * (a DUMP_END, perhaps in this very datagram) makes us right. */
	if (newpeer || gap) {
		s->synced = false;
		s->dumping = false;
	}
	age = wall > h.wall_ms ? wall - h.wall_ms : 0;
	while (qt_sync_next(buf, len, &off, &it))
		sync_apply(s, &it, age);
	if (off > QT_SYNC_HDR) {
		uint64_t sent = h.wall_ms * 1000 + h.wall_us;
		uint64_t now = sync_wall_us();
		uint64_t lag = now > sent ? now - sent : 0;

		s->last_items_ms = qtd_now_ms();
		s->lag_hist[sync_lag_bucket(lag)]++;
		s->lag_samples++;
		if (lag > s->lag_max_us)
			s->lag_max_us = lag;
	}
	if (s->synced)
		return;
	if (newpeer)
		sync_request(s, "the peer started");
	else if (gap)
		sync_request(s, "messages lost");
}

/* Whether @from is the configured peer: its address and the sync port,
 * the one the peer's socket is bound to. */
static bool sync_from_peer(const struct qtd_sync *s,
			   const struct sockaddr_storage *from,
			   socklen_t fromlen)
{
	if (from->ss_family != s->peer.ss_family || fromlen < s->peerlen)
		return false;
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)from;
		const struct sockaddr_in6 *p = (const void *)&s->peer;

		return a->sin6_port == p->sin6_port &&
		       !memcmp(&a->sin6_addr, &p->sin6_addr,
			       sizeof(a->sin6_addr));
	}
	const struct sockaddr_in *a = (const void *)from;
	const struct sockaddr_in *p = (const void *)&s->peer;

	return a->sin_port == p->sin_port &&
	       a->sin_addr.s_addr == p->sin_addr.s_addr;
}

static void sync_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct qtd_sync *s = io->data;
	uint8_t buf[QT_SYNC_DGRAM_MAX + 1];
	struct sockaddr_storage from;
	unsigned i;

	(void)loop;
	(void)revents;
	/* A bounded number per turn: a flood must not starve the loop. */
	for (i = 0; i < 256; i++) {
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			break;
		/* Only the peer speaks on this socket, whatever the MAC
		 * says: a node that has the key but is not the peer (a
		 * third firewall, a copy of the key elsewhere) is refused
		 * before the MAC is even computed. */
		if (!sync_from_peer(s, &from, fromlen)) {
			if (s->foreign++ < 10 || !(s->foreign % 1000))
				log_warnx("sync: refused a message not from "
					  "the peer (%" PRIu64 " refused)",
					  s->foreign);
			continue;
		}
		sync_receive(s, buf, (size_t)n);
	}
}

static void sync_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct qtd_sync *s = io->data;

	(void)revents;
	ev_io_stop(loop, io);
	sync_send_out(s);
	if (!s->blocked)
		sync_pump(s, false);
}

static void sync_flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct qtd_sync *s = t->data;

	(void)loop;
	(void)revents;
	if (__atomic_load_n(&s->active, __ATOMIC_RELAXED)) {
		sync_pump(s, true);
	} else if (s->sweep.on) {
		sync_sweep_step(s);
	} else if (!s->synced &&
		   qtd_now_ms() - s->last_req_ms >= SYNC_IDLE_MS &&
		   !(s->dumping &&
		     qtd_now_ms() - s->last_items_ms < 3 * SYNC_IDLE_MS)) {
		/* A dump that is arriving, with nothing lost so far, is let
		 * finish: asking again would restart the peer's walk, and a
		 * table that takes longer than the retry interval to send
		 * would never arrive whole. */
		sync_request(s, s->peer_known ? "not in sync yet" : "starting");
	}
}

static void sync_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct qtd_sync *s = a->data;

	(void)loop;
	(void)revents;
	if (__atomic_load_n(&s->active, __ATOMIC_RELAXED))
		sync_pump(s, false);
}

/* ---- set-up ----------------------------------------------------------- */

static void sync_read_key(struct qtd_sync *s, const char *path)
{
	uint8_t buf[QT_SYNC_KEY_MAX + 2];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fatal("[sync] key_file: cannot open %s", path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		fatal("[sync] key_file: cannot read %s", path);
	/* A trailing newline (echo > file) is not part of the key. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < QT_SYNC_KEY_MIN || n > QT_SYNC_KEY_MAX)
		fatalx("[sync] key_file: %s: the key must be %d to %d bytes",
		       path, QT_SYNC_KEY_MIN, QT_SYNC_KEY_MAX);
	memcpy(s->key, buf, (size_t)n);
	s->keylen = (size_t)n;
}

/* @text as a socket address of @port. */
static socklen_t sync_addr(const char *text, uint16_t port, bool v6,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (*text && inet_pton(AF_INET6, text, &a->sin6_addr) != 1)
			return 0;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (*text && inet_pton(AF_INET, text, &a->sin_addr) != 1)
		return 0;
	return sizeof(*a);
}

/* This node becomes (or starts as) standby: what its tables hold now is
 * the peer's to confirm in its next dump (qt_engine_sync_standby()). */
static void sync_standby_floor(struct qtd *d)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		qtd_worker_lock(&d->workers[i]);
		qt_engine_sync_standby(d->workers[i].engine);
		qtd_worker_unlock(&d->workers[i]);
	}
}

void sync_open(struct qtd *d)
{
	const char *peer = d->conf.sync.peer;
	bool v6 = strchr(peer, ':') != NULL;
	struct sockaddr_storage local;
	socklen_t locallen;
	struct qtd_sync *s;
	int one = 1, buf = SYNC_SOCKBUF;

	if (!*peer)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		fatal("sync: allocating");
	s->d = d;
	sync_read_key(s, d->conf.sync.key_file);
	s->peerlen = sync_addr(peer, (uint16_t)d->conf.sync.port, v6, &s->peer);
	locallen = sync_addr(d->conf.sync.local, (uint16_t)d->conf.sync.port,
			     v6, &local);
	if (!s->peerlen || !locallen)
		fatalx("[sync]: bad address");
	s->fd = socket(v6 ? AF_INET6 : AF_INET,
		       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		fatal("sync: socket");
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(s->fd, (struct sockaddr *)&local, locallen) < 0)
		fatal("[sync] local: cannot bind %s port %u",
		      *d->conf.sync.local ? d->conf.sync.local : "*",
		      d->conf.sync.port);
	if (getrandom(&s->epoch, sizeof(s->epoch), 0) != sizeof(s->epoch))
		s->epoch = sync_wall_ms() ^ ((uint64_t)getpid() << 32);
	s->rings = calloc(d->nworkers, sizeof(*s->rings));
	if (!s->rings)
		fatal("sync: allocating");
	for (unsigned i = 0; i < d->nworkers; i++) {
		s->rings[i] = calloc(1, sizeof(*s->rings[i]));
		if (!s->rings[i])
			fatal("sync: allocating");
	}
	s->active = d->conf.sync.role == QT_SYNC_ACTIVE;
	s->walk.started = qtd_now_ms();
	sync_start_dgram(s);
	ev_io_init(&s->rd, sync_read_cb, s->fd, EV_READ);
	ev_io_init(&s->wr, sync_write_cb, s->fd, EV_WRITE);
	ev_timer_init(&s->flush, sync_flush_cb, SYNC_FLUSH_SECONDS,
		      SYNC_FLUSH_SECONDS);
	ev_async_init(&s->wake, sync_wake_cb);
	s->rd.data = s->wr.data = s->flush.data = s->wake.data = s;
	ev_io_start(d->loop, &s->rd);
	ev_timer_start(d->loop, &s->flush);
	ev_async_start(d->loop, &s->wake);
	d->sync = s;
	log_info("sync: peer %s port %u, %s", peer, d->conf.sync.port,
		 s->active ? "active" : "standby");
	if (!s->active) {
		sync_standby_floor(d);
		sync_request(s, "starting");
	}
}

void sync_set_role(struct qtd *d, bool active)
{
	struct qtd_sync *s = d->sync;

	if (!s || s->active == active)
		return;
	__atomic_store_n(&s->active, active, __ATOMIC_RELEASE);
	log_info("sync: now %s", active ? "active" : "standby");
	s->sweep.on = false;
	s->dumping = false;
	if (active) {
		/* The peer, now standby, asks for the table anyway; a dump
		 * now makes it right sooner. */
		s->walk = (struct sync_walk){.dump = true};
		ev_async_send(d->loop, &s->wake);
	} else {
		for (unsigned i = 0; i < d->nworkers; i++) {
			struct sync_ring *r = s->rings[i];

			qtd_worker_lock(&d->workers[i]);
			__atomic_store_n(
			    &r->tail,
			    __atomic_load_n(&r->head, __ATOMIC_ACQUIRE),
			    __ATOMIC_RELEASE);
			qtd_worker_unlock(&d->workers[i]);
		}
		sync_standby_floor(d);
		s->last_req_ms = 0;
		sync_request(s, "now standby");
	}
}

int sync_request_cmd(struct qtd *d, bool active, bool resync, char *err,
		     size_t errlen)
{
	struct qtd_sync *s = d->sync;

	if (!s) {
		snprintf(err, errlen, "replication is off ([sync] peer)");
		return -1;
	}
	if (!resync) {
		sync_set_role(d, active);
		return 0;
	}
	if (__atomic_load_n(&s->active, __ATOMIC_RELAXED)) {
		log_info("sync: sending the whole table (qtrackctl)");
		s->walk = (struct sync_walk){.dump = true};
		ev_async_send(d->loop, &s->wake);
	} else {
		s->last_req_ms = 0;
		sync_request(s, "qtrackctl");
	}
	return 0;
}

void sync_stats(const struct qtd *d, struct qtd_sync_stats *st)
{
	const struct qtd_sync *s = d->sync;

	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	st->active = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
	st->in_sync = s->synced;
	st->sent = s->sent;
	st->sent_bytes = s->sent_bytes;
	st->received = s->received;
	st->applied = s->applied;
	st->refused = s->refused;
	st->replayed = s->replayed;
	st->gaps = s->gaps;
	st->dumps = s->dumps;
	st->resyncs_sent = s->resyncs_sent;
	st->stale_removed = s->stale_removed;
	st->foreign = s->foreign;
	st->lag_ms = s->lag_ms;
	st->lag_samples = s->lag_samples;
	st->lag_p50_us = sync_lag_quantile(s, 500);
	st->lag_p99_us = sync_lag_quantile(s, 990);
	st->lag_max_us = s->lag_max_us;
	for (unsigned i = 0; i < d->nworkers; i++)
		st->events_dropped +=
		    __atomic_load_n(&s->rings[i]->dropped, __ATOMIC_RELAXED);
}

void sync_close(struct qtd *d)
{
	struct qtd_sync *s = d->sync;

	if (!s)
		return;
	log_info("sync: %" PRIu64 " messages (%" PRIu64 " bytes) sent, %" PRIu64
		 " received, %" PRIu64 " entries applied, %" PRIu64
		 " refused, %" PRIu64 " replayed, %" PRIu64 " gaps, %" PRIu64
		 " dumps sent, %" PRIu64 " resync requests, %" PRIu64
		 " stale entries removed, %" PRIu64 " not from the peer",
		 s->sent, s->sent_bytes, s->received, s->applied, s->refused,
		 s->replayed, s->gaps, s->dumps, s->resyncs_sent,
		 s->stale_removed, s->foreign);
	ev_io_stop(d->loop, &s->rd);
	ev_io_stop(d->loop, &s->wr);
	ev_timer_stop(d->loop, &s->flush);
	ev_async_stop(d->loop, &s->wake);
	close(s->fd);
	for (unsigned i = 0; i < d->nworkers; i++)
		free(s->rings[i]);
	free(s->rings);
	free(s);
	d->sync = NULL;
}
