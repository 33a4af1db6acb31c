/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlreq.c - parse, check, format and apply control socket requests.
 *
 * Everything here is table driven: one row per command says which formats
 * and filter keys it accepts, one row per key says how its value parses.
 * A request is untrusted input from a local user; every byte is checked and
 * nothing is read past the given length.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ctlreq.h"
#include "proto.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPPROTO_DCCP
#define IPPROTO_DCCP 33
#endif

#define FMT_BIT(f) (1u << (f))

/* The filter keys list and count accept; delete accepts the tuple ones. */
#define LIST_KEYS                                                              \
	(QT_CTLF_FAMILY_KEY | QT_CTLF_PROTO | QT_CTLF_SRC | QT_CTLF_DST |      \
	 QT_CTLF_SPORT | QT_CTLF_DPORT | QT_CTLF_STATE | QT_CTLF_TYPE |        \
	 QT_CTLF_CODE | QT_CTLF_ID | QT_CTLF_UNCONFIRMED | QT_CTLF_SHOW_ID |   \
	 QT_CTLF_CTID)
#define COUNT_KEYS (LIST_KEYS & ~QT_CTLF_SHOW_ID)
#define DELETE_KEYS                                                            \
	(LIST_KEYS & ~(QT_CTLF_STATE | QT_CTLF_UNCONFIRMED | QT_CTLF_CTID))
#define UPDATE_KEYS (DELETE_KEYS | QT_CTLF_MARK)

static const struct ctl_cmd_desc {
	const char *name;
	uint32_t fmts; /* FMT_BIT() of accepted formats */
	uint32_t keys; /* QT_CTLF_* accepted */
} ctl_cmds[QT_CTL_CMD_MAX] = {
    [QT_CTL_LIST] = {"list", FMT_BIT(QT_CTL_FMT_JSON), LIST_KEYS},
    [QT_CTL_COUNT] = {"count", 0, COUNT_KEYS},
    [QT_CTL_STATS] = {"stats",
		      FMT_BIT(QT_CTL_FMT_JSON) | FMT_BIT(QT_CTL_FMT_PROMETHEUS),
		      0},
    [QT_CTL_EVENTS] = {"events", FMT_BIT(QT_CTL_FMT_JSON), 0},
    [QT_CTL_FLUSH] = {"flush", 0, 0},
    [QT_CTL_DELETE] = {"delete", 0, DELETE_KEYS},
    [QT_CTL_EXPECT] = {"expect", FMT_BIT(QT_CTL_FMT_JSON), 0},
    [QT_CTL_RELOAD] = {"reload", 0, 0},
    [QT_CTL_SAVE] = {"save", 0, 0},
    [QT_CTL_SYNC_ACTIVE] = {"sync-active", 0, 0},
    [QT_CTL_SYNC_STANDBY] = {"sync-standby", 0, 0},
    [QT_CTL_SYNC_RESYNC] = {"sync-resync", 0, 0},
    [QT_CTL_UPDATE] = {"update", 0, UPDATE_KEYS},
};

static const char *const ctl_fmt_names[] = {
    [QT_CTL_FMT_TEXT] = "text",
    [QT_CTL_FMT_JSON] = "json",
    [QT_CTL_FMT_PROMETHEUS] = "prometheus",
};

/* Protocol names as conntrack -p takes them. */
static const struct {
	const char *name;
	uint8_t proto;
} ctl_protos[] = {
    {"tcp", IPPROTO_TCP},	  {"udp", IPPROTO_UDP},
    {"icmp", IPPROTO_ICMP},	  {"icmpv6", IPPROTO_ICMPV6},
    {"udplite", IPPROTO_UDPLITE}, {"sctp", IPPROTO_SCTP},
    {"dccp", IPPROTO_DCCP},	  {"gre", IPPROTO_GRE},
};

static int ctl_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ctl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Copy a value into a NUL-terminated scratch buffer; values longer than
 * any valid one are refused before they are looked at. */
