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
	const char *event;	/* "NEW", "UPDATE", "DESTROY" prefix, or NULL;
				 * event lines are as conntrack -E prints
				 * them: no use=, mark= only when nonzero */
};

/*
 * qt_format_conn - one line, no newline, exactly as conntrack -L prints it:
 * "tcp      6 431999 ESTABLISHED src=... dst=... sport=... dport=...
 *  src=... dst=... sport=... dport=... [ASSURED] mark=0 use=1".
 * Returns the length needed, like snprintf.
 */
size_t qt_format_conn(const struct qt_conn *ct,
		      const struct qt_format_opts *o, char *buf, size_t len);

/* The same data as one JSON object, no newline. */
size_t qt_format_conn_json(const struct qt_conn *ct,
			   const struct qt_format_opts *o, char *buf,
			   size_t len);

/* An address of @family as text (inet_ntop without libc I/O). */
size_t qt_format_addr(int family, const union qt_addr *a, char *buf,
		      size_t len);

#endif
