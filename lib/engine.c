// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engine.c - the classification pipeline, nf_conntrack_in() in user space.
 *
 *   notrack mark? -> parse -> tracker pre() (flags, ND/MLD, ICMP errors)
 *   -> lookup both directions -> new conn (or refuse/early drop)
 *   -> tracker packet() -> ct_state + reply bit -> output mark
 *
 * Every packet goes through the batch (qt_engine_process_batch();
 * qt_engine_process() is a batch of one), which runs these steps
 * pipelined, with one short way (engine_short()) for the packets of
 * steady connections that the tracker's steady() operation takes; plain
 * IPv4 TCP (without options, or with the timestamps and SACK layouts
 * Linux sends: qt_packet_brief()) and UDP take it parsed only in brief,
 * without a struct qt_pkt, and are parsed in full only if they leave it.
 *
 * Confirmation: the kernel keeps a new connection only when its first
 * packet leaves the last hook (nf_conntrack_confirm()); a packet the rules
 * drop leaves nothing behind.  A queue consumer cannot see later rules, so
 * the rule sets end with a confirm rule that queues the packets marked NEW
 * or RELATED in the original direction once more, after the filter
 * (QT_IN_CONFIRM).  Once such a packet has been seen for a family, new
 * entries of that family are created unconfirmed: in the index (so that
 * the confirm packet finds them and they count against [table] max) but
 * invisible to classification, listing and events, on a short timer, and
 * the first to go when the table is full.  Without a confirm rule entries
 * are confirmed with their first packet, as before.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "expect.h"
#include "proto.h"
#include "record.h"
#include "table.h"
#include "tcp_window.h"
#include "timer.h"

/* Entries examined per early-drop attempt (the kernel looks at a few
 * chains near the new entry's bucket). */
#define EARLY_DROP_SCAN 64

struct qt_engine {
	struct qt_conf conf;
	struct qt_table table;
	struct qt_wheel wheel;
	struct qt_expect_table expect;
	struct qt_stats stats;
	qt_event_fn ev_fn;
	void *ev_arg;
	uint32_t next_id;	/* the next connection's id */
	uint32_t id_step;	/* ids of one engine are id_step apart */
	uint64_t now;
	uint8_t confirming;	/* ENGINE_CONFIRM_V4/V6: a confirm rule is
				 * seen for the family */
	/* Replication's full dumps (qt_engine_sync_sweep()): per entry, the
	 * id and dump generation of the last replicated update, or NULL
	 * before the first; the current generation; and next_id when the
	 * node last became standby. */
	struct engine_sync_tag *sync_tag;
	uint32_t sync_gen;
	uint32_t sync_floor;
};

/* An entry is the peer's, seen in dump @gen, while its id is @id: a slot
 * reused by a connection of this node's own has another id. */
struct engine_sync_tag {
	uint32_t id;
	uint32_t gen;
};

#define ENGINE_CONFIRM_V4 0x01
#define ENGINE_CONFIRM_V6 0x02

static inline uint8_t engine_confirm_bit(uint8_t family)
{
	return family == AF_INET6 ? ENGINE_CONFIRM_V6 : ENGINE_CONFIRM_V4;
}

static const char *const ct_state_names[QT_CT_MAX] = {
	[QT_CT_NEW] = "NEW",
	[QT_CT_ESTABLISHED] = "ESTABLISHED",
	[QT_CT_RELATED] = "RELATED",
	[QT_CT_INVALID] = "INVALID",
	[QT_CT_UNTRACKED] = "UNTRACKED",
};

const char *qt_ct_state_name(enum qt_ct_state s)
{
	return (unsigned)s < QT_CT_MAX ? ct_state_names[s] : "UNKNOWN";
}

static inline struct qt_conn *conn_of_timer(struct qt_timer *t)
{
	return (struct qt_conn *)((char *)t - offsetof(struct qt_conn, timer));
}

/* The id of a connection being created.  Ids of one engine are
 * id_step apart from its first, so that the engines of several queues
 * hand out distinct ones; 0 is never an id (a master link to nothing). */
static uint32_t engine_id_next(struct qt_engine *e)
{
	uint32_t id;

	do {
		id = e->next_id;
		e->next_id += e->id_step;
	} while (id == 0);
	return id;
}

static void engine_event(struct qt_engine *e, enum qt_event_type type,
			 const struct qt_conn *ct)
{
	if (e->ev_fn)
		e->ev_fn(e->ev_arg, type, ct);
}

/* Inline: it is on the short way, which must not pay for a call. */
static inline __attribute__((always_inline)) void
conn_arm(struct qt_engine *e, struct qt_conn *ct, uint32_t timeout)
{
	/* ct->timeout has 24 bits; no configurable timeout comes near. */
	if (timeout > QT_CONN_TIMEOUT_MAX)
		timeout = QT_CONN_TIMEOUT_MAX;
	ct->timeout = timeout;
	qt_timer_rearm(&e->wheel, &ct->timer,
		       e->now + (uint64_t)timeout * 1000);
}

/* Arm the timer of a connection the tracker has just seen a packet of.
 * An unconfirmed one keeps its timeout in ct->timeout for later, but
 * waits at most [table] confirm_timeout for its confirmation. */
static void conn_arm_tracked(struct qt_engine *e, struct qt_conn *ct,
			     uint32_t timeout)
{
	uint32_t wait = e->conf.table.confirm_timeout;

	if (ct->status & QT_CONN_CONFIRMED) {
		conn_arm(e, ct, timeout);
		return;
	}
	if (timeout > QT_CONN_TIMEOUT_MAX)
		timeout = QT_CONN_TIMEOUT_MAX;
	ct->timeout = timeout;
	qt_timer_rearm(&e->wheel, &ct->timer,
		       e->now + (uint64_t)(timeout < wait ? timeout : wait) *
				    1000);
}

/* Unlink and free a hashed entry and the expectations it is master of.
 * A confirmed connection is announced (DESTROY) and counted; an
 * unconfirmed one was never announced and goes quietly. */
static void conn_destroy(struct qt_engine *e, struct qt_conn *ct)
{
	bool confirmed = ct->status & QT_CONN_CONFIRMED;

	qt_timer_cancel(&e->wheel, &ct->timer);
	if (ct->nexpect || ct->help)
		qt_expect_remove_master(&e->expect, &e->wheel, ct);
	if (confirmed)
		engine_event(e, QT_EV_DESTROY, ct);
	qt_table_release(&e->table, ct);
	if (confirmed)
		e->stats.destroyed++;
	else
		e->stats.unconfirmed--;
	e->stats.count = e->table.count;
	/* Its expectations went with it: a flush or delete must not leave
	 * the count stale until the next packet. */
	e->stats.expect_count = e->expect.count;
}

static void engine_timer_fired(struct qt_timer *t, void *arg)
{
	struct qt_engine *e = arg;

	if (qt_expect_is_timer(&e->expect, t)) {
		qt_expect_timer_fired(&e->expect, t);
		return;
	}
	if (!(conn_of_timer(t)->status & QT_CONN_CONFIRMED))
		e->stats.unconfirmed_expired++;
	conn_destroy(e, conn_of_timer(t));
}

/* Apply [table] confirm: yes turns confirmation on for both families at
 * once, no turns it off; auto keeps what confirm packets have shown. */
static void engine_confirm_mode(struct qt_engine *e)
{
	if (e->conf.table.confirm == QT_CONFIRM_YES)
		e->confirming = ENGINE_CONFIRM_V4 | ENGINE_CONFIRM_V6;
	else if (e->conf.table.confirm == QT_CONFIRM_NO)
		e->confirming = 0;
}

