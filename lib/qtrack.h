/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrack.h - libqtrack, connection tracking in user space.
 *
 * The engine classifies each packet NEW, ESTABLISHED, RELATED, INVALID or
 * UNTRACKED as Linux nf_conntrack does.  It is pure: no I/O, no clock, no
 * global state, no logging.  The caller passes `now` (milliseconds, any
 * monotonic origin) with every call.
 */
#ifndef QTRACK_H
#define QTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "packet.h"
#include "tuple.h"

/* The state a packet is given; the order is the [mark] state[] order. */
enum qt_ct_state {
	QT_CT_NEW = 0,
	QT_CT_ESTABLISHED,
	QT_CT_RELATED,
	QT_CT_INVALID,
	QT_CT_UNTRACKED,
	QT_CT_MAX
};

const char *qt_ct_state_name(enum qt_ct_state s);

struct qt_result {
	enum qt_ct_state state;
	bool reply;			/* packet travels in the reply dir */
	enum qt_reason reason;		/* why INVALID, else QT_R_NONE */
	uint32_t mark;			/* the mark to give the packet */
	const struct qt_conn *conn;	/* NULL if none (INVALID, UNTRACKED) */
};

enum qt_event_type {
	QT_EV_NEW,
	QT_EV_UPDATE,
	QT_EV_DESTROY,
};

/* Called synchronously from qt_engine_process()/qt_engine_expire()/...;
 * @ct is valid only during the call. */
typedef void (*qt_event_fn)(void *arg, enum qt_event_type type,
			    const struct qt_conn *ct);

struct qt_stats {
	uint64_t packets[QT_CT_MAX];	/* packets per state */
	uint64_t invalid[QT_R_MAX];	/* INVALID packets per reason */
	uint64_t created;		/* connections confirmed (kept) */
	uint64_t destroyed;		/* confirmed ones freed, any cause */
	uint64_t early_drop;		/* evicted to make room */
	uint64_t refused;		/* new conns refused: table full */
	uint64_t confirm_packets;	/* packets from a confirm rule */
	uint64_t confirmed;		/* of created: by a confirm packet */
	uint64_t unconfirmed_expired;	/* removed, never confirmed */
	uint64_t unconfirmed_replaced;	/* a later packet came first */
	uint64_t early_drop_proto[256];	/* early_drop per IP protocol */
	uint32_t count;			/* entries now in the table, the
					 * unconfirmed included (the
					 * kernel's nf_conntrack_count) */
	uint32_t unconfirmed;		/* of count: waiting to be confirmed */
	uint32_t max;			/* [table] max */
	uint32_t buckets;		/* [table] buckets */
	uint32_t expect_count;		/* expectations now */
	uint64_t fragments;		/* IP fragments seen (first or later):
					 * nothing reassembled before the
					 * queue */
	uint64_t restored;		/* entries imported (state file) */
	uint64_t restore_skipped;	/* entries not imported */
};

struct qt_engine;

/* Create an engine for @conf at time @now; all memory ([table] max
 * entries, buckets, wheel) is taken here.  NULL with errno on failure. */
struct qt_engine *qt_engine_new(const struct qt_conf *conf, uint64_t now);
void qt_engine_free(struct qt_engine *e);

void qt_engine_set_events(struct qt_engine *e, qt_event_fn fn, void *arg);

/* Connection ids (ct->id, conntrack -o id): @first, then every @step-th
 * number, so that the engines of @step queues, each given its own
 * @first in 1..@step, never hand out the same id to two live entries.
 * The default is 1 and 1.  Call before the first packet. */
void qt_engine_set_id_space(struct qt_engine *e, uint32_t first,
			    uint32_t step);

/* Take @conf for every later packet.  A change that cannot apply live
 * (table size) is refused: -1 with a message.  The engine copies @conf. */
int qt_engine_reconfigure(struct qt_engine *e, const struct qt_conf *conf,
			  char *err, size_t errlen);

const struct qt_conf *qt_engine_conf(const struct qt_engine *e);

/* Flags of struct qt_input. */
#define QT_IN_VERIFY_CSUM 0x01	/* verify the L4 checksum if [table] checksum
				 * is on: the packet came from the network and
				 * nobody has verified it (the kernel checks in
				 * PREROUTING, nf_conntrack_checksum) */

#define QT_IN_CONFIRM	0x02	/* the packet comes from a confirm rule at
				 * the end of the rule set: it passed the
				 * rules, so the connection it opened is
				 * confirmed (the kernel's
				 * nf_conntrack_confirm()); it is not
				 * classified again and keeps its mark */

#define QT_IN_FULL	0x04	/* classify the packet the full way even if
				 * the short way would take it: the reference
				 * the differential tests compare the short
				 * way with (test_batch.c); same result */

