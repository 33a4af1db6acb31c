/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c - the control socket qtrackctl talks to.
 *
 * A UNIX stream socket; one request line per connection
 * (docs/control-protocol.md), answered with data lines and a final "OK" or
 * "ERR reason", after which the daemon closes the connection.  `events`
 * instead keeps the connection as a subscriber until the peer goes away.
 *
 * The socket shares the event loop with the packet path, so nothing here
 * blocks and no callback does unbounded work: a table walk (list, count,
 * stats) formats at most CTL_CHUNK entries per writable callback and only
 * while the client's output buffer has room, so a million-entry list
 * streams while verdicts keep flowing, and a client that reads slowly only
 * slows itself.  Every client's output buffer has a fixed size; an event
 * subscriber whose buffer is full loses events, which are counted and
 * announced to it as "[LOST] N events" as soon as there is room again.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "kdrops.h"
#include "ctlreq.h"
#include "format.h"
#include "log.h"
#include "proto.h"
#include "state.h"
#include "sync.h"

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

	char *out; /* CTL_OUTBUF bytes; data is out[head, tail) */
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

static const char *const ctl_event_names[] = {
    [QT_EV_NEW] = "NEW",
    [QT_EV_UPDATE] = "UPDATE",
    [QT_EV_DESTROY] = "DESTROY",
};

/* ---- output buffer ---------------------------------------------------- */

static size_t ctl_room(const struct ctl_client *cl)
{
	return CTL_OUTBUF - (cl->tail - cl->head);
}

/* Make the free space contiguous at the tail. */
static void ctl_compact(struct ctl_client *cl)
{
	if (cl->head == 0)
		return;
	memmove(cl->out, cl->out + cl->head, cl->tail - cl->head);
	cl->tail -= cl->head;
	cl->head = 0;
}

/* Append @n bytes; -1 (nothing appended) if they do not fit. */
static int ctl_put(struct ctl_client *cl, const char *s, size_t n)
{
	if (n > ctl_room(cl))
		return -1;
	if (cl->tail + n > CTL_OUTBUF)
		ctl_compact(cl);
	memcpy(cl->out + cl->tail, s, n);
	cl->tail += n;
	return 0;
}