struct qt_engine *qt_engine_new(const struct qt_conf *conf, uint64_t now)
{
	struct qt_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->conf = *conf;
	e->now = now;
	/* The seed only needs to differ between runs of different tables;
	 * the engine has no entropy source of its own, so mix what differs
	 * (the allocation address) with the start time. */
	if (qt_table_init(&e->table, conf->table.max, conf->table.buckets,
			  (uint32_t)((uintptr_t)e >> 4) ^ (uint32_t)now) < 0) {
		free(e);
		return NULL;
	}
	if ((conf->table.accounting && qt_table_acct_enable(&e->table) < 0) ||
	    qt_expect_init(&e->expect, &e->table, conf->helper.expect_max) < 0) {
		qt_table_destroy(&e->table);
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	qt_wheel_init(&e->wheel, now);
	qt_wheel_set_array(&e->wheel, 0, &e->table.conns[0].timer,
			   sizeof(struct qt_conn), e->table.max);
	if (e->expect.max)
		qt_wheel_set_array(&e->wheel, 1, &e->expect.slot[0].timer,
				   sizeof(struct qt_expect), e->expect.max);
	e->stats.max = e->table.max;
	e->stats.buckets = e->table.nbuckets;
	e->next_id = 1;
	e->id_step = 1;
	e->sync_floor = e->next_id;
	engine_confirm_mode(e);
	return e;
}

void qt_engine_free(struct qt_engine *e)
{
	if (!e)
		return;
	qt_expect_destroy(&e->expect);
	qt_table_destroy(&e->table);
	free(e->sync_tag);
	free(e);
}

void qt_engine_set_events(struct qt_engine *e, qt_event_fn fn, void *arg)
{
	e->ev_fn = fn;
	e->ev_arg = arg;
}

void qt_engine_set_id_space(struct qt_engine *e, uint32_t first,
			    uint32_t step)
{
	e->next_id = first ? first : 1;
	e->id_step = step ? step : 1;
	e->sync_floor = e->next_id;
}

int qt_engine_reconfigure(struct qt_engine *e, const struct qt_conf *conf,
			  char *err, size_t errlen)
{
	if (qt_conf_check_reload(&e->conf, conf, err, errlen) < 0)
		return -1;
	if (conf->table.accounting && qt_table_acct_enable(&e->table) < 0) {
		snprintf(err, errlen, "[table] accounting: out of memory");
		return -1;
	}
	e->conf = *conf;
	engine_confirm_mode(e);
	return 0;
}

const struct qt_conf *qt_engine_conf(const struct qt_engine *e)
{
	return &e->conf;
}

const struct qt_stats *qt_engine_stats(const struct qt_engine *e)
{
	return &e->stats;
}

size_t qt_engine_expire(struct qt_engine *e, uint64_t now, size_t budget)
{
	size_t n;

	if (now > e->now)
		e->now = now;
	n = qt_wheel_advance(&e->wheel, e->now, engine_timer_fired, e, budget);
	e->stats.expect_count = e->expect.count;
	return n;
}

/* The output mark: foreign bits kept, our bits replaced by the state code,
 * the reply bit, and the connection's saved connmark bits. */
static uint32_t engine_mark(const struct qt_conf_mark *m, uint32_t mark_in,
			    const struct qt_result *res)
{
	uint32_t mark = (mark_in & ~m->mask) | (m->state[res->state] & m->mask);

	if (res->reply)
		mark |= m->reply;
	if (m->connmark && res->conn)
		mark = (mark & ~m->connmark) | (res->conn->mark & m->connmark);
	return mark;
}

static void result_set(struct qt_result *res, enum qt_ct_state state,
		       enum qt_reason why)
{
	res->state = state;
	res->reason = why;
}

/* Early drop scores: the class of an entry above the time it has left. */
#define VICTIM_UNCONFIRMED 3	/* its packet was dropped or is in flight */
#define VICTIM_UNASSURED 2	/* the kernel's early_drop() takes these */
#define VICTIM_CLOSING 1	/* assured, but closing (can_early_drop()):
				 * the kernel's gc takes these near full */
#define VICTIM_LEFT_MAX ((UINT64_C(1) << 40) - 1) /* ms, ~35 years */

/*
 * engine_victim_score - how good a victim @ct is when the table is full:
 * 0 for an assured connection that is not closing, which is never
 * evicted; otherwise its class (above), and within a class the entry
 * with the least time left scores highest.  An unconfirmed entry that has
 * waited longest is the likeliest to belong to a dropped packet, and a
 * half-open entry near its end is the likeliest to be junk, while a
 * connection still opening (a few ms old) keeps its place.
 */
static uint64_t engine_victim_score(void *arg, const struct qt_conn *ct)
{
	const struct qt_engine *e = arg;
	const struct qt_proto_ops *ops;
	uint64_t class, left;

	if (!(ct->status & QT_CONN_CONFIRMED)) {
		class = VICTIM_UNCONFIRMED;
	} else if (!(ct->status & QT_CONN_ASSURED)) {
		class = VICTIM_UNASSURED;
	} else {
		ops = qt_proto_find(qt_conn_l4proto(ct));
		if (!ops->can_early_drop || !ops->can_early_drop(ct))
			return 0;
		class = VICTIM_CLOSING;
	}
	left = qt_timer_armed(&ct->timer) ? qt_timer_left(&ct->timer, e->now)
					  : 0;
	if (left > VICTIM_LEFT_MAX)
		left = VICTIM_LEFT_MAX;
	return class << 40 | (VICTIM_LEFT_MAX - left);
}

/* Allocate an entry; when the table is full, evict the best victim near
 * the new tuple's bucket (engine_victim_score()), as the kernel's
 * early_drop() evicts a non-assured entry from a few buckets near the new
 * one.  NULL if there is none: the new connection is refused. */
static struct qt_conn *engine_alloc(struct qt_engine *e,
				    const struct qt_tuple *tp)
{
	struct qt_conn *ct = qt_table_alloc(&e->table);
	struct qt_conn *victim;

	if (ct)
		return ct;
	victim = qt_table_victim(&e->table, tp, EARLY_DROP_SCAN,
				 engine_victim_score, e);
	if (!victim)
		return NULL;
	e->stats.early_drop++;
	e->stats.early_drop_proto[qt_conn_l4proto(victim)]++;
	conn_destroy(e, victim);
	return qt_table_alloc(&e->table);
}

/* An ICMP or ICMPv6 error: RELATED to the connection of the quoted packet,
 * in the direction opposite to it, if the error is addressed to that
 * connection's endpoint (the kernel's nf_conntrack_inet_error()). */
static void engine_error(const struct qt_engine *e, const struct qt_pkt *pkt,
			 struct qt_result *res)
{
	const struct qt_proto_ops *inner_ops;
	struct qt_tuple want;
	struct qt_conn *ct;
	enum qt_dir dir;

	if (!pkt->inner.present ||
	    pkt->inner.tuple.family != pkt->tuple.family) {
		result_set(res, QT_CT_INVALID, QT_R_ICMP_INNER);
		return;
	}
	inner_ops = qt_proto_find(pkt->inner.tuple.proto);
	if (!inner_ops->invert(&want, &pkt->inner.tuple)) {
		result_set(res, QT_CT_INVALID, QT_R_ICMP_INNER);
		return;
	}
	/* An unconfirmed entry counts: the firewall's own errors about a
	 * packet it refuses (REJECT, TTL exceeded) quote a packet that never
	 * passed, and the kernel attaches them to its unconfirmed entry
	 * (nf_ct_attach()), so they leave RELATED. */
	ct = qt_table_lookup(&e->table, &want, &dir);
	if (!ct) {
		result_set(res, QT_CT_INVALID, QT_R_ICMP_NO_CONN);
		return;
	}
	/* The found tuple is @want, so its destination is want.dst. */
	if (memcmp(&want.dst, &pkt->tuple.dst, sizeof(pkt->tuple.dst)) != 0) {
		result_set(res, QT_CT_INVALID, QT_R_ICMP_INNER);
		return;
	}
	result_set(res, QT_CT_RELATED, QT_R_NONE);
	res->reply = dir == QT_DIR_REPLY;
	res->conn = ct;
}

static void conn_account(const struct qt_engine *e, struct qt_conn *ct,
			 enum qt_dir dir, uint32_t ip_len)
{
	struct qt_acct *a;

