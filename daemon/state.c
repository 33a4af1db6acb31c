// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * state.c - the state file: the table saved on stop and every [state]
 * save_interval, restored on start (docs/state-format.md).
 *
 * Saving walks every worker's table a chunk of STATE_CHUNK entries at a
 * time under that worker's lock, as the control socket's listing does, so
 * a snapshot of a million connections never holds a worker for longer
 * than one chunk: the periodic snapshot runs on its own thread and the
 * packet path only ever waits for one chunk's encoding.  The file is
 * written to a temporary name, synced and renamed, so a crash mid-write
 * leaves the previous file.  Restoring checks the whole file before it
 * imports anything: a file that is refused is moved aside, never half
 * loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "bypass.h"
#include "log.h"
#include "state.h"

#define STATE_CHUNK 64 /* entries per lock hold */
#define STATE_BUF (STATE_CHUNK * QT_REC_MAX + 2 * QT_REC_MAX)

struct qtd_state {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running; /* the thread exists */
	bool stop;    /* guarded by lock: leave */
	bool job;     /* guarded by lock: a snapshot is asked for */
	bool busy;    /* guarded by lock: a snapshot is under way */
	char path[sizeof(((struct qt_conf *)0)->state.file)];
	uint64_t last_ms; /* main thread: when the last one was asked */
	bool failing;	  /* the thread: the last one failed (logged) */
};

uint64_t state_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t state_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the walk --------------------------------------------------------- */

void state_walk_init(struct state_walk *sw, struct qtd *d)
{
	memset(sw, 0, sizeof(*sw));
	sw->d = d;
	/* One moment for every record: their times are relative to it, and
	 * the header states it on the wall clock. */
	sw->ref_mono = qtd_now_ms();
	sw->ref_wall = state_wall_ms();
}

void state_walk_header(const struct state_walk *sw, uint8_t *buf)
{
	struct qt_state_hdr h;

	qt_state_tally_hdr(&sw->tally, sw->ref_wall,
			   sw->final ? QT_STATE_F_FINAL : 0, &h);
	qt_state_hdr_encode(&h, buf);
}

static size_t walk_put(struct state_walk *sw, const struct qt_rec *rec,
		       uint8_t *buf)
{
	size_t n = qt_rec_encode(rec, buf, QT_REC_MAX);

	if (n)
		qt_state_tally_add(&sw->tally, rec);
	return n;
}

size_t state_walk_step(struct state_walk *sw, uint8_t *buf, size_t room,
		       unsigned budget)
{
	struct qtd *d = sw->d;
	struct qtd_worker *w;
	struct qt_rec rec;
	uint64_t t0, ns;
	size_t n = 0;

	if (sw->done)
		return 0;
	if (sw->worker >= d->nworkers) {
		qt_state_tally_end(&sw->tally, &rec);
		sw->done = true;
		return qt_rec_encode(&rec, buf, room);
	}
	w = &d->workers[sw->worker];
	qtd_worker_lock(w);
	t0 = state_mono_ns();
	while (budget && room - n >= QT_REC_MAX) {
		const struct qt_conn *ct;
		const struct qt_expect *exp;

		memset(&rec, 0, sizeof(rec));
		if (sw->phase == 0) {
			rec.type = QT_REC_SHARD;
			rec.shard.queue = w->queue_num;
			n += walk_put(sw, &rec, buf + n);
			sw->phase = 1;
			sw->cursor = 0;
		} else if (sw->phase == 1) {
			ct = qt_engine_next(w->engine, &sw->cursor);
			if (!ct) {
				sw->phase = 2;
				sw->cursor = 0;
				continue;
			}
			rec.type = QT_REC_CONN;
			qt_engine_export_conn(w->engine, ct, sw->ref_mono,
					      &rec.conn);
			bypass_export(w->d->bypass, w->engine, ct, &rec.conn);
			n += walk_put(sw, &rec, buf + n);
			budget--;
		} else {
			exp = qt_engine_expect_next(w->engine, &sw->cursor);
			if (!exp) {
				sw->phase = 0;
				sw->worker++;
				break;
			}
			rec.type = QT_REC_EXPECT;
			qt_engine_export_expect(w->engine, exp, sw->ref_mono,
						&rec.expect);
			n += walk_put(sw, &rec, buf + n);
			budget--;
		}
	}
	ns = state_mono_ns() - t0;
	qtd_worker_unlock(w);
	if (ns > sw->hold_max_ns)
		sw->hold_max_ns = ns;
	return n;
}

