/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c - the control socket qtrackctl talks to.
 *
 * A UNIX stream socket; one request line per connection
 * (docs/control-protocol.md), answered with data lines and a final "OK" or
 * "ERR reason", after which the daemon closes the connection.  `events`
 * instead keeps the connection as a subscriber until the peer goes away.
 *
 * This file is the server: it opens the socket, accepts the peers its
 * credential check allows, reads the request line, hands it to the
 * command's handler (ctl_commands[]) and writes the reply out.  The
 * handlers live with their concern (control_internal.h): table walks in
 * control_walk.c, statistics in control_stats.c, subscribers in
 * control_events.c.
 *
 * The socket shares the event loop with the packet path, so nothing here
 * blocks and no callback does unbounded work.  Every client's output
 * buffer has a fixed size, which bounds what a slow reader costs.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control_internal.h"
#include "sync.h"

/* ---- output buffer ---------------------------------------------------- */

void ctl_compact(struct ctl_client *cl)
{
	if (cl->head == 0)
		return;
	memmove(cl->out, cl->out + cl->head, cl->tail - cl->head);
	cl->tail -= cl->head;
	cl->head = 0;
}

int ctl_put(struct ctl_client *cl, const char *s, size_t n)
{
	if (n > ctl_room(cl))
		return -1;
	if (cl->tail + n > cl->outsize)
		ctl_compact(cl);
	memcpy(cl->out + cl->tail, s, n);
	cl->tail += n;
	return 0;
}