	if (!e->conf.table.accounting)
		return;
	a = qt_table_acct(&e->table, ct);
	a->packets[dir]++;
	a->bytes[dir] += ip_len;
}

/* No entry for the packet's tuple: try to open one.  Returns the new,
 * not yet confirmed, entry or NULL with the result set. */
static struct qt_conn *engine_conn_new(struct qt_engine *e,
				       const struct qt_proto_ops *ops,
				       const struct qt_pkt *pkt,
				       const struct qt_proto_ctx *ctx,
				       uint32_t mark_in, struct qt_result *res)
{
	struct qt_tuple reply;
	struct qt_conn *ct;
	enum qt_reason why;

	if (!ops->invert(&reply, &pkt->tuple)) {
		/* Only ICMP types without a reply type have no inverse. */
		result_set(res, QT_CT_INVALID, QT_R_ICMP_TYPE);
		return NULL;
	}
	ct = engine_alloc(e, &pkt->tuple);
	if (!ct) {
		e->stats.refused++;
		result_set(res, QT_CT_INVALID, QT_R_TABLE_FULL);
		return NULL;
	}
	/* The reply tuple is not stored: qt_conn_tuple() derives it. */
	qt_table_set_tuple(&e->table, ct, &pkt->tuple);
	qt_timer_init(&ct->timer);
	why = ops->new(ct, pkt, ctx);
	if (why != QT_R_NONE) {
		qt_table_release(&e->table, ct);
		result_set(res, QT_CT_INVALID, why);
		return NULL;
	}
	ct->mark = mark_in & e->conf.mark.connmark;
	/* Without a confirm rule for its family the packet's passage cannot
	 * be known: the connection is kept at once. */
	if (!(e->confirming & engine_confirm_bit(pkt->tuple.family)))
		ct->status |= QT_CONN_CONFIRMED;
	qt_expect_apply(&e->expect, &e->wheel, ct, &e->conf);
	return ct;
}

/* Whether a packet's checksum is to be verified at all: nobody has
 * checked it yet (QT_IN_VERIFY_CSUM in @flags) and [table] checksum is
 * on. */
static inline bool engine_csum_asked(const struct qt_engine *e,
				     uint32_t flags)
{
	return (flags & QT_IN_VERIFY_CSUM) && e->conf.table.checksum;
}

/* Whether @pkt's layer 4 checksum is to be verified and is wrong.  The
 * kernel's l4 error() handlers check it before anything else, and only
 * where nobody has checked it yet. */
static bool engine_csum_bad(const struct qt_engine *e,
			    const struct qt_proto_ops *ops,
			    const struct qt_pkt *pkt, uint32_t flags)
{
	/* A first fragment holds only part of what its checksum covers:
	 * it cannot be verified, and the kernel never verifies one either
	 * (it checks the datagram it reassembled). */
	return engine_csum_asked(e, flags) && ops->checksum &&
	       !pkt->fragment && qt_checksum_covers(pkt) &&
	       !qt_checksum_ok(pkt);
}

static void engine_classify(struct qt_engine *e, const struct qt_pkt *pkt,
			    uint64_t hash, unsigned int hint, uint32_t mark_in,
			    uint32_t flags, struct qt_result *res)
{
	const struct qt_proto_ops *ops = qt_proto_find(pkt->tuple.proto);
	struct qt_proto_ctx ctx = { .conf = &e->conf, .now = e->now };
	enum qt_reason why = QT_R_NONE;
	enum qt_ct_state state;
	enum qt_verdict v;
	enum qt_dir dir = QT_DIR_ORIG;
	struct qt_conn *ct;
	uint32_t timeout, status;
	uint8_t pstate = 0;
	bool fresh;
	int restarts = 0;

	if (engine_csum_bad(e, ops, pkt, flags)) {
		result_set(res, QT_CT_INVALID, QT_R_BAD_CHECKSUM);
		return;
	}
	if (ops->pre) {
		state = ops->pre(pkt, &ctx, &why);
		if (state == QT_CT_RELATED) {
			engine_error(e, pkt, res);
			return;
		}
		if (state != QT_CT_MAX) {
			result_set(res, state, why);
			return;
		}
	}
again:
	ct = qt_table_lookup_hint(&e->table, &pkt->tuple, hash, hint, &dir);
	if (ct && !(ct->status & QT_CONN_CONFIRMED)) {
		/* The packet that opened it has not come back from the
		 * confirm rule: it was dropped (or is still on its way, as
		 * a second kernel entry would be).  In the kernel an
		 * unconfirmed entry is in no table a later packet looks
		 * in; this packet starts afresh. */
		e->stats.unconfirmed_replaced++;
		conn_destroy(e, ct);
		ct = NULL;
		hint = 0;
	}
	fresh = ct == NULL;
	if (fresh) {
		dir = QT_DIR_ORIG;
		ct = engine_conn_new(e, ops, pkt, &ctx, mark_in, res);
		if (!ct)
			return;
	}

	/* The packet's state is decided from the status before this packet,
	 * as resolve_normal_ct() does. */
	if (dir == QT_DIR_REPLY || (ct->status & QT_CONN_SEEN_REPLY))
		state = QT_CT_ESTABLISHED;
	else if (ct->status & QT_CONN_EXPECTED)
		state = QT_CT_RELATED;
	else
		state = QT_CT_NEW;

	status = ct->status;
	/* Only TCP names a protocol state, and its name is a function of
	 * proto.tcp.state: compare the byte, not the names, so the UPDATE
	 * check costs no calls on the packet path. */
	if (ops->state_name)
		pstate = ct->proto.tcp.state;
	timeout = ct->timeout;
	v = ops->packet(ct, pkt, dir, &ctx, &timeout, &why);
	switch (v) {
	case QT_V_INVALID:
		if (fresh)
			qt_table_release(&e->table, ct);
		else if (timeout != ct->timeout)
			/* TCP cuts the timeout of a conn both ends tore
			 * down with out-of-window FIN/RST, while the packet
			 * itself stays INVALID. */
			conn_arm(e, ct, timeout);
		result_set(res, QT_CT_INVALID, why);
		return;
	case QT_V_RESTART:
		if (fresh || restarts++) {
			/* A brand-new entry cannot be restarted; treat as
			 * invalid rather than loop. */
			if (fresh)
				qt_table_release(&e->table, ct);
			result_set(res, QT_CT_INVALID, QT_R_TCP_STATE);
			return;
		}
		conn_destroy(e, ct);
		hint = 0;
		goto again;
	case QT_V_ACCEPT:
		conn_arm_tracked(e, ct, timeout);
		break;
	case QT_V_IGNORE:
		if (fresh)
			conn_arm_tracked(e, ct, timeout);
		break;
	case QT_V_DESTROY:
		break;
	}
	if (dir == QT_DIR_REPLY)
		ct->status |= QT_CONN_SEEN_REPLY;
	conn_account(e, ct, dir, pkt->ip_len);

	result_set(res, state, QT_R_NONE);
	res->reply = dir == QT_DIR_REPLY;
	res->conn = ct;

	if (fresh) {
		ct->id = engine_id_next(e);
		/* Into the bucket the lookup read: a tuple and its
		 * inverse hash alike. */
		qt_table_insert_hashed(&e->table, ct, hash);
		if (ct->status & QT_CONN_CONFIRMED) {
			e->stats.created++;
			engine_event(e, QT_EV_NEW, ct);
		} else {
			e->stats.unconfirmed++;
		}
	} else if (ct->status != status ||
		   (ops->state_name && ct->proto.tcp.state != pstate)) {
		engine_event(e, QT_EV_UPDATE, ct);
	}
	if (v == QT_V_DESTROY) {
		/* The packet keeps its state; the entry is gone. */
		conn_destroy(e, ct);
		res->conn = NULL;
	}
	else if (ct->helper)
		qt_expect_helper(&e->expect, &e->wheel, ct, pkt, dir, &e->conf,
				 e->now);
}

/* What the first stage of the batch pipeline found out about a packet. */
struct engine_prep {
	union {
		struct qt_pkt pkt;	/* PREP_TRACK */
		struct qt_pkt_brief brief; /* PREP_BRIEF */
	};
	uint64_t hash;		/* qt_table_hash() of the tuple */
	uint32_t hword;		/* the hinted slot's content then */
	uint8_t hint;		/* qt_table_prefetch_entry()'s, 0 none */
	uint8_t what;		/* PREP_* */
	uint8_t why;		/* enum qt_reason of a parse error */
};

#define PREP_TRACK 0		/* parsed: look up and track */
#define PREP_NOTRACK 1		/* the mark says untracked */
#define PREP_BAD 2		/* parse error */
#define PREP_BRIEF 3		/* a brief packet, parsed only in brief */
#define PREP_CONFIRM 4		/* from a confirm rule (QT_IN_CONFIRM) */

/* Parse @in and hash its tuple; nothing in the engine changes, so this can
 * run ahead of the packets before it.  With @brief, a plain IPv4 TCP or
 * UDP packet is parsed only in brief (PREP_BRIEF), for engine_short(). */
static inline __attribute__((always_inline)) void
engine_prepare(const struct qt_engine *e, const struct qt_input *in,
	       struct engine_prep *p, bool brief)
{
	const struct qt_conf_mark *m = &e->conf.mark;
	struct qt_pkt_brief *b = &p->brief;
	enum qt_reason why;