static int ctl_value(char *dst, size_t dstlen, const char *v, size_t len)
{
	if (len == 0 || len >= dstlen)
		return -1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* Strict decimal: digits only, no sign, no leading blanks, <= @max. */
static int ctl_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0; /* wide enough that max = UINT32_MAX cannot wrap */

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

bool qt_ctl_proto_has_ports(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		return true;
	default:
		return false;
	}
}

static bool ctl_proto_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static int ctl_set_family(struct qt_ctl_filter *f, const char *v)
{
	if (!strcmp(v, "ipv4"))
		f->family = AF_INET;
	else if (!strcmp(v, "ipv6"))
		f->family = AF_INET6;
	else
		return -1;
	return 0;
}

static int ctl_set_proto(struct qt_ctl_filter *f, const char *v)
{
	uint32_t n;
	size_t i;

	for (i = 0; i < sizeof(ctl_protos) / sizeof(ctl_protos[0]); i++) {
		if (!strcasecmp(v, ctl_protos[i].name)) {
			f->proto = ctl_protos[i].proto;
			return 0;
		}
	}
	if (ctl_uint(v, 255, &n))
		return -1;
	f->proto = (uint8_t)n;
	return 0;
}

/* An address sets the family too; a later family= or the other address
 * must agree (checked in qt_ctlreq_check). */
static int ctl_set_addr(union qt_addr *a, uint8_t *family, const char *v)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, v, a->b) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, v, a->b) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* A state name of TCP, of SCTP or of both ("ESTABLISHED"): the protocol,
 * which may come later in the request, says which one applies. */
static int ctl_set_state(struct qt_ctl_filter *f, const char *v)
{
	int s;

	f->tcp_state = QT_TCP_STATE_MAX;
	f->sctp_state = QT_SCTP_STATE_MAX;
	for (s = 0; s < QT_TCP_STATE_MAX; s++)
		if (!strcasecmp(v, qt_tcp_state_name((enum qt_tcp_state)s)))
			f->tcp_state = (uint8_t)s;
	for (s = 0; s < QT_SCTP_STATE_MAX; s++)
		if (!strcasecmp(v, qt_sctp_state_name((enum qt_sctp_state)s)))
			f->sctp_state = (uint8_t)s;
	return f->tcp_state < QT_TCP_STATE_MAX ||
			       f->sctp_state < QT_SCTP_STATE_MAX ?
		       0 :
		       -1;
}

/* Every family the request names (family=, src=, dst=) must agree; the
 * first one fixes it. */
static int ctl_agree_family(struct qt_ctl_filter *f, uint8_t af)
{
	if ((f->have & QT_CTLF_FAMILY) && f->family != af)
		return -1;
	f->family = af;
	f->have |= QT_CTLF_FAMILY;
	return 0;
}

/* A 32-bit number, decimal or 0x hexadecimal, nothing else. */
static int ctl_u32(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	unsigned digit;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return ctl_uint(s, UINT32_MAX, out);
	s += 2;
	if (!*s || strlen(s) > 8)
		return -1;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = (unsigned)(*s - '0');
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			digit = (unsigned)((*s | 0x20) - 'a' + 10);
		else
			return -1;
		v = v << 4 | digit;
	}
	*out = v;
	return 0;
}

/* "VALUE" or "VALUE/MASK"; without a mask every bit is replaced. */
static int ctl_set_mark(struct qt_ctl_filter *f, char *v)
{
	char *slash = strchr(v, '/');

	f->mark_mask = UINT32_MAX;
	if (slash) {
		*slash = '\0';
		if (ctl_u32(slash + 1, &f->mark_mask))
			return -1;
	}
	return ctl_u32(v, &f->mark);
}