int ctl_printf(struct ctl_client *cl, const char *fmt, ...)
{
	char line[CTL_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return ctl_put(cl, line, (size_t)n);
}

/* ---- client lifetime -------------------------------------------------- */

static void ctl_client_free(struct ctl_client *cl)
{
	free(cl->save);
	cl->save = NULL;
	struct qt_control *c = cl->c;

	ev_io_stop(c->d->loop, &cl->rio);
	ev_io_stop(c->d->loop, &cl->wio);
	ev_timer_stop(c->d->loop, &cl->timer);
	if (cl->phase == CTL_EVENTS)
		ctl_events_unsubscribe(cl);
	*cl->pprev = cl->next;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	c->nclients--;
	close(cl->fd);
	free(cl->out);
	free(cl);
}

void ctl_want_write(struct ctl_client *cl)
{
	ev_io_start(cl->c->d->loop, &cl->wio);
}

void ctl_reply_err(struct ctl_client *cl, const char *reason)
{
	if (ctl_printf(cl, "ERR %s\n", reason) < 0)
		ctl_put(cl, "ERR internal\n", 13);
	cl->phase = CTL_DRAINING;
	ctl_want_write(cl);
}

void ctl_reply_ok(struct ctl_client *cl)
{
	ctl_put(cl, "OK\n", 3);
	cl->phase = CTL_DRAINING;
	ctl_want_write(cl);
}

int ctl_reserve(struct ctl_client *cl, size_t size)
{
	char *out;

	if (size <= cl->outsize)
		return 0;
	out = realloc(cl->out, size);
	if (!out)
		return -1;
	cl->out = out;
	cl->outsize = size;
	return 0;
}

/* ---- requests --------------------------------------------------------- */

/* Synchronous: the reply is the reload's outcome, which is what lets
 * systemctl reload fail when the file is refused. */
static void ctl_cmd_reload(struct ctl_client *cl)
{
	char err[512];

	if (qtd_reload(cl->c->d, err, sizeof(err)) < 0) {
		ctl_reply_err(cl, err);
		return;
	}
	ctl_reply_ok(cl);
}

static void ctl_cmd_sync(struct ctl_client *cl)
{
	char err[512];

	if (sync_request_cmd(cl->c->d, cl->req.cmd == QT_CTL_SYNC_ACTIVE,
			     cl->req.cmd == QT_CTL_SYNC_RESYNC, err,
			     sizeof(err)) < 0) {
		ctl_reply_err(cl, err);
		return;
	}
	ctl_reply_ok(cl);
}

/* What each command does once its request line has parsed.  A walk
 * streams chunk by chunk from the write callback (expectations too, as
 * list does); the rest answer at once. */
static void (*const ctl_commands[QT_CTL_CMD_MAX])(struct ctl_client *cl) = {
    [QT_CTL_LIST] = ctl_walk_start,
    [QT_CTL_COUNT] = ctl_cmd_count,
    [QT_CTL_STATS] = ctl_cmd_stats,
    [QT_CTL_EVENTS] = ctl_events_subscribe,
    [QT_CTL_FLUSH] = ctl_walk_start,
    [QT_CTL_DELETE] = ctl_cmd_delete,
    [QT_CTL_EXPECT] = ctl_walk_start,
    [QT_CTL_RELOAD] = ctl_cmd_reload,
    [QT_CTL_SAVE] = ctl_walk_start,
    [QT_CTL_SYNC_ACTIVE] = ctl_cmd_sync,
    [QT_CTL_SYNC_STANDBY] = ctl_cmd_sync,
    [QT_CTL_SYNC_RESYNC] = ctl_cmd_sync,
    [QT_CTL_UPDATE] = ctl_cmd_update,
};

static void ctl_request(struct ctl_client *cl, const char *line, size_t len)
{
	char err[512];

	ev_timer_stop(cl->c->d->loop, &cl->timer);
	if (qt_ctlreq_parse(&cl->req, line, len, err, sizeof(err)) < 0) {
		ctl_reply_err(cl, err);
		return;
	}
	if ((unsigned)cl->req.cmd >= QT_CTL_CMD_MAX ||
	    !ctl_commands[cl->req.cmd]) {
		ctl_reply_err(cl, "unknown command");
		return;
	}
	ctl_commands[cl->req.cmd](cl);
}

/* ---- I/O callbacks ---------------------------------------------------- */

/* Write what the buffer holds.  -1 if the peer is gone. */
static int ctl_flush(struct ctl_client *cl)
{
	while (cl->tail > cl->head) {
		ssize_t n =
		    send(cl->fd, cl->out + cl->head, cl->tail - cl->head,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		cl->head += (size_t)n;
	}
	cl->head = cl->tail = 0;
	return 0;
}

static void ctl_write_turn(struct ev_loop *loop, ev_io *w)
{
	struct ctl_client *cl = w->data;

	if (ctl_flush(cl) < 0) {
		ctl_client_free(cl);
		return;
	}
	if (cl->phase == CTL_WALKING) {
		ctl_walk_step(cl);
		if (ctl_flush(cl) < 0) {
			ctl_client_free(cl);
			return;
		}
		/* Stay armed: the next loop iteration goes on with the walk
		 * after the queue has had its turn. */
		if (cl->phase == CTL_WALKING)
			return;
	}
	if (cl->phase == CTL_EVENTS && cl->lost) {
		ctl_lost_line(cl);
		if (ctl_flush(cl) < 0) {
			ctl_client_free(cl);
			return;
		}
	}
	if (cl->tail > cl->head)
		return;
	if (cl->phase == CTL_DRAINING) {
		ctl_client_free(cl);
		return;
	}
	ev_io_stop(loop, w);
}

static void ctl_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct qt_control *c = ((struct ctl_client *)w->data)->c;
	uint64_t t0 = ctl_now_ns(), ns;

	(void)revents;
	/* The client may be freed inside; the control block is not. */
	ctl_write_turn(loop, w);
	ns = ctl_now_ns() - t0;
	if (ns > c->callback_max_ns)
		c->callback_max_ns = ns;
}

/* Whether the peer closed its end entirely rather than only shutting down
 * its sending side: on a UNIX stream socket only the former sets POLLHUP. */
static bool ctl_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void ctl_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = w->data;
	char sink[512];
	char *nl;
	ssize_t n;

	(void)revents;
	if (cl->phase != CTL_READING) {
		/* One request per connection: later bytes are ignored, but
		 * reading tells us when the peer goes away. */
		n = recv(cl->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
		if (n == 0 && !ctl_peer_gone(cl->fd)) {
			/* A half-close after the request (socat, nc -N)
			 * still wants the reply or the events. */
			ev_io_stop(loop, w);
			return;
		}
		ctl_client_free(cl);
		return;
	}

	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen,
		 MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		ctl_client_free(cl);
		return;
	}
	if (n == 0) {
		/* A last line without its newline still counts (printf
		 * 'count' | socat ...); nothing at all means goodbye. */
		ev_io_stop(loop, w);
		if (cl->inlen)
			ctl_request(cl, cl->in, cl->inlen);
		else
			ctl_client_free(cl);
		return;
	}
	nl = memchr(cl->in + cl->inlen, '\n', (size_t)n);
	cl->inlen += (size_t)n;
	if (nl) {
		ctl_request(cl, cl->in, (size_t)(nl - cl->in));
		return;
	}
	if (cl->inlen == sizeof(cl->in))
		ctl_reply_err(cl, "request too long");
}

static void ctl_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_client *cl = t->data;

	(void)loop;
	(void)revents;
	if (cl->phase == CTL_READING)
		ctl_reply_err(cl, "timeout waiting for the request");
}

/* Whether the user @uid is a member of group @gid, primary or
 * supplementary, per the user and group databases. */
static bool ctl_user_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = (int)(sizeof(groups) / sizeof(groups[0]));
	int i;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (pw.pw_gid == gid)
		return true;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		ng = (int)(sizeof(groups) / sizeof(groups[0]));
	for (i = 0; i < ng; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Root, our own user, or a member of [control] group may talk to us. */
static bool ctl_peer_allowed(struct qt_control *c, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!c->have_group)
		return false;
	return cr->gid == c->gid || ctl_user_in_group(cr->uid, c->gid);
}

