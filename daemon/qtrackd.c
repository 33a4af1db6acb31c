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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bypass.h"
#include "control.h"
#include "fdstore.h"
#include "format.h"
#include "kdrops.h"
#include "log.h"
#include "qtrackd.h"
#include "queue.h"
#include "state.h"
#include "sync.h"

/* The idle tick expires connections while no packet arrives; every
 * QTD_DROPCHECK_TICKS ticks the kernel's drop counters are looked at. */
#define QTD_TICK_SECONDS 0.2
#define QTD_DROPCHECK_TICKS 25
/* Engine events a worker thread may have waiting for the main loop. */
#define QTD_EVRING_SIZE 4096

struct qtd_evslot {
	enum qt_event_type type;
	struct qt_conn ct; /* a copy: the engine's is valid only in the call */
	struct qt_acct acct; /* its counters, if has_acct */
	bool has_acct;
};

/* Single producer (the worker, under its lock), single consumer (the main
 * thread).  head and tail only grow; the slot is index % size. */
struct qtd_evring {
	unsigned head; /* atomic: next slot to write */
	unsigned tail; /* atomic: next slot to read */
	struct qtd_evslot slot[QTD_EVRING_SIZE];
};

uint64_t qtd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Usage on stdout and success when asked for (-h), on stderr with status 1
 * after a wrong command line. */
static void qtd_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: qtrackd [-c FILE] [-d] [-n [-v]] [-h]\n");
	exit(status);
}

void qtd_events_drain(struct qtd *d)
{
	unsigned i;

	for (i = 0; i < d->nworkers; i++) {
		struct qtd_evring *r = d->workers[i].ring;
		unsigned tail, head;

		if (!r)
			continue;
		tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
		head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		for (; tail != head; tail++) {
			struct qtd_evslot *e = &r->slot[tail % QTD_EVRING_SIZE];

			if (d->control)
				control_event(d->control, e->type, &e->ct,
					      e->has_acct ? &e->acct : NULL);
		}
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	}
}

static void qtd_evasync_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)revents;
	qtd_events_drain(a->data);
}

/* On a worker thread: copy the event into the ring for the main loop, or
 * drop and count it; a slow main thread must never stall the packets. */