static int ctl_printf(struct ctl_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ctl_printf(struct ctl_client *cl, const char *fmt, ...)
{
	char line[CTL_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return ctl_put(cl, line, (size_t)n);
}

/* ---- client lifetime -------------------------------------------------- */

static void ctl_client_free(struct ctl_client *cl)
{
	free(cl->save);
	cl->save = NULL;
	struct qt_control *c = cl->c;

	ev_io_stop(c->d->loop, &cl->rio);
	ev_io_stop(c->d->loop, &cl->wio);
	ev_timer_stop(c->d->loop, &cl->timer);
	if (cl->phase == CTL_EVENTS) {
		c->nsubscribers--;
		if (cl->req.fmt == QT_CTL_FMT_JSON)
			c->njson--;
		__atomic_store_n(&c->d->events_wanted, c->nsubscribers,
				 __ATOMIC_RELAXED);
	}
	*cl->pprev = cl->next;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	c->nclients--;
	close(cl->fd);
	free(cl->out);
	free(cl);
}

/* Have the write callback run: there is output, or a walk to go on with. */
static void ctl_want_write(struct ctl_client *cl)
{
	ev_io_start(cl->c->d->loop, &cl->wio);
}

/* Finish the reply with an ERR line; the connection closes once the
 * line is out. */
static void ctl_reply_err(struct ctl_client *cl, const char *reason)
{
	if (ctl_printf(cl, "ERR %s\n", reason) < 0)
		ctl_put(cl, "ERR internal\n", 13);
	cl->phase = CTL_DRAINING;
	ctl_want_write(cl);
}

static void ctl_reply_ok(struct ctl_client *cl)
{
	ctl_put(cl, "OK\n", 3);
	cl->phase = CTL_DRAINING;
	ctl_want_write(cl);
}

/* ---- statistics ------------------------------------------------------- */

/* One metric family: its text/JSON key, its Prometheus name, type and
 * label, and the HELP line. */
struct ctl_metric {
	const char *key;
	const char *prom;
	const char *type;
	const char *label;
	const char *help;
};

enum {
	M_ENTRIES,
	M_MAX,
	M_BUCKETS,
	M_EXPECT,
	M_CREATED,
	M_DESTROYED,
	M_EARLY_DROP,
	M_REFUSED,
	M_EARLY_DROP_PROTO,
	M_UNCONFIRMED,
	M_CONFIRM_PACKETS,
	M_CONFIRMED,
	M_UNCONF_EXPIRED,
	M_UNCONF_REPLACED,
	M_FRAGMENTS,
	M_BY_PROTO,
	M_BY_TCP_STATE,
	M_PACKETS,
	M_INVALID,
	M_Q_RECEIVED,
	M_Q_VERDICTS,
	M_Q_BATCHES,
	M_Q_ENOBUFS,
	M_Q_ERRORS,
	M_Q_UNPARSED,
	M_Q_XRELATED,
	M_Q_KDROP,
	M_Q_UDROP,
	M_CLIENTS,
	M_SUBSCRIBERS,
	M_EVENTS_LOST,
	M_CTL_REFUSED,
	M_CHUNKS,
	M_CHUNKS_SLOW,
	M_CHUNK_MAX,
	M_CHUNK_MAX_CPU,
	M_CALLBACK_MAX,
	M_RESTORED,
	M_RESTORE_SKIPPED,
	M_STATE_SAVES,
	M_STATE_HOLD_MAX,
	M_SYNC_ACTIVE,
	M_SYNC_IN_SYNC,
	M_SYNC_SENT,
	M_SYNC_SENT_BYTES,
	M_SYNC_RECEIVED,
	M_SYNC_APPLIED,
	M_SYNC_REFUSED,
	M_SYNC_REPLAYED,
	M_SYNC_GAPS,
	M_SYNC_DUMPS,
	M_SYNC_RESYNCS,
	M_SYNC_DROPPED,
	M_SYNC_LAG,
};

static const struct ctl_metric ctl_metrics[] = {
    [M_ENTRIES] = {"entries", "qtrack_connections", "gauge", NULL,
		   "Connections in the table."},
    [M_MAX] = {"max", "qtrack_connections_max", "gauge", NULL,
	       "Table size ([table] max)."},
    [M_BUCKETS] = {"buckets", "qtrack_buckets", "gauge", NULL,
		   "Hash buckets ([table] buckets)."},
    [M_EXPECT] = {"expectations", "qtrack_expectations", "gauge", NULL,
		  "Expectations in the table."},
    [M_CREATED] = {"created", "qtrack_connections_created_total", "counter",
		   NULL, "Connections confirmed."},
    [M_DESTROYED] = {"destroyed", "qtrack_connections_destroyed_total",
		     "counter", NULL, "Connections freed, any cause."},
    [M_EARLY_DROP] = {"early_drop", "qtrack_early_drop_total", "counter", NULL,
		      "Connections evicted to make room."},
    [M_REFUSED] = {"refused", "qtrack_refused_total", "counter", NULL,
		   "New connections refused: table full."},
    [M_EARLY_DROP_PROTO] = {"early_drop_proto",
			    "qtrack_early_drop_by_proto_total", "counter",
			    "proto", "Early drops per protocol."},
    [M_UNCONFIRMED] = {"unconfirmed", "qtrack_unconfirmed", "gauge", NULL,
		       "Entries waiting for their first packet to pass the "
		       "rules (counted in entries)."},
    [M_CONFIRM_PACKETS] = {"confirm_packets", "qtrack_confirm_packets_total",
			   "counter", NULL,
			   "Packets from a confirm rule."},
    [M_CONFIRMED] = {"confirmed", "qtrack_confirmed_total", "counter", NULL,
		     "Connections confirmed by a confirm rule's packet."},
    [M_UNCONF_EXPIRED] = {"unconfirmed_expired",
			  "qtrack_unconfirmed_expired_total", "counter", NULL,
			  "Entries removed unconfirmed: their packet was "
			  "dropped."},
    [M_UNCONF_REPLACED] = {"unconfirmed_replaced",
			   "qtrack_unconfirmed_replaced_total", "counter",
			   NULL,
			   "Unconfirmed entries a later packet of the same "
			   "tuple replaced."},
    [M_FRAGMENTS] = {"fragments", "qtrack_fragments_total", "counter", NULL,
		     "IP fragments queued: nothing reassembled them first."},
    [M_BY_PROTO] = {"entries_proto", "qtrack_connections_by_proto", "gauge",
		    "proto", "Connections per protocol."},
    [M_BY_TCP_STATE] = {"tcp_state", "qtrack_tcp_connections", "gauge", "state",
			"TCP connections per state."},
    [M_PACKETS] = {"packets", "qtrack_packets_total", "counter", "state",
		   "Packets classified, per ct_state."},
    [M_INVALID] = {"invalid", "qtrack_invalid_total", "counter", "reason",
		   "INVALID packets, per reason."},
    [M_Q_RECEIVED] = {"queue_received", "qtrack_queue_received_total",
		      "counter", "queue", "Packets read from the queue."},
    [M_Q_VERDICTS] = {"queue_verdicts", "qtrack_queue_verdicts_total",
		      "counter", "queue", "Verdicts sent."},
    [M_Q_BATCHES] = {"queue_batches", "qtrack_queue_batches_total", "counter",
		     "queue", "Verdict batches sent."},
    [M_Q_ENOBUFS] = {"queue_enobufs", "qtrack_queue_enobufs_total", "counter",
		     "queue", "ENOBUFS on the queue socket (kernel dropped)."},
    [M_Q_ERRORS] = {"queue_errors", "qtrack_queue_errors_total", "counter",
		    "queue", "Other queue socket errors."},
    [M_Q_UNPARSED] = {"queue_unparsed", "qtrack_queue_unparsed_total",
		      "counter", "queue",
		      "Packets the engine could not parse."},
    [M_Q_XRELATED] = {"queue_xrelated", "qtrack_queue_related_elsewhere_total",
		      "counter", "queue",
		      "ICMP errors found RELATED in another queue's table."},
    [M_Q_KDROP] = {"queue_kernel_dropped", "qtrack_queue_kernel_dropped_total",
		   "counter", "queue",
		   "Packets the kernel dropped: queue full "
		   "(queue_dropped)."},
    [M_Q_UDROP] = {"queue_user_dropped", "qtrack_queue_user_dropped_total",
		   "counter", "queue",
		   "Packets the kernel failed to send to qtrackd "
		   "(user_dropped)."},
    [M_CLIENTS] = {"control_clients", "qtrack_control_clients", "gauge", NULL,
		   "Control socket connections."},
    [M_SUBSCRIBERS] = {"control_subscribers", "qtrack_control_subscribers",
		       "gauge", NULL, "Event subscribers."},
    [M_EVENTS_LOST] = {"events_lost", "qtrack_events_lost_total", "counter",
		       NULL, "Events dropped for slow subscribers."},
    [M_CTL_REFUSED] = {"control_refused", "qtrack_control_refused_total",
		       "counter", NULL, "Control connections refused."},
    [M_CHUNKS] = {"control_chunks", "qtrack_control_chunks_total", "counter",
		  NULL, "Table walk chunks (list, stats, expect, count)."},
    [M_CHUNKS_SLOW] =
	{"control_slow_chunks", "qtrack_control_slow_chunks_total", "counter",
	 NULL, "Table walk chunks that held a worker's lock over 1 ms."},
    [M_CHUNK_MAX] = {"control_chunk_max_us",
		     "qtrack_control_chunk_max_microseconds", "gauge", NULL,
		     "Longest a table walk chunk held a worker's lock."},
    [M_CHUNK_MAX_CPU] = {"control_chunk_max_cpu_us",
			 "qtrack_control_chunk_max_cpu_microseconds", "gauge",
			 NULL,
			 "Most CPU time one table walk chunk used (the rest of "
			 "control_chunk_max_us is time the thread was not "
			 "running)."},
    [M_CALLBACK_MAX] = {"control_callback_max_us",
			"qtrack_control_callback_max_microseconds", "gauge",
			NULL,
			"Longest control write callback on the main loop."},
    [M_RESTORED] = {"state_restored", "qtrack_state_restored_total",
		    "counter", NULL,
		    "Entries restored from the state file at start."},
    [M_RESTORE_SKIPPED] = {"state_skipped", "qtrack_state_skipped_total",
			   "counter", NULL,
			   "State file entries not restored: expired, table "
			   "full, clash, no master."},
    [M_STATE_SAVES] = {"state_snapshots", "qtrack_state_snapshots_total",
		       "counter", NULL,
		       "Periodic snapshots ([state] save_interval)."},
    [M_STATE_HOLD_MAX] = {"state_chunk_max_us",
			  "qtrack_state_chunk_max_microseconds", "gauge", NULL,
			  "Longest a snapshot chunk held a worker's lock."},
    [M_SYNC_ACTIVE] = {"sync_active", "qtrack_sync_active", "gauge", NULL,
		       "1 when this node sends its table ([sync])."},
    [M_SYNC_IN_SYNC] = {"sync_in_sync", "qtrack_sync_in_sync", "gauge", NULL,
			"1 when the standby holds the peer's whole table."},
    [M_SYNC_SENT] = {"sync_sent", "qtrack_sync_sent_messages_total",
		     "counter", NULL, "Sync datagrams sent."},
    [M_SYNC_SENT_BYTES] = {"sync_sent_bytes", "qtrack_sync_sent_bytes_total",
			   "counter", NULL, "Bytes of sync datagrams sent."},
    [M_SYNC_RECEIVED] = {"sync_received",
			 "qtrack_sync_received_messages_total", "counter",
			 NULL, "Sync datagrams accepted."},
    [M_SYNC_APPLIED] = {"sync_applied", "qtrack_sync_applied_total",
			"counter", NULL,
			"Replicated entries applied to the table."},
    [M_SYNC_REFUSED] = {"sync_refused", "qtrack_sync_refused_total",
			"counter", NULL,
			"Sync datagrams refused: bad MAC, malformed."},
    [M_SYNC_REPLAYED] = {"sync_replayed", "qtrack_sync_replayed_total",
			 "counter", NULL,
			 "Sync datagrams refused as replayed or stale."},
    [M_SYNC_GAPS] = {"sync_gaps", "qtrack_sync_gaps_total", "counter", NULL,
		     "Missing sync sequence numbers seen."},
    [M_SYNC_DUMPS] = {"sync_dumps", "qtrack_sync_dumps_total", "counter",
		      NULL, "Full tables sent to the peer."},
    [M_SYNC_RESYNCS] = {"sync_resync_requests",
			"qtrack_sync_resync_requests_total", "counter", NULL,
			"Requests for the peer's full table sent."},
    [M_SYNC_DROPPED] = {"sync_events_dropped",
			"qtrack_sync_events_dropped_total", "counter", NULL,
			"Events not sent (ring full; a dump follows)."},
    [M_SYNC_LAG] = {"sync_lag_ms", "qtrack_sync_lag_milliseconds", "gauge",
		    NULL, "Age of the last sync datagram when it arrived."},
};

/* Emits metric samples in one of three formats; samples of one family
 * arrive together, which is what lets JSON group labelled samples into
 * one object and Prometheus print HELP/TYPE once. */
struct ctl_emit {
	struct ctl_client *cl;
	enum qt_ctl_fmt fmt;
	int cur;    /* family of the previous sample, -1 none */
	bool first; /* no JSON member written yet */
};

static void ctl_emit_close_family(struct ctl_emit *e)
{
	if (e->fmt == QT_CTL_FMT_JSON && e->cur >= 0 &&
	    ctl_metrics[e->cur].label)
		ctl_put(e->cl, "}", 1);
}

/* A counter that could not be read: "unavailable" in text, null in JSON,
 * no sample in Prometheus (its way of saying unknown).  Never a 0 that
 * looks like a reading. */
static void ctl_emit_unavailable(struct ctl_emit *e, const struct ctl_metric *d,
				 bool new_family, const char *label)
{
	const char *sep = e->first ? "" : ",";

	switch (e->fmt) {
	case QT_CTL_FMT_JSON:
		if (!d->label)
			ctl_printf(e->cl, "%s\"%s\":null", sep, d->key);
		else if (new_family)
			ctl_printf(e->cl, "%s\"%s\":{\"%s\":null", sep, d->key,
				   label);
		else
			ctl_printf(e->cl, ",\"%s\":null", label);
		e->first = false;
		return;
	case QT_CTL_FMT_PROMETHEUS:
		if (new_family)
			ctl_printf(e->cl, "# HELP %s %s\n# TYPE %s %s\n",
				   d->prom, d->help, d->prom, d->type);
		return;
	case QT_CTL_FMT_TEXT:
		if (d->label)
			ctl_printf(e->cl, "%s.%s unavailable\n", d->key, label);
		else
			ctl_printf(e->cl, "%s unavailable\n", d->key);
		return;
	}
}

static void ctl_emit(struct ctl_emit *e, int m, const char *label, uint64_t v)
{
	const struct ctl_metric *d = &ctl_metrics[m];
	struct ctl_client *cl = e->cl;
	bool new_family = m != e->cur;
	const char *sep = e->first ? "" : ",";

	if (new_family) {
		ctl_emit_close_family(e);
		e->cur = m;
	}
	if (v == QTD_KDROPS_UNAVAILABLE) {
		ctl_emit_unavailable(e, d, new_family, label);
		return;
	}
	switch (e->fmt) {
	case QT_CTL_FMT_JSON:
		if (!d->label)
			ctl_printf(cl, "%s\"%s\":%" PRIu64, sep, d->key, v);
		else if (new_family)
			ctl_printf(cl, "%s\"%s\":{\"%s\":%" PRIu64, sep, d->key,
				   label, v);
		else
			ctl_printf(cl, ",\"%s\":%" PRIu64, label, v);
		e->first = false;
		return;
	case QT_CTL_FMT_PROMETHEUS:
		if (new_family)
			ctl_printf(cl, "# HELP %s %s\n# TYPE %s %s\n", d->prom,
				   d->help, d->prom, d->type);
		if (d->label)
			ctl_printf(cl, "%s{%s=\"%s\"} %" PRIu64 "\n", d->prom,
				   d->label, label, v);
		else
			ctl_printf(cl, "%s %" PRIu64 "\n", d->prom, v);
		return;
	case QT_CTL_FMT_TEXT:
		if (d->label)
			ctl_printf(cl, "%s.%s %" PRIu64 "\n", d->key, label, v);
		else
			ctl_printf(cl, "%s %" PRIu64 "\n", d->key, v);
		return;
	}
}

/* The kernel's drop counters for queue @num, or QTD_KDROPS_UNAVAILABLE
 * when the file cannot be read (0 when the queue is not listed). */
static void ctl_kernel_drops(struct qtd *d, uint16_t num, uint64_t *qdrop,
			     uint64_t *udrop)
{
	struct qtd_kdrops k = {0};
	int rc = qtd_kdrops_read(d, num, &k);

	*qdrop = rc < 0 ? QTD_KDROPS_UNAVAILABLE : k.queue_dropped;
	*udrop = rc < 0 ? QTD_KDROPS_UNAVAILABLE : k.user_dropped;
}

/* TCP, UDP, ICMP and ICMPv6 are always in the per-protocol families, so
 * that scripts find their keys. */
static bool ctl_proto_common(unsigned p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_ICMP ||
	       p == IPPROTO_ICMPV6;
}

/* The label of protocol @p: its name, or its number if it has none. */
static const char *ctl_proto_label(unsigned p, char *buf, size_t len)
{
	const char *name = qt_proto_name((uint8_t)p);

	if (strcmp(name, "unknown"))
		return name;
	snprintf(buf, len, "%u", p);
	return buf;
}

static void ctl_stats_write(struct ctl_client *cl)
{
	struct qt_control *c = cl->c;
	struct qtd *d = c->d;
	struct qt_stats sum;
	struct ctl_emit e = {cl, cl->req.fmt, -1, true};
	struct qtd_qstats qs[64];
	struct qtd_sync_stats ss;
	char lbl[16];
	unsigned i, p;
	int s;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < d->nworkers; i++) {
		struct qt_stats copy;
		const struct qt_stats *st = &copy;

		/* Copy under the worker's lock: its thread updates both. */
		qtd_worker_lock(&d->workers[i]);
		copy = *qt_engine_stats(d->workers[i].engine);
		if (i < 64)
			qs[i] = d->workers[i].qstats;
		qtd_worker_unlock(&d->workers[i]);
		/* An ICMP error related through another queue's table was
		 * counted INVALID by its own engine. */
		if (i < 64) {
			copy.packets[QT_CT_INVALID] -= qs[i].xrelated;
			copy.packets[QT_CT_RELATED] += qs[i].xrelated;
			copy.invalid[QT_R_ICMP_NO_CONN] -= qs[i].xrelated;
		}

		for (s = 0; s < QT_CT_MAX; s++)
			sum.packets[s] += st->packets[s];
		for (s = 0; s < QT_R_MAX; s++)
			sum.invalid[s] += st->invalid[s];
		sum.created += st->created;
		sum.destroyed += st->destroyed;
		sum.early_drop += st->early_drop;
		sum.refused += st->refused;
		sum.confirm_packets += st->confirm_packets;
		sum.confirmed += st->confirmed;
		sum.unconfirmed_expired += st->unconfirmed_expired;
		sum.unconfirmed_replaced += st->unconfirmed_replaced;
		sum.unconfirmed += st->unconfirmed;
		for (p = 0; p < 256; p++)
			sum.early_drop_proto[p] += st->early_drop_proto[p];
		sum.fragments += st->fragments;
		sum.count += st->count;
		sum.max += st->max;
		sum.buckets += st->buckets;
		sum.expect_count += st->expect_count;
		sum.restored += st->restored;
		sum.restore_skipped += st->restore_skipped;
	}

	if (e.fmt == QT_CTL_FMT_JSON)
		ctl_put(cl, "{", 1);
	ctl_emit(&e, M_ENTRIES, NULL, sum.count);
	ctl_emit(&e, M_MAX, NULL, sum.max);
	ctl_emit(&e, M_BUCKETS, NULL, sum.buckets);
	ctl_emit(&e, M_EXPECT, NULL, sum.expect_count);
	ctl_emit(&e, M_CREATED, NULL, sum.created);
	ctl_emit(&e, M_DESTROYED, NULL, sum.destroyed);
	ctl_emit(&e, M_EARLY_DROP, NULL, sum.early_drop);
	ctl_emit(&e, M_REFUSED, NULL, sum.refused);
	for (p = 0; p < 256; p++) {
		if (!ctl_proto_common(p) && !sum.early_drop_proto[p])
			continue;
		ctl_emit(&e, M_EARLY_DROP_PROTO, ctl_proto_label(p, lbl, sizeof(lbl)),
			 sum.early_drop_proto[p]);
	}
	ctl_emit(&e, M_UNCONFIRMED, NULL, sum.unconfirmed);
	ctl_emit(&e, M_CONFIRM_PACKETS, NULL, sum.confirm_packets);
	ctl_emit(&e, M_CONFIRMED, NULL, sum.confirmed);
	ctl_emit(&e, M_UNCONF_EXPIRED, NULL, sum.unconfirmed_expired);
	ctl_emit(&e, M_UNCONF_REPLACED, NULL, sum.unconfirmed_replaced);
	ctl_emit(&e, M_FRAGMENTS, NULL, sum.fragments);
	/* The four common protocols always, so scripts find their keys. */
	for (p = 0; p < 256; p++) {
		if (!ctl_proto_common(p) && !cl->by_proto[p])
			continue;
		ctl_emit(&e, M_BY_PROTO, ctl_proto_label(p, lbl, sizeof(lbl)),
			 cl->by_proto[p]);
	}
	for (s = 0; s < QT_TCP_STATE_MAX; s++)
		ctl_emit(&e, M_BY_TCP_STATE,
			 qt_tcp_state_name((enum qt_tcp_state)s),
			 cl->by_tcp_state[s]);
	for (s = 0; s < QT_CT_MAX; s++) {
		char name[16];
		const char *n = qt_ct_state_name((enum qt_ct_state)s);
		size_t k;

		/* Metric labels are lower case: "new", "established". */
		for (k = 0; n[k] && k < sizeof(name) - 1; k++)
			name[k] =
			    (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] - 'A' + 'a'
							      : n[k]);
		name[k] = '\0';
		ctl_emit(&e, M_PACKETS, name, sum.packets[s]);
	}
	for (s = 1; s < QT_R_MAX; s++)
		ctl_emit(&e, M_INVALID, qt_reason_name((enum qt_reason)s),
			 sum.invalid[s]);

	/* Per-queue counters, family by family as the formats need. */
	{
		uint64_t kd[64], ud[64];
		unsigned nq = d->nworkers < 64 ? d->nworkers : 64;
		int m;

		for (i = 0; i < nq; i++)
			ctl_kernel_drops(d, d->workers[i].queue_num, &kd[i],
					 &ud[i]);
		for (m = M_Q_RECEIVED; m <= M_Q_UDROP; m++) {
			for (i = 0; i < nq; i++) {
				const struct qtd_qstats *q = &qs[i];
				uint64_t v = 0;

				switch (m) {
				case M_Q_RECEIVED:
					v = q->received;
					break;
				case M_Q_VERDICTS:
					v = q->verdicts;
					break;
				case M_Q_BATCHES:
					v = q->batches;
					break;
				case M_Q_ENOBUFS:
					v = q->enobufs;
					break;
				case M_Q_ERRORS:
					v = q->errors;
					break;
				case M_Q_UNPARSED:
					v = q->unparsed;
					break;
				case M_Q_XRELATED:
					v = q->xrelated;
					break;
				case M_Q_KDROP:
					v = kd[i];
					break;
				case M_Q_UDROP:
					v = ud[i];
					break;
				}
				snprintf(lbl, sizeof(lbl), "%u",
					 d->workers[i].queue_num);
				ctl_emit(&e, m, lbl, v);
			}
		}
	}
	ctl_emit(&e, M_CLIENTS, NULL, c->nclients);
	ctl_emit(&e, M_SUBSCRIBERS, NULL, c->nsubscribers);
	ctl_emit(&e, M_EVENTS_LOST, NULL,
		 c->events_lost +
		     __atomic_load_n(&d->events_dropped, __ATOMIC_RELAXED));
	ctl_emit(&e, M_CTL_REFUSED, NULL, c->refused);
	ctl_emit(&e, M_CHUNKS, NULL, c->chunks);
	ctl_emit(&e, M_CHUNKS_SLOW, NULL, c->chunks_slow);
	ctl_emit(&e, M_CHUNK_MAX, NULL, c->chunk_max_ns / 1000);
	ctl_emit(&e, M_CHUNK_MAX_CPU, NULL, c->chunk_max_cpu_ns / 1000);
	ctl_emit(&e, M_CALLBACK_MAX, NULL, c->callback_max_ns / 1000);
	ctl_emit(&e, M_RESTORED, NULL, sum.restored);
	ctl_emit(&e, M_RESTORE_SKIPPED, NULL, sum.restore_skipped);
	ctl_emit(&e, M_STATE_SAVES, NULL,
		 __atomic_load_n(&d->state_saves, __ATOMIC_RELAXED));
	ctl_emit(&e, M_STATE_HOLD_MAX, NULL,
		 __atomic_load_n(&d->state_hold_max_ns, __ATOMIC_RELAXED) /
		     1000);
	sync_stats(d, &ss);
	ctl_emit(&e, M_SYNC_ACTIVE, NULL, ss.active);
	ctl_emit(&e, M_SYNC_IN_SYNC, NULL, ss.in_sync);
	ctl_emit(&e, M_SYNC_SENT, NULL, ss.sent);
	ctl_emit(&e, M_SYNC_SENT_BYTES, NULL, ss.sent_bytes);
	ctl_emit(&e, M_SYNC_RECEIVED, NULL, ss.received);
	ctl_emit(&e, M_SYNC_APPLIED, NULL, ss.applied);
	ctl_emit(&e, M_SYNC_REFUSED, NULL, ss.refused);
	ctl_emit(&e, M_SYNC_REPLAYED, NULL, ss.replayed);
	ctl_emit(&e, M_SYNC_GAPS, NULL, ss.gaps);
	ctl_emit(&e, M_SYNC_DUMPS, NULL, ss.dumps);
	ctl_emit(&e, M_SYNC_RESYNCS, NULL, ss.resyncs_sent);
	ctl_emit(&e, M_SYNC_DROPPED, NULL, ss.events_dropped);
	ctl_emit(&e, M_SYNC_LAG, NULL, ss.lag_ms);
	ctl_emit_close_family(&e);
	if (e.fmt == QT_CTL_FMT_JSON)
		ctl_put(cl, "}\n", 2);
}