static void ctl_refuse(struct qt_control *c, int fd, const char *line)
{
	c->refused++;
	(void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct qt_control *c = w->data;
	struct ctl_client *cl;
	struct ucred cr;
	int i, fd;

	(void)revents;
	/* A handful per callback: a connection storm must not starve the
	 * packet path either. */
	for (i = 0; i < 16; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_rl(&c->refuse_rl, LOG_WARNING,
				       "control: accept: %s", strerror(errno));
			return;
		}
		if (!ctl_peer_allowed(c, fd, &cr)) {
			log_rl(&c->refuse_rl, LOG_WARNING,
			       "control: refused uid %u gid %u pid %d",
			       (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid);
			ctl_refuse(c, fd, "ERR permission denied\n");
			continue;
		}
		if (c->nclients >= CTL_MAX_CLIENTS) {
			log_rl(&c->refuse_rl, LOG_WARNING,
			       "control: refused pid %d: %u clients",
			       (int)cr.pid, c->nclients);
			ctl_refuse(c, fd, "ERR too many clients\n");
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl) {
			cl->out = malloc(CTL_OUTBUF);
			cl->outsize = CTL_OUTBUF;
		}
		if (!cl || !cl->out) {
			if (cl)
				free(cl);
			ctl_refuse(c, fd, "ERR out of memory\n");
			continue;
		}
		cl->c = c;
		cl->fd = fd;
		cl->phase = CTL_READING;
		ev_io_init(&cl->rio, ctl_read_cb, fd, EV_READ);
		ev_io_init(&cl->wio, ctl_write_cb, fd, EV_WRITE);
		ev_timer_init(&cl->timer, ctl_timeout_cb, CTL_REQUEST_TIMEOUT,
			      0.);
		cl->rio.data = cl->wio.data = cl->timer.data = cl;
		cl->next = c->clients;
		if (cl->next)
			cl->next->pprev = &cl->next;
		cl->pprev = &c->clients;
		c->clients = cl;
		c->nclients++;
		ev_io_start(loop, &cl->rio);
		ev_timer_start(loop, &cl->timer);
	}
}

/* ---- open / close ----------------------------------------------------- */

/* mkdir -p for the socket's directory; existing directories are kept as
 * the administrator made them. */
static int ctl_mkdirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left behind by a daemon that died is removed; one a live
 * daemon still answers on is not. */
static int ctl_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(sa->sun_path);
}

struct qt_control *control_open(struct qtd *d)
{
	const struct qt_conf *conf = &d->conf;
	struct sockaddr_un sa;
	struct qt_control *c;
	struct group *gr;

	if (strlen(conf->control.socket) >= sizeof(sa.sun_path) ||
	    conf->control.socket[0] != '/') {
		log_warnx("control: socket path '%s' must be absolute and "
			  "shorter than %zu bytes",
			  conf->control.socket, sizeof(sa.sun_path));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("control");
		return NULL;
	}
	c->d = d;
	c->fd = -1;
	c->refuse_rl = (struct log_rl)LOG_RL_INIT(10000, 5);
	snprintf(c->path, sizeof(c->path), "%s", conf->control.socket);

	if (conf->control.group[0]) {
		gr = getgrnam(conf->control.group);
		if (!gr) {
			log_warnx(
			    "control: [control] group '%s' does not exist",
			    conf->control.group);
			goto fail;
		}
		c->gid = gr->gr_gid;
		c->have_group = true;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (ctl_mkdirs(c->path) < 0) {
		log_warn("control: creating the directory of %s", c->path);
		goto fail;
	}
	if (ctl_clear_stale(&sa) < 0) {
		log_warn("control: %s", c->path);
		goto fail;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		log_warn("control: socket");
		goto fail;
	}
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_warn("control: bind %s", c->path);
		goto fail;
	}
	/* Permissions before listen(): nobody can connect until they are
	 * right, and SO_PEERCRED is checked on every accept anyway. */
	if (chmod(c->path, 0660) < 0) {
		log_warn("control: setting the mode of %s", c->path);
		goto fail_unlink;
	}
	/* Without CAP_CHOWN a process may give its file only to a group it
	 * belongs to; under the shipped unit that takes a drop-in. */
	if (c->have_group && chown(c->path, (uid_t)-1, c->gid) < 0) {
		if (errno == EPERM)
			log_warnx("control: cannot give %s to group '%s': "
				  "qtrackd is not a member of it (under "
				  "systemd: systemctl edit qtrackd, "
				  "[Service] SupplementaryGroups=%s)",
				  c->path, conf->control.group,
				  conf->control.group);
		else
			log_warn("control: setting the group of %s", c->path);
		goto fail_unlink;
	}
	if (listen(c->fd, CTL_BACKLOG) < 0) {
		log_warn("control: listen %s", c->path);
		goto fail_unlink;
	}
	ev_io_init(&c->lio, ctl_accept_cb, c->fd, EV_READ);
	c->lio.data = c;
	ev_io_start(d->loop, &c->lio);
	log_info("control: listening on %s%s%s", c->path,
		 c->have_group ? " for group " : "",
		 c->have_group ? conf->control.group : "");
	return c;

fail_unlink:
	unlink(c->path);
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void control_close(struct qt_control *c)
{
	if (!c)
		return;
	while (c->clients)
		ctl_client_free(c->clients);
	ev_io_stop(c->d->loop, &c->lio);
	close(c->fd);
	unlink(c->path);
	free(c);
}
