/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackctl - ask a running qtrackd about its connection table.
 *
 * Builds one request line with the same code the daemon parses it with
 * (lib/ctlreq), sends it on the control socket and prints the daemon's data
 * lines unchanged, so `qtrackctl list` reads like `conntrack -L`.  The
 * protocol is in docs/control-protocol.md, the usage in docs/qtrackctl.8.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "ctlreq.h"
#include "qtrackctl.h"

#define CTL_READBUF (64 * 1024)

/* Command words, and the conntrack option letter that means the same. */
static const struct {
	const char *name;
	int letter;
	enum qt_ctl_cmd cmd;
} ctl_cmd_words[] = {
    {"list", 'L', QT_CTL_LIST},	  {"count", 'C', QT_CTL_COUNT},
    {"stats", 'S', QT_CTL_STATS}, {"events", 'E', QT_CTL_EVENTS},
    {"flush", 'F', QT_CTL_FLUSH}, {"delete", 'D', QT_CTL_DELETE},
    {"expect", 0, QT_CTL_EXPECT}, {"reload", 0, QT_CTL_RELOAD},
    {"save", 0, QT_CTL_SAVE},	  {"update", 'U', QT_CTL_UPDATE},
    {"sync-active", 0, QT_CTL_SYNC_ACTIVE},
    {"sync-standby", 0, QT_CTL_SYNC_STANDBY},
    {"sync-resync", 0, QT_CTL_SYNC_RESYNC},
};

