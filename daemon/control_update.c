/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_update.c - `update`: a connection's mark changed from outside,
 * as conntrack -U changes the kernel's ctmark.
 *
 * One request names one connection by its whole tuple (in either
 * direction) and the new mark, mark=VALUE[/MASK]: (old & ~MASK) ^ VALUE.
 * qtrackctl turns conntrack's partial filters into a list and one
 * request per match, as conntrack itself dumps the table and updates
 * entry by entry.  The change goes through the engine
 * (qt_engine_conn_set_mark()), which announces it as an UPDATE event:
 * subscribers see it, the standby of a pair receives it, and the bypass
 * takes back an offloaded connection whose mark now has [mark] connmark
 * bits.
 */
#include "control_internal.h"
#include "format.h"

void ctl_cmd_update(struct ctl_client *cl)
{
	struct qtd *d = cl->c->d;
	const struct qt_ctl_filter *f = &cl->req.f;
	struct qt_format_opts o = {0};
	struct qt_acct sum;
	char line[CTL_LINE];
	struct qt_tuple t;
	unsigned i;
	size_t n;

	qt_ctlreq_tuple(f, &t);
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];
		const struct qt_conn *ct;
		enum qt_dir dir;

		qtd_worker_lock(w);
		ct = qt_engine_find(w->engine, &t, &dir);
		if (!ct) {
			qtd_worker_unlock(w);
			continue;
		}
		if (!qt_engine_conn_set_mark(w->engine, ct, f->mark,
					     f->mark_mask)) {
			/* Already so: conntrack -U neither prints nor
			 * counts such an entry. */
			qtd_worker_unlock(w);
			ctl_reply_ok(cl);
			return;
		}
		/* The entry as it is now, as conntrack -U prints it. */
		ctl_format_opts(d, w->engine, ct, qtd_now_ms(), &o, &sum);
		o.id = (f->have & QT_CTLF_SHOW_ID) != 0;
		n = qt_format_conn(ct, &o, line, sizeof(line) - 1);
		qtd_worker_unlock(w);
		log_debug("control: queue %u: a connection's mark set to "
			  "0x%x/0x%x by request",
			  w->queue_num, f->mark, f->mark_mask);
		if (n < sizeof(line) - 1) {
			line[n++] = '\n';
			ctl_put(cl, line, n);
		}
		ctl_reply_ok(cl);
		return;
	}
	ctl_reply_err(cl, "no such connection");
}
