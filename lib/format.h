/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format.h - connections as text: the `conntrack -L` line and JSON.
 */
#ifndef QTRACK_FORMAT_H
#define QTRACK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "tuple.h"

struct qt_format_opts {
	uint32_t timeout;	/* seconds left, printed after the proto */
	bool accounting;	/* print packets= bytes= per direction */
	const struct qt_acct *acct;	/* the counters (qt_engine_acct());
					 * NULL prints zeros */
	bool offload;		/* its packets take the daemon's fast path:
				 * "[OFFLOAD]" where "[ASSURED]" would be, as
				 * conntrack -L shows flowtable entries */
	const char *event;	/* "NEW", "UPDATE", "DESTROY" prefix, or NULL;
				 * event lines are as conntrack -E prints
				 * them: no use=, mark= only when nonzero */
	bool id;		/* end with id=N, as conntrack -o id */
};

/*
 * qt_format_conn - one line, no newline, exactly as conntrack -L prints it:
 * "tcp      6 431999 ESTABLISHED src=... dst=... sport=... dport=...
 *  src=... dst=... sport=... dport=... [ASSURED] mark=0 use=1", and
 * " id=N" after it with o->id.
 * Returns the length needed, like snprintf.
 */
size_t qt_format_conn(const struct qt_conn *ct,
		      const struct qt_format_opts *o, char *buf, size_t len);

/* One direction's tuple as conntrack prints it, no newline: "src=A dst=B
 * sport=N dport=M" for protocols with ports, "src=A dst=B type=T code=C
 * id=I" for ICMP and ICMPv6, "src=A dst=B" for the rest.  Returns the
 * length needed, like snprintf. */
size_t qt_format_tuple(const struct qt_tuple *t, char *buf, size_t len);

/* The same data as one JSON object, no newline. */
size_t qt_format_conn_json(const struct qt_conn *ct,
			   const struct qt_format_opts *o, char *buf,
			   size_t len);

struct qt_expect;

/*
 * qt_format_expect - one expectation as a line of the kernel's
 * /proc/net/nf_conntrack_expect (exp_seq_show()), no newline:
 * "297 l3proto = 2 proto=6 src=10.0.2.2 dst=10.0.1.2 sport=0 dport=40001 ftp"
 * A wildcard source port prints as 0; IPv6 addresses in the full form
 * the kernel's %pI6 gives.  @timeout is the seconds left.  Returns the
 * length needed, like snprintf.  (lib/format_expect.c)
 */
size_t qt_format_expect(const struct qt_expect *exp, uint32_t timeout,
			char *buf, size_t len);

/* The same as one JSON object, no newline: {"timeout":297,"family":"ipv4",
 * "proto":6,"src":"…","dst":"…","sport":0,"dport":40001,"helper":"ftp"}
 * (addresses in the usual compressed form). */
size_t qt_format_expect_json(const struct qt_expect *exp, uint32_t timeout,
			     char *buf, size_t len);

/* An address of @family as text (inet_ntop without libc I/O). */
size_t qt_format_addr(int family, const union qt_addr *a, char *buf,
		      size_t len);

#endif
