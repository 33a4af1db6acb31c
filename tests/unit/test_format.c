/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_format.c - qt_format_conn() against lines captured from the real
 * `conntrack -L` and `conntrack -E` (conntrack-tools 1.4.7,
 * libnetfilter_conntrack 1.0.9, Debian 12) in a network namespace, with
 * nf_conntrack_acct off and on.  The connections are rebuilt field by field
 * from what each captured line shows.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"

static void addr_set(int family, union qt_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(family, text, a->b), 1);
}

/* A connection between @src and @dst, as the trackers would leave it
 * (the reply tuple is derived from the original one, conn.h). */
/* The counters of the connection conn_make() made last (they live beside
 * the entry, conn.h). */
static struct qt_acct acct;

/* The IPv6 addresses of the conns conn_make() made (a few live at once). */
static struct qt_addr6pair addr6[4];
static unsigned naddr6;

static struct qt_conn conn_make(int family, uint8_t proto, const char *src,
				const char *dst, uint16_t sport, uint16_t dport)
{
	struct qt_conn ct;
	struct qt_tuple o = {0};

	memset(&ct, 0, sizeof(ct));
	memset(&acct, 0, sizeof(acct));
	o.family = (uint8_t)family;
	o.proto = proto;
	addr_set(family, &o.src, src);
	addr_set(family, &o.dst, dst);
	o.sport = sport;
	o.dport = dport;
	assert_int_equal(qt_conn_set_tuple(&ct, &o, &addr6[naddr6++ % 4]), 0);
	ct.status = QT_CONN_CONFIRMED;
	return ct;
}

static struct qt_conn conn_icmp(int family, uint8_t proto, const char *addr,
				uint8_t type, uint8_t rtype, uint16_t id)
{
	struct qt_conn ct = conn_make(family, proto, addr, addr, 0, 0);

	struct qt_tuple r;

	ct.icmp.type = type;
	ct.icmp.id = id;
	/* The tracker derives the reply type; check the test's idea of it. */
	qt_conn_tuple(&ct, QT_DIR_REPLY, &r);
	assert_int_equal(r.icmp.type, rtype);
	return ct;
}

static void expect_line(const struct qt_conn *ct, uint32_t timeout,
			bool accounting, const char *event,
			const char *expected)
{
	struct qt_format_opts o = {
	    .timeout = timeout,
	    .accounting = accounting,
	    .acct = &acct,
	    .event = event,
	};
	char buf[512];
	size_t n = qt_format_conn(ct, &o, buf, sizeof(buf));

	assert_string_equal(buf, expected);
	assert_int_equal(n, strlen(expected));
}

static void test_tcp(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1",
				      "127.0.0.1", 38436, 7777);

	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	expect_line(&ct, 431997, false, NULL,
		    "tcp      6 431997 ESTABLISHED src=127.0.0.1 "
		    "dst=127.0.0.1 sport=38436 dport=7777 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=7777 dport=38436 [ASSURED] mark=0 "
		    "use=1");

	ct = conn_make(AF_INET6, IPPROTO_TCP, "::1", "::1", 58768, 5556);
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_TIME_WAIT;
	expect_line(&ct, 116, false, NULL,
		    "tcp      6 116 TIME_WAIT src=::1 dst=::1 sport=58768 "
		    "dport=5556 src=::1 dst=::1 sport=5556 dport=58768 "
		    "[ASSURED] mark=0 use=1");
}

/* conntrack -o id: id=N after use=1, the last field. */
static void test_id(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1",
				      "127.0.0.1", 38436, 7777);
	struct qt_format_opts o = {.timeout = 60, .id = true};
	char buf[512];

	(void)state;
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	ct.mark = 0x4200;
	ct.id = 4294967295u;
	qt_format_conn(&ct, &o, buf, sizeof(buf));
	assert_string_equal(buf,
			    "tcp      6 60 ESTABLISHED src=127.0.0.1 "
			    "dst=127.0.0.1 sport=38436 dport=7777 "
			    "src=127.0.0.1 dst=127.0.0.1 sport=7777 "
			    "dport=38436 [ASSURED] mark=16896 use=1 "
			    "id=4294967295");
}