/* ---- table walks: list, count, stats, expect, flush -------------------- */

static uint64_t ctl_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ctl_now_ns(void)
{
	return ctl_clock_ns(CLOCK_MONOTONIC);
}

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

static void ctl_walk_entry(struct ctl_client *cl, const struct qt_engine *eng,
			   const struct qt_conn *ct, uint64_t now)
{
	struct qt_format_opts o = {0};
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

	o.timeout = qt_engine_timeout_left(eng, ct, now);
	o.accounting = cl->c->d->conf.table.accounting;
	o.acct = qt_engine_acct(eng, ct);
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
			    CTL_OUTBUF - cl->tail, CTL_CHUNK);
	ctl_chunk_done(cl->c, t0);
	cl->tail += n;
	if (sw->done)
		ctl_reply_ok(cl);
}

/* Go on with the walk: at most CTL_CHUNK entries, and only while a whole
 * line still fits.  When every engine is done and the final block fits,
 * write it and move to CTL_DRAINING. */
static void ctl_walk_step(struct ctl_client *cl)
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
	if (cl->worker < d->nworkers || ctl_room(cl) < CTL_FINAL_ROOM)
		return;

	if (cl->req.cmd == QT_CTL_FLUSH)
		log_info("control: flushed %" PRIu64 " connections by request",
			 cl->matched);
	if (cl->req.cmd == QT_CTL_COUNT || cl->req.cmd == QT_CTL_FLUSH)
		ctl_printf(cl, "%" PRIu64 "\n", cl->matched);
	else if (cl->req.cmd == QT_CTL_STATS)
		ctl_stats_write(cl);
	ctl_reply_ok(cl);
}

