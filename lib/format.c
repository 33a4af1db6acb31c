/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format.c - connections as text, field for field as conntrack-tools
 * prints them (libnetfilter_conntrack's default output), and as JSON.
 *
 * The line is, with optional parts in brackets:
 *
 *   [EVENT ]proto num timeout [STATE ]ORIG [packets= bytes= ][[UNREPLIED] ]
 *   REPLY [packets= bytes= ][[OFFLOAD] |[ASSURED] ]mark=N [helper=NAME ]use=1
 *   [ id=N]
 *
 * where an offloaded entry shows "[OFFLOAD]" instead of "[ASSURED]", as
 * libnetfilter_conntrack does for an entry in the kernel's flowtable;
 * EVENT is "[NEW]", "[UPDATE]" or "[DESTROY]" right-aligned in nine
 * columns.  Event lines follow what the kernel puts into an event message:
 * no use count, and the mark only when it is not zero.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "helper.h"
#include "strbuf.h"
#include "proto.h"

static void fmt_init(struct qt_strbuf *o, char *buf, size_t len)
{
	o->buf = buf;
	o->len = len;
	o->n = 0;
	if (len)
		buf[0] = '\0';
}

size_t qt_format_addr(int family, const union qt_addr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a->b, text,
		       sizeof(text)))
		text[0] = '\0';
	return (size_t)snprintf(buf, len, "%s", text);
}

/* Which identifiers the kernel prints for a protocol. */
enum fmt_l4 {
	FMT_L4_NONE,
	FMT_L4_PORTS,
	FMT_L4_ICMP,
	FMT_L4_GRE,
};

static enum fmt_l4 fmt_l4_kind(const struct qt_tuple *t)
{
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		return FMT_L4_PORTS;
	case IPPROTO_GRE:
		return FMT_L4_GRE;
	case IPPROTO_UDPLITE:
	case IPPROTO_DCCP:
		/* These have ports in the kernel; the generic tracker keeps
		 * them zero, and then "sport=0" would be a lie. */
		return t->l4 ? FMT_L4_PORTS : FMT_L4_NONE;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return FMT_L4_ICMP;
	default:
		return FMT_L4_NONE;
	}
}

static const char *fmt_state(const struct qt_conn *ct)
{
	const struct qt_proto_ops *ops = qt_proto_find(qt_conn_l4proto(ct));

	if (ops && ops->proto == qt_conn_l4proto(ct) && ops->state_name)
		return ops->state_name(ct);
	return NULL;
}

/* The helper's name (helper.h), NULL for none. */
static const char *fmt_helper(const struct qt_conn *ct)
{
	const struct qt_helper_ops *h = qt_helper_find(ct->helper);

	if (h)
		return h->name;
	return ct->helper ? "unknown" : NULL;
}

static void fmt_tuple(struct qt_strbuf *o, const struct qt_tuple *t)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	qt_format_addr(t->family, &t->src, src, sizeof(src));
	qt_format_addr(t->family, &t->dst, dst, sizeof(dst));
	qt_strbuf_printf(o, "src=%s dst=%s ", src, dst);
	switch (fmt_l4_kind(t)) {
	case FMT_L4_PORTS:
		qt_strbuf_printf(o, "sport=%u dport=%u ", t->sport, t->dport);
		break;
	case FMT_L4_ICMP:
		qt_strbuf_printf(o, "type=%u code=%u id=%u ", t->icmp.type, t->icmp.code,
			t->icmp.id);
		break;
	case FMT_L4_GRE:
		qt_strbuf_printf(o, "srckey=0x%x dstkey=0x%x ", t->sport,
			t->dport);
		break;
	case FMT_L4_NONE:
		break;
	}
}

size_t qt_format_tuple(const struct qt_tuple *t, char *buf, size_t len)
{
	struct qt_strbuf out;

	fmt_init(&out, buf, len);
	fmt_tuple(&out, t);
	/* Every field ends in a blank; drop the last one. */
	if (out.n <= len)
		buf[out.n - 1] = '\0';
	return out.n - 1;
}

size_t qt_format_conn(const struct qt_conn *ct, const struct qt_format_opts *o,
		      char *buf, size_t len)
{
	uint8_t proto = qt_conn_l4proto(ct);
	const char *state = fmt_state(ct);
	const char *helper = fmt_helper(ct);
	struct qt_strbuf out;
	int dir;

	fmt_init(&out, buf, len);
	if (o->event) {
		char tag[16];

		snprintf(tag, sizeof(tag), "[%s]", o->event);
		qt_strbuf_printf(&out, "%9s ", tag);
	}
	qt_strbuf_printf(&out, "%-8s %u %" PRIu32 " ", qt_proto_name(proto),
		proto, o->timeout);
	if (state)
		qt_strbuf_printf(&out, "%s ", state);
	for (dir = QT_DIR_ORIG; dir <= QT_DIR_REPLY; dir++) {
		struct qt_tuple t;

		qt_conn_tuple(ct, (enum qt_dir)dir, &t);
		fmt_tuple(&out, &t);
		if (o->accounting)
			qt_strbuf_printf(&out, "packets=%" PRIu64 " bytes=%" PRIu64 " ",
				o->acct ? o->acct->packets[dir] : 0,
				o->acct ? o->acct->bytes[dir] : 0);
		if (dir == QT_DIR_ORIG && !(ct->status & QT_CONN_SEEN_REPLY))
			qt_strbuf_printf(&out, "[UNREPLIED] ");
	}
	if (o->offload)
		qt_strbuf_printf(&out, "[OFFLOAD] ");
	else if (ct->status & QT_CONN_ASSURED)
		qt_strbuf_printf(&out, "[ASSURED] ");
	if (!o->event || ct->mark)
		qt_strbuf_printf(&out, "mark=%" PRIu32 " ", ct->mark);
	if (helper)
		qt_strbuf_printf(&out, "helper=%s ", helper);
	if (!o->event)
		qt_strbuf_printf(&out, "use=1 ");
	if (o->id)
		qt_strbuf_printf(&out, "id=%" PRIu32 " ", ct->id);

	/* Every field ends in a blank; conntrack prints none at the end. */
	if (out.n <= len)
		buf[out.n - 1] = '\0';
	return out.n - 1;
}

