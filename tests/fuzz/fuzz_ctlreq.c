/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ctlreq.c - libFuzzer target for the control socket's request
 * parser.  Any input must parse or be refused without reading past its
 * end; an accepted request must format and parse back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qt_ctlreq a, b;
	struct qt_conn ct;
	struct qt_addr6pair addr6;
	struct qt_tuple t, o;
	char err[128], line[2 * QT_CTL_MAX_LINE];
	char *copy;
	size_t n;

	/* An exact-size heap copy lets ASan catch any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (qt_ctlreq_parse(&a, copy, size, err, sizeof(err))) {
		if (!memchr(err, '\0', sizeof(err)))
			abort();
		free(copy);
		return 0;
	}
	free(copy);

	n = qt_ctlreq_format(&a, line, sizeof(line));
	if (n >= QT_CTL_MAX_LINE || n != strlen(line))
		abort();
	if (qt_ctlreq_parse(&b, line, n, err, sizeof(err)))
		abort();
	if (memcmp(&a, &b, sizeof(a)))
		abort();

	memset(&ct, 0, sizeof(ct));
	memset(&o, 0, sizeof(o));
	/* A conn has one of the two families; a filter may name none. */
	o.family = a.f.family == AF_INET6 ? AF_INET6 : AF_INET;
	o.proto = a.f.proto;
	o.src = a.f.src;
	o.dst = a.f.dst;
	if (qt_conn_set_tuple(&ct, &o, &addr6))
		abort();
	(void)qt_ctlreq_match(&a.f, &ct);
	if (a.cmd == QT_CTL_DELETE)
		qt_ctlreq_tuple(&a.f, &t);
	return 0;
}
