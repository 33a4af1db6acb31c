/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackd.c - the daemon: command line, start-up, event loop, shutdown.
 *
 * qtrackd runs in the foreground (systemd Type=notify).  Start-up binds
 * every configured queue before announcing READY=1, so a ruleset loaded
 * after `systemctl start` never meets an unbound queue.  Signals are
 * libev watchers: they run in the loop, never in signal context.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control.h"
#include "format.h"
#include "log.h"
#include "qtrackd.h"
#include "queue.h"

/* The idle tick expires connections while no packet arrives; every
 * QTD_DROPCHECK_TICKS ticks the kernel's drop counters are looked at. */
#define QTD_TICK_SECONDS 0.2
#define QTD_DROPCHECK_TICKS 25

uint64_t qtd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void qtd_usage(void)
{
	fprintf(stderr, "usage: qtrackd [-c FILE] [-d] [-n [-v]]\n");
	exit(1);
}

/* Every engine event goes to the control socket's subscribers; with -d the
 * connection's birth and death are also logged, which is how a test or a
 * demo without the control socket sees the table. */
static void qtd_engine_event(void *arg, enum qt_event_type type,
			     const struct qt_conn *ct)
{
	static const char *const names[] = {
	    [QT_EV_NEW] = "NEW",
	    [QT_EV_UPDATE] = "UPDATE",
	    [QT_EV_DESTROY] = "DESTROY",
	};
	struct qtd_worker *w = arg;
	struct qt_format_opts o = {0};
	char line[512];

	if (w->d->control)
		control_event(w->d->control, type, ct);
	if (type == QT_EV_UPDATE)
		return;
	o.event = names[type];
	o.timeout = qt_engine_timeout_left(w->engine, ct, qtd_now_ms());
	qt_format_conn(ct, &o, line, sizeof(line));
	log_debug("queue %u: %s", w->queue_num, line);
}

static void qtd_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct qtd *d = t->data;
	uint64_t now = qtd_now_ms();
	unsigned i;

	(void)loop;
	(void)revents;
	d->ticks++;
	for (i = 0; i < d->nworkers; i++) {
		qt_engine_expire(d->workers[i].engine, now, 0);
		if (d->ticks % QTD_DROPCHECK_TICKS == 0)
			queue_check_drops(&d->workers[i]);
	}
}

static void qtd_sighup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)loop;
	(void)revents;
	qtd_reload(s->data);
}

static void qtd_stop_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct qtd *d = s->data;

	(void)revents;
	log_info("signal %d: stopping", s->signum);
	d->stopping = true;
	ev_break(loop, EVBREAK_ALL);
}

static void qtd_workers_start(struct qtd *d)
{
	uint64_t now = qtd_now_ms();
	char err[512];
	unsigned i;

	d->nworkers =
	    (unsigned)d->conf.queue.num_last - d->conf.queue.num_first + 1;
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	if (!d->workers)
		fatal("allocating %u workers", d->nworkers);
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		w->d = d;
		w->queue_num = (uint16_t)(d->conf.queue.num_first + i);
		w->engine = qt_engine_new(&d->conf, now);
		if (!w->engine)
			fatal("queue %u: creating the engine ([table] max %u)",
			      w->queue_num, d->conf.table.max);
		qt_engine_set_events(w->engine, qtd_engine_event, w);
		if (queue_open(w, &d->conf, err, sizeof(err)) < 0)
			fatalx("%s", err);
	}
}

static void qtd_shutdown(struct qtd *d)
{
	unsigned i;

	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	/* Stop reading first, then answer whatever the socket already holds:
	 * only packets the kernel has not handed over yet are left to the
	 * unbind (dropped, or bypassed by rules with --queue-bypass). */
	for (i = 0; i < d->nworkers; i++)
		queue_stop(&d->workers[i]);
	for (i = 0; i < d->nworkers; i++)
		queue_drain(&d->workers[i]);
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		queue_close(w);
		log_info("queue %u: %llu packets, %llu verdicts in %llu "
			 "batches, %llu ENOBUFS, %llu errors",
			 w->queue_num, (unsigned long long)w->qstats.received,
			 (unsigned long long)w->qstats.verdicts,
			 (unsigned long long)w->qstats.batches,
			 (unsigned long long)w->qstats.enobufs,
			 (unsigned long long)w->qstats.errors);
	}
	if (d->control)
		control_close(d->control);
	d->control = NULL;
	for (i = 0; i < d->nworkers; i++)
		qt_engine_free(d->workers[i].engine);
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;
}

static int qtd_check(struct qtd *d, int verbose)
{
	char err[512];
	size_t n;
	char *buf;

	if (qtd_conf_load(d->conf_path, d->conf_explicit, &d->conf, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!verbose)
		return 0;
	n = qt_conf_format(&d->conf, NULL, 0) + 1;
	buf = malloc(n);
	if (!buf) {
		perror("qtrackd");
		return 1;
	}
	qt_conf_format(&d->conf, buf, n);
	fputs(buf, stdout);
	free(buf);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct qtd qtd;
	struct qtd *d = &qtd;
	int debug = 0, check = 0, verbose = 0, ch;
	char err[512];
	unsigned i;

	d->conf_path = QT_CONF_DEFAULT_PATH;
	while ((ch = getopt(argc, argv, "c:dnvh")) != -1) {
		switch (ch) {
		case 'c':
			d->conf_path = optarg;
			d->conf_explicit = true;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			qtd_usage();
		}
	}
	if (optind != argc || (verbose && !check))
		qtd_usage();
	if (check)
		return qtd_check(d, verbose);

	log_init(debug);
	if (qtd_conf_load(d->conf_path, d->conf_explicit, &d->conf, err,
			  sizeof(err)) < 0)
		fatalx("%s", err);

	/* A peer that vanishes from the control socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop)
		fatalx("cannot initialise the event loop");

	qtd_workers_start(d);
	d->control = control_open(d);
	if (!d->control)
		fatalx("cannot open the control socket %s",
		       d->conf.control.socket);

	ev_signal_init(&d->sighup, qtd_sighup_cb, SIGHUP);
	ev_signal_init(&d->sigterm, qtd_stop_cb, SIGTERM);
	ev_signal_init(&d->sigint, qtd_stop_cb, SIGINT);
	d->sighup.data = d->sigterm.data = d->sigint.data = d;
	ev_signal_start(d->loop, &d->sighup);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_timer_init(&d->tick, qtd_tick_cb, QTD_TICK_SECONDS,
		      QTD_TICK_SECONDS);
	d->tick.data = d;
	ev_timer_start(d->loop, &d->tick);
	for (i = 0; i < d->nworkers; i++)
		queue_start(&d->workers[i]);

	log_info("started: queues %u-%u, config %s", d->conf.queue.num_first,
		 d->conf.queue.num_last, d->conf_path);
	sd_notify(0, "READY=1\nSTATUS=running");
	ev_run(d->loop, 0);

	qtd_shutdown(d);
	log_info("stopped");
	return 0;
}