/* A JSON string; the values printed are names and addresses, but escape
 * anyway so the output stays valid whatever a name holds. */
static void fmt_json_str(struct qt_strbuf *o, const char *s)
{
	qt_strbuf_printf(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			qt_strbuf_printf(o, "\\%c", ch);
		else if (ch < 0x20)
			qt_strbuf_printf(o, "\\u%04x", ch);
		else
			qt_strbuf_printf(o, "%c", ch);
	}
	qt_strbuf_printf(o, "\"");
}

static void fmt_json_dir(struct qt_strbuf *o, const struct qt_conn *ct, int dir,
			 const struct qt_format_opts *opts)
{
	struct qt_tuple tuple;
	const struct qt_tuple *t = &tuple;
	char addr[INET6_ADDRSTRLEN];

	qt_conn_tuple(ct, (enum qt_dir)dir, &tuple);
	qt_strbuf_printf(o, "{\"src\":");
	qt_format_addr(t->family, &t->src, addr, sizeof(addr));
	fmt_json_str(o, addr);
	qt_strbuf_printf(o, ",\"dst\":");
	qt_format_addr(t->family, &t->dst, addr, sizeof(addr));
	fmt_json_str(o, addr);
	switch (fmt_l4_kind(t)) {
	case FMT_L4_PORTS:
		qt_strbuf_printf(o, ",\"sport\":%u,\"dport\":%u", t->sport, t->dport);
		break;
	case FMT_L4_ICMP:
		qt_strbuf_printf(o, ",\"type\":%u,\"code\":%u,\"id\":%u", t->icmp.type,
			t->icmp.code, t->icmp.id);
		break;
	case FMT_L4_GRE:
		qt_strbuf_printf(o, ",\"srckey\":%u,\"dstkey\":%u", t->sport,
			t->dport);
		break;
	case FMT_L4_NONE:
		break;
	}
	if (opts->accounting)
		qt_strbuf_printf(o, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64,
			opts->acct ? opts->acct->packets[dir] : 0,
			opts->acct ? opts->acct->bytes[dir] : 0);
	qt_strbuf_printf(o, "}");
}

size_t qt_format_conn_json(const struct qt_conn *ct,
			   const struct qt_format_opts *o, char *buf,
			   size_t len)
{
	uint8_t proto = qt_conn_l4proto(ct);
	const char *state = fmt_state(ct);
	const char *helper = fmt_helper(ct);
	struct qt_strbuf out;

	fmt_init(&out, buf, len);
	qt_strbuf_printf(&out, "{");
	if (o->event) {
		qt_strbuf_printf(&out, "\"event\":");
		fmt_json_str(&out, o->event);
		qt_strbuf_printf(&out, ",");
	}
	qt_strbuf_printf(&out, "\"family\":\"%s\",\"proto\":",
		qt_conn_family(ct) == AF_INET6 ? "ipv6" : "ipv4");
	fmt_json_str(&out, qt_proto_name(proto));
	qt_strbuf_printf(&out, ",\"protonum\":%u,\"timeout\":%" PRIu32 ",\"state\":",
		proto, o->timeout);
	if (state)
		fmt_json_str(&out, state);
	else
		qt_strbuf_printf(&out, "null");
	qt_strbuf_printf(&out, ",\"orig\":");
	fmt_json_dir(&out, ct, QT_DIR_ORIG, o);
	qt_strbuf_printf(&out, ",\"reply\":");
	fmt_json_dir(&out, ct, QT_DIR_REPLY, o);
	qt_strbuf_printf(&out,
		",\"unreplied\":%s,\"assured\":%s,%s\"mark\":%" PRIu32
		",\"use\":1,\"id\":%" PRIu32 ",\"helper\":",
		ct->status & QT_CONN_SEEN_REPLY ? "false" : "true",
		ct->status & QT_CONN_ASSURED ? "true" : "false",
		o->offload ? "\"offload\":true," : "", ct->mark,
		ct->id);
	if (helper)
		fmt_json_str(&out, helper);
	else
		qt_strbuf_printf(&out, "null");
	qt_strbuf_printf(&out, "}");
	return out.n;
}