static void qtd_event_push(struct qtd_worker *w, enum qt_event_type type,
			   const struct qt_conn *ct, const struct qt_acct *acct)
{
	struct qtd_evring *r = w->ring;
	unsigned head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	unsigned tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (head - tail >= QTD_EVRING_SIZE) {
		__atomic_fetch_add(&w->d->events_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	r->slot[head % QTD_EVRING_SIZE].type = type;
	r->slot[head % QTD_EVRING_SIZE].ct = *ct;
	r->slot[head % QTD_EVRING_SIZE].has_acct = acct != NULL;
	if (acct)
		r->slot[head % QTD_EVRING_SIZE].acct = *acct;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	ev_async_send(w->d->loop, &w->d->evasync);
}

/* Every engine event goes to the control socket's subscribers; with -d the
 * connection's birth and death are also logged, which is how a test or a
 * demo without the control socket sees the table.  Runs with the worker's
 * lock held, on the worker's thread or on the main thread (control socket
 * flush/delete, reload). */
static void qtd_engine_event(void *arg, enum qt_event_type type,
			     const struct qt_conn *ct)
{
	static const char *const names[] = {
	    [QT_EV_NEW] = "NEW",
	    [QT_EV_UPDATE] = "UPDATE",
	    [QT_EV_DESTROY] = "DESTROY",
	};
	struct qtd_worker *w = arg;
	struct qtd *d = w->d;
	struct qt_format_opts o = {0};
	const struct qt_acct *acct = qt_engine_acct(w->engine, ct);
	char line[512];

	sync_event(w, type, ct);
	bypass_event(d->bypass, w->engine, type, ct);
	if (d->control &&
	    __atomic_load_n(&d->events_wanted, __ATOMIC_RELAXED)) {
		if (w->threaded && pthread_equal(pthread_self(), w->thread)) {
			qtd_event_push(w, type, ct, acct);
		} else {
			/* On the main thread: what the workers queued
			 * happened first. */
			qtd_events_drain(d);
			control_event(d->control, type, ct, acct);
		}
	}
	if (type == QT_EV_UPDATE || !log_debug_enabled())
		return;
	o.event = names[type];
	o.timeout = qt_engine_timeout_left(w->engine, ct, qtd_now_ms());
	qt_format_conn(ct, &o, line, sizeof(line));
	log_debug("queue %u: %s", w->queue_num, line);
}

/* Idle expiry, on the worker's loop; the loop also shows it is alive. */
static void qtd_worker_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct qtd_worker *w = t->data;
	uint64_t now = qtd_now_ms();

	(void)loop;
	(void)revents;
	qtd_worker_lock(w);
	qt_engine_expire(w->engine, now, 0);
	qtd_worker_unlock(w);
	__atomic_store_n(&w->alive_ms, now, __ATOMIC_RELAXED);
}

/*
 * systemd's watchdog (WatchdogSec=): WATCHDOG=1 goes out twice per period,
 * but only while every packet loop has turned within half a period.  With
 * one queue the packet loop is this loop; with several, a worker thread
 * stuck in a batch or on a lock stops the pings as surely as a stopped
 * process, and systemd restarts qtrackd.
 */
static void qtd_watchdog(struct qtd *d)
{
	uint64_t now = qtd_now_ms();
	unsigned i;

	if (!d->watchdog_ms || now - d->watchdog_last_ms < d->watchdog_ms / 2)
		return;
	for (i = 0; i < d->nworkers; i++) {
		uint64_t alive = __atomic_load_n(&d->workers[i].alive_ms,
						 __ATOMIC_RELAXED);

		if (now - alive > d->watchdog_ms / 2)
			return;
	}
	sd_notify(0, "WATCHDOG=1");
	d->watchdog_last_ms = now;
}

/* A stop or reconfigure request from the main thread. */
static void qtd_worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct qtd_worker *w = a->data;
	char err[512];

	(void)revents;
	if (__atomic_exchange_n(&w->reconf, false, __ATOMIC_ACQ_REL)) {
		struct qt_conf c;

		qtd_worker_lock(w);
		c = w->next_conf;
		qtd_worker_unlock(w);
		if (queue_configure(w, &c, err, sizeof(err)) < 0)
			log_warnx("%s (keeping the previous queue parameters)",
				  err);
	}
	if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		/* Stop reading, answer what the socket already holds. */
		queue_stop(w);
		queue_drain(w);
		ev_timer_stop(loop, &w->tick);
		ev_break(loop, EVBREAK_ALL);
	}
}

void qtd_worker_configure(struct qtd_worker *w, const struct qt_conf *conf)
{
	char err[512];

	if (!w->threaded) {
		if (queue_configure(w, conf, err, sizeof(err)) < 0)
			log_warnx("%s (keeping the previous queue parameters)",
				  err);
		return;
	}
	/* The worker owns its socket: it sends the config message and reads
	 * the acknowledgement between two batches. */
	qtd_worker_lock(w);
	w->next_conf = *conf;
	qtd_worker_unlock(w);
	__atomic_store_n(&w->reconf, true, __ATOMIC_RELEASE);
	ev_async_send(w->loop, &w->wake);
}

static void *qtd_worker_main(void *arg)
{
	struct qtd_worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

static void qtd_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct qtd *d = t->data;
	unsigned i;

	(void)loop;
	(void)revents;
	d->ticks++;
	qtd_watchdog(d);
	state_tick(d);
	if (d->ticks % QTD_DROPCHECK_TICKS)
		return;
	qtd_kdrops_check(d);
	for (i = 0; i < d->nworkers; i++)
		queue_check_confirm(&d->workers[i]);
	qtd_conf_watch(d);
}

