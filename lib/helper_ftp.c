/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper_ftp.c - the FTP helper: find the data connection an FTP control
 * connection announces and expect it, with the rules of the kernel's
 * nf_conntrack_ftp.c.
 *
 *   client -> server   PORT h1,h2,h3,h4,p1,p2\r     (active mode)
 *                      EPRT |1|a.b.c.d|port|\r      (RFC 2428)
 *                      EPRT |2|ipv6-addr|port|\r
 *   server -> client   227 text h1,h2,h3,h4,p1,p2   (passive mode)
 *                      229 text (|||port|)          (extended passive)
 *
 * The command must open a TCP segment, and only a segment that begins
 * right after one ending in '\n' (in the same direction, both seen here)
 * is searched: the kernel's seq_aft_nl tracking.  So the first segment of
 * each direction (banner, USER) is never searched, and text in the middle
 * of a line never is either.  Only once the control connection has seen
 * traffic both ways (ESTABLISHED) does the helper look at all.
 *
 * An announced address must be the announcing side's own (the kernel
 * without its "loose" parameter): PORT must name the client, 227 the
 * server, else nothing is expected (no FTP bounce through the firewall).
 * PORT/EPRT expect a connection from the server, 227/229 one from the
 * client; in both the source port is open, as in the kernel.
 *
 * Where the kernel drops the packet (a command cut short at the end of a
 * segment, a malformed one, no room for the expectation) qtrackd cannot:
 * it counts the case, expects nothing and, as the kernel, does not take
 * the segment's end as a line end.  docs/ftp.md lists the differences.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "expect.h"

typedef size_t (*ftp_getnum_fn)(const char *d, size_t len, int family,
				char term, struct qt_ftp_cmd *cmd);

struct ftp_search {
	const char *pattern;
	size_t plen;
	char skip; /* skip up to and past this character, 0: don't */
	char term; /* character that must end the numbers, 0: any */
	enum qt_ftp_type type;
	ftp_getnum_fn getnum;
};

static bool ftp_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ftp_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-blind compare of @n bytes; a NUL in @d is just a mismatch. */
static bool ftp_prefix(const char *d, const char *pattern, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ftp_lower(d[i]) != ftp_lower(pattern[i]))
			return false;
	return true;
}

/*
 * ftp_numbers - @n decimal numbers of at most 255 separated by @sep and
 * ended by @term (any other character when @term is 0).  Empty numbers
 * count as 0, as in the kernel.  Returns the length up to the terminator,
 * or 0 when the numbers are malformed or run into the end of @d.
 */
static size_t ftp_numbers(const char *d, size_t len, uint32_t *out, unsigned n,
			  char sep, char term)
{
	unsigned i = 0;

	memset(out, 0, n * sizeof(*out));
	for (size_t k = 0; k < len && i < n; k++) {
		if (ftp_digit(d[k])) {
			out[i] = out[i] * 10 + (uint32_t)(d[k] - '0');
			if (out[i] > 255)
				return 0;
		} else if (d[k] == sep) {
			i++;
		} else {
			return (d[k] == term || !term) && i == n - 1 ? k : 0;
		}
	}
	return 0;
}

/* PORT's argument: h1,h2,h3,h4,p1,p2.  Only the first four bytes of the
 * address are written: on an IPv6 connection the rest stays the
 * sender's, as in the kernel, and the address check decides. */
static size_t ftp_rfc959(const char *d, size_t len, int family, char term,
			 struct qt_ftp_cmd *cmd)
{
	uint32_t v[6];
	size_t n = ftp_numbers(d, len, v, 6, ',', term);

	(void)family;
	if (!n)
		return 0;
	for (int i = 0; i < 4; i++)
		cmd->addr.b[i] = (uint8_t)v[i];
	cmd->port = (uint16_t)(v[4] << 8 | v[5]);
	return n;
}

/* The 227 reply: RFC 1123 says not to rely on the parentheses, so scan
 * for the first digit and read six numbers from there. */
static size_t ftp_rfc1123(const char *d, size_t len, int family, char term,
			  struct qt_ftp_cmd *cmd)
{
	size_t i = 0, n;

	(void)term;
	while (i < len && !ftp_digit(d[i]))
		i++;
	if (i == len)
		return 0;
	n = ftp_rfc959(d + i, len - i, family, 0, cmd);
	return n ? i + n : 0;
}

/* A port from @start up to @delim: 1..65535.  Returns the offset after
 * the delimiter or 0. */
static size_t ftp_port(const char *d, size_t start, size_t len, char delim,
		       uint16_t *port)
{
	uint32_t v = 0;

	for (size_t i = start; i < len; i++) {
		if (d[i] == delim) {
			if (v == 0)
				return 0;
			*port = (uint16_t)v;
			return i + 1;
		}
		if (!ftp_digit(d[i]))
			return 0;
		v = v * 10 + (uint32_t)(d[i] - '0');
		if (v > 65535)
			return 0;
	}
	return 0;
}