static void usage(FILE *fp, int rc)
{
	fprintf(fp,
		"usage: qtrackctl [--socket SOCKET] [-c FILE] COMMAND "
		"[-o FORMAT] [filters]\n"
		"commands: list (-L), count (-C), stats (-S), events (-E), "
		"flush (-F),\n"
		"          delete (-D), get (-G), update (-U), expect, reload, "
		"save FILE,\n"
		"          sync-active, sync-standby, sync-resync\n"
		"tables:   list|count [conntrack|unconfirmed]\n"
		"formats:  -o json (list, stats, events, expect), "
		"-o prometheus (stats),\n"
		"          -o extended,id (list, get, delete, update)\n"
		"filters:  -f ipv4|ipv6, -p PROTO, -s|--src ADDR, -d|--dst ADDR,\n"
		"          -r|--reply-src ADDR, -q|--reply-dst ADDR,\n"
		"          --sport N, --dport N, --state TCPSTATE,\n"
		"          -m|--mark MARK[/MASK], --status ASSURED|SEEN_REPLY|"
		"UNSET,\n"
		"          --icmp-type N, --icmp-code N, --icmp-id N, "
		"-i|--id N\n"
		"events:   -e NEW,UPDATE,DESTROY|ALL\n"
		"delete:   a whole tuple (-p PROTO -s ADDR -d ADDR --sport N "
		"--dport N),\n"
		"          or any filters: every match is deleted\n"
		"update:   -m|--mark VALUE[/MASK] is the new mark, (old & ~MASK) "
		"^ VALUE,\n"
		"          of every match of the other filters\n");
	exit(rc);
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("qtrackctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * A file with a mistake elsewhere still names the socket: parse its
 * [control] section alone (into @conf), so that `qtrackctl reload` can
 * reach the daemon and hear why the file is refused, and the running
 * daemon stays reachable while the file is being edited.  Lines of other
 * sections become blank lines, which keeps line numbers.  0, or -1.
 */
static int socket_from_section(struct qt_conf *conf, char *text,
			       const char *path)
{
	char err[512], *p, *eol;
	bool keep = false;

	for (p = text; *p; p = eol + (*eol != '\0')) {
		char *q = p + strspn(p, " \t");

		eol = p + strcspn(p, "\n");
		if (*q == '[')
			keep = !strncmp(q, "[control]", 9);
		if (!keep)
			memset(p, ' ', (size_t)(eol - p));
	}
	qt_conf_init(conf);
	return qt_conf_parse(conf, text, path, err, sizeof(err));
}

/* The socket [control] socket names in @path.  A missing default file is
 * not an error (the default socket is used); a named one must exist. */
static void socket_from_conf(const char *path, bool must_exist, char *sock,
			     size_t socklen)
{
	struct qt_conf conf;
	char err[512], *text;
	size_t n = 0, cap = 4096;
	FILE *fp;

	fp = fopen(path, "re");
	if (!fp) {
		if (must_exist)
			die("cannot read %s: %s", path, strerror(errno));
		return;
	}
	text = malloc(cap);
	for (;;) {
		if (!text)
			die("out of memory");
		n += fread(text + n, 1, cap - n - 1, fp);
		if (n < cap - 1)
			break;
		cap *= 2;
		text = realloc(text, cap);
	}
	text[n] = '\0';
	fclose(fp);
	qt_conf_init(&conf);
	if (qt_conf_parse(&conf, text, path, err, sizeof(err)) < 0 &&
	    socket_from_section(&conf, text, path) < 0)
		die("%s", err);
	free(text);
	snprintf(sock, socklen, "%s", conf.control.socket);
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect %s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (is qtrackd running?)" : "");
	return fd;
}

/* Send the request.  0, or the errno of a failed send: the daemon may
 * have refused us and closed already, and its ERR line is still waiting
 * to be read, so the caller reads the reply before giving up. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What to do with the reply's lines. */
struct reply {
	enum qt_ctl_cmd cmd;
	int send_errno;		  /* the request did not go out */
	unsigned long long lines; /* data lines printed */
	char first[64];		  /* first data line (flush count) */
	/* conntrack(8) habits carried out here (qtrackctl-compat.c). */
	const struct ctl_post *post; /* filters on whole list lines */
	unsigned evmask;	     /* -e: events to show, 0 = all */
	bool extended;		     /* -o extended */
	bool quiet;		     /* count only (-C with filters) */
	char **keep;		     /* -D with a partial filter: matches */
	size_t nkeep;
	bool soft_err; /* an ERR ends the reply instead of exiting */
};

/* One line of the reply, without its newline.  Returns 1 when the reply
 * is complete (OK), 0 to go on; exits on ERR. */
static int reply_line(struct reply *r, const char *line, size_t len)
{
	if (len == 2 && !memcmp(line, "OK", 2))
		return 1;
	if (len >= 4 && !memcmp(line, "ERR ", 4)) {
		if (r->soft_err)
			return 1;
		fflush(stdout);
		die("%.*s", (int)(len - 4), line + 4);
	}
	if (r->post && !ctl_post_match(r->post, line, len))
		return 0;
	if (r->evmask && !ctl_event_match(r->evmask, line, len))
		return 0;
	if (r->keep) {
		char *copy = strndup(line, len);
		char **more = realloc(r->keep, (r->nkeep + 2) * sizeof(*more));

		if (!copy || !more)
			die("out of memory");
		r->keep = more;
		r->keep[r->nkeep++] = copy;
		r->keep[r->nkeep] = NULL;
		return 0;
	}
	if (r->lines == 0)
		snprintf(r->first, sizeof(r->first), "%.*s", (int)len, line);
	r->lines++;
	if (r->quiet)
		return 0;
	if (r->extended)
		fputs(ctl_extended_prefix(line, len), stdout);
	if (r->cmd == QT_CTL_FLUSH)
		return 0; /* the count goes into the summary */
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
	if (r->cmd == QT_CTL_EVENTS)
		fflush(stdout);
	return 0;
}

static void reply_summary(const struct reply *r)
{
	fflush(stdout);
	switch (r->cmd) {
	case QT_CTL_LIST:
		fprintf(stderr,
			"qtrackctl: %llu flow entries have been shown.\n",
			r->lines);
		break;
	case QT_CTL_DELETE:
		fprintf(stderr,
			"qtrackctl: %llu flow entries have been deleted.\n",
			r->lines);
		break;
	case QT_CTL_FLUSH:
		fprintf(stderr,
			"qtrackctl: connection tracking table has been "
			"emptied (%s entries).\n",
			r->first[0] ? r->first : "0");
		break;
	case QT_CTL_EXPECT:
		fprintf(stderr,
			"qtrackctl: %llu expectation entries have been "
			"shown.\n",
			r->lines);
		break;
	case QT_CTL_RELOAD:
		fprintf(stderr, "qtrackctl: the configuration is reloaded.\n");
		break;
	default:
		break;
	}
}

static int read_reply(int fd, struct reply *r)
{
	char *buf = malloc(CTL_READBUF);
	size_t have = 0, start;
	ssize_t n;

	if (!buf)
		die("out of memory");
	for (;;) {
		n = recv(fd, buf + have, CTL_READBUF - have, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (r->send_errno)
				die("sending the request: %s",
				    strerror(r->send_errno));
			die("reading the reply: %s", strerror(errno));
		}
		if (n == 0)
			break;
		have += (size_t)n;
		start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);

			if (!nl)
				break;
			if (reply_line(r, buf + start,
				       (size_t)(nl - (buf + start)))) {
				free(buf);
				return 0;
			}
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == CTL_READBUF)
			die("reply line too long");
	}
	free(buf);
	if (r->send_errno)
		die("sending the request: %s", strerror(r->send_errno));
	/* Only an event stream ends without OK: the daemon went away. */
	if (r->cmd == QT_CTL_EVENTS)
		return 0;
	die("the daemon closed the connection before the reply ended");
}