static void test_tcp_helper(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1",
				      "127.0.0.1", 51714, 21);

	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	ct.helper = 1; /* QT_HELPER_FTP */
	expect_line(&ct, 431997, false, NULL,
		    "tcp      6 431997 ESTABLISHED src=127.0.0.1 "
		    "dst=127.0.0.1 sport=51714 dport=21 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=21 dport=51714 [ASSURED] mark=0 "
		    "helper=ftp use=1");
}

static void test_udp(void **state)
{
	struct qt_conn ct =
	    conn_make(AF_INET6, IPPROTO_UDP, "::1", "::1", 41057, 9998);

	expect_line(&ct, 28, false, NULL,
		    "udp      17 28 src=::1 dst=::1 sport=41057 dport=9998 "
		    "[UNREPLIED] src=::1 dst=::1 sport=9998 dport=41057 "
		    "mark=0 use=1");

	ct = conn_make(AF_INET, IPPROTO_UDP, "127.0.0.1", "127.0.0.1", 55555,
		       9996);
	expect_line(&ct, 28, false, NULL,
		    "udp      17 28 src=127.0.0.1 dst=127.0.0.1 sport=55555 "
		    "dport=9996 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 "
		    "sport=9996 dport=55555 mark=0 use=1");

	/* A connmark-ed flow that saw replies. */
	ct = conn_make(AF_INET, IPPROTO_UDP, "127.0.0.1", "127.0.0.1", 4001,
		       4000);
	ct.status |= QT_CONN_SEEN_REPLY;
	ct.mark = 5;
	expect_line(&ct, 29, false, NULL,
		    "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=4001 "
		    "dport=4000 src=127.0.0.1 dst=127.0.0.1 sport=4000 "
		    "dport=4001 mark=5 use=1");
}

static void test_icmp(void **state)
{
	struct qt_conn ct =
	    conn_icmp(AF_INET, IPPROTO_ICMP, "127.0.0.1", 8, 0, 7487);

	ct.status |= QT_CONN_SEEN_REPLY;
	expect_line(&ct, 26, false, NULL,
		    "icmp     1 26 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 "
		    "id=7487 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 "
		    "id=7487 mark=0 use=1");

	ct = conn_icmp(AF_INET6, IPPROTO_ICMPV6, "::1", 128, 129, 7488);
	ct.status |= QT_CONN_SEEN_REPLY;
	expect_line(&ct, 26, false, NULL,
		    "icmpv6   58 26 src=::1 dst=::1 type=128 code=0 id=7488 "
		    "src=::1 dst=::1 type=129 code=0 id=7488 mark=0 use=1");
}

/* One tuple alone, as qtrackd's INVALID log lines print it: ICMP shows its
 * type, code and id, never the union's bytes read as ports. */
static void test_tuple(void **state)
{
	struct qt_tuple t = {0};
	char buf[128];

	(void)state;
	t.family = AF_INET;
	t.proto = IPPROTO_ICMP;
	addr_set(AF_INET, &t.src, "10.0.1.2");
	addr_set(AF_INET, &t.dst, "10.0.2.2");
	t.icmp.type = 8;
	t.icmp.code = 0;
	t.icmp.id = 10534;
	assert_int_equal(qt_format_tuple(&t, buf, sizeof(buf)),
			 strlen("src=10.0.1.2 dst=10.0.2.2 type=8 code=0 "
				"id=10534"));
	assert_string_equal(buf,
			    "src=10.0.1.2 dst=10.0.2.2 type=8 code=0 id=10534");
	t.proto = IPPROTO_TCP;
	t.sport = 40000;
	t.dport = 22;
	qt_format_tuple(&t, buf, sizeof(buf));
	assert_string_equal(buf, "src=10.0.1.2 dst=10.0.2.2 sport=40000 "
				 "dport=22");
	t.proto = 253;
	qt_format_tuple(&t, buf, sizeof(buf));
	assert_string_equal(buf, "src=10.0.1.2 dst=10.0.2.2");
	/* Cut short like snprintf: the length needed, a terminated prefix. */
	assert_int_equal(qt_format_tuple(&t, buf, 8),
			 strlen("src=10.0.1.2 dst=10.0.2.2"));
	assert_string_equal(buf, "src=10.");
}

