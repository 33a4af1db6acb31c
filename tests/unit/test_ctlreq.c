/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_ctlreq.c - the control socket's request parser, filter and
 * formatter (lib/ctlreq.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ctlreq.h"

static int parse(struct qt_ctlreq *r, const char *s, char *err, size_t n)
{
	return qt_ctlreq_parse(r, s, strlen(s), err, n);
}

static void expect_ok(const char *s, struct qt_ctlreq *r)
{
	char err[128] = "";

	if (parse(r, s, err, sizeof(err)))
		fail_msg("'%s' refused: %s", s, err);
}

static void expect_err(const char *s, const char *reason)
{
	struct qt_ctlreq r;
	char err[128] = "";

	if (!parse(&r, s, err, sizeof(err)))
		fail_msg("'%s' accepted", s);
	if (reason && !strstr(err, reason))
		fail_msg("'%s': '%s' does not say '%s'", s, err, reason);
}

static void test_commands(void **state)
{
	static const struct {
		const char *line;
		enum qt_ctl_cmd cmd;
		enum qt_ctl_fmt fmt;
	} ok[] = {
	    {"list", QT_CTL_LIST, QT_CTL_FMT_TEXT},
	    {"list json", QT_CTL_LIST, QT_CTL_FMT_JSON},
	    {"count", QT_CTL_COUNT, QT_CTL_FMT_TEXT},
	    {"stats", QT_CTL_STATS, QT_CTL_FMT_TEXT},
	    {"stats json", QT_CTL_STATS, QT_CTL_FMT_JSON},
	    {"stats prometheus", QT_CTL_STATS, QT_CTL_FMT_PROMETHEUS},
	    {"events", QT_CTL_EVENTS, QT_CTL_FMT_TEXT},
	    {"events json", QT_CTL_EVENTS, QT_CTL_FMT_JSON},
	    {"flush", QT_CTL_FLUSH, QT_CTL_FMT_TEXT},
	    {"expect", QT_CTL_EXPECT, QT_CTL_FMT_TEXT},
	    {"expect json", QT_CTL_EXPECT, QT_CTL_FMT_JSON},
	    {"reload", QT_CTL_RELOAD, QT_CTL_FMT_TEXT},
	    {"save", QT_CTL_SAVE, QT_CTL_FMT_TEXT},
	    {"  \tlist\t json  \r", QT_CTL_LIST, QT_CTL_FMT_JSON},
	    {"list text", QT_CTL_LIST, QT_CTL_FMT_TEXT},
	};
	struct qt_ctlreq r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		expect_ok(ok[i].line, &r);
		assert_int_equal(r.cmd, ok[i].cmd);
		assert_int_equal(r.fmt, ok[i].fmt);
		assert_int_equal(r.f.have, 0);
	}
}

