/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c - reading the configuration file and reloading it on SIGHUP.
 *
 * The library parses text; the daemon owns the file.  A reload follows the
 * OpenBSD pattern: parse into a scratch struct, validate, check that every
 * change can apply live, hand it to every engine, and only then make it the
 * configuration in force.  Any failure leaves the running configuration
 * exactly as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "qtrackd.h"
#include "queue.h"

/* Far above any sensible configuration; a bound keeps a mistaken path
 * (a device, a huge log) from eating memory. */
#define QTD_CONF_MAX_SIZE (1024 * 1024)

static void qtd_conf_stamp_of(const struct stat *st,
			      struct qtd_conf_stamp *s);

static char *qtd_file_read(const char *path, char *err, size_t errlen,
			   bool *missing, struct qtd_conf_stamp *stamp)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd;

	*missing = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > QTD_CONF_MAX_SIZE) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 S_ISREG(st.st_mode) ? "file too large"
					     : "not a regular file");
		goto fail;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, text + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	text[len] = '\0';
	if (stamp)
		qtd_conf_stamp_of(&st, stamp);
	close(fd);
	return text;
fail:
	free(text);
	close(fd);
	return NULL;
}

/* What identifies a version of the file: any edit changes one of these. */
static void qtd_conf_stamp_of(const struct stat *st, struct qtd_conf_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->exists = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

static bool qtd_conf_stamp_equal(const struct qtd_conf_stamp *a,
				 const struct qtd_conf_stamp *b)
{
	if (a->exists != b->exists)
		return false;
	return !a->exists ||
	       (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		a->mtime.tv_sec == b->mtime.tv_sec &&
		a->mtime.tv_nsec == b->mtime.tv_nsec &&
		a->ctime.tv_sec == b->ctime.tv_sec &&
		a->ctime.tv_nsec == b->ctime.tv_nsec);
}

int qtd_conf_load(const char *path, bool must_exist, struct qt_conf *c,
		  struct qtd_conf_stamp *stamp, char *err, size_t errlen)
{
	bool missing;
	char *text;
	int rc;

	qt_conf_init(c);
	if (stamp)
		memset(stamp, 0, sizeof(*stamp));
	text = qtd_file_read(path, err, errlen, &missing, stamp);
	if (!text) {
		if (missing && !must_exist) {
			log_debug("%s does not exist, using the defaults",
				  path);
			return 0;
		}
		return -1;
	}
	rc = qt_conf_parse(c, text, path, err, errlen);
	free(text);
	return rc;
}

/* Log every key whose value differs, e.g. "[udp] timeout: 30 -> 60", by
 * comparing the normalised texts line by line (same keys, same order). */
static void qtd_conf_log_changes(const struct qt_conf *cur,
				 const struct qt_conf *next)
{
	size_t na = qt_conf_format(cur, NULL, 0) + 1;
	size_t nb = qt_conf_format(next, NULL, 0) + 1;
	char *a = malloc(na), *b = malloc(nb);
	char section[64] = "";
	char *sa, *sb, *la, *lb;
	unsigned changes = 0;

	if (!a || !b)
		goto out;
	qt_conf_format(cur, a, na);
	qt_conf_format(next, b, nb);
	la = strtok_r(a, "\n", &sa);
	lb = strtok_r(b, "\n", &sb);
	for (; la && lb;
	     la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
		const char *val;

		if (lb[0] == '[') {
			snprintf(section, sizeof(section), "%s", lb);
			continue;
		}
		if (!strcmp(la, lb) || lb[0] == '#' || lb[0] == ';')
			continue;
		val = strchr(lb, '=');
		changes++;
		log_info("reload: %s %s ->%s", section, la, val ? val + 1 : lb);
	}
	if (!changes)
		log_info("reload: no change");
out:
	free(a);
	free(b);
}

void qtd_status_update(struct qtd *d)
{
	if (d->conf_note[0])
		sd_notifyf(0, "STATUS=running, but %s", d->conf_note);
	else
		sd_notifyf(0, "STATUS=running with %s", d->conf_path);
}

void qtd_conf_watch(struct qtd *d)
{
	struct qtd_conf_stamp now;
	struct stat st;

	if (d->conf_note[0])
		return; /* already says the file is not what runs */
	memset(&now, 0, sizeof(now));
	if (stat(d->conf_path, &st) == 0)
		qtd_conf_stamp_of(&st, &now);
	if (qtd_conf_stamp_equal(&now, &d->conf_stamp))
		return;
	snprintf(d->conf_note, sizeof(d->conf_note),
		 "%s changed on disk since it was loaded (not applied until "
		 "a reload)",
		 d->conf_path);
	log_info("%s", d->conf_note);
	qtd_status_update(d);
}

/* Whether the kernel's queue needs to hear about @next. */
static bool qtd_queue_params_changed(const struct qt_conf *cur,
				     const struct qt_conf *next)
{
	return cur->queue.copy_range != next->queue.copy_range ||
	       cur->queue.maxlen != next->queue.maxlen ||
	       cur->queue.fail_open != next->queue.fail_open ||
	       cur->queue.rcvbuf != next->queue.rcvbuf;
}

int qtd_reload(struct qtd *d, char *err, size_t errlen)
{
	struct qtd_conf_stamp stamp;
	struct qt_conf next;
	char why[512];
	unsigned i;

	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	log_info("reloading %s", d->conf_path);
	if (qtd_conf_load(d->conf_path, d->conf_explicit, &next, &stamp, why,
			  sizeof(why)) < 0) {
		snprintf(err, errlen,
			 "reload failed, keeping the old configuration: %s",
			 why);
		goto fail;
	}
	if (qt_conf_check_reload(&d->conf, &next, why, sizeof(why)) < 0) {
		snprintf(err, errlen,
			 "reload refused, keeping the old configuration: %s",
			 why);
		goto fail;
	}
	/* Each engine changes under its worker's lock, i.e. between two of
	 * its batches. */
	for (i = 0; i < d->nworkers; i++) {
		int rc;

		qtd_worker_lock(&d->workers[i]);
		rc = qt_engine_reconfigure(d->workers[i].engine, &next, why,
					   sizeof(why));
		qtd_worker_unlock(&d->workers[i]);
		if (rc < 0) {
			snprintf(err, errlen,
				 "reload refused, keeping the old "
				 "configuration: %s",
				 why);
			/* Put back the engines already switched. */
			while (i--) {
				qtd_worker_lock(&d->workers[i]);
				qt_engine_reconfigure(d->workers[i].engine,
						      &d->conf, why,
						      sizeof(why));
				qtd_worker_unlock(&d->workers[i]);
			}
			goto fail;
		}
	}
	qtd_conf_log_changes(&d->conf, &next);
	if (qtd_queue_params_changed(&d->conf, &next))
		for (i = 0; i < d->nworkers; i++)
			qtd_worker_configure(&d->workers[i], &next);
	d->conf = next;
	d->conf_stamp = stamp;
	d->conf_note[0] = '\0';
	log_use_syslog(d->conf.log.syslog);
	log_info("reloaded %s", d->conf_path);
	d->on_lastgood = false;
	qtd_conf_save_good(d);
	sd_notify(0, "READY=1");
	qtd_status_update(d);
	return 0;
fail:
	log_warnx("%s", err);
	snprintf(d->conf_note, sizeof(d->conf_note),
		 "%s was not loaded (%s), the previous configuration runs",
		 d->conf_path, why);
	sd_notify(0, "READY=1");
	qtd_status_update(d);
	return -1;
}

/* ---- the last-known-good copy ------------------------------------------ */

/* The state directory systemd made for us (StateDirectory=, passed as
 * $STATE_DIRECTORY, several separated by ':'), as the path of the copy in
 * @buf; -1 when there is none (run by hand). */
static int qtd_lastgood_path(char *buf, size_t len)
{
	const char *dir = getenv("STATE_DIRECTORY");
	size_t n;

	if (!dir || dir[0] != '/')
		return -1;
	n = strcspn(dir, ":");
	if ((size_t)snprintf(buf, len, "%.*s/%s", (int)n, dir,
			     QTD_LASTGOOD_NAME) >= len)
		return -1;
	return 0;
}

void qtd_conf_save_good(struct qtd *d)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], when[64];
	size_t n = qt_conf_format(&d->conf, NULL, 0) + 1;
	time_t t = time(NULL);
	struct tm tm;
	char *text;
	FILE *fp;
	int fd;

	if (qtd_lastgood_path(path, sizeof(path)) < 0)
		return;
	text = malloc(n);
	if (!text) {
		log_warn("saving %s", path);
		return;
	}
	qt_conf_format(&d->conf, text, n);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	/* Written beside it and renamed over it: a crash mid-write never
	 * leaves a half copy where the next start would look. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!fp) {
		log_warn("saving the last known good configuration to %s",
			 tmp);
		if (fd >= 0)
			close(fd);
		free(text);
		return;
	}
	fprintf(fp,
		"# The last configuration qtrackd ran with, loaded from %s\n"
		"# and saved %s.  Written by qtrackd after every successful\n"
		"# start and reload; read at start only when %s cannot be\n"
		"# loaded.  Do not edit: edit %s.\n",
		d->conf_path, when, d->conf_path, d->conf_path);
	fputs(text, fp);
	free(text);
	if (fflush(fp) != 0 || fsync(fileno(fp)) < 0) {
		log_warn("saving the last known good configuration to %s",
			 tmp);
		fclose(fp);
		unlink(tmp);
		return;
	}
	fclose(fp);
	if (rename(tmp, path) < 0) {
		log_warn("saving the last known good configuration to %s",
			 path);
		unlink(tmp);
	}
}

int qtd_conf_load_good(struct qtd *d, const char *why)
{
	char path[PATH_MAX], err[512];

	if (qtd_lastgood_path(path, sizeof(path)) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		log_warnx("no last known good configuration to start on "
			  "(%s: %s)",
			  path, strerror(errno));
		return -1;
	}
	if (qtd_conf_load(path, true, &d->conf, NULL, err, sizeof(err)) < 0) {
		log_warnx("the last known good configuration is unusable too: "
			  "%s",
			  err);
		return -1;
	}
	log_warnx("STARTING ON THE LAST KNOWN GOOD CONFIGURATION %s, because "
		  "%s cannot be loaded: %s; fix the file, then reload",
		  path, d->conf_path, why);
	snprintf(d->conf_note, sizeof(d->conf_note),
		 "%.200s is broken (%.300s), running on the last known good "
		 "copy %.200s",
		 d->conf_path, why, path);
	d->on_lastgood = true;
	return 0;
}
