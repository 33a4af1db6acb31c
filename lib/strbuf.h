/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * strbuf.h - appending formatted text to a caller's buffer with snprintf's
 * contract: output is cut at the buffer's end (always NUL-terminated when
 * len > 0) and `n` counts every byte that was wanted, so callers can return
 * it like snprintf and be called again with a bigger buffer.
 */
#ifndef QTRACK_STRBUF_H
#define QTRACK_STRBUF_H

#include <stddef.h>

struct qt_strbuf {
	char *buf;
	size_t len;	/* size of buf */
	size_t n;	/* bytes wanted so far */
};

void qt_strbuf_printf(struct qt_strbuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