/* A filter option as given, turned into a key=value word later. */
struct filter_word {
	int opt;
	const char *arg;
};

enum {
	OPT_SOCKET = 255,
	OPT_SRC = 256,
	OPT_DST,
	OPT_SPORT,
	OPT_DPORT,
	OPT_STATE,
	OPT_ICMP_TYPE,
	OPT_ICMP_CODE,
	OPT_ICMP_ID,
	OPT_STATUS,
	OPT_CTID,
};

/* Options that become a key=value word of the request. */
static const char *opt_key(int opt)
{
	switch (opt) {
	case 'p':
		return "proto";
	case 'f':
		return "family";
	case OPT_SRC:
		return "src";
	case OPT_DST:
		return "dst";
	case OPT_SPORT:
		return "sport";
	case OPT_DPORT:
		return "dport";
	case OPT_STATE:
		return "state";
	case OPT_ICMP_TYPE:
		return "type";
	case OPT_ICMP_CODE:
		return "code";
	case OPT_ICMP_ID:
		return "id";
	case OPT_CTID:
		return "ctid";
	}
	return NULL;
}

/* Build @r for @cmd from the format and the filter words. */
static int request_build(struct qt_ctlreq *r, enum qt_ctl_cmd cmd,
			 bool unconfirmed, bool show_id, const char *fmt,
			 const struct filter_word *words, size_t nwords,
			 char *err, size_t errlen)
{
	char word[QT_CTL_MAX_LINE], why[200];
	size_t i, n;

	qt_ctlreq_init(r, cmd);
	if (unconfirmed)
		r->f.have |= QT_CTLF_UNCONFIRMED;
	if (show_id && qt_ctlreq_set(r, "id", 2, why, sizeof(why))) {
		snprintf(err, errlen, "-o id: %s", why);
		return -1;
	}
	if (fmt && qt_ctlreq_set(r, fmt, strlen(fmt), why, sizeof(why))) {
		snprintf(err, errlen, "-o %.32s: %s", fmt, why);
		return -1;
	}
	for (i = 0; i < nwords; i++) {
		n = (size_t)snprintf(word, sizeof(word), "%s=%s",
				     opt_key(words[i].opt), words[i].arg);
		if (n >= sizeof(word)) {
			snprintf(err, errlen, "filter too long");
			return -1;
		}
		if (qt_ctlreq_set(r, word, n, err, errlen))
			return -1;
	}
	/* Like conntrack, --state alone means TCP. */
	if ((r->f.have & QT_CTLF_STATE) && !(r->f.have & QT_CTLF_PROTO) &&
	    qt_ctlreq_set(r, "proto=tcp", 9, err, errlen))
		return -1;
	return qt_ctlreq_check(r, err, errlen);
}

/* What -D or -U with a partial filter does to each match it listed. */
struct each_op {
	enum qt_ctl_cmd cmd; /* QT_CTL_DELETE, QT_CTL_UPDATE */
	char suffix[64];     /* words after the tuple: " mark=V/M", " id" */
	bool extended;	     /* -o extended */
	const char *done;    /* "deleted", "updated" */
};