/*
 * qt_mark_wants_confirm - whether a packet with @mark carries the state a
 * confirm rule selects: NEW or RELATED in the original direction, the
 * states whose first packet may have opened a connection.  The daemon
 * sets QT_IN_CONFIRM for such packets from the hooks at the end of the
 * path (INPUT, POSTROUTING).
 */
bool qt_mark_wants_confirm(const struct qt_conf_mark *m, uint32_t mark);

/* One packet handed to qt_engine_process_batch(). */
struct qt_input {
	const uint8_t *data;	/* captured bytes from the IP header on */
	uint32_t caplen;
	uint32_t origlen;	/* true length, >= caplen */
	uint32_t mark;		/* mark as it arrived */
	uint32_t flags;		/* QT_IN_* */
};

/*
 * qt_engine_process_batch - classify @n packets in order at time @now;
 * res[i] belongs to in[i].  This is the only way through the engine:
 * qt_engine_process_one() and qt_engine_process() are batches of one, so
 * that the daemon, the tools and the tests run the same code.  res[i].conn
 * points at the entry as later packets of the batch left it (one may have
 * freed and reused it).  A batch is faster than single packets on big
 * tables: the lookups of nearby packets overlap.
 */
void qt_engine_process_batch(struct qt_engine *e, const struct qt_input *in,
			     size_t n, uint64_t now, struct qt_result *res);

/* qt_engine_process_one - a batch of one packet, with its flags
 * (QT_IN_VERIFY_CSUM to verify its checksum as the daemon does for
 * packets received from the network). */
void qt_engine_process_one(struct qt_engine *e, const struct qt_input *in,
			   uint64_t now, struct qt_result *res);

/*
 * qt_engine_process - classify one packet without flags (its checksum is
 * not verified): qt_engine_process_one() with @data, @caplen, @origlen
 * (the packet's true length, >= caplen) and @mark_in (its mark as it
 * arrived) at @now (ms); @res is filled with the state, direction,
 * reason, conn and output mark.
 */
void qt_engine_process(struct qt_engine *e, const uint8_t *data,
		       uint32_t caplen, uint32_t origlen, uint32_t mark_in,
		       uint64_t now, struct qt_result *res);

/*
 * qt_engine_relate - for an ICMP error that another engine (another queue's
 * shard of the table) classified INVALID with QT_R_ICMP_NO_CONN: find the
 * quoted connection in @e.  Changes nothing in @e.  Returns true and fills
 * @res (RELATED, direction, mark; res->conn points into @e and is valid
 * only while the caller keeps @e from changing) if @e has it.
 */
bool qt_engine_relate(const struct qt_engine *e, const uint8_t *data,
		      uint32_t caplen, uint32_t origlen, uint32_t mark_in,
		      struct qt_result *res);

/* Expire entries due at @now (at most @budget, 0 = all); returns how many
 * connections and expectations were freed. */
size_t qt_engine_expire(struct qt_engine *e, uint64_t now, size_t budget);

const struct qt_stats *qt_engine_stats(const struct qt_engine *e);

/* Walk the table: start with *cursor = 0; returns NULL at the end.  Safe
 * to interleave with packet processing (entries may be missed or seen
 * twice if they move, never dangling). */
const struct qt_conn *qt_engine_next(const struct qt_engine *e,
				     uint32_t *cursor);

/* Walk the unconfirmed entries (conntrack -L unconfirmed) like
 * qt_engine_next(). */
const struct qt_conn *qt_engine_next_unconfirmed(const struct qt_engine *e,
						 uint32_t *cursor);

/* The connection whose helper announced the RELATED connection @ct (the
 * FTP control connection of a data connection), or NULL if @ct was not
 * expected or its master has gone since. */
const struct qt_conn *qt_engine_master(const struct qt_engine *e,
				       const struct qt_conn *ct);

/* Seconds until @ct expires, as conntrack -L prints it. */
/* @ct's packet and byte counters, or NULL if [table] accounting has never
 * been on (then there are none). */
const struct qt_acct *qt_engine_acct(const struct qt_engine *e,
				     const struct qt_conn *ct);

uint32_t qt_engine_timeout_left(const struct qt_engine *e,
				const struct qt_conn *ct, uint64_t now);

/* Look up the connection one of whose tuples is @t. */
const struct qt_conn *qt_engine_find(const struct qt_engine *e,
				     const struct qt_tuple *t,
				     enum qt_dir *dir);

/* Remove a connection (announced as DESTROY).  0, or -1 if not found. */
int qt_engine_delete(struct qt_engine *e, const struct qt_tuple *t);

/* @ct (from an event or a result) is about to have its packets skip the
 * engine: make its TCP window tracking liberal and forget its window data,
 * as the kernel's flowtable does (nft_flow_offload, flow_offload_fixup_tcp). */
void qt_engine_conn_offload(struct qt_engine *e, const struct qt_conn *ct);

/* Packets of @ct that were counted elsewhere (the fast path's counters)
 * join its own counters; nothing if there are none. */
