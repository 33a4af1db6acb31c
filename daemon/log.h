/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - qtrackd's logging, in the OpenBSD daemon style.
 *
 * log_init() sends messages to stderr; log_init(1) shows debug messages too
 * (qtrackd -d), log_init(0) drops them.  log_use_syslog(1) switches to
 * syslog ([log] syslog = yes), except under -d.  log_warn()
 * appends strerror(errno); the x variants do not.  fatal() and fatalx() log
 * and exit(1).
 *
 * The packet path must not flood the log: it uses log_rl(), which lets at
 * most a burst of messages per interval through each struct log_rl and
 * reports how many it suppressed when the next one passes.
 */
#ifndef QTRACKD_LOG_H
#define QTRACKD_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

void log_init(int debug);
void log_use_syslog(int on);
void log_setverbose(int verbose);
/* Non-zero when debug messages are shown: skip formatting them if not. */
int log_debug_enabled(void);

/* Log one message at syslog priority @pri. */
void log_emit(int pri, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* One rate limiter per kind of message: @burst messages per @interval_ms. */
struct log_rl {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start; /* ms, CLOCK_MONOTONIC */
	uint32_t printed;      /* in this window */
	uint64_t suppressed;   /* since the last message that passed */
};

#define LOG_RL_INIT(interval, n)                                               \
	{                                                                      \
		.interval_ms = (interval), .burst = (n)                        \
	}

/* Log at @pri (LOG_WARNING, LOG_INFO, ...) unless @rl says too many. */
void log_rl(struct log_rl *rl, int pri, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