static int ctl_set_key(struct qt_ctl_filter *f, uint32_t bit, char *v)
{
	struct qt_ctl_filter tmp;
	uint8_t fam = 0;
	uint32_t n;

	switch (bit) {
	case QT_CTLF_FAMILY_KEY:
		tmp.family = 0;
		if (ctl_set_family(&tmp, v))
			return -1;
		return ctl_agree_family(f, tmp.family);
	case QT_CTLF_PROTO:
		return ctl_set_proto(f, v);
	case QT_CTLF_SRC:
		if (ctl_set_addr(&f->src, &fam, v))
			return -1;
		return ctl_agree_family(f, fam);
	case QT_CTLF_DST:
		if (ctl_set_addr(&f->dst, &fam, v))
			return -1;
		return ctl_agree_family(f, fam);
	case QT_CTLF_STATE:
		return ctl_set_state(f, v);
	case QT_CTLF_SPORT:
	case QT_CTLF_DPORT:
	case QT_CTLF_ID:
		if (ctl_uint(v, 65535, &n))
			return -1;
		if (bit == QT_CTLF_SPORT)
			f->sport = (uint16_t)n;
		else if (bit == QT_CTLF_DPORT)
			f->dport = (uint16_t)n;
		else
			f->icmp_id = (uint16_t)n;
		return 0;
	case QT_CTLF_CTID:
		return ctl_uint(v, UINT32_MAX, &f->ctid);
	case QT_CTLF_MARK:
		return ctl_set_mark(f, v);
	case QT_CTLF_TYPE:
	case QT_CTLF_CODE:
		if (ctl_uint(v, 255, &n))
			return -1;
		if (bit == QT_CTLF_TYPE)
			f->icmp_type = (uint8_t)n;
		else
			f->icmp_code = (uint8_t)n;
		return 0;
	}
	return -1;
}

static const struct {
	const char *name;
	uint32_t bit;
} ctl_keys[] = {
    {"family", QT_CTLF_FAMILY_KEY}, {"proto", QT_CTLF_PROTO},
    {"src", QT_CTLF_SRC},	    {"dst", QT_CTLF_DST},
    {"sport", QT_CTLF_SPORT},	    {"dport", QT_CTLF_DPORT},
    {"state", QT_CTLF_STATE},	    {"type", QT_CTLF_TYPE},
    {"code", QT_CTLF_CODE},	    {"id", QT_CTLF_ID},
    {"ctid", QT_CTLF_CTID},	    {"mark", QT_CTLF_MARK},
};

const char *qt_ctl_cmd_name(enum qt_ctl_cmd cmd)
{
	if ((unsigned)cmd >= QT_CTL_CMD_MAX)
		return NULL;
	return ctl_cmds[cmd].name;
}

void qt_ctlreq_init(struct qt_ctlreq *r, enum qt_ctl_cmd cmd)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
	r->fmt = QT_CTL_FMT_TEXT;
}

/* Print a word from the request safely inside an error message: at most
 * 32 bytes, anything unprintable as '?'. */
static void ctl_quote(char *dst, size_t dstlen, const char *w, size_t len)
{
	size_t i, n = len < 32 ? len : 32;

	if (n >= dstlen)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (w[i] > 0x20 && w[i] < 0x7f) ? w[i] : '?';
	dst[n] = '\0';
}

