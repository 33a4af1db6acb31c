/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_stats.c - `qtrackctl stats`: the engines' counters summed over
 * the workers, the per-queue counters (with the kernel's drop counters
 * beside them), the control socket's, the state file's and replication's,
 * as text, JSON or Prometheus.  The per-protocol and per-state tallies
 * come from the table walk that precedes the block (control_walk.c).
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_internal.h"
#include "kdrops.h"
#include "proto.h"
#include "sync.h"

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
	M_SYNC_STALE,
	M_SYNC_FOREIGN,
	M_SYNC_LAG_SAMPLES,
	M_SYNC_LAG_US,
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
    [M_SYNC_STALE] = {"sync_stale_removed", "qtrack_sync_stale_removed_total",
		      "counter", NULL,
		      "Entries a full dump from the peer no longer had."},
    [M_SYNC_FOREIGN] = {"sync_foreign", "qtrack_sync_foreign_total",
			"counter", NULL,
			"Sync datagrams refused: not from the peer's address "
			"and port."},
    [M_SYNC_LAG_SAMPLES] = {"sync_lag_samples", "qtrack_sync_lag_samples_total",
			    "counter", NULL,
			    "Sync datagrams with items the standby applied."},
    [M_SYNC_LAG_US] = {"sync_lag_us", "qtrack_sync_lag_microseconds", "gauge",
		       "quantile",
		       "Time from a change on the active node to the standby "
		       "applying it: median, 99th percentile, maximum."},
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

/* One queue's counters, in the order of its families M_Q_RECEIVED to
 * M_Q_UDROP: the worker's, copied under its lock, then the kernel's drop
 * counters (QTD_KDROPS_UNAVAILABLE when the file cannot be read, 0 when
 * it does not list the queue). */
#define CTL_QUEUE_FAMILIES (M_Q_UDROP - M_Q_RECEIVED + 1)

struct ctl_queue_row {
	uint64_t v[CTL_QUEUE_FAMILIES];
};

/* The most one queue adds to the block: one sample of each per-queue
 * family in the longest form, Prometheus's. */
#define CTL_QUEUE_ROOM (CTL_QUEUE_FAMILIES * 128)

size_t ctl_stats_room(const struct qtd *d)
{
	return CTL_FINAL_ROOM + (size_t)d->nworkers * CTL_QUEUE_ROOM;
}

void ctl_cmd_stats(struct ctl_client *cl)
{
	/* Every queue's rows must fit at once: a block cut short would
	 * drop queues without a word (or end JSON mid-object). */
	if (ctl_reserve(cl, ctl_stats_room(cl->c->d)) < 0) {
		ctl_reply_err(cl, "out of memory");
		return;
	}
	ctl_walk_start(cl);
}

static void ctl_queue_row_fill(struct ctl_queue_row *r,
			       const struct qtd_qstats *q,
			       const struct qtd_kdrops *k, bool k_ok)
{
	r->v[M_Q_RECEIVED - M_Q_RECEIVED] = q->received;
	r->v[M_Q_VERDICTS - M_Q_RECEIVED] = q->verdicts;
	r->v[M_Q_BATCHES - M_Q_RECEIVED] = q->batches;
	r->v[M_Q_ENOBUFS - M_Q_RECEIVED] = q->enobufs;
	r->v[M_Q_ERRORS - M_Q_RECEIVED] = q->errors;
	r->v[M_Q_UNPARSED - M_Q_RECEIVED] = q->unparsed;
	r->v[M_Q_XRELATED - M_Q_RECEIVED] = q->xrelated;
	r->v[M_Q_KDROP - M_Q_RECEIVED] =
	    k_ok ? k->queue_dropped : QTD_KDROPS_UNAVAILABLE;
	r->v[M_Q_UDROP - M_Q_RECEIVED] =
	    k_ok ? k->user_dropped : QTD_KDROPS_UNAVAILABLE;
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

int ctl_stats_write(struct ctl_client *cl)
{
	struct qt_control *c = cl->c;
	struct qtd *d = c->d;
	struct qt_stats sum;
	struct ctl_emit e = {cl, cl->req.fmt, -1, true};
	struct ctl_queue_row *rows;
	struct qtd_kdrops *kd;
	struct qtd_sync_stats ss;
	char lbl[16];
	unsigned i, p;
	int s, m;
	bool kd_ok;

	rows = calloc(d->nworkers, sizeof(*rows));
	kd = calloc(d->nworkers, sizeof(*kd));
	if (!rows || !kd) {
		free(rows);
		free(kd);
		return -1;
	}
	kd_ok = qtd_kdrops_read(d, kd) == 0;
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < d->nworkers; i++) {
		struct qt_stats copy;
		const struct qt_stats *st = &copy;
		struct qtd_qstats qs;

		/* Copy under the worker's lock: its thread updates both. */
		qtd_worker_lock(&d->workers[i]);
		copy = *qt_engine_stats(d->workers[i].engine);
		qs = d->workers[i].qstats;
		qtd_worker_unlock(&d->workers[i]);
		ctl_queue_row_fill(&rows[i], &qs, &kd[i], kd_ok);
		/* An ICMP error related through another queue's table was
		 * counted INVALID by its own engine. */
		copy.packets[QT_CT_INVALID] -= qs.xrelated;
		copy.packets[QT_CT_RELATED] += qs.xrelated;
		copy.invalid[QT_R_ICMP_NO_CONN] -= qs.xrelated;

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
		ctl_emit(&e, M_EARLY_DROP_PROTO,
			 ctl_proto_label(p, lbl, sizeof(lbl)),
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
	for (m = M_Q_RECEIVED; m <= M_Q_UDROP; m++) {
		for (i = 0; i < d->nworkers; i++) {
			snprintf(lbl, sizeof(lbl), "%u",
				 d->workers[i].queue_num);
			ctl_emit(&e, m, lbl, rows[i].v[m - M_Q_RECEIVED]);
		}
	}
	free(rows);
	free(kd);
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
	ctl_emit(&e, M_SYNC_STALE, NULL, ss.stale_removed);
	ctl_emit(&e, M_SYNC_FOREIGN, NULL, ss.foreign);
	ctl_emit(&e, M_SYNC_LAG_SAMPLES, NULL, ss.lag_samples);
	ctl_emit(&e, M_SYNC_LAG_US, "0.5", ss.lag_p50_us);
	ctl_emit(&e, M_SYNC_LAG_US, "0.99", ss.lag_p99_us);
	ctl_emit(&e, M_SYNC_LAG_US, "1", ss.lag_max_us);
	ctl_emit_close_family(&e);
	if (e.fmt == QT_CTL_FMT_JSON)
		ctl_put(cl, "}\n", 2);
	return 0;
}