/* Send @op for each connection @listed kept, by its original tuple,
 * printing what the daemon answers (the removed or updated entry; none
 * for an entry already as asked); one that expired meanwhile is
 * skipped.  Then the summary, as conntrack prints it. */
static void each_by_tuple(const char *sock, struct reply *listed,
			  const struct each_op *op)
{
	unsigned long long done = 0;
	char line[QT_CTL_MAX_LINE + 1];
	size_t i;

	for (i = 0; i < listed->nkeep; i++) {
		char *l = listed->keep[i];
		struct reply rep;
		size_t n;
		int fd;

		n = sizeof(line) - 1 - strlen(op->suffix);
		if (ctl_tuple_request(qt_ctl_cmd_name(op->cmd), l, strlen(l),
				      line, n)) {
			free(l);
			continue;
		}
		strcat(line, op->suffix);
		n = strlen(line);
		line[n++] = '\n';
		fd = ctl_connect(sock);
		memset(&rep, 0, sizeof(rep));
		rep.cmd = op->cmd;
		rep.soft_err = true;
		rep.extended = op->extended;
		rep.send_errno = send_all(fd, line, n);
		read_reply(fd, &rep);
		close(fd);
		done += rep.lines;
		free(l);
	}
	free(listed->keep);
	fflush(stdout);
	fprintf(stderr, "qtrackctl: %llu flow entries have been %s.\n", done,
		op->done);
}

/* -o as conntrack takes it: a comma-separated list.  "extended" and "id"
 * are flags; any other word is the format word of the request (json,
 * prometheus), which the request checks.  0, or -1 for two formats. */