int qt_ctlreq_set(struct qt_ctlreq *r, const char *word, size_t len, char *err,
		  size_t errlen)
{
	const struct ctl_cmd_desc *cd;
	const char *eq;
	char q[40], v[64];
	size_t i, klen;

	if ((unsigned)r->cmd >= QT_CTL_CMD_MAX)
		return ctl_err(err, errlen, "bad command");
	cd = &ctl_cmds[r->cmd];
	ctl_quote(q, sizeof(q), word, len);

	eq = memchr(word, '=', len);
	if (!eq && len == 11 && !memcmp(word, "unconfirmed", 11)) {
		/* conntrack -L unconfirmed: the table word, not a filter. */
		if (!(cd->keys & QT_CTLF_UNCONFIRMED))
			return ctl_err(err, errlen, "%s does not take '%s'",
				       cd->name, q);
		r->f.have |= QT_CTLF_UNCONFIRMED;
		return 0;
	}
	if (!eq && len == 2 && !memcmp(word, "id", 2)) {
		/* conntrack -o id: each line ends with the entry's id. */
		if (!(cd->keys & QT_CTLF_SHOW_ID))
			return ctl_err(err, errlen, "%s does not take '%s'",
				       cd->name, q);
		r->f.have |= QT_CTLF_SHOW_ID;
		return 0;
	}
	if (!eq) {
		for (i = 0;
		     i < sizeof(ctl_fmt_names) / sizeof(ctl_fmt_names[0]);
		     i++) {
			if (strlen(ctl_fmt_names[i]) != len ||
			    memcmp(ctl_fmt_names[i], word, len))
				continue;
			if (i != QT_CTL_FMT_TEXT && !(cd->fmts & FMT_BIT(i)))
				return ctl_err(err, errlen,
					       "%s does not take format '%s'",
					       cd->name, q);
			r->fmt = (enum qt_ctl_fmt)i;
			return 0;
		}
		return ctl_err(err, errlen, "unknown word '%s'", q);
	}

	klen = (size_t)(eq - word);
	for (i = 0; i < sizeof(ctl_keys) / sizeof(ctl_keys[0]); i++) {
		if (strlen(ctl_keys[i].name) == klen &&
		    !memcmp(ctl_keys[i].name, word, klen))
			break;
	}
	if (i == sizeof(ctl_keys) / sizeof(ctl_keys[0]))
		return ctl_err(err, errlen, "unknown key '%s'", q);
	if (!(cd->keys & ctl_keys[i].bit))
		return ctl_err(err, errlen, "%s does not take '%s'", cd->name,
			       ctl_keys[i].name);
	if (r->f.have & ctl_keys[i].bit)
		return ctl_err(err, errlen, "'%s' given twice",
			       ctl_keys[i].name);
	if (ctl_value(v, sizeof(v), eq + 1, len - klen - 1) ||
	    ctl_set_key(&r->f, ctl_keys[i].bit, v))
		return ctl_err(err, errlen, "bad value in '%s'", q);
	r->f.have |= ctl_keys[i].bit;
	return 0;
}

int qt_ctlreq_check(const struct qt_ctlreq *r, char *err, size_t errlen)
{
	const struct qt_ctl_filter *f = &r->f;
	uint32_t need;

	if ((unsigned)r->cmd >= QT_CTL_CMD_MAX)
		return ctl_err(err, errlen, "bad command");
	if ((f->have & (QT_CTLF_SPORT | QT_CTLF_DPORT)) &&
	    (!(f->have & QT_CTLF_PROTO) || !qt_ctl_proto_has_ports(f->proto)))
		return ctl_err(err, errlen,
			       "sport/dport need proto=tcp|udp|udplite|sctp|"
			       "dccp");
	if ((f->have & (QT_CTLF_TYPE | QT_CTLF_CODE | QT_CTLF_ID)) &&
	    (!(f->have & QT_CTLF_PROTO) || !ctl_proto_is_icmp(f->proto)))
		return ctl_err(err, errlen,
			       "type/code/id need proto=icmp|icmpv6");
	if ((f->have & QT_CTLF_STATE) &&
	    (!(f->have & QT_CTLF_PROTO) ||
	     (f->proto != IPPROTO_TCP && f->proto != IPPROTO_SCTP)))
		return ctl_err(err, errlen, "state needs proto=tcp|sctp");
	if ((f->have & QT_CTLF_STATE) &&
	    ((f->proto == IPPROTO_TCP && f->tcp_state >= QT_TCP_STATE_MAX) ||
	     (f->proto == IPPROTO_SCTP && f->sctp_state >= QT_SCTP_STATE_MAX)))
		return ctl_err(err, errlen, "state: no such %s state",
			       f->proto == IPPROTO_TCP ? "TCP" : "SCTP");
	if (r->cmd == QT_CTL_UPDATE && !(f->have & QT_CTLF_MARK))
		return ctl_err(err, errlen, "update needs mark=VALUE[/MASK]");
	if (r->cmd != QT_CTL_DELETE && r->cmd != QT_CTL_UPDATE)
		return 0;

	need = QT_CTLF_PROTO | QT_CTLF_SRC | QT_CTLF_DST;
	if (f->have & QT_CTLF_PROTO) {
		if (qt_ctl_proto_has_ports(f->proto))
			need |= QT_CTLF_SPORT | QT_CTLF_DPORT;
		else if (ctl_proto_is_icmp(f->proto))
			need |= QT_CTLF_ID;
	}
	if ((f->have & need) != need)
		return ctl_err(err, errlen,
			       "%s needs proto, src, dst and ports "
			       "(or icmp id)",
			       ctl_cmds[r->cmd].name);
	return 0;
}

