/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kdrops.c - the kernel's drop counters for our queues (kdrops.h).
 *
 * The file is opened once and kept: every look is a pread() from offset 0,
 * which makes the seq_file produce a fresh snapshot, so a file handed to
 * the daemon's group only for start-up would still serve.  A small procfs
 * read on the main loop that never waits for the network.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kdrops.h"
#include "log.h"

void qtd_kdrops_open(struct qtd *d)
{
	d->kdrops_fd = open(QTD_KDROPS_PATH, O_RDONLY | O_CLOEXEC);
	if (d->kdrops_fd >= 0)
		return;
	log_warn("cannot read %s, the kernel's drop counters are "
		 "unavailable (the shipped unit gives the file to group "
		 "qtrack, see qtrackd(8))",
		 QTD_KDROPS_PATH);
}

/* Parse one line, "queue_num portid queue_total copy_mode copy_range
 * queue_dropped user_dropped id_sequence 1", into @k if it is @num's. */
static bool kdrops_line(const char *line, uint16_t num, struct qtd_kdrops *k)
{
	unsigned long long f[7];

	if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5], &f[6]) != 7 ||
	    f[0] != num)
		return false;
	k->portid = f[1];
	k->queue_dropped = f[5];
	k->user_dropped = f[6];
	return true;
}

int qtd_kdrops_read(struct qtd *d, uint16_t num, struct qtd_kdrops *k)
{
	char buf[4096];
	size_t have = 0;
	off_t off = 0;

	if (d->kdrops_fd < 0) {
		/* Perhaps fixed by hand since: look again, quietly. */
		d->kdrops_fd = open(QTD_KDROPS_PATH, O_RDONLY | O_CLOEXEC);
		if (d->kdrops_fd < 0)
			return -1;
		log_info("%s is readable now: kernel drop counters available",
			 QTD_KDROPS_PATH);
	}
	for (;;) {
		ssize_t r = pread(d->kdrops_fd, buf + have,
				  sizeof(buf) - 1 - have, off);
		char *line, *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		off += r;
		have += (size_t)r;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (kdrops_line(line, num, k))
				return 1;
			line = nl + 1;
		}
		/* Keep the unfinished line; one longer than the buffer is
		 * not the kernel's format and is skipped. */
		have = (size_t)(buf + have - line);
		if (have == sizeof(buf) - 1)
			have = 0;
		memmove(buf, line, have);
	}
}

void qtd_kdrops_check(struct qtd *d)
{
	struct qtd_kdrops k;
	unsigned i;

	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		if (qtd_kdrops_read(d, w->queue_num, &k) <= 0)
			continue;
		if (k.queue_dropped > w->kdrop_queue ||
		    k.user_dropped > w->kdrop_user)
			log_warnx("queue %u: the kernel dropped %llu packets "
				  "(queue full, raise [queue] maxlen) and %llu "
				  "(netlink buffer full, raise [queue] rcvbuf) "
				  "since %s",
				  w->queue_num,
				  (unsigned long long)(k.queue_dropped -
						       w->kdrop_queue),
				  (unsigned long long)(k.user_dropped -
						       w->kdrop_user),
				  w->kdrop_seen ? "the last check"
						: "the queue was bound");
		w->kdrop_queue = k.queue_dropped;
		w->kdrop_user = k.user_dropped;
		w->kdrop_seen = true;
	}
}