static int output_parse(char *arg, bool *extended, bool *show_id,
			const char **fmt)
{
	char *w, *save = NULL;

	for (w = strtok_r(arg, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "extended"))
			*extended = true;
		else if (!strcmp(w, "id"))
			*show_id = true;
		else if (*fmt && strcmp(*fmt, w))
			return -1;
		else
			*fmt = w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"config", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {"proto", required_argument, NULL, 'p'},
	    {"family", required_argument, NULL, 'f'},
	    {"src", required_argument, NULL, OPT_SRC},
	    {"orig-src", required_argument, NULL, OPT_SRC},
	    {"dst", required_argument, NULL, OPT_DST},
	    {"orig-dst", required_argument, NULL, OPT_DST},
	    {"sport", required_argument, NULL, OPT_SPORT},
	    {"orig-port-src", required_argument, NULL, OPT_SPORT},
	    {"dport", required_argument, NULL, OPT_DPORT},
	    {"orig-port-dst", required_argument, NULL, OPT_DPORT},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"icmp-type", required_argument, NULL, OPT_ICMP_TYPE},
	    {"icmp-code", required_argument, NULL, OPT_ICMP_CODE},
	    {"icmp-id", required_argument, NULL, OPT_ICMP_ID},
	    {"reply-src", required_argument, NULL, 'r'},
	    {"reply-dst", required_argument, NULL, 'q'},
	    {"mark", required_argument, NULL, 'm'},
	    {"status", required_argument, NULL, OPT_STATUS},
	    {"id", required_argument, NULL, OPT_CTID},
	    {"event-mask", required_argument, NULL, 'e'},
	    {"dump", no_argument, NULL, 'L'},
	    {"get", no_argument, NULL, 'G'},
	    {"delete", no_argument, NULL, 'D'},
	    {"flush", no_argument, NULL, 'F'},
	    {"stats", no_argument, NULL, 'S'},
	    {"count", no_argument, NULL, 'C'},
	    {"event", no_argument, NULL, 'E'},
	    {"update", no_argument, NULL, 'U'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* Filters are collected first: the command, which decides what is
	 * allowed, may come after them on the command line. */
	struct filter_word words[32];
	struct qt_ctlreq req;
	struct reply rep;
	char sock[108] = QT_CONF_DEFAULT_SOCKET;
	char line[QT_CTL_MAX_LINE + 1], err[256];
	const char *sockarg = NULL, *confarg = NULL, *fmt = NULL, *cmdword;
	const char *savepath = NULL;
	size_t nwords = 0, i, n;
	int ch, fd, cmd = -1;
	bool unconfirmed = false, get = false, extended = false;
	bool partial = false, counting = false, show_id = false;
	bool updating = false;
	struct each_op each;
	struct ctl_post post;
	unsigned evmask = 0;

	memset(&post, 0, sizeof(post));
	memset(&each, 0, sizeof(each));
	while ((ch = getopt_long(argc, argv, "s:c:o:p:f:d:r:q:m:e:i:hLCSEFDGU",
				 longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SOCKET:
			sockarg = optarg;
			break;
		case 's':
			/* conntrack's -s is the source address.  A socket
			 * path is absolute, so "-s /path" still means the
			 * socket, as it did before. */
			if (optarg[0] == '/') {
				sockarg = optarg;
				break;
			}
			ch = OPT_SRC;
			goto filter;
		case 'r':
		case 'q':
		case 'm':
		case OPT_STATUS:
			if (ctl_post_set(&post, ch == OPT_STATUS ? 't' : ch,
					 optarg, err, sizeof(err)))
				die("%s: %s",
				    ch == OPT_STATUS ? "--status"
				    : ch == 'm'	     ? "--mark"
				    : ch == 'r'	     ? "--reply-src"
						     : "--reply-dst",
				    err);
			break;
		case 'e':
			if (ctl_event_mask(optarg, &evmask))
				die("-e %s: not NEW, UPDATE, DESTROY or ALL",
				    optarg);
			break;
		case 'G':
			get = true;
			ch = 'L';
			goto command;
		case 'c':
			confarg = optarg;
			break;
		case 'o':
			if (output_parse(optarg, &extended, &show_id, &fmt))
				die("-o: more than one of json, prometheus");
			break;
		case 'i':
			ch = OPT_CTID;
			goto filter;
		case 'd':
			ch = OPT_DST;
			/* fall through */
filter:
		case 'p':
		case 'f':
		case OPT_SRC:
		case OPT_DST:
		case OPT_SPORT:
		case OPT_DPORT:
		case OPT_STATE:
		case OPT_ICMP_TYPE:
		case OPT_ICMP_CODE:
		case OPT_ICMP_ID:
		case OPT_CTID:
			if (nwords == sizeof(words) / sizeof(words[0]))
				die("too many filters");
			words[nwords].opt = ch;
			words[nwords].arg = optarg;
			nwords++;
			break;
		case 'L':
		case 'C':
		case 'S':
		case 'E':
		case 'F':
		case 'D':
		case 'U':
command:
			for (i = 0; ctl_cmd_words[i].letter != ch; i++)
				;
			if (cmd >= 0 && cmd != (int)ctl_cmd_words[i].cmd)
				die("more than one command");
			cmd = (int)ctl_cmd_words[i].cmd;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 1);
		}
	}
	/* save takes its FILE as an argument. */
	if (cmd < 0 && optind == argc - 2 && !strcmp(argv[optind], "save")) {
		cmd = QT_CTL_SAVE;
		savepath = argv[optind + 1];
		optind += 2;
	}
	if (cmd < 0 && optind < argc) {
		cmdword = argv[optind++];
		for (i = 0;
		     i < sizeof(ctl_cmd_words) / sizeof(ctl_cmd_words[0]); i++)
			if (!strcmp(cmdword, ctl_cmd_words[i].name))
				cmd = (int)ctl_cmd_words[i].cmd;
		if (cmd < 0)
			die("unknown command '%s' (try --help)", cmdword);
	}
	/* conntrack -L unconfirmed: the table to list (or count). */
	if (optind == argc - 1 &&
	    (cmd == QT_CTL_LIST || cmd == QT_CTL_COUNT)) {
		const char *table = argv[optind++];

		if (!strcmp(table, "unconfirmed"))
			unconfirmed = true;
		else if (strcmp(table, "conntrack"))
			die("unknown table '%s' (conntrack or unconfirmed)",
			    table);
	}
	if (cmd < 0 || optind != argc)
		usage(stderr, 1);

	/* conntrack -U: -m is the new mark, not a filter.  Like conntrack,
	 * list what the other filters match, then update each entry. */
	if (cmd == QT_CTL_UPDATE) {
		if (!post.have_mark)
			die("-U needs -m|--mark VALUE[/MASK]: the new mark");
		if (post.status)
			die("--status with -U: qtrackd sets no status bits");
		each.cmd = QT_CTL_UPDATE;
		each.done = "updated";
		snprintf(each.suffix, sizeof(each.suffix),
			 " mark=0x%x/0x%x%s", post.mark, post.mark_mask,
			 show_id ? " id" : "");
		post.have_mark = false;
		updating = true;
		cmd = QT_CTL_LIST;
	}

	if (ctl_post_active(&post) &&
	    (fmt || (cmd != QT_CTL_LIST && cmd != QT_CTL_COUNT &&
		     cmd != QT_CTL_DELETE)))
		die("-r, -q, -m and --status filter list, count and delete "
		    "lines in text form");
	if (evmask && cmd != QT_CTL_EVENTS)
		die("-e goes with -E");
	if (extended && cmd != QT_CTL_LIST && cmd != QT_CTL_DELETE)
		die("-o extended goes with -L, -G, -D and -U");
	if (show_id && cmd != QT_CTL_LIST && cmd != QT_CTL_DELETE)
		die("-o id goes with -L, -G, -D and -U");
	if (fmt && (updating || cmd == QT_CTL_DELETE))
		die("-o %s goes with -L: -D and -U print text lines", fmt);
	/* -D with less than a whole tuple, or with filters the socket does
	 * not know, deletes every match: list them, then delete each by its
	 * tuple, as conntrack -D does with a partial filter. */
	if (cmd == QT_CTL_DELETE &&
	    (ctl_post_active(&post) ||
	     request_build(&req, QT_CTL_DELETE, unconfirmed, show_id, fmt,
			   words, nwords, err, sizeof(err)) < 0)) {
		partial = true;
		each.cmd = QT_CTL_DELETE;
		each.done = "deleted";
		if (show_id)
			snprintf(each.suffix, sizeof(each.suffix), " id");
		cmd = QT_CTL_LIST;
	}
	each.extended = extended;
	/* -C with such filters counts the lines that pass them. */
	if (cmd == QT_CTL_COUNT && ctl_post_active(&post)) {
		counting = true;
		cmd = QT_CTL_LIST;
	}
	/* A list made for -D or -U is read for its tuples, not shown. */
	if (request_build(&req, (enum qt_ctl_cmd)cmd, unconfirmed,
			  show_id && !partial && !updating, fmt, words, nwords,
			  err, sizeof(err)) < 0)
		die("%s", err);
	n = qt_ctlreq_format(&req, line, sizeof(line) - 1);
	if (n >= sizeof(line) - 1)
		die("request too long");
	line[n++] = '\n';

	if (sockarg)
		snprintf(sock, sizeof(sock), "%s", sockarg);
	else
		socket_from_conf(confarg ? confarg : QT_CONF_DEFAULT_PATH,
				 confarg != NULL, sock, sizeof(sock));

	fd = ctl_connect(sock);
	memset(&rep, 0, sizeof(rep));
	rep.cmd = req.cmd;
	rep.post = ctl_post_active(&post) ? &post : NULL;
	rep.evmask = evmask;
	rep.extended = extended;
	rep.quiet = counting;
	if ((partial || updating) &&
	    !(rep.keep = calloc(1, sizeof(*rep.keep))))
		die("out of memory");
	rep.send_errno = send_all(fd, line, n);
	if (req.cmd == QT_CTL_SAVE) {
		if (!savepath)
			die("save needs a FILE to write");
		i = (size_t)ctl_save_reply(fd, savepath, rep.send_errno);
		close(fd);
		return (int)i;
	}
	read_reply(fd, &rep);
	close(fd);
	if (partial || updating) {
		each_by_tuple(sock, &rep, &each);
	} else if (rep.quiet) {
		printf("%llu\n", rep.lines);
	} else if (get && rep.lines == 0) {
		die("0 flow entries: no such connection");
	} else {
		reply_summary(&rep);
	}
	if (fflush(stdout) != 0)
		die("writing the output: %s", strerror(errno));
	return 0;
}