int qt_ctlreq_parse(struct qt_ctlreq *r, const char *line, size_t len,
		    char *err, size_t errlen)
{
	size_t i, start, wlen;
	bool first = true;
	int cmd;

	if (len >= QT_CTL_MAX_LINE)
		return ctl_err(err, errlen, "request too long");
	if (len && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
			return ctl_err(err, errlen, "bad character in request");
	}

	memset(r, 0, sizeof(*r));
	i = 0;
	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		wlen = i - start;
		if (!first) {
			if (qt_ctlreq_set(r, line + start, wlen, err, errlen))
				return -1;
			continue;
		}
		for (cmd = 0; cmd < QT_CTL_CMD_MAX; cmd++) {
			if (strlen(ctl_cmds[cmd].name) == wlen &&
			    !memcmp(ctl_cmds[cmd].name, line + start, wlen))
				break;
		}
		if (cmd == QT_CTL_CMD_MAX) {
			char q[40];

			ctl_quote(q, sizeof(q), line + start, wlen);
			return ctl_err(err, errlen, "unknown command '%s'", q);
		}
		qt_ctlreq_init(r, (enum qt_ctl_cmd)cmd);
		first = false;
	}
	if (first)
		return ctl_err(err, errlen, "empty request");
	return qt_ctlreq_check(r, err, errlen);
}

static const char *ctl_proto_text(uint8_t proto, char *num, size_t numlen)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_protos) / sizeof(ctl_protos[0]); i++)
		if (ctl_protos[i].proto == proto)
			return ctl_protos[i].name;
	snprintf(num, numlen, "%u", proto);
	return num;
}

size_t qt_ctlreq_format(const struct qt_ctlreq *r, char *buf, size_t len)
{
	const struct qt_ctl_filter *f = &r->f;
	char a[INET6_ADDRSTRLEN], num[8];
	size_t n = 0;
	int af = f->family == AF_INET6 ? AF_INET6 : AF_INET;

/* Append like snprintf, counting what would have been written. */
#define PUT(...)                                                               \
	do {                                                                   \
		int _w = snprintf(n < len ? buf + n : NULL,                    \
				  n < len ? len - n : 0, __VA_ARGS__);         \
		if (_w > 0)                                                    \
			n += (size_t)_w;                                       \
	} while (0)

	if (len)
		buf[0] = '\0';
	PUT("%s", qt_ctl_cmd_name(r->cmd) ? qt_ctl_cmd_name(r->cmd) : "?");
	if (r->fmt != QT_CTL_FMT_TEXT && (unsigned)r->fmt < 3)
		PUT(" %s", ctl_fmt_names[r->fmt]);
	if (f->have & QT_CTLF_UNCONFIRMED)
		PUT(" unconfirmed");
	if (f->have & QT_CTLF_SHOW_ID)
		PUT(" id");
	if (f->have & QT_CTLF_FAMILY_KEY)
		PUT(" family=%s", af == AF_INET6 ? "ipv6" : "ipv4");
	if (f->have & QT_CTLF_PROTO)
		PUT(" proto=%s", ctl_proto_text(f->proto, num, sizeof(num)));
	if (f->have & QT_CTLF_SRC)
		PUT(" src=%s", inet_ntop(af, f->src.b, a, sizeof(a)));
	if (f->have & QT_CTLF_DST)
		PUT(" dst=%s", inet_ntop(af, f->dst.b, a, sizeof(a)));
	if (f->have & QT_CTLF_SPORT)
		PUT(" sport=%u", f->sport);
	if (f->have & QT_CTLF_DPORT)
		PUT(" dport=%u", f->dport);
	if (f->have & QT_CTLF_STATE && f->proto == IPPROTO_SCTP &&
	    f->sctp_state < QT_SCTP_STATE_MAX)
		PUT(" state=%s",
		    qt_sctp_state_name((enum qt_sctp_state)f->sctp_state));
	else if (f->have & QT_CTLF_STATE && f->tcp_state < QT_TCP_STATE_MAX)
		PUT(" state=%s",
		    qt_tcp_state_name((enum qt_tcp_state)f->tcp_state));
	if (f->have & QT_CTLF_TYPE)
		PUT(" type=%u", f->icmp_type);
	if (f->have & QT_CTLF_CODE)
		PUT(" code=%u", f->icmp_code);
	if (f->have & QT_CTLF_ID)
		PUT(" id=%u", f->icmp_id);
	if (f->have & QT_CTLF_CTID)
		PUT(" ctid=%u", f->ctid);
	if (f->have & QT_CTLF_MARK)
		PUT(" mark=0x%x/0x%x", f->mark, f->mark_mask);
#undef PUT
	return n;
}