	if (in->flags & QT_IN_CONFIRM) {
		why = qt_packet_parse(in->data, in->caplen, in->origlen,
				      &p->pkt);
		p->what = PREP_CONFIRM;
		p->why = (uint8_t)why;
		return;
	}
	if (m->notrack && (in->mark & m->notrack) == m->notrack) {
		p->what = PREP_NOTRACK;
		return;
	}
	if (brief && qt_packet_brief(in->data, in->caplen, in->origlen, b)) {
		p->what = PREP_BRIEF;
		p->hint = 0;
		p->hash = qt_table_hash4(&e->table, b->src, b->dst, b->l4,
					 b->proto);
		return;
	}
	why = qt_packet_parse(in->data, in->caplen, in->origlen, &p->pkt);
	if (why != QT_R_NONE) {
		p->what = PREP_BAD;
		p->why = (uint8_t)why;
		return;
	}
	p->what = PREP_TRACK;
	p->hint = 0;
	p->hash = qt_table_hash(&e->table, &p->pkt.tuple);
}

/* Whether @ct (or NULL) is a connection the short ways take: assured,
 * both directions seen, no helper. */
static inline bool conn_steady(const struct qt_conn *ct)
{
	const uint8_t both = QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;

	return ct && !ct->helper && (ct->status & both) == both;
}

/* The end of the short way: the timer, the counters, the result. */
static inline void engine_short_done(struct qt_engine *e,
				     const struct qt_input *in,
				     struct qt_conn *ct, enum qt_dir dir,
				     uint32_t timeout, uint32_t ip_len,
				     struct qt_result *res)
{
	conn_arm(e, ct, timeout);
	conn_account(e, ct, dir, ip_len);
	res->state = QT_CT_ESTABLISHED;
	res->reason = QT_R_NONE;
	res->reply = dir == QT_DIR_REPLY;
	res->conn = ct;
	res->mark = engine_mark(&e->conf.mark, in->mark, res);
	e->stats.packets[QT_CT_ESTABLISHED]++;
}

/* What engine_short() did with a packet. */
enum short_way {
	SHORT_DONE,	/* classified it */
	SHORT_FULL,	/* refused it: the full way decides */
	SHORT_PARSE,	/* a brief packet it cannot decide yet: its checksum
			 * is to be verified, or the slot stage 2 noted does
			 * not hold its connection; parse it in full and
			 * try again */
};

/*
 * engine_short - stage 3's short way for the bulk of all packets: those
 * of a connection that is assured, has seen both directions and has no
 * helper, which its tracker's steady() (proto.h) takes.  For such a
 * packet (not a fragment, its checksum good if it is to be verified)
 * engine_classify() would find the state ESTABLISHED, the tracker would
 * accept without changing ct->status or its protocol state (so no UPDATE
 * event), and no entry would be created or destroyed: this is that path
 * without the steps that cannot fire.  A brief packet (PREP_BRIEF: plain
 * IPv4 TCP or UDP, qt_packet_brief()) is looked up without a struct qt_pkt,
 * in the slot stage 2 noted only.  Changes nothing unless it returns
 * SHORT_DONE; a checksum it found good is not verified again
 * (QT_IN_VERIFY_CSUM cleared in *@flags).  The tracker's steady() runs at
 * most once per packet: after a refusal the full way calls packet().
 */
static inline __attribute__((always_inline)) enum short_way
engine_short(struct qt_engine *e, const struct qt_input *in,
	     const struct engine_prep *p, uint32_t *flags,
	     struct qt_result *res)
{
	struct qt_proto_ctx ctx = { .conf = &e->conf, .now = e->now };
	const struct qt_proto_ops *ops;
	const struct qt_pkt_view *v;
	struct qt_pkt_view view;
	struct qt_conn *ct;
	enum qt_dir dir;
	uint32_t timeout;