static void ctl_walk_start(struct ctl_client *cl)
{
	cl->phase = CTL_WALKING;
	cl->worker = 0;
	cl->cursor = 0;
	cl->matched = 0;
	ctl_want_write(cl);
}

/* ---- requests --------------------------------------------------------- */

static void ctl_do_delete(struct ctl_client *cl)
{
	struct qtd *d = cl->c->d;
	struct qt_format_opts o = {0};
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
		o.timeout = qt_engine_timeout_left(eng, ct, qtd_now_ms());
		o.accounting = d->conf.table.accounting;
		o.acct = qt_engine_acct(eng, ct);
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

static void ctl_request(struct ctl_client *cl, const char *line, size_t len)
{
	struct qt_control *c = cl->c;
	struct qtd *d = c->d;
	char err[512];
	size_t n = 0;
	unsigned i;

	ev_timer_stop(d->loop, &cl->timer);
	if (qt_ctlreq_parse(&cl->req, line, len, err, sizeof(err)) < 0) {
		ctl_reply_err(cl, err);
		return;
	}
	switch (cl->req.cmd) {
	case QT_CTL_LIST:
	case QT_CTL_STATS:
		ctl_walk_start(cl);
		return;
	case QT_CTL_COUNT:
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
		return;
	case QT_CTL_EVENTS:
		cl->phase = CTL_EVENTS;
		c->nsubscribers++;
		if (cl->req.fmt == QT_CTL_FMT_JSON)
			c->njson++;
		__atomic_store_n(&d->events_wanted, c->nsubscribers,
				 __ATOMIC_RELAXED);
		return;
	case QT_CTL_FLUSH:
		ctl_walk_start(cl);
		return;
	case QT_CTL_DELETE:
		ctl_do_delete(cl);
		return;
	case QT_CTL_EXPECT:
		/* Expectations stream like list: a walk, chunk by chunk. */
		ctl_walk_start(cl);
		return;
	case QT_CTL_RELOAD:
		/* Synchronous: the reply is the reload's outcome, which is
		 * what lets systemctl reload fail when the file is refused. */
		if (qtd_reload(d, err, sizeof(err)) < 0) {
			ctl_reply_err(cl, err);
			return;
		}
		ctl_reply_ok(cl);
		return;
	case QT_CTL_SAVE:
		ctl_walk_start(cl);
		return;
	case QT_CTL_SYNC_ACTIVE:
	case QT_CTL_SYNC_STANDBY:
	case QT_CTL_SYNC_RESYNC:
		if (sync_request_cmd(d, cl->req.cmd == QT_CTL_SYNC_ACTIVE,
				     cl->req.cmd == QT_CTL_SYNC_RESYNC, err,
				     sizeof(err)) < 0) {
			ctl_reply_err(cl, err);
			return;
		}
		ctl_reply_ok(cl);
		return;
	case QT_CTL_CMD_MAX:
		break;
	}
	ctl_reply_err(cl, "unknown command");
}

/* ---- I/O callbacks ---------------------------------------------------- */

/* Write what the buffer holds.  -1 if the peer is gone. */
static int ctl_flush(struct ctl_client *cl)
{
	while (cl->tail > cl->head) {
		ssize_t n =
		    send(cl->fd, cl->out + cl->head, cl->tail - cl->head,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		cl->head += (size_t)n;
	}
	cl->head = cl->tail = 0;
	return 0;
}

static void ctl_lost_line(struct ctl_client *cl)
{
	if (cl->lost &&
	    ctl_printf(cl, "[LOST] %" PRIu64 " events\n", cl->lost) == 0)
		cl->lost = 0;
}

static void ctl_write_turn(struct ev_loop *loop, ev_io *w)
{
	struct ctl_client *cl = w->data;

	if (ctl_flush(cl) < 0) {
		ctl_client_free(cl);
		return;
	}
	if (cl->phase == CTL_WALKING) {
		ctl_walk_step(cl);
		if (ctl_flush(cl) < 0) {
			ctl_client_free(cl);
			return;
		}
		/* Stay armed: the next loop iteration goes on with the walk
		 * after the queue has had its turn. */
		if (cl->phase == CTL_WALKING)
			return;
	}
	if (cl->phase == CTL_EVENTS && cl->lost) {
		ctl_lost_line(cl);
		if (ctl_flush(cl) < 0) {
			ctl_client_free(cl);
			return;
		}
	}
	if (cl->tail > cl->head)
		return;
	if (cl->phase == CTL_DRAINING) {
		ctl_client_free(cl);
		return;
	}
	ev_io_stop(loop, w);
}

static void ctl_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct qt_control *c = ((struct ctl_client *)w->data)->c;
	uint64_t t0 = ctl_now_ns(), ns;

	(void)revents;
	/* The client may be freed inside; the control block is not. */
	ctl_write_turn(loop, w);
	ns = ctl_now_ns() - t0;
	if (ns > c->callback_max_ns)
		c->callback_max_ns = ns;
}

/* Whether the peer closed its end entirely rather than only shutting down
 * its sending side: on a UNIX stream socket only the former sets POLLHUP. */
static bool ctl_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void ctl_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = w->data;
	char sink[512];
	char *nl;
	ssize_t n;

	(void)revents;
	if (cl->phase != CTL_READING) {
		/* One request per connection: later bytes are ignored, but
		 * reading tells us when the peer goes away. */
		n = recv(cl->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
		if (n == 0 && !ctl_peer_gone(cl->fd)) {
			/* A half-close after the request (socat, nc -N)
			 * still wants the reply or the events. */
			ev_io_stop(loop, w);
			return;
		}
		ctl_client_free(cl);
		return;
	}

	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen,
		 MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		ctl_client_free(cl);
		return;
	}
	if (n == 0) {
		/* A last line without its newline still counts (printf
		 * 'count' | socat ...); nothing at all means goodbye. */
		ev_io_stop(loop, w);
		if (cl->inlen)
			ctl_request(cl, cl->in, cl->inlen);
		else
			ctl_client_free(cl);
		return;
	}
	nl = memchr(cl->in + cl->inlen, '\n', (size_t)n);
	cl->inlen += (size_t)n;
	if (nl) {
		ctl_request(cl, cl->in, (size_t)(nl - cl->in));
		return;
	}
	if (cl->inlen == sizeof(cl->in))
		ctl_reply_err(cl, "request too long");
}