static void test_generic(void **state)
{
	struct qt_conn ct = conn_make(AF_INET6, 253, "::1", "::1", 0, 0);

	expect_line(&ct, 599, false, NULL,
		    "unknown  253 599 src=::1 dst=::1 [UNREPLIED] src=::1 "
		    "dst=::1 mark=0 use=1");

	ct = conn_make(AF_INET, 253, "127.0.0.1", "127.0.0.1", 0, 0);
	expect_line(&ct, 599, false, NULL,
		    "unknown  253 599 src=127.0.0.1 dst=127.0.0.1 [UNREPLIED] "
		    "src=127.0.0.1 dst=127.0.0.1 mark=0 use=1");
}

static void test_accounting(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_UDP, "127.0.0.1",
				      "127.0.0.1", 41348, 9999);

	acct.packets[0] = 1;
	acct.bytes[0] = 31;
	expect_line(&ct, 28, true, NULL,
		    "udp      17 28 src=127.0.0.1 dst=127.0.0.1 sport=41348 "
		    "dport=9999 packets=1 bytes=31 [UNREPLIED] src=127.0.0.1 "
		    "dst=127.0.0.1 sport=9999 dport=41348 packets=0 bytes=0 "
		    "mark=0 use=1");

	ct = conn_icmp(AF_INET, IPPROTO_ICMP, "127.0.0.1", 8, 0, 7593);
	ct.status |= QT_CONN_SEEN_REPLY;
	acct.packets[0] = acct.packets[1] = 1;
	acct.bytes[0] = acct.bytes[1] = 84;
	expect_line(&ct, 26, true, NULL,
		    "icmp     1 26 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 "
		    "id=7593 packets=1 bytes=84 src=127.0.0.1 dst=127.0.0.1 "
		    "type=0 code=0 id=7593 packets=1 bytes=84 mark=0 use=1");

	ct = conn_icmp(AF_INET6, IPPROTO_ICMPV6, "::1", 128, 129, 7594);
	ct.status |= QT_CONN_SEEN_REPLY;
	acct.packets[0] = acct.packets[1] = 1;
	acct.bytes[0] = acct.bytes[1] = 104;
	expect_line(&ct, 26, true, NULL,
		    "icmpv6   58 26 src=::1 dst=::1 type=128 code=0 id=7594 "
		    "packets=1 bytes=104 src=::1 dst=::1 type=129 code=0 "
		    "id=7594 packets=1 bytes=104 mark=0 use=1");

	ct = conn_make(AF_INET6, 253, "::1", "::1", 0, 0);
	acct.packets[0] = 1;
	acct.bytes[0] = 50;
	expect_line(&ct, 599, true, NULL,
		    "unknown  253 599 src=::1 dst=::1 packets=1 bytes=50 "
		    "[UNREPLIED] src=::1 dst=::1 packets=0 bytes=0 mark=0 "
		    "use=1");

	ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 51718,
		       21);
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	ct.helper = 1;
	acct.packets[0] = 2;
	acct.bytes[0] = 112;
	acct.packets[1] = 1;
	acct.bytes[1] = 60;
	expect_line(&ct, 431997, true, NULL,
		    "tcp      6 431997 ESTABLISHED src=127.0.0.1 "
		    "dst=127.0.0.1 sport=51718 dport=21 packets=2 bytes=112 "
		    "src=127.0.0.1 dst=127.0.0.1 sport=21 dport=51718 "
		    "packets=1 bytes=60 [ASSURED] mark=0 helper=ftp use=1");

	ct = conn_make(AF_INET6, IPPROTO_TCP, "::1", "::1", 58782, 5556);
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_TIME_WAIT;
	acct.packets[0] = 5;
	acct.bytes[0] = 371;
	acct.packets[1] = 3;
	acct.bytes[1] = 224;
	expect_line(&ct, 116, true, NULL,
		    "tcp      6 116 TIME_WAIT src=::1 dst=::1 sport=58782 "
		    "dport=5556 packets=5 bytes=371 src=::1 dst=::1 "
		    "sport=5556 dport=58782 packets=3 bytes=224 [ASSURED] "
		    "mark=0 use=1");
}

