/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackctl.h - what qtrackctl does itself to speak conntrack(8)
 * (qtrackctl-compat.c).
 *
 * The control socket filters on the original tuple, protocol and TCP
 * state.  conntrack's other everyday filters (-r/--reply-src,
 * -q/--reply-dst, -m/--mark with a mask, --status) are applied here to
 * the lines the daemon sends, and so are -e event masks for -E, the
 * "extended" output and -D with a partial filter (list, then delete each
 * match by its whole tuple; -U the same way, with the new mark).
 *
 * It also declares what the save command does (qtrackctl-save.c).
 */
#ifndef QTRACKCTL_H
#define QTRACKCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuple.h"

/* --status words, as conntrack prints and takes them. */
#define CTL_ST_ASSURED 0x1
#define CTL_ST_SEEN_REPLY 0x2
#define CTL_ST_UNSET 0x4 /* neither */

/* -e event mask bits. */
#define CTL_EV_NEW 0x1
#define CTL_EV_UPDATE 0x2
#define CTL_EV_DESTROY 0x4

/* Filters on a whole "conntrack -L" line. */
struct ctl_post {
	bool have_rsrc, have_rdst, have_mark;
	uint8_t rsrc_family, rdst_family;
	union qt_addr rsrc, rdst;
	uint32_t mark, mark_mask;
	unsigned status; /* CTL_ST_*, 0 = no --status */
};

/* Set the reply source (@which 'r'), reply destination ('q'), mark ('m',
 * "VALUE[/MASK]") or status ('t', "ASSURED,SEEN_REPLY" or "UNSET") filter.
 * 0, or -1 with a reason in @err. */
int ctl_post_set(struct ctl_post *p, int which, const char *arg, char *err,
		 size_t errlen);

/* Whether any such filter is set. */
bool ctl_post_active(const struct ctl_post *p);

/* Whether the text line @line (@len bytes) passes every filter. */
bool ctl_post_match(const struct ctl_post *p, const char *line, size_t len);

/* Parse "NEW,UPDATE,DESTROY" or "ALL" into CTL_EV_* bits; -1 if bad. */
int ctl_event_mask(const char *arg, unsigned *mask);

/* Whether an event line ("    [NEW] tcp ...") is one of @mask's. */
bool ctl_event_match(unsigned mask, const char *line, size_t len);

/* The family word and number conntrack -o extended puts before a line:
 * "ipv4     2 " or "ipv6     10 ", from the line's first address. */
const char *ctl_extended_prefix(const char *line, size_t len);

/* The request of command @cmd ("delete", "update"; without newline)
 * naming the original tuple of the list line @line: "delete proto=6
 * src=A dst=B sport=N dport=M" (ICMP: type, code, id).  0, or -1 if the
 * line has no whole tuple or @out is too small. */
int ctl_tuple_request(const char *cmd, const char *line, size_t len, char *out,
		      size_t outlen);

/* `save FILE`: read the daemon's reply on @fd (a state file stream) and
 * write it to @path.  @send_errno: the request could not be sent.
 * Returns the exit status, having said what happened on stderr. */
int ctl_save_reply(int fd, const char *path, int send_errno);

#endif