static void ctl_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_client *cl = t->data;

	(void)loop;
	(void)revents;
	if (cl->phase == CTL_READING)
		ctl_reply_err(cl, "timeout waiting for the request");
}

/* Whether the user @uid is a member of group @gid, primary or
 * supplementary, per the user and group databases. */
static bool ctl_user_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = (int)(sizeof(groups) / sizeof(groups[0]));
	int i;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (pw.pw_gid == gid)
		return true;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		ng = (int)(sizeof(groups) / sizeof(groups[0]));
	for (i = 0; i < ng; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Root, our own user, or a member of [control] group may talk to us. */
static bool ctl_peer_allowed(struct qt_control *c, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!c->have_group)
		return false;
	return cr->gid == c->gid || ctl_user_in_group(cr->uid, c->gid);
}

static void ctl_refuse(struct qt_control *c, int fd, const char *line)
{
	c->refused++;
	(void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct qt_control *c = w->data;
	struct ctl_client *cl;
	struct ucred cr;
	int i, fd;

	(void)revents;
	/* A handful per callback: a connection storm must not starve the
	 * packet path either. */
	for (i = 0; i < 16; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_rl(&c->refuse_rl, LOG_WARNING,
				       "control: accept: %s", strerror(errno));
			return;
		}
		if (!ctl_peer_allowed(c, fd, &cr)) {
			log_rl(&c->refuse_rl, LOG_WARNING,
			       "control: refused uid %u gid %u pid %d",
			       (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid);
			ctl_refuse(c, fd, "ERR permission denied\n");
			continue;
		}
		if (c->nclients >= CTL_MAX_CLIENTS) {
			log_rl(&c->refuse_rl, LOG_WARNING,
			       "control: refused pid %d: %u clients",
			       (int)cr.pid, c->nclients);
			ctl_refuse(c, fd, "ERR too many clients\n");
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl)
			cl->out = malloc(CTL_OUTBUF);
		if (!cl || !cl->out) {
			if (cl)
				free(cl);
			ctl_refuse(c, fd, "ERR out of memory\n");
			continue;
		}
		cl->c = c;
		cl->fd = fd;
		cl->phase = CTL_READING;
		ev_io_init(&cl->rio, ctl_read_cb, fd, EV_READ);
		ev_io_init(&cl->wio, ctl_write_cb, fd, EV_WRITE);
		ev_timer_init(&cl->timer, ctl_timeout_cb, CTL_REQUEST_TIMEOUT,
			      0.);
		cl->rio.data = cl->wio.data = cl->timer.data = cl;
		cl->next = c->clients;
		if (cl->next)
			cl->next->pprev = &cl->next;
		cl->pprev = &c->clients;
		c->clients = cl;
		c->nclients++;
		ev_io_start(loop, &cl->rio);
		ev_timer_start(loop, &cl->timer);
	}
}

/* ---- events ----------------------------------------------------------- */

/* Queue @line for one subscriber, or count it lost.  A pending [LOST]
 * notice goes out first, so the gap shows where it happened. */
static void ctl_event_put(struct ctl_client *cl, const char *line, size_t n)
{
	if (cl->lost) {
		ctl_lost_line(cl);
		if (cl->lost)
			goto lost;
	}
	if (ctl_put(cl, line, n) == 0) {
		ctl_want_write(cl);
		return;
	}
lost:
	cl->lost++;
	cl->c->events_lost++;
}

void control_event(struct qt_control *c, enum qt_event_type type,
		   const struct qt_conn *ct, const struct qt_acct *acct)
{
	struct qt_format_opts o = {0};
	struct ctl_client *cl;
	char text[CTL_LINE], json[CTL_LINE];
	size_t ntext = 0, njson = 0;

	if (!c || !c->nsubscribers || (unsigned)type > QT_EV_DESTROY)
		return;
	/* Events carry the timeout just set, as the kernel's do. */
	o.event = ctl_event_names[type];
	o.timeout = ct->timeout;
	o.accounting = c->d->conf.table.accounting;
	o.acct = acct;
	if (c->nsubscribers > c->njson) {
		ntext = qt_format_conn(ct, &o, text, sizeof(text) - 1);
		if (ntext >= sizeof(text) - 1)
			return;
		text[ntext++] = '\n';
	}
	if (c->njson) {
		njson = qt_format_conn_json(ct, &o, json, sizeof(json) - 1);
		if (njson >= sizeof(json) - 1)
			return;
		json[njson++] = '\n';
	}
	for (cl = c->clients; cl; cl = cl->next) {
		if (cl->phase != CTL_EVENTS)
			continue;
		if (cl->req.fmt == QT_CTL_FMT_JSON)
			ctl_event_put(cl, json, njson);
		else
			ctl_event_put(cl, text, ntext);
	}
}

/* ---- open / close ----------------------------------------------------- */

/* mkdir -p for the socket's directory; existing directories are kept as
 * the administrator made them. */
static int ctl_mkdirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left behind by a daemon that died is removed; one a live
 * daemon still answers on is not. */
static int ctl_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(sa->sun_path);
}