	if (p->what == PREP_BRIEF) {
		const struct qt_pkt_brief *b = &p->brief;

		if (engine_csum_asked(e, *flags))
			return SHORT_PARSE;
		ct = qt_table_find4_hint(&e->table, p->hash, p->hint,
					 p->hword, b->src, b->dst, b->l4,
					 b->proto, &dir);
		if (!ct)
			return SHORT_PARSE;
		ops = qt_proto_find(b->proto);
		v = &b->v;
	} else {
		const struct qt_pkt *pkt = &p->pkt;

		if (p->what != PREP_TRACK || pkt->fragment)
			return SHORT_FULL;
		ops = qt_proto_find(pkt->tuple.proto);
		if (!ops->steady)
			return SHORT_FULL;
		ct = qt_table_lookup_hint(&e->table, &pkt->tuple, p->hash,
					  p->hint, &dir);
		if (!conn_steady(ct))
			return SHORT_FULL;
		/* Before the tracker, as in engine_classify(); a bad
		 * checksum is engine_classify()'s to report. */
		if (engine_csum_bad(e, ops, pkt, *flags))
			return SHORT_FULL;
		*flags &= ~(uint32_t)QT_IN_VERIFY_CSUM;
		qt_packet_view(pkt, &view);
		v = &view;
	}
	if (!ops->steady || !conn_steady(ct) ||
	    !ops->steady(ct, v, dir, &ctx, &timeout))
		return SHORT_FULL;
	engine_short_done(e, in, ct, dir, timeout, v->ip_len, res);
	return SHORT_DONE;
}

/* A PREP_BRIEF packet that engine_short() did not take: parse it in
 * full (it parses: qt_packet_brief() promises it), keeping the hash and
 * the hint, which are the full tuple's. */
static void engine_unbrief(const struct qt_input *in, struct engine_prep *p)
{
	enum qt_reason why;

	why = qt_packet_parse(in->data, in->caplen, in->origlen, &p->pkt);
	p->what = why == QT_R_NONE ? PREP_TRACK : PREP_BAD;
	p->why = (uint8_t)why;
}

bool qt_mark_wants_confirm(const struct qt_conf_mark *m, uint32_t mark)
{
	uint32_t code = mark & m->mask;

	return code && (code == (m->state[QT_CT_NEW] & m->mask) ||
			code == (m->state[QT_CT_RELATED] & m->mask));
}

/*
 * engine_confirm - a packet back from the confirm rule (PREP_CONFIRM): it
 * passed every rule, so the connection it opened becomes permanent, is
 * announced (NEW) and gets its full timeout, as nf_conntrack_confirm()
 * inserts the entry when the packet leaves.  Its first sight turns on
 * confirmation for its family.  A packet whose connection is confirmed
 * already (a NEW packet before the reply), or gone, changes nothing.  The
 * packet keeps its mark; the state in the result is the one the mark
 * carries.
 */
static void engine_confirm(struct qt_engine *e, const struct qt_input *in,
			   const struct engine_prep *p, struct qt_result *res)
{
	const struct qt_conf_mark *m = &e->conf.mark;
	struct qt_conn *ct;
	enum qt_dir dir;

	e->stats.confirm_packets++;
	res->state = (in->mark & m->mask) == (m->state[QT_CT_NEW] & m->mask) ?
			 QT_CT_NEW :
			 QT_CT_RELATED;
	res->reason = QT_R_NONE;
	res->reply = false;
	res->conn = NULL;
	res->mark = in->mark;
	if (p->why != QT_R_NONE)
		return;
	if (e->conf.table.confirm != QT_CONFIRM_NO)
		e->confirming |= engine_confirm_bit(p->pkt.tuple.family);
	ct = qt_table_lookup(&e->table, &p->pkt.tuple, &dir);
	if (!ct || dir != QT_DIR_ORIG)
		return;
	res->conn = ct;
	if (ct->status & QT_CONN_CONFIRMED)
		return;
	ct->status |= QT_CONN_CONFIRMED;
	conn_arm(e, ct, ct->timeout);
	e->stats.unconfirmed--;
	e->stats.confirmed++;
	e->stats.created++;
	engine_event(e, QT_EV_NEW, ct);
}

static void engine_finish(struct qt_engine *e, const struct qt_input *in,
			  const struct engine_prep *p, uint32_t flags,
			  struct qt_result *res)
{
	const struct qt_conf_mark *m = &e->conf.mark;
	uint32_t mark_in = in->mark;

	if (p->what == PREP_CONFIRM) {
		engine_confirm(e, in, p, res);
		return;
	}
	/* Field by field: a memset() of the result was a call per packet. */
	res->reply = false;
	res->conn = NULL;
	if (p->what == PREP_NOTRACK)
		result_set(res, QT_CT_UNTRACKED, QT_R_NONE);
	else if (p->what == PREP_BAD)
		result_set(res, QT_CT_INVALID, (enum qt_reason)p->why);
	else
		engine_classify(e, &p->pkt, p->hash, p->hint, mark_in, flags,
				res);
	e->stats.packets[res->state]++;
	if (res->state == QT_CT_INVALID)
		e->stats.invalid[res->reason < QT_R_MAX ? res->reason : 0]++;
	/* Fragments mean nobody reassembles before the queue: counted so
	 * that the daemon can say so (engine_short() never takes one). */
	if (p->what == PREP_TRACK ? p->pkt.fragment :
	    p->what == PREP_BAD && p->why == QT_R_FRAGMENT)
		e->stats.fragments++;
	e->stats.count = e->table.count;
	e->stats.expect_count = e->expect.count;
	res->mark = engine_mark(m, mark_in, res);
}

/* Move the clock and expire first, so a packet never revives an entry that
 * is due. */
bool qt_engine_relate(const struct qt_engine *e, const uint8_t *data,
		      uint32_t caplen, uint32_t origlen, uint32_t mark_in,
		      struct qt_result *res)
{
	const struct qt_proto_ops *ops;
	struct qt_proto_ctx ctx = { .conf = &e->conf, .now = e->now };
	enum qt_reason why = QT_R_NONE;
	struct qt_pkt pkt;

	memset(res, 0, sizeof(*res));
	if (qt_packet_parse(data, caplen, origlen, &pkt) != QT_R_NONE)
		return false;
	ops = qt_proto_find(pkt.tuple.proto);
	if (!ops->pre || ops->pre(&pkt, &ctx, &why) != QT_CT_RELATED)
		return false;
	engine_error(e, &pkt, res);
	if (res->state != QT_CT_RELATED)
		return false;
	res->mark = engine_mark(&e->conf.mark, mark_in, res);
	return true;
}

static void engine_tick(struct qt_engine *e, uint64_t now)
{
	if (now > e->now)
		e->now = now;
	qt_wheel_advance(&e->wheel, e->now, engine_timer_fired, e, 0);
	/* Expectations may have expired; engine_short() leaves the counts
	 * alone (conn_destroy() keeps stats.count). */
	e->stats.expect_count = e->expect.count;
}

/* Software pipeline of qt_engine_process_batch(): a packet is parsed,
 * hashed and its bucket prefetched PIPE_AHEAD packets before it is
 * classified, and its entry prefetched PIPE_AHEAD / 2 packets before.
 * A cache miss in a big table lasts several times as long as an
 * established packet in cache, so the entry's lead must be several packets
 * long to hide it: half of PIPE_AHEAD does, a quarter did not (where
 * packets take longer, a bucket lead as short as the entry's does as
 * well). */
#ifndef PIPE_AHEAD
#define PIPE_AHEAD 16
#endif
#define PIPE_RING 32		/* power of two > PIPE_AHEAD */

_Static_assert(PIPE_RING > PIPE_AHEAD && !(PIPE_RING & (PIPE_RING - 1)),
	       "PIPE_RING: a power of two above PIPE_AHEAD");

/* Stage 1 of packet @k: parse, hash, start loading its bucket. */
static inline __attribute__((always_inline)) void
pipe_stage1(const struct qt_engine *e, const struct qt_input *in, size_t k,
	    struct engine_prep *ring)
{
	struct engine_prep *p = &ring[k & (PIPE_RING - 1)];

	engine_prepare(e, &in[k], p, !(in[k].flags & QT_IN_FULL));
	if (p->what == PREP_TRACK || p->what == PREP_BRIEF)
		qt_table_prefetch_bucket(&e->table, p->hash);
}

/* Stage 2 of packet @k: its bucket is arriving; start loading the
 * entries whose tags match and remember the first for the lookup. */
static inline __attribute__((always_inline)) void
pipe_stage2(const struct qt_engine *e, size_t k, struct engine_prep *ring)
{
	struct engine_prep *p = &ring[k & (PIPE_RING - 1)];

	if (p->what == PREP_BRIEF || p->what == PREP_TRACK)
		p->hint = (uint8_t)qt_table_prefetch_entry(
		    &e->table, p->hash,
		    p->what == PREP_BRIEF ? AF_INET : p->pkt.tuple.family,
		    &p->hword);
}

/* Stage 3 of packet @i: classify it, the short way if it can.  A brief
 * packet the short way leaves is parsed in full, and offered to it once
 * more if it could not be decided in brief.  One call site, so that
 * engine_short() is inlined once. */
static inline __attribute__((always_inline)) void
pipe_stage3(struct qt_engine *e, const struct qt_input *in, size_t i,
	    struct engine_prep *ring, struct qt_result *res)
{
	struct engine_prep *p = &ring[i & (PIPE_RING - 1)];
	uint32_t flags = in[i].flags;
	enum short_way x;

