// SPDX-License-Identifier: GPL-2.0-or-later
/* strbuf.c - see strbuf.h. */
#include <stdarg.h>
#include <stdio.h>

#include "strbuf.h"

void qt_strbuf_printf(struct qt_strbuf *o, const char *fmt, ...)
{
	size_t room = o->n < o->len ? o->len - o->n : 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room ? o->buf + o->n : NULL, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}