/* ---- writing a file --------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The directory the file lives in exists (one level is created, as
 * systemd's StateDirectory= would), and is synced after the rename. */
static int state_dir(const char *path, char *dir, size_t len, bool create)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, len, "%s", dirname(copy));
	if (create && mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Write every worker's table to @path: FILE.XXXXXX in the same directory,
 * fsync, rename, fsync of the directory.  @sw is walked to the end.
 * Returns 0, or -1 with errno and the step that failed in *@what.
 */
static int state_write(struct qtd *d, const char *path, struct state_walk *sw,
		       bool final, const char **what)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	uint8_t *buf, hdr[QT_STATE_HDR_LEN];
	int fd, dfd, e;
	size_t n;

	state_walk_init(sw, d);
	sw->final = final;
	*what = "creating its directory";
	if (state_dir(path, dir, sizeof(dir), true) < 0)
		return -1;
	*what = "creating a temporary file";
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf = malloc(STATE_BUF);
	if (!buf)
		return -1;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	*what = "writing";
	state_walk_header(sw, hdr);
	if (write_all(fd, hdr, sizeof(hdr)) < 0)
		goto fail;
	while (!sw->done) {
		n = state_walk_step(sw, buf, STATE_BUF, STATE_CHUNK);
		if (write_all(fd, buf, n) < 0)
			goto fail;
	}
	/* The counts are known now: the final header over the first. */
	state_walk_header(sw, hdr);
	if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		goto fail;
	*what = "syncing";
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	*what = "renaming the temporary file";
	if (rename(tmp, path) < 0)
		goto fail;
	free(buf);
	/* The rename itself is durable once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(buf);
	errno = e;
	return -1;
}

void state_save_now(struct qtd *d)
{
	const char *path = d->conf.state.file, *what;
	struct state_walk sw;
	uint64_t t0 = qtd_now_ms();

	if (state_write(d, path, &sw, true, &what) < 0) {
		log_warn("state: saving %s failed while %s", path, what);
		return;
	}
	log_info("state: saved %" PRIu32 " connections and %" PRIu32
		 " expectations to %s in %" PRIu64 " ms",
		 sw.tally.conns4 + sw.tally.conns6, sw.tally.expects, path,
		 qtd_now_ms() - t0);
}

/* ---- the periodic snapshot -------------------------------------------- */

static void *state_thread(void *arg)
{
	struct qtd *d = arg;
	struct qtd_state *s = d->state;
	char path[sizeof(s->path)];
	struct state_walk sw;
	const char *what;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->job && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		s->job = false;
		s->busy = true;
		memcpy(path, s->path, sizeof(path));
		pthread_mutex_unlock(&s->lock);

		if (state_write(d, path, &sw, false, &what) < 0) {
			/* Once per run of failures, not every interval. */
			if (!s->failing)
				log_warn("state: snapshot to %s failed while "
					 "%s",
					 path, what);
			s->failing = true;
		} else {
			if (s->failing)
				log_info("state: snapshots to %s work again",
					 path);
			s->failing = false;
			log_debug("state: snapshot of %" PRIu32
				  " connections, longest lock hold %" PRIu64
				  " us",
				  sw.tally.conns4 + sw.tally.conns6,
				  sw.hold_max_ns / 1000);
		}
		__atomic_fetch_add(&d->state_saves, 1, __ATOMIC_RELAXED);
		if (sw.hold_max_ns >
		    __atomic_load_n(&d->state_hold_max_ns, __ATOMIC_RELAXED))
			__atomic_store_n(&d->state_hold_max_ns, sw.hold_max_ns,
					 __ATOMIC_RELAXED);

		pthread_mutex_lock(&s->lock);
		s->busy = false;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void state_periodic_start(struct qtd *d)
{
	struct qtd_state *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int e;

	if (!s)
		fatal("state: allocating");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->last_ms = qtd_now_ms();
	d->state = s;
	/* Signals belong to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&s->thread, NULL, state_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		errno = e;
		fatal("state: starting the snapshot thread");
	}
	s->running = true;
}

/* On the main loop: ask for a snapshot when [state] save_interval has
 * passed since the last one was asked for (and it is done). */
void state_tick(struct qtd *d)
{
	struct qtd_state *s = d->state;
	uint64_t now = qtd_now_ms();
	uint32_t every = d->conf.state.save_interval;

	if (!s || !every || now - s->last_ms < (uint64_t)every * 1000)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->busy && !s->job) {
		snprintf(s->path, sizeof(s->path), "%s", d->conf.state.file);
		s->job = true;
		s->last_ms = now;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

void state_periodic_stop(struct qtd *d)
{
	struct qtd_state *s = d->state;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->running)
		pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
	d->state = NULL;
}

/* ---- restoring -------------------------------------------------------- */

struct restore {
	struct qtd *d;
	struct qtd_worker *w; /* where the current SHARD's records go */
	unsigned pass;	      /* 0 masters, 1 expected, 2 expectations */
	uint64_t age;
	uint64_t now;
	bool relearn; /* TCP windows are older than the last packet */
	uint32_t result[QT_IMPORT_MAX];
	uint32_t conns, expects;
	uint32_t later; /* records left for passes 1 and 2 */
};

static struct qtd_worker *restore_worker(struct qtd *d, uint16_t queue)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].queue_num == queue)
			return &d->workers[i];
	/* A queue no longer served: the flows now reach some other queue,
	 * and one table is as likely as another to see them. */
	return &d->workers[queue % d->nworkers];
}

