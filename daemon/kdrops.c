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
#include <stdlib.h>
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
 * queue_dropped user_dropped id_sequence 1", into the entry of @k that
 * belongs to its queue, if one of ours.  The workers serve consecutive
 * queue numbers, so the queue number gives the entry. */
static void kdrops_line(const struct qtd *d, const char *line,
			struct qtd_kdrops *k)
{
	unsigned long long f[7];
	unsigned long long i;

	if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5], &f[6]) != 7 ||
	    f[0] < d->workers[0].queue_num)
		return;
	i = f[0] - d->workers[0].queue_num;
	if (i >= d->nworkers)
		return;
	k[i].portid = f[1];
	k[i].queue_dropped = f[5];
	k[i].user_dropped = f[6];
	k[i].listed = true;
}

int qtd_kdrops_read(struct qtd *d, struct qtd_kdrops *k)
{
	char buf[4096];
	size_t have = 0;
	off_t off = 0;

	memset(k, 0, d->nworkers * sizeof(*k));
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
			kdrops_line(d, line, k);
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
	struct qtd_kdrops *k = calloc(d->nworkers, sizeof(*k));
	unsigned i;

	if (!k || qtd_kdrops_read(d, k) < 0) {
		free(k);
		return;
	}
	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *w = &d->workers[i];

		if (!k[i].listed)
			continue;
		if (k[i].queue_dropped > w->kdrop_queue ||
		    k[i].user_dropped > w->kdrop_user)
			log_warnx("queue %u: the kernel dropped %llu packets "
				  "(queue full, raise [queue] maxlen) and %llu "
				  "(netlink buffer full, raise [queue] rcvbuf) "
				  "since %s",
				  w->queue_num,
				  (unsigned long long)(k[i].queue_dropped -
						       w->kdrop_queue),
				  (unsigned long long)(k[i].user_dropped -
						       w->kdrop_user),
				  w->kdrop_seen ? "the last check"
						: "the queue was bound");
		w->kdrop_queue = k[i].queue_dropped;
		w->kdrop_user = k[i].user_dropped;
		w->kdrop_seen = true;
	}
	free(k);
}
