/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_conf.c - arbitrary text into qt_conf_parse().  Whatever the input,
 * the parser must not crash, must terminate its message, and a config it
 * accepts must validate, print, and re-parse to the same struct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qt_conf c, again;
	char err[256], *text, *printed;
	size_t n;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	qt_conf_init(&c);
	memset(err, 'x', sizeof(err));
	if (qt_conf_parse(&c, text, "fuzz.conf", err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)))
			abort();
		free(text);
		return 0;
	}
	if (qt_conf_validate(&c, err, sizeof(err)) < 0)
		abort();
	n = qt_conf_format(&c, NULL, 0);
	printed = malloc(n + 1);
	if (printed) {
		if (qt_conf_format(&c, printed, n + 1) != n)
			abort();
		qt_conf_init(&again);
		if (qt_conf_parse(&again, printed, "printed", err,
				  sizeof(err)) < 0 ||
		    memcmp(&c, &again, sizeof(c)) != 0)
			abort();
		free(printed);
	}
	free(text);
	return 0;
}