/* WatchdogSec= of the unit, if any: its period, and a first ping. */
static void qtd_watchdog_start(struct qtd *d)
{
	uint64_t usec = 0;
	unsigned i;

	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return;
	d->watchdog_ms = usec / 1000 ? usec / 1000 : 1;
	for (i = 0; i < d->nworkers; i++)
		__atomic_store_n(&d->workers[i].alive_ms, qtd_now_ms(),
				 __ATOMIC_RELAXED);
	log_info("watchdog: a ping every %llu ms while every queue's loop "
		 "turns",
		 (unsigned long long)d->watchdog_ms / 2);
	sd_notify(0, "WATCHDOG=1");
	d->watchdog_last_ms = qtd_now_ms();
}

static void qtd_sighup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	char err[512];

	(void)loop;
	(void)revents;
	/* The outcome is logged; `qtrackctl reload` also returns it. */
	(void)qtd_reload(s->data, err, sizeof(err));
}

static void qtd_stop_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct qtd *d = s->data;

	(void)revents;
	log_info("signal %d: stopping", s->signum);
	d->stopping = true;
	ev_break(loop, EVBREAK_ALL);
}

/* keepalived's notify script: SIGUSR1 makes this node the active one of a
 * pair (it sends its table), SIGUSR2 the standby (it keeps the peer's). */
static void qtd_role_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)loop;
	(void)revents;
	sync_set_role(s->data, s->signum == SIGUSR1);
}

static void qtd_workers_start(struct qtd *d)
{
	uint64_t now = qtd_now_ms();
	char err[512];
	unsigned i;

	d->nworkers =
	    (unsigned)d->conf.queue.num_last - d->conf.queue.num_first + 1;
	d->threaded = d->nworkers > 1;
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	if (!d->workers)
		fatal("allocating %u workers", d->nworkers);
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		w->d = d;
		w->queue_num = (uint16_t)(d->conf.queue.num_first + i);
		pthread_mutex_init(&w->lock, NULL);
		w->engine = qt_engine_new(&d->conf, now);
		if (!w->engine)
			fatal("queue %u: creating the engine ([table] max %u)",
			      w->queue_num, d->conf.table.max);
		qt_engine_set_events(w->engine, qtd_engine_event, w);
		/* Ids unique over all queues: conntrack -o id, --id. */
		qt_engine_set_id_space(w->engine, i + 1, d->nworkers);
		w->threaded = d->threaded;
		w->loop = d->loop;
		if (w->threaded) {
			w->loop = ev_loop_new(EVFLAG_AUTO);
			w->ring = calloc(1, sizeof(*w->ring));
			if (!w->loop || !w->ring)
				fatal("queue %u: creating the worker",
				      w->queue_num);
		}
		ev_timer_init(&w->tick, qtd_worker_tick_cb, QTD_TICK_SECONDS,
			      QTD_TICK_SECONDS);
		w->tick.data = w;
		ev_async_init(&w->wake, qtd_worker_wake_cb);
		w->wake.data = w;
	}
	/* The table first: a queue taken over from systemd's file
	 * descriptor store has packets waiting, and they must meet the
	 * restored table. */
	state_restore(d);
	fdstore_init();
	for (i = 0; i < d->nworkers; i++)
		if (queue_open(&d->workers[i], &d->conf, err, sizeof(err)) < 0)
			fatalx("%s", err);
	fdstore_close_rest();
}

/* Start serving: on the main loop, or one thread per queue.  The threads
 * block every signal so that the main loop's watchers get them. */