static int restore_one(void *arg, const struct qt_rec *rec)
{
	struct restore *r = arg;
	enum qt_import res;
	bool expected;

	switch (rec->type) {
	case QT_REC_SHARD:
		r->w = restore_worker(r->d, rec->shard.queue);
		return 0;
	case QT_REC_CONN:
		expected = rec->conn.status & QT_REC_ST_EXPECTED;
		if (r->pass != (expected ? 1u : 0u)) {
			r->later += r->pass == 0;
			return 0;
		}
		if (r->relearn && rec->conn.orig.proto == IPPROTO_TCP) {
			/* A snapshot taken while packets flowed: the windows
			 * may have moved on since.  Without them the tracker
			 * takes each direction's window from its next packet,
			 * as for a connection picked up mid-stream. */
			struct qt_rec_conn rc = rec->conn;

			rc.tcp.seen[0].maxwin = 0;
			rc.tcp.seen[1].maxwin = 0;
			res = qt_engine_import_conn(r->w->engine, &rc, r->age);
		} else {
			res = qt_engine_import_conn(r->w->engine, &rec->conn,
						    r->age);
		}
		r->conns += res == QT_IMPORT_OK;
		break;
	case QT_REC_EXPECT:
		if (r->pass != 2) {
			r->later += r->pass == 0;
			return 0;
		}
		res =
		    qt_engine_import_expect(r->w->engine, &rec->expect, r->age);
		r->expects += res == QT_IMPORT_OK;
		break;
	default:
		return 0;
	}
	r->result[res]++;
	return 0;
}

/* Move a refused file aside so that the next start does not meet it
 * again, and an administrator can look at it. */
static void state_move_aside(const char *path, const char *why)
{
	char bad[PATH_MAX];

	snprintf(bad, sizeof(bad), "%s.bad", path);
	if (rename(path, bad) < 0)
		log_warn("state: %s refused (%s); cannot move it to %s; "
			 "starting with an empty table",
			 path, why, bad);
	else
		log_warnx("state: %s refused (%s); moved to %s; starting "
			  "with an empty table",
			  path, why, bad);
}

