/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder until the control socket lands: serves nothing. */
#include <stdlib.h>

#include "control.h"

struct qt_control {
	int unused;
};

struct qt_control *control_open(struct qtd *d)
{
	(void)d;
	return calloc(1, sizeof(struct qt_control));
}

void control_close(struct qt_control *c)
{
	free(c);
}

void control_event(struct qt_control *c, enum qt_event_type type,
		   const struct qt_conn *ct)
{
	(void)c;
	(void)type;
	(void)ct;
}
