/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_events.c - `qtrackctl events`: the connection stays open as a
 * subscriber and receives [NEW], [UPDATE] and [DESTROY] lines like
 * conntrack -E.  A subscriber whose output buffer is full loses events,
 * which are counted and announced to it as "[LOST] N events" as soon as
 * there is room again.
 */
#include <inttypes.h>

#include "control_internal.h"
#include "format.h"

static const char *const ctl_event_names[] = {
    [QT_EV_NEW] = "NEW",
    [QT_EV_UPDATE] = "UPDATE",
    [QT_EV_DESTROY] = "DESTROY",
};

void ctl_lost_line(struct ctl_client *cl)
{
	if (cl->lost &&
	    ctl_printf(cl, "[LOST] %" PRIu64 " events\n", cl->lost) == 0)
		cl->lost = 0;
}

void ctl_events_subscribe(struct ctl_client *cl)
{
	struct qt_control *c = cl->c;

	cl->phase = CTL_EVENTS;
	c->nsubscribers++;
	if (cl->req.fmt == QT_CTL_FMT_JSON)
		c->njson++;
	__atomic_store_n(&c->d->events_wanted, c->nsubscribers,
			 __ATOMIC_RELAXED);
}

void ctl_events_unsubscribe(struct ctl_client *cl)
{
	struct qt_control *c = cl->c;

	c->nsubscribers--;
	if (cl->req.fmt == QT_CTL_FMT_JSON)
		c->njson--;
	__atomic_store_n(&c->d->events_wanted, c->nsubscribers,
			 __ATOMIC_RELAXED);
}

/* Queue @line for one subscriber, or count it lost.  A pending [LOST]
 * notice goes out first, so the gap shows where it happened. */
static void ctl_event_put(struct ctl_client *cl, const char *line, size_t n)
{
	if (cl->lost) {
		ctl_lost_line(cl);
		if (cl->lost)
			goto lost;
	}
	if (ctl_put(cl, line, n) == 0) {
		ctl_want_write(cl);
		return;
	}
lost:
	cl->lost++;
	cl->c->events_lost++;
}

void control_event(struct qt_control *c, enum qt_event_type type,
		   const struct qt_conn *ct, const struct qt_acct *acct)
{
	struct qt_format_opts o = {0};
	struct ctl_client *cl;
	char text[CTL_LINE], json[CTL_LINE];
	size_t ntext = 0, njson = 0;

	if (!c || !c->nsubscribers || (unsigned)type > QT_EV_DESTROY)
		return;
	/* Events carry the timeout just set, as the kernel's do. */
	o.event = ctl_event_names[type];
	o.timeout = ct->timeout;
	o.accounting = c->d->conf.table.accounting;
	o.acct = acct;
	if (c->nsubscribers > c->njson) {
		ntext = qt_format_conn(ct, &o, text, sizeof(text) - 1);
		if (ntext >= sizeof(text) - 1)
			return;
		text[ntext++] = '\n';
	}
	if (c->njson) {
		njson = qt_format_conn_json(ct, &o, json, sizeof(json) - 1);
		if (njson >= sizeof(json) - 1)
			return;
		json[njson++] = '\n';
	}
	for (cl = c->clients; cl; cl = cl->next) {
		if (cl->phase != CTL_EVENTS)
			continue;
		if (cl->req.fmt == QT_CTL_FMT_JSON)
			ctl_event_put(cl, json, njson);
		else
			ctl_event_put(cl, text, ntext);
	}
}