/*
 * A FINAL file describes the table as the last packet of the process that
 * wrote it left it.  Once this process serves packets that is no longer
 * true, and if it dies without saving (kill -9, no save_interval) the next
 * start would restore windows older than the flows' last packets as if
 * they were exact.  So the file loses its FINAL flag as soon as it has
 * been restored: only its header changes.
 */
static void state_unfinal(const char *path, struct qt_state_hdr *h)
{
	uint8_t hdr[QT_STATE_HDR_LEN];
	int fd;

	h->flags &= ~(uint32_t)QT_STATE_F_FINAL;
	qt_state_hdr_encode(h, hdr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    fsync(fd) < 0)
		log_warn("state: cannot mark %s as restored", path);
	if (fd >= 0)
		close(fd);
}

void state_restore(struct qtd *d)
{
	const char *path = d->conf.state.file;
	struct restore r = {.d = d, .w = &d->workers[0]};
	struct qt_state_hdr h;
	enum qt_rec_err err;
	struct stat st;
	uint64_t wall;
	uint8_t *buf;
	size_t at = 0, skipped = 0;
	uint64_t t0 = qtd_now_ms();
	char why[160];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			log_info("state: no %s, starting with an empty table",
				 path);
		else
			log_warn("state: cannot open %s, starting with an "
				 "empty table",
				 path);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("state: %s is not a regular file, starting with an "
			  "empty table",
			  path);
		close(fd);
		return;
	}
	if (st.st_size == 0) {
		close(fd);
		state_move_aside(path, "empty file");
		return;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		log_warn("state: cannot map %s, starting with an empty table",
			 path);
		return;
	}
	err = qt_state_parse(buf, (size_t)st.st_size, &h, NULL, NULL, &at);
	if (err != QT_REC_OK) {
		munmap(buf, (size_t)st.st_size);
		snprintf(why, sizeof(why), "%s at byte %zu",
			 qt_rec_strerror(err), at);
		state_move_aside(path, why);
		return;
	}

	r.relearn = !(h.flags & QT_STATE_F_FINAL);
	wall = state_wall_ms();
	r.age = wall > h.saved_ms ? wall - h.saved_ms : 0;
	r.now = qtd_now_ms();
	/* Every engine's clock at now: the import ages from there. */
	for (unsigned i = 0; i < d->nworkers; i++)
		qt_engine_expire(d->workers[i].engine, r.now, 0);
	/* Passes 1 and 2 only when the first left records for them: most
	 * tables have no expected connection. */
	for (r.pass = 0; r.pass < 3 && (r.pass == 0 || r.later); r.pass++) {
		r.w = &d->workers[0];
		qt_state_parse(buf, (size_t)st.st_size, &h, restore_one, &r,
			       NULL);
	}
	munmap(buf, (size_t)st.st_size);
	if (h.flags & QT_STATE_F_FINAL)
		state_unfinal(path, &h);
	for (unsigned i = 1; i < QT_IMPORT_MAX; i++)
		skipped += r.result[i];
	log_info(
	    "state: restored %" PRIu32 " connections and %" PRIu32
	    " expectations from %s (%s) in %" PRIu64 " ms, saved %" PRIu64
	    ".%03" PRIu64 " s ago; skipped %zu (%" PRIu32 " expired, %" PRIu32
	    " table full, %" PRIu32 " already there, %" PRIu32
	    " without master, %" PRIu32 " untrackable)",
	    r.conns, r.expects, path,
	    r.relearn ? "a snapshot: TCP windows relearned" : "saved on stop",
	    qtd_now_ms() - t0, r.age / 1000, r.age % 1000, skipped,
	    r.result[QT_IMPORT_EXPIRED], r.result[QT_IMPORT_FULL],
	    r.result[QT_IMPORT_CLASH], r.result[QT_IMPORT_NO_MASTER],
	    r.result[QT_IMPORT_BAD]);
}