/* An offloaded entry: "[OFFLOAD]" where "[ASSURED]" was, as
 * libnetfilter_conntrack prints a flowtable entry (after the reply tuple
 * and its counters, before mark=). */
static void test_offload(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_UDP, "10.0.1.2",
				      "10.0.2.2", 40000, 53);
	struct qt_format_opts o = {
	    .timeout = 170, .accounting = true, .acct = &acct, .offload = true,
	};
	char buf[512];

	(void)state;
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	acct.packets[0] = 9;
	acct.bytes[0] = 900;
	acct.packets[1] = 8;
	acct.bytes[1] = 800;
	qt_format_conn(&ct, &o, buf, sizeof(buf));
	assert_string_equal(buf,
		"udp      17 170 src=10.0.1.2 dst=10.0.2.2 sport=40000 "
		"dport=53 packets=9 bytes=900 src=10.0.2.2 dst=10.0.1.2 "
		"sport=53 dport=40000 packets=8 bytes=800 [OFFLOAD] mark=0 "
		"use=1");
	qt_format_conn_json(&ct, &o, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"assured\":true,\"offload\":true,"
				    "\"mark\":0,"));
}

/* conntrack -E: the tag right-aligned in nine columns, no use count, the
 * mark only when set. */
static void test_events(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1",
				      "127.0.0.1", 46548, 5555);

	ct.proto.tcp.state = QT_TCP_SYN_SENT;
	expect_line(&ct, 120, false, "NEW",
		    "    [NEW] tcp      6 120 SYN_SENT src=127.0.0.1 "
		    "dst=127.0.0.1 sport=46548 dport=5555 [UNREPLIED] "
		    "src=127.0.0.1 dst=127.0.0.1 sport=5555 dport=46548");

	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	expect_line(&ct, 432000, false, "UPDATE",
		    " [UPDATE] tcp      6 432000 ESTABLISHED src=127.0.0.1 "
		    "dst=127.0.0.1 sport=46548 dport=5555 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=5555 dport=46548 [ASSURED]");

	ct = conn_make(AF_INET, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 51718,
		       21);
	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	ct.helper = 1;
	expect_line(&ct, 432000, false, "UPDATE",
		    " [UPDATE] tcp      6 432000 ESTABLISHED src=127.0.0.1 "
		    "dst=127.0.0.1 sport=51718 dport=21 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=21 dport=51718 [ASSURED] "
		    "helper=ftp");

	ct = conn_make(AF_INET, IPPROTO_UDP, "127.0.0.1", "127.0.0.1", 4001,
		       4000);
	ct.mark = 5;
	expect_line(&ct, 30, false, "NEW",
		    "    [NEW] udp      17 30 src=127.0.0.1 dst=127.0.0.1 "
		    "sport=4001 dport=4000 [UNREPLIED] src=127.0.0.1 "
		    "dst=127.0.0.1 sport=4000 dport=4001 mark=5");

	/* The kernel appended "[USERSPACE] portid=N" because conntrack -F
	 * deleted it; an expiry has neither. */
	ct.status |= QT_CONN_SEEN_REPLY;
	acct.packets[0] = acct.packets[1] = 3;
	acct.bytes[0] = acct.bytes[1] = 87;
	expect_line(&ct, 29, true, "DESTROY",
		    "[DESTROY] udp      17 29 src=127.0.0.1 dst=127.0.0.1 "
		    "sport=4001 dport=4000 packets=3 bytes=87 src=127.0.0.1 "
		    "dst=127.0.0.1 sport=4000 dport=4001 packets=3 bytes=87 "
		    "mark=5");

	ct = conn_icmp(AF_INET6, IPPROTO_ICMPV6, "::1", 128, 129, 7594);
	expect_line(&ct, 30, false, "NEW",
		    "    [NEW] icmpv6   58 30 src=::1 dst=::1 type=128 code=0 "
		    "id=7594 [UNREPLIED] src=::1 dst=::1 type=129 code=0 "
		    "id=7594");
}