struct qt_control *control_open(struct qtd *d)
{
	const struct qt_conf *conf = &d->conf;
	struct sockaddr_un sa;
	struct qt_control *c;
	struct group *gr;

	if (strlen(conf->control.socket) >= sizeof(sa.sun_path) ||
	    conf->control.socket[0] != '/') {
		log_warnx("control: socket path '%s' must be absolute and "
			  "shorter than %zu bytes",
			  conf->control.socket, sizeof(sa.sun_path));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("control");
		return NULL;
	}
	c->d = d;
	c->fd = -1;
	c->refuse_rl = (struct log_rl)LOG_RL_INIT(10000, 5);
	snprintf(c->path, sizeof(c->path), "%s", conf->control.socket);

	if (conf->control.group[0]) {
		gr = getgrnam(conf->control.group);
		if (!gr) {
			log_warnx(
			    "control: [control] group '%s' does not exist",
			    conf->control.group);
			goto fail;
		}
		c->gid = gr->gr_gid;
		c->have_group = true;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (ctl_mkdirs(c->path) < 0) {
		log_warn("control: creating the directory of %s", c->path);
		goto fail;
	}
	if (ctl_clear_stale(&sa) < 0) {
		log_warn("control: %s", c->path);
		goto fail;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		log_warn("control: socket");
		goto fail;
	}
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_warn("control: bind %s", c->path);
		goto fail;
	}
	/* Permissions before listen(): nobody can connect until they are
	 * right, and SO_PEERCRED is checked on every accept anyway. */
	if (chmod(c->path, 0660) < 0) {
		log_warn("control: setting the mode of %s", c->path);
		goto fail_unlink;
	}
	/* Without CAP_CHOWN a process may give its file only to a group it
	 * belongs to; under the shipped unit that takes a drop-in. */
	if (c->have_group && chown(c->path, (uid_t)-1, c->gid) < 0) {
		if (errno == EPERM)
			log_warnx("control: cannot give %s to group '%s': "
				  "qtrackd is not a member of it (under "
				  "systemd: systemctl edit qtrackd, "
				  "[Service] SupplementaryGroups=%s)",
				  c->path, conf->control.group,
				  conf->control.group);
		else
			log_warn("control: setting the group of %s", c->path);
		goto fail_unlink;
	}
	if (listen(c->fd, CTL_BACKLOG) < 0) {
		log_warn("control: listen %s", c->path);
		goto fail_unlink;
	}
	ev_io_init(&c->lio, ctl_accept_cb, c->fd, EV_READ);
	c->lio.data = c;
	ev_io_start(d->loop, &c->lio);
	log_info("control: listening on %s%s%s", c->path,
		 c->have_group ? " for group " : "",
		 c->have_group ? conf->control.group : "");
	return c;

fail_unlink:
	unlink(c->path);
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void control_close(struct qt_control *c)
{
	if (!c)
		return;
	while (c->clients)
		ctl_client_free(c->clients);
	ev_io_stop(c->d->loop, &c->lio);
	close(c->fd);
	unlink(c->path);
	free(c);
}