static void test_refused(void **state)
{
	char big[QT_CTL_MAX_LINE + 8];

	(void)state;
	expect_err("", "empty");
	expect_err("   \t ", "empty");
	expect_err("lis", "unknown command");
	expect_err("LIST", "unknown command");
	expect_err("list xml", "unknown word");
	expect_err("count json", "does not take format");
	expect_err("flush json", "does not take format");
	expect_err("events prometheus", "does not take format");
	expect_err("list foo=1", "unknown key");
	expect_err("stats proto=tcp", "does not take");
	expect_err("flush proto=tcp", "does not take");
	expect_err("reload json", "does not take format");
	expect_err("reload proto=tcp", "does not take");
	expect_err("list proto=tcp proto=udp", "twice");
	expect_err("list proto=", "bad value");
	expect_err("list proto=256", "bad value");
	expect_err("list proto=bogus", "bad value");
	expect_err("list src=1.2.3", "bad value");
	expect_err("list src=1.2.3.4.5", "bad value");
	expect_err("list proto=tcp sport=65536", "bad value");
	expect_err("list proto=tcp sport=-1", "bad value");
	expect_err("list proto=tcp sport=+1", "bad value");
	expect_err("list proto=tcp sport=1x", "bad value");
	expect_err("list proto=tcp sport=99999999999999999999", "bad value");
	expect_err("list state=BOGUS proto=tcp", "bad value");
	expect_err("list sport=80", "sport/dport need");
	expect_err("list proto=icmp dport=80", "sport/dport need");
	expect_err("list proto=tcp type=8", "type/code/id need");
	expect_err("list state=ESTABLISHED", "state needs");
	expect_err("list proto=udp state=ESTABLISHED", "state needs");
	expect_err("list proto=gre state=ESTABLISHED", "state needs");
	expect_err("list proto=sctp state=TIME_WAIT", "no such SCTP state");
	expect_err("list state=COOKIE_WAIT proto=tcp", "no such TCP state");
	expect_err("list src=10.0.0.1 dst=::1", "bad value");
	expect_err("list family=ipv6 src=10.0.0.1", "bad value");
	expect_err("list src=10.0.0.1 family=ipv6", "bad value");
	expect_err("list family=ipv5", "bad value");
	expect_err("list family=ipv4 family=ipv4", "twice");
	expect_err("list\x01", "bad character");
	expect_err("list\xc3\xa9", "bad character");
	expect_err("list\nlist", "bad character");
	expect_err("delete proto=tcp src=1.1.1.1 dst=2.2.2.2", "delete needs");
	expect_err("delete proto=tcp src=1.1.1.1 sport=1 dport=2",
		   "delete needs");
	expect_err("delete proto=icmp src=1.1.1.1 dst=2.2.2.2", "delete needs");
	expect_err("delete proto=tcp state=CLOSE src=1.1.1.1 dst=2.2.2.2 "
		   "sport=1 dport=2",
		   "does not take");

	/* One byte under the limit leaves room for the newline only. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "list", 4);
	big[QT_CTL_MAX_LINE] = '\0';
	expect_err(big, "too long");
	big[QT_CTL_MAX_LINE - 1] = '\0';
	{
		struct qt_ctlreq r;

		expect_ok(big, &r);
		assert_int_equal(r.cmd, QT_CTL_LIST);
	}
}

static void test_filters(void **state)
{
	struct qt_ctlreq r;
	uint8_t a4[4], a6[16];

	(void)state;
	expect_ok("list proto=tcp src=192.0.2.1 dst=198.51.100.7 sport=1234 "
		  "dport=80 state=established",
		  &r);
	assert_int_equal(r.f.have, QT_CTLF_FAMILY | QT_CTLF_PROTO |
				       QT_CTLF_SRC | QT_CTLF_DST |
				       QT_CTLF_SPORT | QT_CTLF_DPORT |
				       QT_CTLF_STATE);
	assert_int_equal(r.f.family, AF_INET);
	assert_int_equal(r.f.proto, IPPROTO_TCP);
	inet_pton(AF_INET, "192.0.2.1", a4);
	assert_memory_equal(r.f.src.b, a4, 4);
	assert_int_equal(r.f.src.w[1] | r.f.src.w[2] | r.f.src.w[3], 0);
	assert_int_equal(r.f.sport, 1234);
	assert_int_equal(r.f.dport, 80);
	assert_int_equal(r.f.tcp_state, QT_TCP_ESTABLISHED);

	expect_ok("list family=ipv6 proto=58 dst=2001:db8::1 type=128 id=7",
		  &r);
	assert_int_equal(r.f.family, AF_INET6);
	assert_int_equal(r.f.proto, IPPROTO_ICMPV6);
	inet_pton(AF_INET6, "2001:db8::1", a6);
	assert_memory_equal(r.f.dst.b, a6, 16);
	assert_int_equal(r.f.icmp_type, 128);
	assert_int_equal(r.f.icmp_id, 7);

	/* "1::" stores like an IPv4 address in its first four bytes; the
	 * text decides the family. */
	expect_ok("list src=1::", &r);
	assert_int_equal(r.f.family, AF_INET6);
	expect_err("list src=1:: dst=0.1.0.0", "bad value");
}

/* Address stores of the IPv6 conns the tests make (one per conn alive). */
static struct qt_addr6pair addr6[4];
static unsigned naddr6;

static void conn_make(struct qt_conn *ct, const char *src, const char *dst,
		      uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct qt_tuple t = {0};
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	memset(ct, 0, sizeof(*ct));
	t.family = (uint8_t)af;
	t.proto = proto;
	inet_pton(af, src, t.src.b);
	inet_pton(af, dst, t.dst.b);
	t.sport = sport;
	t.dport = dport;
	/* The reply tuple is derived from this one (conn.h). */
	assert_int_equal(qt_conn_set_tuple(ct, &t,
					   &addr6[naddr6++ % 4]), 0);
}

static bool matches(const char *req, const struct qt_conn *ct)
{
	struct qt_ctlreq r;

	expect_ok(req, &r);
	return qt_ctlreq_match(&r.f, ct);
}

