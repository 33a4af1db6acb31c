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
#include "helper.h"
#include "packet.h"
#include "table.h"
#include "timer.h"

#define QT_EXPECT_ANY_SPORT 0x01	/* tuple.sport is a wildcard */

/* Sequence numbers the FTP helper remembers per direction, as the
 * kernel's NUM_SEQ_TO_REMEMBER. */
#define QT_FTP_SEQ_REMEMBER 2

/*
 * Per-connection helper state, the kernel's struct nf_ct_ftp_master: for
 * each direction the sequence numbers that follow a segment ending in
 * '\n'.  Only a segment starting at one of them is searched for a
 * command.  Kept in a pool of the expectation table and linked from
 * ct->help, so connections without a helper pay two bytes for it.
 */
struct qt_help {
	uint32_t seq_aft_nl[2][QT_FTP_SEQ_REMEMBER];
	uint8_t n_seq[2];
	uint32_t next_free;
};

/* Most helper states at once: ct->help is 16 bits wide. */
#define QT_HELP_MAX 65535u

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

/* Which connection an expected connection was announced by: the master's
 * index and id, so that a master that has gone (and whose entry may hold
 * another connection by now) is recognised. */
struct qt_master_link {
	uint32_t index;
	uint32_t id;
};

struct qt_expect_table {
	struct qt_expect *slot;
	struct qt_table *conns;	/* the connection table masters live in */
	/* per connection entry, written only for expected connections, so
	 * its pages stay untouched (and unmapped) otherwise */
	struct qt_master_link *master_of;
	uint32_t max;
	uint32_t count;
	uint32_t free_head;
	uint32_t next_id;
	uint64_t created;	/* expectations ever created */
	uint64_t refused;	/* refused: table full or clash */
	/* helper state pool (struct qt_help), linked by ct->help */
	struct qt_help *help;
	uint32_t help_max;
	uint32_t help_count;
	uint32_t help_free;
	uint64_t help_refused;	/* conns left without helper: pool empty */
	/* what the FTP helper saw; the kernel drops the packet in the first
	 * two cases, qtrackd cannot (see docs/ftp.md) */
	uint64_t ftp_partial;	/* command split, truncated or malformed */
	uint64_t ftp_noexpect;	/* well-formed, but no room to expect it */
	uint64_t ftp_bounce;	/* address not the announcing side's own */
	uint64_t ftp_expected;	/* commands that made an expectation */
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

/* Remove every expectation of @master and release its helper state
 * (ct->help); the engine calls it for a dying conn with either. */
void qt_expect_remove_master(struct qt_expect_table *x, struct qt_wheel *w,
			     struct qt_conn *master);

/* For a connection being created: if it matches an expectation, make it
 * RELATED to the master; else assign it the helper whose match() takes it
 * (helper.h). */
void qt_expect_apply(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_conf *conf);

/* The master of the expected connection @ct, or NULL if @ct was not
 * expected or its master is gone. */
const struct qt_conn *qt_expect_master(const struct qt_expect_table *x,
				       const struct qt_conn *ct);

/* Run @ct's helper, if it has one, over a packet it accepted. */
void qt_expect_helper(struct qt_expect_table *x, struct qt_wheel *w,
		      struct qt_conn *ct, const struct qt_pkt *pkt,
		      enum qt_dir dir, const struct qt_conf *conf,
		      uint64_t now);

/* Walk live expectations (cursor starts at 0); NULL at the end. */
const struct qt_expect *qt_expect_next(const struct qt_expect_table *x,
				       uint32_t *cursor);

/* @ct's helper state, taken from the pool on first use; NULL when the
 * pool is empty. */
struct qt_help *qt_expect_help_get(struct qt_expect_table *x,
				   struct qt_conn *ct);

/* What one FTP command announces. */
enum qt_ftp_type {
	QT_FTP_PORT,	/* client: PORT h1,h2,h3,h4,p1,p2 */
	QT_FTP_EPRT,	/* client: EPRT |1|addr|port| or |2|addr6|port| */
	QT_FTP_PASV,	/* server: 227 ... h1,h2,h3,h4,p1,p2 */
	QT_FTP_EPSV,	/* server: 229 ... (|||port|) */
};

struct qt_ftp_cmd {
	union qt_addr addr;	/* preset to the sender's address by caller */
	uint16_t port;
	uint8_t type;		/* enum qt_ftp_type */
};

/*
 * qt_ftp_parse - look for an FTP command at the start of @data.
 * @len:    bytes at @data
 * @dir:    QT_DIR_ORIG searches client commands, QT_DIR_REPLY server replies
 * @family: AF_INET or AF_INET6, the control connection's
 * @cmd:    cmd->addr must hold the sender's own address on entry: the
 *          kernel keeps the parts a command does not name (all of it for
 *          229, the last 12 bytes for PORT/227 on IPv6)
 * Returns 1 and fills @cmd for a command, 0 when the segment holds no
 * command, -1 for a command cut short or malformed (where the kernel's
 * helper drops the packet).  Reads no byte at or beyond @len.
 */
int qt_ftp_parse(const char *data, size_t len, enum qt_dir dir, int family,
		 struct qt_ftp_cmd *cmd);

#endif
