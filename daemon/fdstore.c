// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fdstore.c - queue sockets in systemd's file descriptor store.
 *
 * Under systemd (FileDescriptorStoreMax= in the unit) each bound queue
 * socket is handed to the service manager with FDSTORE=1 and the name
 * "queue-N".  The manager keeps it while the service is running or has a
 * start job queued (a `systemctl restart`, an automatic restart after a
 * crash) and passes it to the next qtrackd, which takes the queue over
 * without unbinding it: packets that arrive while no qtrackd runs wait in
 * the kernel's queue (up to [queue] maxlen) instead of following the
 * rule's --queue-bypass, and get their verdicts from the restored table.
 * When the service stops for good the manager closes the socket and the
 * kernel unbinds the queue.  Without systemd nothing here does anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "fdstore.h"
#include "log.h"

#define FDSTORE_MAX 256

static struct {
	int fd;
	uint16_t queue;
} inherited[FDSTORE_MAX];
static unsigned ninherited;

void fdstore_init(void)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);

	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		unsigned q;
		char end;

		if (names && names[i] &&
		    sscanf(names[i], "queue-%u%c", &q, &end) == 1 &&
		    q <= UINT16_MAX && ninherited < FDSTORE_MAX) {
			inherited[ninherited].fd = fd;
			inherited[ninherited].queue = (uint16_t)q;
			ninherited++;
		} else {
			log_warnx("fdstore: closing an unexpected file "
				  "descriptor (%s)",
				  names && names[i] ? names[i] : "no name");
			close(fd);
		}
	}
	if (names) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
}

int fdstore_take(uint16_t queue)
{
	for (unsigned i = 0; i < ninherited; i++) {
		if (inherited[i].fd >= 0 && inherited[i].queue == queue) {
			int fd = inherited[i].fd;

			inherited[i].fd = -1;
			return fd;
		}
	}
	return -1;
}

void fdstore_close_rest(void)
{
	for (unsigned i = 0; i < ninherited; i++) {
		if (inherited[i].fd < 0)
			continue;
		log_info("fdstore: queue %u is no longer served; releasing "
			 "its socket",
			 inherited[i].queue);
		/* systemd's copy too: the kernel unbinds the queue only
		 * when the last reference to the socket is gone. */
		sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=queue-%u",
			   inherited[i].queue);
		close(inherited[i].fd);
		inherited[i].fd = -1;
	}
	ninherited = 0;
}

bool fdstore_keep(uint16_t queue, int fd)
{
	char state[64];
	int r;

	if (!getenv("NOTIFY_SOCKET"))
		return false;
	snprintf(state, sizeof(state), "FDSTORE=1\nFDNAME=queue-%u", queue);
	r = sd_pid_notify_with_fds(0, 0, state, &fd, 1);
	if (r <= 0) {
		errno = -r;
		if (r < 0)
			log_warn("queue %u: handing the socket to systemd",
				 queue);
		return false;
	}
	return true;
}