void qt_engine_acct_add(struct qt_engine *e, const struct qt_conn *ct,
			const struct qt_acct *add);

/*
 * qt_engine_conn_set_mark - change @ct's mark as conntrack -U does: the
 * bits of @mask are cleared, then @value is XORed in.  The entry keeps
 * all 32 bits (listed, matched by -m, saved, replicated, as the kernel's
 * ctmark); the [mark] connmark bits of it go into the mark of each later
 * packet, as if the first packet had brought them.  Announced as UPDATE
 * when it changed.  Returns whether it did.
 */
bool qt_engine_conn_set_mark(struct qt_engine *e, const struct qt_conn *ct,
			     uint32_t value, uint32_t mask);

/* Remove every connection; returns how many. */
size_t qt_engine_flush(struct qt_engine *e);

/* Expectations (lib/expect.h): connections a helper has announced. */
struct qt_expect;

/* Walk live expectations like qt_engine_next(); NULL at the end. */
const struct qt_expect *qt_engine_expect_next(const struct qt_engine *e,
					      uint32_t *cursor);

/* Seconds until @exp expires. */
uint32_t qt_engine_expect_timeout_left(const struct qt_engine *e,
				       const struct qt_expect *exp,
				       uint64_t now);

/* The connection that announced @exp. */
const struct qt_conn *qt_engine_expect_master(const struct qt_engine *e,
					      const struct qt_expect *exp);

/* State export and import: an entry as a record (record.h) for the state
 * file, `qtrackctl save` and replication. */
struct qt_rec_conn;
struct qt_rec_expect;

/* Fill @rc with @ct (an entry qt_engine_next() returned) as it stands at
 * @now: its timer as the milliseconds left then. */
void qt_engine_export_conn(const struct qt_engine *e, const struct qt_conn *ct,
			   uint64_t now, struct qt_rec_conn *rc);

/* The same for an expectation qt_engine_expect_next() returned. */
void qt_engine_export_expect(const struct qt_engine *e,
			     const struct qt_expect *exp, uint64_t now,
			     struct qt_rec_expect *rx);

/* What an import did; anything but QT_IMPORT_OK left the engine as it
 * was.  Counted in stats.restored and stats.restore_skipped. */
enum qt_import {
	QT_IMPORT_OK = 0,
	QT_IMPORT_EXPIRED,	/* its time ran out while it was away */
	QT_IMPORT_FULL,		/* no free entry ([table] max) or expectation */
	QT_IMPORT_CLASH,	/* one of its tuples is in the table already */
	QT_IMPORT_NO_MASTER,	/* an expectation whose master is not here */
	QT_IMPORT_BAD,		/* a tuple no packet could ever match */
	QT_IMPORT_MAX
};

const char *qt_import_name(enum qt_import r);

/*
 * qt_engine_import_conn - insert @rc as a confirmed connection, its timer
 * (and UDP's stream delay) shortened by @age_ms, the time that passed since
 * @rc's left_ms was true.  Never early-drops: a full table refuses.  An
 * expected connection whose record names a master finds it only if the
 * master was imported first.  No event is raised.
 */
enum qt_import qt_engine_import_conn(struct qt_engine *e,
				     const struct qt_rec_conn *rc,
				     uint64_t age_ms);

/*
 * qt_engine_update_conn - a replicated connection (the sync stream): the
 * entry whose original tuple @rc names takes @rc's state, timer, mark,
 * TCP state and counters; without one, @rc is imported as by
 * qt_engine_import_conn().  Not counted in stats.restored.  An update
 * whose time ran out removes the entry (announced as DESTROY).
 */
enum qt_import qt_engine_update_conn(struct qt_engine *e,
				     const struct qt_rec_conn *rc,
				     uint64_t age_ms);

/*
 * Replication's full dumps (daemon/sync.c).  A standby applies its peer's
 * whole table with qt_engine_update_conn() between
 * qt_engine_sync_dump_begin() and the dump's end, then sweeps: what the
 * peer no longer has goes.  The sweep keeps what this node's own packets
 * created since qt_engine_sync_standby() (traffic that reaches the
 * standby itself) and removes every other entry the dump did not bring:
 * a replicated one whose DESTROY was lost, one left from when the node
 * was active or restored from a state file.
 */
void qt_engine_sync_standby(struct qt_engine *e);
void qt_engine_sync_dump_begin(struct qt_engine *e);

/* Sweep at most @budget entries from *@cursor (start at 0), adding those
 * removed (announced as DESTROY) to *@removed; true once at the end.  A
 * sweep interrupted by a new dump must start again. */
bool qt_engine_sync_sweep(struct qt_engine *e, uint32_t *cursor,
			  size_t budget, size_t *removed);

/* Insert @rx for its master, which must be in the table already. */
enum qt_import qt_engine_import_expect(struct qt_engine *e,
				       const struct qt_rec_expect *rx,
				       uint64_t age_ms);

#endif