/* RFC 2428 delimiters are printable ASCII other than digits. */
static bool ftp_delim_ok(char c)
{
	return !ftp_digit(c) && c >= 33 && c <= 126;
}

/* An IPv6 address up to @delim.  Returns its length, or 0. */
static size_t ftp_ipv6(const char *d, size_t len, char delim,
		       union qt_addr *addr)
{
	char text[INET6_ADDRSTRLEN];
	size_t n = 0;

	while (n < len && d[n] != delim) {
		char c = ftp_lower(d[n]);

		if (n >= sizeof(text) - 1 ||
		    !(ftp_digit(c) || (c >= 'a' && c <= 'f') || c == ':' ||
		      c == '.'))
			return 0;
		text[n++] = c;
	}
	if (n == len || n == 0)
		return 0;
	text[n] = '\0';
	return inet_pton(AF_INET6, text, addr->b) == 1 ? n : 0;
}

/* EPRT's argument: |1|a.b.c.d|port| or |2|addr6|port| with any delimiter;
 * the protocol number must be the control connection's family. */
static size_t ftp_eprt(const char *d, size_t len, int family, char term,
		       struct qt_ftp_cmd *cmd)
{
	char delim;
	size_t n;

	(void)term;
	if (len <= 3)
		return 0;
	delim = d[0];
	if (!ftp_delim_ok(delim) || d[2] != delim)
		return 0;
	if ((family == AF_INET && d[1] != '1') ||
	    (family == AF_INET6 && d[1] != '2'))
		return 0;
	if (d[1] == '1') {
		uint32_t v[4];

		n = ftp_numbers(d + 3, len - 3, v, 4, '.', delim);
		if (n) {
			memset(&cmd->addr, 0, sizeof(cmd->addr));
			for (int i = 0; i < 4; i++)
				cmd->addr.b[i] = (uint8_t)v[i];
		}
	} else {
		n = ftp_ipv6(d + 3, len - 3, delim, &cmd->addr);
	}
	if (!n)
		return 0;
	return ftp_port(d, 3 + n + 1, len, delim, &cmd->port);
}

/* 229's argument after '(': |||port| with any delimiter. */
static size_t ftp_epsv(const char *d, size_t len, int family, char term,
		       struct qt_ftp_cmd *cmd)
{
	char delim;

	(void)family;
	(void)term;
	if (len <= 3)
		return 0;
	delim = d[0];
	if (!ftp_delim_ok(delim) || d[1] != delim || d[2] != delim)
		return 0;
	return ftp_port(d, 3, len, delim, &cmd->port);
}

/* What each direction may announce, in the order the kernel tries. */
/* clang-format off */
static const struct ftp_search ftp_search[2][2] = {
	[QT_DIR_ORIG] = {
		{ "PORT", 4, ' ', '\r', QT_FTP_PORT, ftp_rfc959 },
		{ "EPRT", 4, ' ', '\r', QT_FTP_EPRT, ftp_eprt },
	},
	[QT_DIR_REPLY] = {
		{ "227 ", 4, 0, 0, QT_FTP_PASV, ftp_rfc1123 },
		{ "229 ", 4, '(', ')', QT_FTP_EPSV, ftp_epsv },
	},
};
/* clang-format on */

/* 1: found, 0: not this command, -1: this command but cut short or
 * malformed. */
static int ftp_find(const char *d, size_t len, const struct ftp_search *s,
		    int family, struct qt_ftp_cmd *cmd)
{
	size_t i = s->plen;

	if (len <= s->plen)
		return ftp_prefix(d, s->pattern, len) ? -1 : 0;
	if (!ftp_prefix(d, s->pattern, s->plen))
		return 0;
	if (s->skip) {
		while (d[i] != s->skip)
			if (++i == len)
				return -1;
		i++;
	}
	if (!s->getnum(d + i, len - i, family, s->term, cmd))
		return -1;
	cmd->type = (uint8_t)s->type;
	return 1;
}

int qt_ftp_parse(const char *data, size_t len, enum qt_dir dir, int family,
		 struct qt_ftp_cmd *cmd)
{
	const struct ftp_search *s = ftp_search[dir == QT_DIR_REPLY];
	int found = 0;

	for (unsigned i = 0; i < 2 && !found; i++)
		found = ftp_find(data, len, &s[i], family, cmd);
	return found;
}

static bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool ftp_seq_known(const struct qt_help *h, int dir, uint32_t seq)
{
	for (unsigned i = 0; i < h->n_seq[dir]; i++)
		if (h->seq_aft_nl[dir][i] == seq)
			return true;
	return false;
}

/* Remember @seq as the start of a line; when both places are taken the
 * older one goes, unless @seq is older still. */