	if (!(flags & QT_IN_FULL)) {
		for (;;) {
			x = engine_short(e, &in[i], p, &flags, &res[i]);
			if (x == SHORT_DONE)
				return;
			if (p->what != PREP_BRIEF)
				break;
			engine_unbrief(&in[i], p);
			if (x != SHORT_PARSE)
				break;
		}
	}
	engine_finish(e, &in[i], p, flags, &res[i]);
}

/*
 * In a table far larger than the cache each packet's bucket and entry
 * are cache misses.  Taken one packet at a time they come one after the other
 * (bucket, then entry, then the next packet's bucket...).  The batch
 * overlaps them: stage 1 parses (plain IPv4 TCP and UDP only in brief)
 * and hashes packet i + PIPE_AHEAD and prefetches its bucket; stage 2
 * reads the bucket of packet i + PIPE_AHEAD / 2, now arriving,
 * prefetches the entries whose tags
 * match (a new flow is linked into the bucket already read: one bucket
 * holds a connection, whichever direction looks it up) and notes the
 * first of their slots; stage 3 classifies packet i.  Stages 1 and 2 only
 * read and prefetch, and the lookup in stage 3 reads the noted slot
 * afresh (and falls back to the full lookup if it no longer holds the
 * tuple), so an earlier packet that creates or destroys an entry is seen
 * exactly as in sequential processing: the result is the same, only
 * faster.  The stages of the first packets run before the loop, so that
 * the loop's body has no inner loops.
 */
void qt_engine_process_batch(struct qt_engine *e, const struct qt_input *in,
			     size_t n, uint64_t now, struct qt_result *res)
{
	struct engine_prep ring[PIPE_RING];
	size_t i, k;

	engine_tick(e, now);
	for (k = 0; k < n && k < PIPE_AHEAD; k++)
		pipe_stage1(e, in, k, ring);
	for (k = 0; k < n && k < PIPE_AHEAD / 2; k++)
		pipe_stage2(e, k, ring);
	for (i = 0; i < n; i++) {
		if (i + PIPE_AHEAD < n)
			pipe_stage1(e, in, i + PIPE_AHEAD, ring);
		if (i + PIPE_AHEAD / 2 < n)
			pipe_stage2(e, i + PIPE_AHEAD / 2, ring);
		pipe_stage3(e, in, i, ring, res);
	}
}

void qt_engine_process_one(struct qt_engine *e, const struct qt_input *in,
			   uint64_t now, struct qt_result *res)
{
	qt_engine_process_batch(e, in, 1, now, res);
}

void qt_engine_process(struct qt_engine *e, const uint8_t *data,
		       uint32_t caplen, uint32_t origlen, uint32_t mark_in,
		       uint64_t now, struct qt_result *res)
{
	const struct qt_input in = {
		.data = data,
		.caplen = caplen,
		.origlen = origlen,
		.mark = mark_in,
	};

	qt_engine_process_batch(e, &in, 1, now, res);
}

/* The next hashed entry from *@cursor whose QT_CONN_CONFIRMED bit is
 * @confirmed. */
static const struct qt_conn *engine_next(const struct qt_engine *e,
					 uint32_t *cursor, uint8_t confirmed)
{
	while (*cursor < qt_table_used(&e->table)) {
		const struct qt_conn *ct = &e->table.conns[(*cursor)++];

		if ((ct->status & (QT_CONN_HASHED | QT_CONN_CONFIRMED)) ==
		    (QT_CONN_HASHED | confirmed))
			return ct;
	}
	return NULL;
}

const struct qt_conn *qt_engine_next(const struct qt_engine *e,
				     uint32_t *cursor)
{
	return engine_next(e, cursor, QT_CONN_CONFIRMED);
}

const struct qt_conn *qt_engine_next_unconfirmed(const struct qt_engine *e,
						 uint32_t *cursor)
{
	return engine_next(e, cursor, 0);
}

const struct qt_acct *qt_engine_acct(const struct qt_engine *e,
				     const struct qt_conn *ct)
{
	return qt_table_acct(&e->table, ct);
}

void qt_engine_acct_add(struct qt_engine *e, const struct qt_conn *ct,
			const struct qt_acct *add)
{
	struct qt_acct *a = qt_table_acct(&e->table, ct);
	int d;

	if (!a)
		return;
	for (d = 0; d < 2; d++) {
		a->packets[d] += add->packets[d];
		a->bytes[d] += add->bytes[d];
	}
}

const struct qt_conn *qt_engine_master(const struct qt_engine *e,
				       const struct qt_conn *ct)
{
	return qt_expect_master(&e->expect, ct);
}

uint32_t qt_engine_timeout_left(const struct qt_engine *e,
				const struct qt_conn *ct, uint64_t now)
{
	(void)e;
	if (!qt_timer_armed(&ct->timer))
		return 0;
	return (uint32_t)(qt_timer_left(&ct->timer, now) / 1000);
}

/* The confirmed connection one of whose tuples is @t: as in the kernel,
 * an unconfirmed entry cannot be found, changed or deleted from outside. */
static struct qt_conn *engine_lookup_confirmed(const struct qt_engine *e,
					       const struct qt_tuple *t,
					       enum qt_dir *dir)
{
	struct qt_conn *ct = qt_table_lookup(&e->table, t, dir);

