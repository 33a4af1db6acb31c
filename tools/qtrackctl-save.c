// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qtrackctl-save.c - `qtrackctl save FILE`: the daemon's table as a state
 * file (docs/state-format.md).
 *
 * The daemon streams the file over the control socket (it never opens a
 * path a client names: the client writes the file, with the client's own
 * permissions).  The stream's header carries zero counts, since the
 * daemon knows them only at the end; this side checks every record as it
 * arrives, writes the header with the END record's counts, checks the
 * result as qtrackd's loader will, and makes the file atomically: a
 * temporary file in the same directory, fsync, rename, fsync of the
 * directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "statefile.h"
#include "qtrackctl.h"

/* The whole reply, until the daemon closes the connection. */
static uint8_t *save_read_all(int fd, size_t *len)
{
	size_t cap = 1 << 20, have = 0;
	uint8_t *buf = malloc(cap);
	ssize_t n;

	for (;;) {
		if (!buf)
			return NULL;
		if (have == cap) {
			uint8_t *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*len = have;
	return buf;
}

static int save_write_file(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t off = 0;
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail : {
	int e = errno;

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
}

int ctl_save_reply(int fd, const char *path, int send_errno)
{
	struct qt_state_tally t = {0};
	struct qt_state_hdr h;
	enum qt_rec_err err;
	struct qt_rec rec;
	size_t len, off, used;
	uint8_t *buf = save_read_all(fd, &len);

	if (!buf) {
		fprintf(stderr, "qtrackctl: reading the reply: %s\n",
			strerror(send_errno ? send_errno : errno));
		return 1;
	}
	if (len >= 4 && !memcmp(buf, "ERR ", 4)) {
		fprintf(stderr, "qtrackctl: %.*s", (int)(len - 4),
			(const char *)buf + 4);
		if (buf[len - 1] != '\n')
			fputc('\n', stderr);
		free(buf);
		return 1;
	}
	err = qt_state_hdr_decode(buf, len, &h);
	for (off = QT_STATE_HDR_LEN; err == QT_REC_OK; off += used) {
		err = qt_rec_decode(buf + off, len - off, &rec, &used);
		if (err != QT_REC_OK || rec.type == QT_REC_END)
			break;
		qt_state_tally_add(&t, &rec);
	}
	if (err != QT_REC_OK) {
		fprintf(stderr,
			"qtrackctl: the daemon's reply is not a state file "
			"(%s at byte %zu)\n",
			qt_rec_strerror(err), off);
		free(buf);
		return 1;
	}
	off += used;
	if (len - off != 3 || memcmp(buf + off, "OK\n", 3) != 0) {
		fprintf(stderr, "qtrackctl: the daemon's reply did not end "
				"with OK\n");
		free(buf);
		return 1;
	}
	qt_state_tally_hdr(&t, h.saved_ms, h.flags, &h);
	qt_state_hdr_encode(&h, buf);
	err = qt_state_parse(buf, off, &h, NULL, NULL, &used);
	if (err != QT_REC_OK) {
		fprintf(stderr,
			"qtrackctl: the saved table does not check: "
			"%s at byte %zu\n",
			qt_rec_strerror(err), used);
		free(buf);
		return 1;
	}
	if (save_write_file(path, buf, off) < 0) {
		fprintf(stderr, "qtrackctl: writing %s: %s\n", path,
			strerror(errno));
		free(buf);
		return 1;
	}
	free(buf);
	fprintf(stderr,
		"qtrackctl: %u connections (%u IPv4, %u IPv6) and %u "
		"expectations saved to %s.\n",
		h.conns4 + h.conns6, h.conns4, h.conns6, h.expects, path);
	return 0;
}
