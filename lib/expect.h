/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * expect.h - expectations: connections a helper has announced (the FTP data
 * connection), as the kernel's nf_conntrack_expect.c keeps them.
 *
 * An expectation holds the original-direction tuple the related connection
 * will have, with the source port possibly a wildcard, its master
 * connection and a timer.  The first new connection that matches takes it:
 * it becomes RELATED (QT_CONN_EXPECTED), remembers its master and inherits
 * the master's connmark.  Expectations die with their master.
 */
#ifndef QTRACK_EXPECT_H
#define QTRACK_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "packet.h"
#include "table.h"
#include "timer.h"

enum qt_helper {
	QT_HELPER_NONE = 0,
	QT_HELPER_FTP = 1,
};

#define QT_EXPECT_ANY_SPORT 0x01	/* tuple.sport is a wildcard */

struct qt_expect {
	struct qt_tuple tuple;	/* expected original tuple */
	struct qt_timer timer;
	uint32_t master;	/* index of the master conn */
	uint32_t id;
	uint32_t timeout;	/* seconds it was armed with */
	uint8_t helper;		/* enum qt_helper */
	uint8_t flags;		/* QT_EXPECT_* */
	bool live;
	uint32_t next_free;
};

struct qt_expect_table {
	struct qt_expect *slot;
	struct qt_table *conns;	/* the connection table masters live in */
	uint32_t max;
	uint32_t count;
	uint32_t free_head;
	uint32_t next_id;
	uint64_t created;	/* expectations ever created */
	uint64_t refused;	/* refused: total or per-master limit */
};

int qt_expect_init(struct qt_expect_table *x, struct qt_table *conns,
		   uint32_t max);
void qt_expect_destroy(struct qt_expect_table *x);

/* Whether @t is the timer of an expectation (the engine's wheel holds both
 * connection and expectation timers). */
bool qt_expect_is_timer(const struct qt_expect_table *x,
			const struct qt_timer *t);
void qt_expect_timer_fired(struct qt_expect_table *x, struct qt_timer *t);

/*
 * qt_expect_add - announce a related connection of @master.
 * @tuple: its original-direction tuple (sport ignored if
 *         QT_EXPECT_ANY_SPORT is in @flags)
 * An existing expectation of the same master for the same tuple is
 * refreshed.  When @master already has @per_master expectations the
 * oldest of them is replaced, as the kernel does for helpers with
 * max_expected.  Returns 0, or -1 when the table is full.
 */
int qt_expect_add(struct qt_expect_table *x, struct qt_wheel *w,
		  struct qt_conn *master, const struct qt_tuple *tuple,
		  uint8_t flags, uint8_t helper, uint32_t timeout,
		  uint32_t per_master, uint64_t now);

/* Remove every expectation of @master. */
void qt_expect_remove_master(struct qt_expect_table *x, struct qt_wheel *w,
			     struct qt_conn *master);

/* For a connection being created: assign its helper (by [helper] ports)
 * and, if it matches an expectation, make it RELATED to the master. */
void qt_expect_apply(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_conf *conf);

/* Run @ct's helper over a packet it accepted. */
void qt_expect_helper(struct qt_expect_table *x, struct qt_wheel *w,
		      struct qt_conn *ct, const struct qt_pkt *pkt,
		      enum qt_dir dir, const struct qt_conf *conf,
		      uint64_t now);

/* Walk live expectations (cursor starts at 0); NULL at the end. */
const struct qt_expect *qt_expect_next(const struct qt_expect_table *x,
				       uint32_t *cursor);

/* The FTP helper (helper_ftp.c): parse PORT/EPRT/227/229 in @pkt and add
 * the expectation. */
void qt_helper_ftp(struct qt_expect_table *x, struct qt_wheel *w,
		   struct qt_conn *ct, const struct qt_pkt *pkt,
		   enum qt_dir dir, const struct qt_conf *conf, uint64_t now);

#endif