static void ftp_seq_add(struct qt_help *h, int dir, uint32_t seq)
{
	uint32_t *s = h->seq_aft_nl[dir];
	unsigned oldest;

	if (ftp_seq_known(h, dir, seq))
		return;
	if (h->n_seq[dir] < QT_FTP_SEQ_REMEMBER) {
		s[h->n_seq[dir]++] = seq;
		return;
	}
	oldest = seq_before(s[0], s[1]) ? 0 : 1;
	if (seq_before(s[oldest], seq))
		s[oldest] = seq;
}

/* The kernel's ftp_exp_policy is one expectation per control connection
 * for five minutes; here both are [helper] keys with those defaults. */
static struct qt_expect_policy ftp_policy(const struct qt_conf *conf)
{
	struct qt_expect_policy p = {
	    .max_expected = conf->helper.expect_per_master,
	    .timeout = conf->helper.expect_timeout,
	};

	return p;
}

/* TCP to one of the [helper] ftp ports. */
static bool ftp_match(const struct qt_conn *ct, const struct qt_conf *conf)
{
	if (qt_conn_l4proto(ct) != IPPROTO_TCP)
		return false;
	for (unsigned i = 0; i < conf->helper.n_ftp_ports; i++)
		if (conf->helper.ftp_ports[i] == ct->dport)
			return true;
	return false;
}

/* Parse PORT/EPRT/227/229 in @pkt and expect the connection it names. */
static void ftp_help(struct qt_expect_table *x, struct qt_wheel *w,
		     struct qt_conn *ct, const struct qt_pkt *pkt,
		     enum qt_dir dir, const struct qt_conf *conf, uint64_t now)
{
	struct qt_expect_policy policy = ftp_policy(conf);
	const char *data = (const char *)pkt->data + pkt->payload_off;
	uint32_t caplen = pkt->payload_caplen, seq = pkt->tcp.seq;
	struct qt_tuple own_t, other_t;
	const struct qt_tuple *own = &own_t;
	const struct qt_tuple *other = &other_t;
	struct qt_ftp_cmd cmd;
	struct qt_tuple want;
	struct qt_help *h;
	bool ends_in_nl;
	int found;

	/* Until there has been traffic both ways, the kernel does not
	 * look (the packet's ctinfo is not ESTABLISHED). */
	if (dir == QT_DIR_ORIG && !(ct->status & QT_CONN_SEEN_REPLY))
		return;
	/* The reply tuple is derived (conn.h), only when there is data. */
	if (qt_conn_l4proto(ct) != IPPROTO_TCP ||
	    pkt->payload_len == 0)
		return;
	qt_conn_tuple(ct, dir, &own_t);
	qt_conn_tuple(ct, (enum qt_dir)!dir, &other_t);
	h = qt_expect_help_get(x, ct);
	if (!h)
		return;
	if (caplen > pkt->payload_len)
		caplen = pkt->payload_len;
	/* A segment cut by the capture: FTP peers write whole lines, so
	 * take its unseen end to be a line end rather than lose track of
	 * every later command. */
	ends_in_nl =
	    caplen < pkt->payload_len || (caplen && data[caplen - 1] == '\n');

	if (!ftp_seq_known(h, dir, seq))
		goto update_nl;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = own->src;
	found = caplen ? qt_ftp_parse(data, caplen, dir, own->family, &cmd) : 0;
	if (found < 0) {
		/* The kernel drops the packet so the sender sends the line
		 * again; it does not record the segment's end either. */
		x->ftp_partial++;
		return;
	}
	if (found == 0)
		goto update_nl;
	if (memcmp(&cmd.addr, &own->src, sizeof(cmd.addr)) != 0 ||
	    cmd.port == 0) {
		/* FTP bounce, or a third host behind partial NAT: the kernel
		 * without "loose" accepts the packet and expects nothing.
		 * Port 0 (PORT ...,0,0) the kernel would expect; no
		 * connection can use it, so qtrackd does not. */
		x->ftp_bounce++;
		goto update_nl;
	}

	/* The other direction's tuple: from the peer of the announcing
	 * side to the announced port on the announcing side. */
	memset(&want, 0, sizeof(want));
	want.family = own->family;
	want.proto = IPPROTO_TCP;
	want.src = other->src;
	want.dst = other->dst;
	want.dport = cmd.port;
	if (qt_expect_add(x, w, ct, &want, QT_EXPECT_ANY_SPORT, QT_HELPER_FTP,
			  policy.timeout, policy.max_expected, now) < 0) {
		x->ftp_noexpect++;
		return;
	}
	x->ftp_expected++;
update_nl:
	if (ends_in_nl)
		ftp_seq_add(h, dir, seq + pkt->payload_len);
}

const struct qt_helper_ops qt_helper_ftp = {
    .name = "ftp",
    .match = ftp_match,
    .help = ftp_help,
    .policy = ftp_policy,
};