	return ct && (ct->status & QT_CONN_CONFIRMED) ? ct : NULL;
}

const struct qt_conn *qt_engine_find(const struct qt_engine *e,
				     const struct qt_tuple *t, enum qt_dir *dir)
{
	return engine_lookup_confirmed(e, t, dir);
}

int qt_engine_delete(struct qt_engine *e, const struct qt_tuple *t)
{
	struct qt_conn *ct = engine_lookup_confirmed(e, t, NULL);

	if (!ct)
		return -1;
	conn_destroy(e, ct);
	e->stats.count = e->table.count;
	return 0;
}

size_t qt_engine_flush(struct qt_engine *e)
{
	size_t n = 0;

	for (uint32_t i = 0; i < qt_table_used(&e->table); i++) {
		struct qt_conn *ct = &e->table.conns[i];

		/* Unconfirmed entries go too; only connections count. */
		if (ct->status & QT_CONN_HASHED) {
			n += (ct->status & QT_CONN_CONFIRMED) != 0;
			conn_destroy(e, ct);
		}
	}
	e->stats.count = e->table.count;
	return n;
}

const struct qt_expect *qt_engine_expect_next(const struct qt_engine *e,
					      uint32_t *cursor)
{
	return qt_expect_next(&e->expect, cursor);
}

uint32_t qt_engine_expect_timeout_left(const struct qt_engine *e,
				       const struct qt_expect *exp,
				       uint64_t now)
{
	(void)e;
	if (!qt_timer_armed(&exp->timer))
		return 0;
	return (uint32_t)(qt_timer_left(&exp->timer, now) / 1000);
}

const struct qt_conn *qt_engine_expect_master(const struct qt_engine *e,
					      const struct qt_expect *exp)
{
	return &e->table.conns[exp->master];
}

/* ---- state export and import (record.h) ------------------------------- */

void qt_engine_export_conn(const struct qt_engine *e, const struct qt_conn *ct,
			   uint64_t now, struct qt_rec_conn *rc)
{
	const struct qt_acct *acct = qt_table_acct(&e->table, ct);
	const struct qt_conn *master;

	memset(rc, 0, sizeof(*rc));
	qt_conn_tuple_orig(ct, &rc->orig);
	rc->status = qt_rec_status_from_conn(ct->status);
	rc->helper = ct->helper;
	rc->timeout = ct->timeout;
	rc->left_ms = qt_timer_armed(&ct->timer) ?
			  qt_timer_left(&ct->timer, now) : 0;
	rc->mark = ct->mark;
	if (ct->l4proto == IPPROTO_SCTP) {
		rc->parts |= QT_REC_P_SCTP;
		rc->sctp = ct->proto.sctp;
		rc->sctp.flags &= ~QT_SCTPF_FRESH;
	}
	if (ct->l4proto == IPPROTO_TCP)
		rc->tcp = ct->proto.tcp;
	else if (ct->l4proto == IPPROTO_UDP || ct->l4proto == IPPROTO_UDPLITE)
		rc->udp_wait_ms = ct->proto.udp.stream_ts > now ?
					  ct->proto.udp.stream_ts - now : 0;
	if (acct && e->conf.table.accounting) {
		rc->parts |= QT_REC_P_ACCT;
		rc->acct = *acct;
	}
	if (ct->help && ct->help <= e->expect.help_max) {
		const struct qt_help *h = &e->expect.help[ct->help - 1u];

		rc->parts |= QT_REC_P_HELP;
		memcpy(rc->seq_aft_nl, h->seq_aft_nl, sizeof(rc->seq_aft_nl));
		memcpy(rc->n_seq, h->n_seq, sizeof(rc->n_seq));
	}
	master = qt_expect_master(&e->expect, ct);
	if (master) {
		rc->parts |= QT_REC_P_MASTER;
		qt_conn_tuple_orig(master, &rc->master);
	}
}

void qt_engine_export_expect(const struct qt_engine *e,
			     const struct qt_expect *exp, uint64_t now,
			     struct qt_rec_expect *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->tuple = exp->tuple;
	qt_conn_tuple_orig(&e->table.conns[exp->master], &rx->master);
	rx->flags = exp->flags;
	rx->helper = exp->helper;
	rx->timeout = exp->timeout;
	rx->left_ms = qt_timer_armed(&exp->timer) ?
			  qt_timer_left(&exp->timer, now) : 0;
}

/* Whether @t is a tuple the engine itself could have made: a tracker
 * that knows its protocol inverts it, ICMP matches its family, and a
 * protocol without ports has none.  A record may come from another
 * version or another machine; the table must not hold an entry no packet
 * can ever find. */
static bool import_tuple_ok(const struct qt_tuple *t)
{
	const struct qt_proto_ops *ops = qt_proto_find(t->proto);
	struct qt_tuple reply;

	if ((t->proto == IPPROTO_ICMP && t->family != AF_INET) ||
	    (t->proto == IPPROTO_ICMPV6 && t->family != AF_INET6))
		return false;
	if (t->proto != IPPROTO_ICMP && t->proto != IPPROTO_ICMPV6 &&
	    ops == &qt_proto_generic && t->l4)
		return false;
	return ops->invert(&reply, t);
}

static void import_count(struct qt_engine *e, enum qt_import r)
{
	if (r == QT_IMPORT_OK)
		e->stats.restored++;
	else
		e->stats.restore_skipped++;
	e->stats.count = e->table.count;
	e->stats.expect_count = e->expect.count;
}

/* @ct's TCP window data is stale (its packets skipped the engine): both
 * directions become liberal and forget their windows, as the kernel's
 * flow_offload_fixup_tcp() does for a flow leaving its flowtable. */
static void conn_window_forget(struct qt_conn *ct)
{
	int d;

	if (ct->l4proto != IPPROTO_TCP)
		return;
	for (d = 0; d < 2; d++) {
		ct->proto.tcp.seen[d].maxwin = 0;
		ct->proto.tcp.flags[d] &= ~QT_TCPF_MAXACK_SET;
		ct->proto.tcp.flags[d] |= QT_TCPF_BE_LIBERAL;
	}
}

/* The protocol state, UDP stream delay and counters of record @rc, aged
 * by @age_ms, into @ct (an import or a replicated update).  A record
 * written while the connection was offloaded has stale window data. */
static void conn_load_record(struct qt_engine *e, struct qt_conn *ct,
			     const struct qt_rec_conn *rc, uint64_t age_ms)
{
	struct qt_acct *acct;

	if (ct->l4proto == IPPROTO_TCP) {
		ct->proto.tcp = rc->tcp;
		if (rc->status & QT_REC_ST_OFFLOAD)
			conn_window_forget(ct);
	} else if (ct->l4proto == IPPROTO_SCTP && (rc->parts & QT_REC_P_SCTP))
		ct->proto.sctp = rc->sctp;
	else if (ct->l4proto == IPPROTO_UDP || ct->l4proto == IPPROTO_UDPLITE)
		ct->proto.udp.stream_ts =
		    e->now + (rc->udp_wait_ms > age_ms ?
				  rc->udp_wait_ms - age_ms : 0);
	acct = qt_table_acct(&e->table, ct);
	if (acct && (rc->parts & QT_REC_P_ACCT))
		*acct = rc->acct;
}

static enum qt_import engine_import_conn(struct qt_engine *e,
					 const struct qt_rec_conn *rc,
					 uint64_t age_ms, struct qt_conn **out)
{
	struct qt_conn *ct, *master;
	struct qt_tuple reply;

	if (!import_tuple_ok(&rc->orig))
		return QT_IMPORT_BAD;
	if (rc->left_ms <= age_ms)
		return QT_IMPORT_EXPIRED;
	qt_proto_find(rc->orig.proto)->invert(&reply, &rc->orig);
	if (qt_table_lookup(&e->table, &rc->orig, NULL) ||
	    qt_table_lookup(&e->table, &reply, NULL))
		return QT_IMPORT_CLASH;
	ct = qt_table_alloc(&e->table);
	if (!ct)
		return QT_IMPORT_FULL;
	qt_table_set_tuple(&e->table, ct, &rc->orig);
	qt_timer_init(&ct->timer);
	ct->status = qt_rec_status_to_conn(rc->status) | QT_CONN_CONFIRMED;
	ct->helper = rc->helper;
	ct->mark = rc->mark;
	ct->timeout = rc->timeout;
	conn_load_record(e, ct, rc, age_ms);
	if (ct->helper && (rc->parts & QT_REC_P_HELP)) {
		/* Without room for it the helper starts afresh, as for a
		 * connection that found the pool empty. */
		struct qt_help *h = qt_expect_help_get(&e->expect, ct);

		if (h) {
			memcpy(h->seq_aft_nl, rc->seq_aft_nl,
			       sizeof(h->seq_aft_nl));
			memcpy(h->n_seq, rc->n_seq, sizeof(h->n_seq));
		}
	}
	if (e->expect.master_of) {
		/* Id 0 is never a connection's: a master that did not come
		 * back links to nothing, not to whatever used the slot. */
		struct qt_master_link link = {0, 0};

		master = (ct->status & QT_CONN_EXPECTED) &&
				 (rc->parts & QT_REC_P_MASTER) ?
			     qt_table_lookup(&e->table, &rc->master, NULL) :
			     NULL;
		if (master)
			link = (struct qt_master_link){
			    qt_table_index(&e->table, master), master->id};
		e->expect.master_of[qt_table_index(&e->table, ct)] = link;
	}
	ct->id = engine_id_next(e);
	qt_timer_arm(&e->wheel, &ct->timer, e->now + rc->left_ms - age_ms);
	qt_table_insert(&e->table, ct);
	*out = ct;
	return QT_IMPORT_OK;
}

enum qt_import qt_engine_import_conn(struct qt_engine *e,
				     const struct qt_rec_conn *rc,
				     uint64_t age_ms)
{
	struct qt_conn *ct;
	enum qt_import r = engine_import_conn(e, rc, age_ms, &ct);

	import_count(e, r);
	return r;
}

/* A replicated connection already here takes the record's state; the
 * rest (its id, helper state, master link, expectations) stays. */
static enum qt_import engine_update_conn(struct qt_engine *e,
					 struct qt_conn *ct,
					 const struct qt_rec_conn *rc,
					 uint64_t age_ms)
{
	const uint8_t keep = QT_CONN_CONFIRMED | QT_CONN_HASHED;

	if (rc->left_ms <= age_ms) {
		conn_destroy(e, ct);
		return QT_IMPORT_EXPIRED;
	}
	ct->status = (uint8_t)((ct->status & keep) |
			       qt_rec_status_to_conn(rc->status));
	ct->mark = rc->mark;
	ct->timeout = rc->timeout;
	conn_load_record(e, ct, rc, age_ms);
	qt_timer_rearm(&e->wheel, &ct->timer, e->now + rc->left_ms - age_ms);
	return QT_IMPORT_OK;
}

/* Mark @ct as the peer's, seen in the current dump generation.  Without
 * room for the tags the entry stays unmarked: a sweep then keeps it (it
 * looks like one of this node's own), never removes a live one. */
static void engine_sync_tag(struct qt_engine *e, const struct qt_conn *ct)
{
	if (!e->sync_tag) {
		e->sync_tag = calloc(e->table.max, sizeof(*e->sync_tag));
		if (!e->sync_tag)
			return;
	}
	e->sync_tag[qt_table_index(&e->table, ct)] =
	    (struct engine_sync_tag){ct->id, e->sync_gen};
}

enum qt_import qt_engine_update_conn(struct qt_engine *e,
				     const struct qt_rec_conn *rc,
				     uint64_t age_ms)
{
	enum qt_dir dir = QT_DIR_ORIG;
	struct qt_conn *ct = engine_lookup_confirmed(e, &rc->orig, &dir);
	enum qt_import r;

	if (ct) {
		/* Only the entry whose original tuple it is: a reply tuple
		 * that matches is another connection, a clash. */
		r = dir == QT_DIR_ORIG ? engine_update_conn(e, ct, rc, age_ms)
				       : QT_IMPORT_CLASH;
	} else {
		r = engine_import_conn(e, rc, age_ms, &ct);
	}
	if (r == QT_IMPORT_OK)
		engine_sync_tag(e, ct);
	e->stats.count = e->table.count;
	return r;
}

void qt_engine_sync_standby(struct qt_engine *e)
{
	e->sync_floor = e->next_id;
}

void qt_engine_sync_dump_begin(struct qt_engine *e)
{
	e->sync_gen++;
}

/* Whether the next sweep removes @ct: a replicated entry the current dump
 * did not bring, or one that was here before the node became standby
 * (ids grow by id_step per entry; compared as serial numbers, they
 * wrap). */
static bool engine_sync_stale(const struct qt_engine *e,
			      const struct qt_conn *ct)
{
	const struct engine_sync_tag *tag =
	    e->sync_tag ? &e->sync_tag[qt_table_index(&e->table, ct)] : NULL;

	if (tag && tag->id == ct->id)
		return tag->gen != e->sync_gen;
	return (int32_t)(ct->id - e->sync_floor) < 0;
}

bool qt_engine_sync_sweep(struct qt_engine *e, uint32_t *cursor,
			  size_t budget, size_t *removed)
{
	while (budget-- && *cursor < qt_table_used(&e->table)) {
		struct qt_conn *ct = &e->table.conns[(*cursor)++];

		/* Unconfirmed entries are this node's own packets' and
		 * never replicated. */
		if ((ct->status & (QT_CONN_HASHED | QT_CONN_CONFIRMED)) ==
			(QT_CONN_HASHED | QT_CONN_CONFIRMED) &&
		    engine_sync_stale(e, ct)) {
			conn_destroy(e, ct);
			(*removed)++;
		}
	}
	e->stats.count = e->table.count;
	return *cursor >= qt_table_used(&e->table);
}

static enum qt_import engine_import_expect(struct qt_engine *e,
					   const struct qt_rec_expect *rx,
					   uint64_t age_ms)
{
	struct qt_conn *master;
	uint32_t cursor = 0;
	const struct qt_expect *exp;

	if (rx->left_ms <= age_ms)
		return QT_IMPORT_EXPIRED;
	master = qt_table_lookup(&e->table, &rx->master, NULL);
	if (!master)
		return QT_IMPORT_NO_MASTER;
	if (qt_expect_add(&e->expect, &e->wheel, master, &rx->tuple,
			  rx->flags, rx->helper, rx->timeout,
			  e->conf.helper.expect_per_master, e->now) < 0)
		return QT_IMPORT_FULL;
	/* qt_expect_add() armed it for the whole timeout: give it what was
	 * left. */
	while ((exp = qt_expect_next(&e->expect, &cursor))) {
		struct qt_expect *x = (struct qt_expect *)exp;

		if (x->master == qt_table_index(&e->table, master) &&
		    x->flags == rx->flags &&
		    qt_tuple_equal(&x->tuple, &rx->tuple)) {
			qt_timer_arm(&e->wheel, &x->timer,
				     e->now + rx->left_ms - age_ms);
			break;
		}
	}
	return QT_IMPORT_OK;
}

enum qt_import qt_engine_import_expect(struct qt_engine *e,
				       const struct qt_rec_expect *rx,
				       uint64_t age_ms)
{
	enum qt_import r = engine_import_expect(e, rx, age_ms);

	import_count(e, r);
	return r;
}

const char *qt_import_name(enum qt_import r)
{
	static const char *const names[QT_IMPORT_MAX] = {
	    [QT_IMPORT_OK] = "restored",
	    [QT_IMPORT_EXPIRED] = "expired",
	    [QT_IMPORT_FULL] = "table full",
	    [QT_IMPORT_CLASH] = "already in the table",
	    [QT_IMPORT_NO_MASTER] = "master not in the table",
	    [QT_IMPORT_BAD] = "a tuple the engine cannot track",
	};

	return (unsigned)r < QT_IMPORT_MAX ? names[r] : "unknown";
}

/*
 * A connection whose packets skip the engine (the daemon's nftables bypass)
 * has stale window data as soon as they do.  As the kernel does for a flow
 * it offloads to its flowtable, the TCP window tracking of both directions
 * becomes liberal and forgets what it had seen, so that the packets that
 * come back (FIN, RST) are picked up rather than found out of the window.
 */
void qt_engine_conn_offload(struct qt_engine *e, const struct qt_conn *ct)
{
	(void)e;
	/* The entry is ours: the caller only ever sees it read-only. */
	conn_window_forget((struct qt_conn *)ct);
}

bool qt_engine_conn_set_mark(struct qt_engine *e, const struct qt_conn *ct,
			     uint32_t value, uint32_t mask)
{
	/* The entry is ours: the caller only ever sees it read-only. */
	struct qt_conn *c = (struct qt_conn *)ct;
	uint32_t mark = (c->mark & ~mask) ^ value;

	if (mark == c->mark)
		return false;
	c->mark = mark;
	/* Subscribers, replication and the bypass hear of it as of any
	 * other change of the entry, as ctnetlink announces a new mark. */
	if (c->status & QT_CONN_CONFIRMED)
		engine_event(e, QT_EV_UPDATE, c);
	return true;
}