/* Like snprintf: the length needed comes back whatever the buffer. */
static void test_truncation(void **state)
{
	struct qt_conn ct = conn_make(AF_INET6, 253, "::1", "::1", 0, 0);
	struct qt_format_opts o = {.timeout = 599};
	const char *full = "unknown  253 599 src=::1 dst=::1 [UNREPLIED] "
			   "src=::1 dst=::1 mark=0 use=1";
	char buf[128];
	size_t n;

	n = qt_format_conn(&ct, &o, buf, 10);
	assert_int_equal(n, strlen(full));
	assert_string_equal(buf, "unknown  ");
	n = qt_format_conn(&ct, &o, buf, strlen(full) + 1);
	assert_int_equal(n, strlen(full));
	assert_string_equal(buf, full);
	n = qt_format_conn(&ct, &o, NULL, 0);
	assert_int_equal(n, strlen(full));
}

static void test_addr(void **state)
{
	union qt_addr a;
	char buf[64];

	addr_set(AF_INET6, &a, "2001:db8:0:0:1:0:0:1");
	assert_int_equal(qt_format_addr(AF_INET6, &a, buf, sizeof(buf)),
			 strlen("2001:db8::1:0:0:1"));
	assert_string_equal(buf, "2001:db8::1:0:0:1");
	addr_set(AF_INET6, &a, "::ffff:192.0.2.1");
	qt_format_addr(AF_INET6, &a, buf, sizeof(buf));
	assert_string_equal(buf, "::ffff:192.0.2.1");
	addr_set(AF_INET, &a, "192.0.2.200");
	assert_int_equal(qt_format_addr(AF_INET, &a, buf, 4), 11);
	assert_string_equal(buf, "192");
}

static void test_json(void **state)
{
	struct qt_conn ct = conn_make(AF_INET, IPPROTO_TCP, "192.0.2.1",
				      "198.51.100.2", 40000, 21);
	struct qt_format_opts o = {
	    .timeout = 431999, .accounting = true, .acct = &acct};
	char buf[1024];
	size_t n;

	ct.status |= QT_CONN_SEEN_REPLY | QT_CONN_ASSURED;
	ct.proto.tcp.state = QT_TCP_ESTABLISHED;
	ct.helper = 1;
	ct.id = 77;
	ct.mark = 3;
	acct.packets[0] = 2;
	acct.bytes[0] = 112;
	n = qt_format_conn_json(&ct, &o, buf, sizeof(buf));
	assert_string_equal(
	    buf, "{\"family\":\"ipv4\",\"proto\":\"tcp\",\"protonum\":6,"
		 "\"timeout\":431999,\"state\":\"ESTABLISHED\","
		 "\"orig\":{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.2\","
		 "\"sport\":40000,\"dport\":21,\"packets\":2,\"bytes\":112},"
		 "\"reply\":{\"src\":\"198.51.100.2\",\"dst\":\"192.0.2.1\","
		 "\"sport\":21,\"dport\":40000,\"packets\":0,\"bytes\":0},"
		 "\"unreplied\":false,\"assured\":true,\"mark\":3,\"use\":1,"
		 "\"id\":77,\"helper\":\"ftp\"}");
	assert_int_equal(n, strlen(buf));

	ct = conn_icmp(AF_INET6, IPPROTO_ICMPV6, "::1", 128, 129, 9);
	o.accounting = false;
	o.event = "NEW";
	o.timeout = 30;
	qt_format_conn_json(&ct, &o, buf, sizeof(buf));
	assert_string_equal(
	    buf, "{\"event\":\"NEW\",\"family\":\"ipv6\",\"proto\":\"icmpv6\","
		 "\"protonum\":58,\"timeout\":30,\"state\":null,"
		 "\"orig\":{\"src\":\"::1\",\"dst\":\"::1\",\"type\":128,"
		 "\"code\":0,\"id\":9},"
		 "\"reply\":{\"src\":\"::1\",\"dst\":\"::1\",\"type\":129,"
		 "\"code\":0,\"id\":9},"
		 "\"unreplied\":true,\"assured\":false,\"mark\":0,\"use\":1,"
		 "\"id\":0,\"helper\":null}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_tcp_helper),
	    cmocka_unit_test(test_udp),	    cmocka_unit_test(test_icmp),
	    cmocka_unit_test(test_tuple),
	    cmocka_unit_test(test_generic), cmocka_unit_test(test_accounting),
	    cmocka_unit_test(test_events),  cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_offload),
	    cmocka_unit_test(test_addr),    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
