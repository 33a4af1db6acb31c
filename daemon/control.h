/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.h - the control socket that qtrackctl talks to.
 */
#ifndef QTRACKD_CONTROL_H
#define QTRACKD_CONTROL_H

#include "qtrackd.h"

struct qt_control;

/* Open [control] socket and start serving it on d->loop.  NULL with a
 * logged reason on failure (the daemon then refuses to start). */
struct qt_control *control_open(struct qtd *d);

/* Stop serving and unlink the socket. */
void control_close(struct qt_control *c);

/* Hand an engine event to every subscriber of `qtrackctl events`.  Called
 * from the engine's event callback on the packet path: must not block. */
void control_event(struct qt_control *c, enum qt_event_type type,
		   const struct qt_conn *ct, const struct qt_acct *acct);

#endif
