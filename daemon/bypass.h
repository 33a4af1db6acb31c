/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bypass.h - offload steady connections to an nftables table qtrackd owns.
 */
#ifndef QTD_BYPASS_H
#define QTD_BYPASS_H

#include <qtrack.h>

struct qtd_bypass;
struct qt_engine;

/* Create the table "inet qtrack" for @conf ([bypass] enable = yes): NULL
 * with a logged reason when it cannot. */
struct qtd_bypass *bypass_open(const struct qt_conf *conf);

/* Remove the table and free @b (NULL is fine). */
void bypass_close(struct qtd_bypass *b);

/* An engine event of @e (worker lock held): offload @ct when it has
 * become steady, end its offload when it no longer is or is gone. */
void bypass_event(struct qtd_bypass *b, struct qt_engine *e,
		  enum qt_event_type type, const struct qt_conn *ct);

/* A packet of @ct reached qtrackd at @now (worker lock held): a steady
 * connection the events missed (restored from the state file) is
 * offloaded, and an offloaded one whose elements have expired gets them
 * back. */
void bypass_packet(struct qtd_bypass *b, struct qt_engine *e,
		   const struct qt_conn *ct, uint64_t now);

/* Whether @ct is offloaded (worker lock held); if it is and @acct is not
 * NULL, the packets and bytes its elements counted on the fast path since
 * their last addition are added to *@acct.  That costs a netlink round
 * trip per direction. */
bool bypass_query(struct qtd_bypass *b, const struct qt_engine *e,
		  const struct qt_conn *ct, struct qt_acct *acct);

struct qt_rec_conn;

/* @rc was exported from @ct (worker lock held): if @ct is offloaded, its
 * record says so (QT_REC_ST_OFFLOAD), and whoever imports it treats its
 * window data as stale.  Its counters are the entry's own only. */
void bypass_export(struct qtd_bypass *b, const struct qt_engine *e,
		   const struct qt_conn *ct, struct qt_rec_conn *rc);

#endif