static void test_match(void **state)
{
	struct qt_conn tcp, udp6, icmp;

	(void)state;
	conn_make(&tcp, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 40000, 80);
	tcp.proto.tcp.state = QT_TCP_ESTABLISHED;
	conn_make(&udp6, "fd00::1", "fd00::2", IPPROTO_UDP, 5353, 53);
	conn_make(&icmp, "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0, 0);
	icmp.icmp.id = 99;
	icmp.icmp.type = 8;

	assert_true(matches("list", &tcp));
	assert_true(matches("list proto=tcp", &tcp));
	assert_false(matches("list proto=udp", &tcp));
	assert_true(matches("list src=10.0.0.1", &tcp));
	assert_false(matches("list src=10.0.0.2", &tcp));
	/* Filters look at the original direction only, like conntrack. */
	assert_false(matches("list dst=10.0.0.1", &tcp));
	assert_true(matches("list proto=tcp sport=40000 dport=80", &tcp));
	assert_false(matches("list proto=tcp sport=80", &tcp));
	assert_true(matches("list proto=tcp state=ESTABLISHED", &tcp));
	assert_false(matches("list proto=tcp state=TIME_WAIT", &tcp));
	assert_false(matches("list family=ipv6", &tcp));
	assert_true(matches("list family=ipv4", &tcp));

	/* SCTP: its own state names, ports. */
	{
		struct qt_conn sctp;

		conn_make(&sctp, "10.0.0.1", "10.0.0.2", IPPROTO_SCTP, 40000,
			  3868);
		sctp.proto.sctp.state = QT_SCTP_COOKIE_ECHOED;
		assert_true(matches("list proto=sctp dport=3868", &sctp));
		assert_true(matches("list state=cookie_echoed proto=sctp",
				    &sctp));
		assert_false(matches("list proto=sctp state=ESTABLISHED",
				     &sctp));
		sctp.proto.sctp.state = QT_SCTP_ESTABLISHED;
		assert_true(matches("list proto=sctp state=ESTABLISHED",
				    &sctp));
		assert_false(matches("list proto=tcp state=ESTABLISHED",
				     &sctp));
		assert_false(matches("list proto=sctp state=ESTABLISHED",
				     &tcp));
	}

	assert_true(matches("list family=ipv6", &udp6));
	assert_true(matches("list src=fd00::1 proto=udp dport=53", &udp6));
	assert_false(matches("list src=10.0.0.1", &udp6));

	assert_true(matches("list proto=icmp id=99 type=8", &icmp));
	assert_false(matches("list proto=icmp id=98", &icmp));
	/* Port filters never match a protocol without ports even when the
	 * identifier bits happen to be equal. */
	assert_false(matches("list proto=tcp sport=99", &icmp));
}

static void test_roundtrip(void **state)
{
	static const char *const lines[] = {
	    "list",
	    "list json family=ipv4",
	    "list proto=tcp src=10.0.0.1 dst=10.0.0.2 sport=1 dport=65535 "
	    "state=TIME_WAIT",
	    "count family=ipv6 proto=icmpv6 src=fd00::1 type=128 code=0 "
	    "id=65535",
	    "stats prometheus",
	    "events json",
	    "delete proto=udp src=::1 dst=::2 sport=53 dport=53",
	    "delete proto=icmp src=1.2.3.4 dst=4.3.2.1 id=5",
	    "list proto=200",
	    "list family=ipv6 proto=sctp",
	    "flush",
	    "expect",
	    "list id proto=tcp ctid=4294967295",
	    "delete id proto=icmp src=1.2.3.4 dst=4.3.2.1 id=5",
	    "update proto=tcp src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 "
	    "mark=0x10/0xff",
	};
	struct qt_ctlreq a, b;
	char buf[QT_CTL_MAX_LINE];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		expect_ok(lines[i], &a);
		n = qt_ctlreq_format(&a, buf, sizeof(buf));
		assert_true(n < sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_string_equal(buf, lines[i]);
		expect_ok(buf, &b);
		assert_memory_equal(&a, &b, sizeof(a));
	}

	/* A short buffer gets a terminated prefix and the full length. */
	expect_ok(lines[2], &a);
	n = qt_ctlreq_format(&a, buf, 10);
	assert_int_equal(n, strlen(lines[2]));
	assert_int_equal(strlen(buf), 9);
}

static void test_set_for_client(void **state)
{
	struct qt_ctlreq r;
	char err[128];

	(void)state;
	qt_ctlreq_init(&r, QT_CTL_LIST);
	assert_int_equal(qt_ctlreq_set(&r, "proto=tcp", 9, err, sizeof(err)),
			 0);
	/* The word need not be NUL-terminated at @len. */
	assert_int_equal(qt_ctlreq_set(&r, "dport=22xyz", 8, err, sizeof(err)),
			 0);
	assert_int_equal(r.f.dport, 22);
	assert_int_equal(qt_ctlreq_check(&r, err, sizeof(err)), 0);

	qt_ctlreq_init(&r, QT_CTL_LIST);
	assert_int_equal(qt_ctlreq_set(&r, "sport=1", 7, err, sizeof(err)), 0);
	assert_int_equal(qt_ctlreq_check(&r, err, sizeof(err)), -1);
}

static void test_tuple(void **state)
{
	struct qt_ctlreq r;
	struct qt_tuple t, want;

	(void)state;
	expect_ok("delete proto=tcp src=10.0.0.1 dst=10.0.0.2 sport=40000 "
		  "dport=80",
		  &r);
	qt_ctlreq_tuple(&r.f, &t);
	memset(&want, 0, sizeof(want));
	want.family = AF_INET;
	want.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.1", want.src.b);
	inet_pton(AF_INET, "10.0.0.2", want.dst.b);
	want.sport = 40000;
	want.dport = 80;
	assert_true(qt_tuple_equal(&t, &want));

	expect_ok("delete proto=icmp src=10.0.0.1 dst=10.0.0.2 id=7", &r);
	qt_ctlreq_tuple(&r.f, &t);
	assert_int_equal(t.icmp.type, 8);
	assert_int_equal(t.icmp.code, 0);
	assert_int_equal(t.icmp.id, 7);
	expect_ok("delete proto=icmpv6 src=::1 dst=::1 id=7", &r);
	qt_ctlreq_tuple(&r.f, &t);
	assert_int_equal(t.icmp.type, 128);
	assert_int_equal(t.family, AF_INET6);
}

/* update (conntrack -U): a whole tuple as delete, and the new mark. */
static void test_update(void **state)
{
	static const char tuple[] =
	    "update proto=tcp src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2";
	char line[256];
	struct qt_ctlreq r;
	struct qt_conn ct;

	(void)state;
	snprintf(line, sizeof(line), "%s mark=0x4200/0xff00", tuple);
	expect_ok(line, &r);
	assert_int_equal(r.cmd, QT_CTL_UPDATE);
	assert_int_equal(r.f.mark, 0x4200);
	assert_int_equal(r.f.mark_mask, 0xff00);
	/* Without a mask every bit is the new value's, as conntrack -U. */
	snprintf(line, sizeof(line), "%s mark=42 id", tuple);
	expect_ok(line, &r);
	assert_int_equal(r.f.mark, 42);
	assert_int_equal(r.f.mark_mask, 0xffffffff);
	assert_true(r.f.have & QT_CTLF_SHOW_ID);
	snprintf(line, sizeof(line), "%s mark=0xffffffff/0", tuple);
	expect_ok(line, &r);
	assert_int_equal(r.f.mark, 0xffffffff);
	assert_int_equal(r.f.mark_mask, 0);

	expect_err(tuple, "update needs mark");
	expect_err("update proto=tcp src=10.0.0.1 mark=1", "update needs proto");
	expect_err("update mark=1", "update needs proto");
	expect_err("list mark=1", "does not take");
	expect_err("delete proto=icmp src=1.2.3.4 dst=4.3.2.1 id=5 mark=1",
		   "does not take");
	snprintf(line, sizeof(line), "%s mark=0x1g", tuple);
	expect_err(line, "bad value");
	snprintf(line, sizeof(line), "%s mark=4294967296", tuple);
	expect_err(line, "bad value");
	snprintf(line, sizeof(line), "%s mark=0x123456789", tuple);
	expect_err(line, "bad value");
	snprintf(line, sizeof(line), "%s mark=1/", tuple);
	expect_err(line, "bad value");
	snprintf(line, sizeof(line), "%s mark=-1", tuple);
	expect_err(line, "bad value");
	snprintf(line, sizeof(line), "%s mark=1 mark=2", tuple);
	expect_err(line, "given twice");

	/* The id word (conntrack -o id) and the ctid= filter (--id). */
	expect_ok("list id", &r);
	assert_int_equal(r.f.have, QT_CTLF_SHOW_ID);
	expect_err("count id", "does not take");
	expect_err("stats id", "does not take");
	expect_err("delete ctid=1", "does not take");
	expect_err("list ctid=4294967296", "bad value");
	conn_make(&ct, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1, 2);
	ct.id = 77;
	assert_true(matches("list ctid=77", &ct));
	assert_true(matches("list id", &ct));
	assert_false(matches("list ctid=78", &ct));
	assert_false(matches("list ctid=77 proto=udp", &ct));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_set_for_client),
	    cmocka_unit_test(test_tuple),
	    cmocka_unit_test(test_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