bool qt_ctlreq_match(const struct qt_ctl_filter *f, const struct qt_conn *ct)
{
	struct qt_tuple orig;
	const struct qt_tuple *t = &orig;

	if (!f->have)
		return true;
	qt_conn_tuple_orig(ct, &orig);
	if ((f->have & QT_CTLF_FAMILY) && t->family != f->family)
		return false;
	if ((f->have & QT_CTLF_PROTO) && t->proto != f->proto)
		return false;
	if ((f->have & QT_CTLF_CTID) && ct->id != f->ctid)
		return false;
	if ((f->have & QT_CTLF_SRC) && memcmp(&t->src, &f->src, sizeof(f->src)))
		return false;
	if ((f->have & QT_CTLF_DST) && memcmp(&t->dst, &f->dst, sizeof(f->dst)))
		return false;
	if (f->have & (QT_CTLF_SPORT | QT_CTLF_DPORT)) {
		if (!qt_ctl_proto_has_ports(t->proto))
			return false;
		if ((f->have & QT_CTLF_SPORT) && t->sport != f->sport)
			return false;
		if ((f->have & QT_CTLF_DPORT) && t->dport != f->dport)
			return false;
	}
	if (f->have & (QT_CTLF_TYPE | QT_CTLF_CODE | QT_CTLF_ID)) {
		if (!ctl_proto_is_icmp(t->proto))
			return false;
		if ((f->have & QT_CTLF_TYPE) && t->icmp.type != f->icmp_type)
			return false;
		if ((f->have & QT_CTLF_CODE) && t->icmp.code != f->icmp_code)
			return false;
		if ((f->have & QT_CTLF_ID) && t->icmp.id != f->icmp_id)
			return false;
	}
	if ((f->have & QT_CTLF_STATE) && t->proto == IPPROTO_SCTP)
		return ct->proto.sctp.state == f->sctp_state;
	if ((f->have & QT_CTLF_STATE) &&
	    (t->proto != IPPROTO_TCP || ct->proto.tcp.state != f->tcp_state))
		return false;
	return true;
}

void qt_ctlreq_tuple(const struct qt_ctl_filter *f, struct qt_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = f->family;
	t->proto = f->proto;
	t->src = f->src;
	t->dst = f->dst;
	if (qt_ctl_proto_has_ports(f->proto)) {
		t->sport = f->sport;
		t->dport = f->dport;
	} else if (ctl_proto_is_icmp(f->proto)) {
		/* An echo request unless told otherwise: what ping makes. */
		t->icmp.id = f->icmp_id;
		if (f->have & QT_CTLF_TYPE)
			t->icmp.type = f->icmp_type;
		else
			t->icmp.type = f->proto == IPPROTO_ICMP ? 8 : 128;
		t->icmp.code = f->icmp_code;
	}
}
