/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - stderr or syslog logging with a rate limiter for the packet path.
 *
 * qtrackd runs in the foreground, so standard error is where its messages
 * go unless [log] syslog says otherwise: a terminal shows them, and under
 * systemd the journal reads them.  When standard error is the journal's
 * stream (JOURNAL_STREAM names its device and inode) each line starts with
 * the sd-daemon "<N>" priority prefix, so warnings keep their level there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pthread.h>

#include "log.h"

static int log_debug_on; /* -d: stderr forced, debug messages shown */
static int log_syslog;	 /* messages go to syslog */
static int log_journal;	 /* stderr is the journal: "<N>" prefixes */
static pthread_mutex_t log_rl_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_verbose;

/* Whether fd 2 is the stream $JOURNAL_STREAM ("DEVICE:INODE") names. */
static int log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(int debug)
{
	log_debug_on = debug;
	log_verbose = debug;
	log_journal = log_stderr_is_journal();
	tzset();
}

void log_use_syslog(int on)
{
	if (log_debug_on)
		on = 0;
	if (on && !log_syslog)
		openlog("qtrackd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_syslog)
		closelog();
	log_syslog = on;
}

void log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int log_debug_enabled(void)
{
	return log_verbose;
}

static void log_vwrite(int pri, const char *fmt, va_list ap)
{
	if (pri == LOG_DEBUG && !log_verbose)
		return;
	if (!log_syslog) {
		/* One write per line so lines from a test's background
		 * daemon never interleave half-way. */
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		if (log_journal)
			fprintf(stderr, "<%d>%s\n", pri, line);
		else
			fprintf(stderr, "qtrackd: %s\n", line);
		fflush(stderr);
	} else {
		vsyslog(pri, fmt, ap);
	}
}

static void log_vwrite_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (saved)
		log_emit(pri, "%s: %s", msg, strerror(saved));
	else
		log_emit(pri, "%s", msg);
}

void log_emit(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(pri, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void log_rl(struct log_rl *rl, int pri, const char *fmt, ...)
{
	uint64_t now = log_now_ms();
	va_list ap;

	uint64_t suppressed;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	/* Workers on several threads share the limiters. */
	pthread_mutex_lock(&log_rl_lock);
	if (now - rl->window_start >= rl->interval_ms) {
		rl->window_start = now;
		rl->printed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		pthread_mutex_unlock(&log_rl_lock);
		return;
	}
	rl->printed++;
	suppressed = rl->suppressed;
	rl->suppressed = 0;
	pthread_mutex_unlock(&log_rl_lock);
	if (suppressed)
		log_emit(pri, "(%llu similar messages suppressed)",
			 (unsigned long long)suppressed);
	va_start(ap, fmt);
	log_vwrite(pri, fmt, ap);
	va_end(ap);
}