static void qtd_workers_run(struct qtd *d)
{
	sigset_t all, old;
	unsigned i;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		ev_timer_start(w->loop, &w->tick);
		queue_start(w);
		if (!w->threaded)
			continue;
		ev_async_start(w->loop, &w->wake);
		e = pthread_create(&w->thread, NULL, qtd_worker_main, w);
		if (e) {
			errno = e;
			fatal("queue %u: starting the worker thread",
			      w->queue_num);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void qtd_shutdown(struct qtd *d)
{
	unsigned i;

	/* No snapshot may walk the tables while they go away. */
	state_periodic_stop(d);
	/* Stop reading first, then answer whatever the socket already holds:
	 * only packets the kernel has not handed over yet are left to the
	 * unbind (dropped, or bypassed by rules with --queue-bypass).  A
	 * worker thread does both itself and leaves its loop. */
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		if (w->threaded) {
			__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
			ev_async_send(w->loop, &w->wake);
		} else {
			queue_stop(w);
			ev_timer_stop(w->loop, &w->tick);
		}
	}
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		if (w->threaded)
			pthread_join(w->thread, NULL);
		else
			queue_drain(w);
	}
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	qtd_events_drain(d);
	sync_close(d);
	/* Every packet read has its verdict: the tables are final. */
	state_save_now(d);
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
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		qt_engine_free(w->engine);
		if (w->threaded)
			ev_loop_destroy(w->loop);
		free(w->ring);
		pthread_mutex_destroy(&w->lock);
	}
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;
}

static int qtd_check(struct qtd *d, int verbose)
{
	char err[512];
	size_t n;
	char *buf;

	if (qtd_conf_load(d->conf_path, d->conf_explicit, &d->conf, NULL, err,
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

	d->conf_path = QT_CONF_DEFAULT_PATH;
	d->kdrops_fd = -1;
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
		case 'h':
			qtd_usage(0);
			break;
		default:
			qtd_usage(1);
		}
	}
	if (optind != argc || (verbose && !check))
		qtd_usage(1);
	if (check)
		return qtd_check(d, verbose);

	log_init(debug);
	/* A broken file must not keep a firewall's tracker down when a
	 * configuration that worked is at hand (qtrackd.8, LAST KNOWN GOOD
	 * CONFIGURATION). */
	if (qtd_conf_load(d->conf_path, d->conf_explicit, &d->conf,
			  &d->conf_stamp, err, sizeof(err)) < 0) {
		if (qtd_conf_load_good(d, err) < 0)
			fatalx("%s", err);
	}
	log_use_syslog(d->conf.log.syslog);

	/* A peer that vanishes from the control socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop)
		fatalx("cannot initialise the event loop");

	ev_async_init(&d->evasync, qtd_evasync_cb);
	d->evasync.data = d;
	ev_async_start(d->loop, &d->evasync);
	/* Without the table qtrackd still tracks every packet, only slower:
	 * a firewall is better served by that than by no tracker. */
	if (d->conf.bypass.enable) {
		d->bypass = bypass_open(&d->conf);
		if (!d->bypass)
			log_warnx("bypass: disabled, every packet goes through "
				  "the queue");
	}
	qtd_workers_start(d);
	qtd_kdrops_open(d);
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
	ev_signal_init(&d->sigusr1, qtd_role_cb, SIGUSR1);
	ev_signal_init(&d->sigusr2, qtd_role_cb, SIGUSR2);
	d->sigusr1.data = d->sigusr2.data = d;
	ev_signal_start(d->loop, &d->sigusr1);
	ev_signal_start(d->loop, &d->sigusr2);
	ev_timer_init(&d->tick, qtd_tick_cb, QTD_TICK_SECONDS,
		      QTD_TICK_SECONDS);
	d->tick.data = d;
	ev_timer_start(d->loop, &d->tick);
	sync_open(d);
	qtd_workers_run(d);
	state_periodic_start(d);

	log_info("started: queues %u-%u, config %s", d->conf.queue.num_first,
		 d->conf.queue.num_last, d->conf_path);
	qtd_watchdog_start(d);
	sd_notify(0, "READY=1");
	qtd_status_update(d);
	if (!d->on_lastgood)
		qtd_conf_save_good(d);
	ev_run(d->loop, 0);

	qtd_shutdown(d);
	bypass_close(d->bypass);
	d->bypass = NULL;
	log_info("stopped");
	return 0;
}
