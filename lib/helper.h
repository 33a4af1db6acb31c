/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.h - the operations every connection tracking helper fills in,
 * as the kernel's struct nf_conntrack_helper.
 *
 * A helper reads the payload of a protocol that announces other
 * connections (FTP's PORT and 227 name the data connection) and expects
 * them (expect.h).  Each helper lives in its own file (helper_ftp.c) and
 * ends in one const struct qt_helper_ops; the expectation code reaches it
 * only through qt_helper_find() and qt_helper_assign(), so a new helper
 * is its file, a value of enum qt_helper and a row of qt_helpers[]
 * (helper.c).
 */
#ifndef QTRACK_HELPER_H
#define QTRACK_HELPER_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "packet.h"
#include "timer.h"

/* A connection's helper (ct->helper, exp->helper); records and state
 * files store the number, so values are never reused. */
enum qt_helper {
	QT_HELPER_NONE = 0,
	QT_HELPER_FTP = 1,
	QT_HELPER_MAX
};

/* What a helper's expectations may do, the kernel's struct
 * nf_conntrack_expect_policy. */
struct qt_expect_policy {
	/* Expectations per master; a new one replaces the oldest. */
	uint32_t max_expected;
	uint32_t timeout;	/* seconds an expectation waits */
};

struct qt_expect_table;

struct qt_helper_ops {
	/* As conntrack -L prints it (helper=ftp) and the expectation list. */
	const char *name;
	/* Whether a new connection, not expected by another, is one this
	 * helper serves under @conf: the kernel finds a helper by the
	 * protocol and server port of the connection's tuple. */
	bool (*match)(const struct qt_conn *ct, const struct qt_conf *conf);
	/* Read a packet that @ct accepted in direction @dir and add the
	 * expectations it announces (qt_expect_add()). */
	void (*help)(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_pkt *pkt,
		     enum qt_dir dir, const struct qt_conf *conf,
		     uint64_t now);
	/* The policy its expectations get under @conf. */
	struct qt_expect_policy (*policy)(const struct qt_conf *conf);
};

extern const struct qt_helper_ops qt_helper_ftp;

/* The helper numbered @helper (enum qt_helper), or NULL for none or a
 * number no helper has. */
const struct qt_helper_ops *qt_helper_find(uint8_t helper);

/* The helper a new connection @ct gets under @conf, QT_HELPER_NONE when
 * no helper's match() takes it. */
uint8_t qt_helper_assign(const struct qt_conn *ct, const struct qt_conf *conf);

#endif
