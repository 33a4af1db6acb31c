// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_helper_ftp.c - the FTP helper: the command parsers on valid,
 * truncated and hostile input, and whole FTP sessions through the engine
 * (passive and active, IPv4 and IPv6): the data connection is RELATED
 * only when the helper is on and the announcement is genuine, inherits
 * the connmark, and its expectation goes with its master, its timeout
 * and the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "expect.h"
#include "format.h"
#include "pktbuild.h"
#include "qtrack.h"

/* ---- the parsers --------------------------------------------------- */

/* Parse @text from an exactly sized heap copy, so a sanitizer build
 * catches any read past its end. */
static int parse_n(const char *text, size_t len, enum qt_dir dir, int family,
		   struct qt_ftp_cmd *cmd)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	r = qt_ftp_parse(copy, len, dir, family, cmd);
	free(copy);
	return r;
}

static int parse(const char *text, enum qt_dir dir, int family,
		 struct qt_ftp_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	return parse_n(text, strlen(text), dir, family, cmd);
}

static void assert_v4(const struct qt_ftp_cmd *c, uint8_t a, uint8_t b,
		      uint8_t cc, uint8_t d)
{
	assert_int_equal(c->addr.b[0], a);
	assert_int_equal(c->addr.b[1], b);
	assert_int_equal(c->addr.b[2], cc);
	assert_int_equal(c->addr.b[3], d);
}

static void test_parse_valid(void **state)
{
	static const uint8_t v6[16] = {0xfd, 0, 0, 1, [15] = 2};
	struct qt_ftp_cmd c;

	(void)state;
	assert_int_equal(
	    parse("PORT 10,0,1,2,19,137\r\n", QT_DIR_ORIG, AF_INET, &c), 1);
	assert_int_equal(c.type, QT_FTP_PORT);
	assert_v4(&c, 10, 0, 1, 2);
	assert_int_equal(c.port, 19 * 256 + 137);

	/* Commands are case-blind; leading zeros are fine. */
	assert_int_equal(
	    parse("port 010,0,1,002,0,21\r\n", QT_DIR_ORIG, AF_INET, &c), 1);
	assert_v4(&c, 10, 0, 1, 2);
	assert_int_equal(c.port, 21);

	assert_int_equal(
	    parse("EPRT |1|10.0.1.2|6275|\r\n", QT_DIR_ORIG, AF_INET, &c), 1);
	assert_int_equal(c.type, QT_FTP_EPRT);
	assert_v4(&c, 10, 0, 1, 2);
	assert_int_equal(c.port, 6275);

	/* Any printable non-digit delimiter. */
	assert_int_equal(
	    parse("EPRT !2!fd00:1::2!40000!\r\n", QT_DIR_ORIG, AF_INET6, &c),
	    1);
	assert_memory_equal(c.addr.b, v6, 16);
	assert_int_equal(c.port, 40000);

	assert_int_equal(parse("227 Entering Passive Mode (10,0,2,2,195,80)."
			       "\r\n",
			       QT_DIR_REPLY, AF_INET, &c),
			 1);
	assert_int_equal(c.type, QT_FTP_PASV);
	assert_v4(&c, 10, 0, 2, 2);
	assert_int_equal(c.port, 50000);

	/* RFC 1123: the parentheses may be missing. */
	assert_int_equal(
	    parse("227 =10,0,2,2,195,81\r\n", QT_DIR_REPLY, AF_INET, &c), 1);
	assert_int_equal(c.port, 50001);

	/* 229 names no address: the caller's preset stays. */
	memset(&c, 0, sizeof(c));
	c.addr.b[0] = 7;
	assert_int_equal(parse_n("229 Entering Extended Passive Mode "
				 "(|||6446|)\r\n",
				 45, QT_DIR_REPLY, AF_INET6, &c),
			 1);
	assert_int_equal(c.type, QT_FTP_EPSV);
	assert_int_equal(c.port, 6446);
	assert_int_equal(c.addr.b[0], 7);
}

/* What each side may not say: server replies from the client, client
 * commands from the server, and things that are not commands. */
static void test_parse_not_commands(void **state)
{
	struct qt_ftp_cmd c;

	(void)state;
	assert_int_equal(parse("227 Entering Passive Mode (10,0,2,2,1,1)\r\n",
			       QT_DIR_ORIG, AF_INET, &c),
			 0);
	assert_int_equal(
	    parse("PORT 10,0,1,2,1,1\r\n", QT_DIR_REPLY, AF_INET, &c), 0);
	assert_int_equal(parse("USER anonymous\r\n", QT_DIR_ORIG, AF_INET, &c),
			 0);
	assert_int_equal(parse("PASV\r\n", QT_DIR_ORIG, AF_INET, &c), 0);
	assert_int_equal(
	    parse("POST 10,0,1,2,1,1\r\n", QT_DIR_ORIG, AF_INET, &c), 0);
	/* Only at the start of the segment. */
	assert_int_equal(
	    parse(" PORT 10,0,1,2,1,1\r\n", QT_DIR_ORIG, AF_INET, &c), 0);
	assert_int_equal(parse("200 ok\r\n227 (10,0,2,2,1,1)\r\n", QT_DIR_REPLY,
			       AF_INET, &c),
			 0);
	assert_int_equal(
	    parse("227-(10,0,2,2,1,1)\r\n", QT_DIR_REPLY, AF_INET, &c), 0);
	/* A NUL inside the keyword is a different word. */
	assert_int_equal(
	    parse_n("P\0RT 10,0,1,2,1,1\r\n", 19, QT_DIR_ORIG, AF_INET, &c), 0);
}

/* A command cut short, as a segment ending early or a short capture
 * gives it: every proper prefix of a valid command is -1 or 0, never a
 * match. */
static void test_parse_truncated(void **state)
{
	static const struct {
		const char *text;
		enum qt_dir dir;
		int family;
	} cmds[] = {
	    {"PORT 10,0,1,2,19,137\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.2|6275|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |2|fd00:1::2|6275|\r\n", QT_DIR_ORIG, AF_INET6},
	    {"227 Passive (10,0,2,2,195,80)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 Extended (|||6446|)\r\n", QT_DIR_REPLY, AF_INET6},
	};
	struct qt_ftp_cmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t len = strlen(cmds[i].text);
		/* Complete once the character that ends the numbers is
		 * there: '\r' for PORT, the closing delimiter for EPRT and
		 * 229 (the ')' after it is not needed), ')' for 227 (any
		 * non-digit would do). */
		const char *end =
		    cmds[i].text[0] == 'P' ? strchr(cmds[i].text, '\r')
		    : cmds[i].text[0] == '2' && cmds[i].text[2] == '7'
			? strchr(cmds[i].text, ')')
			: strrchr(cmds[i].text, '|');
		size_t complete = (size_t)(end - cmds[i].text) + 1;

		for (size_t n = 1; n < len; n++) {
			int r = parse_n(cmds[i].text, n, cmds[i].dir,
					cmds[i].family, &c);

			if (n < complete)
				assert_int_equal(r, -1);
			else
				assert_int_equal(r, 1);
		}
		assert_int_equal(
		    parse_n(cmds[i].text, len, cmds[i].dir, cmds[i].family, &c),
		    1);
	}
}

static void test_parse_hostile(void **state)
{
	static const struct {
		const char *text;
		enum qt_dir dir;
		int family;
	} bad[] = {
	    /* numbers beyond 255, too few, too many, no terminator */
	    {"PORT 256,0,1,2,19,137\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 10,0,1,2,19,1370\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 10,0,1,2,19\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 10,0,1,2,19,137,5\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 10,0,1,2,19,137\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 10,0,1,2,19,137 \r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT -10,0,1,2,19,137\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT\r\n", QT_DIR_ORIG, AF_INET},
	    {"PORT 99999999999999999999999999999999,0,1,2,1,1\r\n", QT_DIR_ORIG,
	     AF_INET},
	    /* EPRT: wrong family, bad delimiter, port 0, port too big,
	     * port runs on, address garbage, huge digits */
	    {"EPRT |2|fd00::1|6275|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.2|6275|\r\n", QT_DIR_ORIG, AF_INET6},
	    {"EPRT 1110.0.1.2162751\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT  1 10.0.1.2 6275 \r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.2|0|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.2|65536|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.2|6275\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1.256|6275|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |1|10.0.1|6275|\r\n", QT_DIR_ORIG, AF_INET},
	    {"EPRT |2|fd00:::1|6275|\r\n", QT_DIR_ORIG, AF_INET6},
	    {"EPRT |2|fd00::1%eth0|6275|\r\n", QT_DIR_ORIG, AF_INET6},
	    {"EPRT |2|1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1|"
	     "1|\r\n",
	     QT_DIR_ORIG, AF_INET6},
	    {"EPRT |2||6275|\r\n", QT_DIR_ORIG, AF_INET6},
	    {"EPRT |1|10.0.1.2|99999999999999999999999999|\r\n", QT_DIR_ORIG,
	     AF_INET},
	    /* 227 without numbers or with too few */
	    {"227 Entering Passive Mode\r\n", QT_DIR_REPLY, AF_INET},
	    {"227 Entering Passive Mode (10,0,2,2,195)\r\n", QT_DIR_REPLY,
	     AF_INET},
	    {"227 (300,0,2,2,195,80)\r\n", QT_DIR_REPLY, AF_INET},
	    /* 229 without '(' or with bad delimiters, port 0, overflow */
	    {"229 Extended |||6446|\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (||6446|)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (1116446)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (|||0|)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (|||65536|)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (|||4294967297|)\r\n", QT_DIR_REPLY, AF_INET},
	    {"229 (|||6446)\r\n", QT_DIR_REPLY, AF_INET},
	};
	struct qt_ftp_cmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].text, bad[i].dir, bad[i].family, &c);

		if (r != -1)
			fail_msg("\"%s\": %d, want -1", bad[i].text, r);
	}
	/* Embedded NULs in the numbers. */
	assert_int_equal(
	    parse_n("PORT 10,0\0,1,2,19,137\r\n", 23, QT_DIR_ORIG, AF_INET, &c),
	    -1);
	assert_int_equal(
	    parse_n("229 (|||64\0|)\r\n", 15, QT_DIR_REPLY, AF_INET, &c), -1);
	assert_int_equal(
	    parse_n("EPRT |2|fd00::\0|1|\r\n", 20, QT_DIR_ORIG, AF_INET6, &c),
	    -1);
}

/* Random bytes and random mutations of valid commands: the result is
 * always -1, 0 or 1, and nothing is read out of bounds. */
static void test_parse_random(void **state)
{
	static const char *const seeds[] = {
	    "PORT 10,0,1,2,19,137\r\n",
	    "EPRT |2|fd00:1::2|6275|\r\n",
	    "227 Entering Passive Mode (10,0,2,2,195,80).\r\n",
	    "229 Entering Extended Passive Mode (|||6446|)\r\n",
	};
	uint32_t rnd = 12345;
	char buf[64];
	struct qt_ftp_cmd c;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		const char *s = seeds[i % 4];
		size_t len = strlen(s);

		memcpy(buf, s, len);
		for (int k = 0; k < 3; k++) {
			rnd = rnd * 1103515245u + 12345u;
			buf[(rnd >> 8) % len] = (char)(rnd >> 20);
		}
		rnd = rnd * 1103515245u + 12345u;
		len = 1 + (rnd >> 8) % len;
		for (int d = 0; d < 2; d++) {
			int r = parse_n(buf, len, (enum qt_dir)d,
					i & 8 ? AF_INET6 : AF_INET, &c);

			assert_true(r >= -1 && r <= 1);
		}
	}
}

/* ---- sessions through the engine ----------------------------------- */

#define CLI4 0x0a000102u /* 10.0.1.2 */
#define SRV4 0x0a000202u /* 10.0.2.2 */
#define OTH4 0x0a000203u /* 10.0.2.3 */

static const uint8_t CLI6[16] = {0xfd, 0, 0, 1, [15] = 2};
static const uint8_t SRV6[16] = {0xfd, 0, 0, 2, [15] = 2};

struct host {
	int family;
	uint8_t addr[16];
};

static struct host host4(uint32_t a)
{
	struct host h = {.family = AF_INET};

	put32(h.addr, a);
	return h;
}

static struct host host6(const uint8_t *a)
{
	struct host h = {.family = AF_INET6};

	memcpy(h.addr, a, 16);
	return h;
}

static struct pkt tcp_pkt(const struct host *src, const struct host *dst,
			  uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
			  uint8_t flags, const char *data, size_t dlen)
{
	uint8_t t[512];
	struct pkt p;

	assert_true(20 + dlen <= sizeof(t));
	tcp_hdr(t, sp, dp, seq, ack, flags);
	if (dlen)
		memcpy(t + 20, data, dlen);
	if (src->family == AF_INET6)
		return ip6(src->addr, dst->addr, 6, t, 20 + (uint32_t)dlen);
	p = ip4(0, 0, 6, t, 20 + (uint32_t)dlen);
	memcpy(p.b + 12, src->addr, 4);
	memcpy(p.b + 16, dst->addr, 4);
	return p;
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08

/* One TCP connection between two hosts, with the sequence numbers each
 * side has reached. */
struct conv {
	struct host c, s;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

struct fixture {
	struct qt_conf conf;
	struct qt_engine *e;
	uint64_t now;
};

static struct fixture *fx_new(bool helper, uint32_t per_master,
			      uint32_t expect_max)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	qt_conf_init(&f->conf);
	f->conf.table.max = 64;
	f->conf.table.buckets = 16;
	f->conf.mark.connmark = 0xff00;
	if (helper) {
		f->conf.helper.ftp_ports[0] = 21;
		f->conf.helper.n_ftp_ports = 1;
	}
	f->conf.helper.expect_per_master = per_master;
	f->conf.helper.expect_max = expect_max;
	f->now = 5000000;
	f->e = qt_engine_new(&f->conf, f->now);
	assert_non_null(f->e);
	return f;
}

static void fx_free(struct fixture *f)
{
	qt_engine_free(f->e);
	free(f);
}

/* Send from the client (@from_client) or the server; SYN and payload
 * advance the sender's sequence number. */
static struct qt_result send_(struct fixture *f, struct conv *cv,
			      bool from_client, uint8_t flags, const char *data,
			      uint32_t mark)
{
	size_t dlen = data ? strlen(data) : 0;
	uint32_t *seq = from_client ? &cv->cseq : &cv->sseq;
	uint32_t ack = from_client ? cv->sseq : cv->cseq;
	struct qt_result r;
	struct pkt p;

	if (from_client)
		p = tcp_pkt(&cv->c, &cv->s, cv->cport, cv->sport, *seq,
			    flags & ACK ? ack : 0, flags, data, dlen);
	else
		p = tcp_pkt(&cv->s, &cv->c, cv->sport, cv->cport, *seq,
			    flags & ACK ? ack : 0, flags, data, dlen);
	qt_engine_process(f->e, p.b, p.len, p.len, mark, f->now, &r);
	*seq += (uint32_t)dlen + (flags & SYN ? 1 : 0);
	return r;
}

static void assert_state(struct qt_result r, enum qt_ct_state st, bool reply)
{
	assert_string_equal(qt_ct_state_name(r.state), qt_ct_state_name(st));
	assert_int_equal(r.reply, reply);
}

/* Handshake, banner and login: afterwards both directions are at a line
 * start the helper knows. */
static void ftp_login(struct fixture *f, struct conv *cv, uint32_t mark)
{
	assert_state(send_(f, cv, true, SYN, NULL, mark), QT_CT_NEW, false);
	assert_state(send_(f, cv, false, SYN | ACK, NULL, 0), QT_CT_ESTABLISHED,
		     true);
	assert_state(send_(f, cv, true, ACK, NULL, 0), QT_CT_ESTABLISHED,
		     false);
	send_(f, cv, false, ACK | PSH, "220 qtrack test\r\n", 0);
	send_(f, cv, true, ACK | PSH, "USER anonymous\r\n", 0);
	send_(f, cv, false, ACK | PSH, "331 Password please\r\n", 0);
	send_(f, cv, true, ACK | PSH, "PASS x\r\n", 0);
	send_(f, cv, false, ACK | PSH, "230 Logged in\r\n", 0);
}

static struct conv ctl4(uint16_t cport)
{
	struct conv cv = {host4(CLI4), host4(SRV4), cport, 21, 1000, 90000};

	return cv;
}

/* A data connection's SYN and SYN/ACK: @related says whether the SYN is
 * RELATED (expected) or NEW. */
static void data_conn(struct fixture *f, struct conv *d, bool related)
{
	struct qt_result r = send_(f, d, true, SYN, NULL, 0);

	assert_state(r, related ? QT_CT_RELATED : QT_CT_NEW, false);
	assert_state(send_(f, d, false, SYN | ACK, NULL, 0), QT_CT_ESTABLISHED,
		     true);
	assert_state(send_(f, d, true, ACK, NULL, 0), QT_CT_ESTABLISHED, false);
}

static uint32_t expect_count(struct fixture *f)
{
	return qt_engine_stats(f->e)->expect_count;
}

static void test_passive_v4(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	struct conv d = {host4(CLI4), host4(SRV4), 40001, 50000, 7000, 8000};
	const struct qt_conn *ct, *ctl;
	struct qt_result r;
	char line[512];
	struct qt_format_opts o = {0};
	struct qt_tuple t;

	(void)state;
	ftp_login(f, &cv, 0);
	assert_int_equal(expect_count(f), 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	r = send_(f, &cv, false, ACK | PSH,
		  "227 Entering Passive Mode (10,0,2,2,195,80).\r\n", 0);
	assert_state(r, QT_CT_ESTABLISHED, true);
	assert_int_equal(expect_count(f), 1);
	ctl = r.conn;
	assert_null(qt_engine_master(f->e, ctl));

	/* conntrack -L shows the helper on the control connection. */
	qt_format_conn(r.conn, &o, line, sizeof(line));
	assert_non_null(strstr(line, " helper=ftp use=1"));

	/* The expectation as /proc/net/nf_conntrack_expect prints it. */
	{
		uint32_t cur = 0;
		const struct qt_expect *exp = qt_engine_expect_next(f->e, &cur);

		assert_non_null(exp);
		assert_ptr_equal(qt_engine_expect_master(f->e, exp), r.conn);
		qt_format_expect(
		    exp, qt_engine_expect_timeout_left(f->e, exp, f->now), line,
		    sizeof(line));
		assert_string_equal(line, "300 l3proto = 2 proto=6 "
					  "src=10.0.1.2 dst=10.0.2.2 sport=0 "
					  "dport=50000 ftp");
		assert_null(qt_engine_expect_next(f->e, &cur));
	}

	r = send_(f, &d, true, SYN, NULL, 0);
	assert_state(r, QT_CT_RELATED, false);
	ct = r.conn;
	assert_true(ct->status & QT_CONN_EXPECTED);
	/* The data connection remembers its master. */
	assert_ptr_equal(qt_engine_master(f->e, ct), ctl);
	assert_int_equal(ct->helper, QT_HELPER_NONE);
	qt_format_conn(ct, &o, line, sizeof(line));
	assert_null(strstr(line, "helper="));
	/* The expectation is used up. */
	assert_int_equal(expect_count(f), 0);
	/* Still RELATED until the reply. */
	d.cseq--;
	assert_state(send_(f, &d, true, SYN, NULL, 0), QT_CT_RELATED, false);
	assert_state(send_(f, &d, false, SYN | ACK, NULL, 0), QT_CT_ESTABLISHED,
		     true);
	assert_state(send_(f, &d, true, ACK | PSH, "data\n", 0),
		     QT_CT_ESTABLISHED, false);

	/* A second data connection to the same port is not expected. */
	d.cport = 40002;
	d.cseq = 100;
	d.sseq = 200;
	r = send_(f, &d, true, SYN, NULL, 0);
	assert_state(r, QT_CT_NEW, false);
	assert_null(qt_engine_master(f->e, r.conn));

	/* Once the control connection is gone, so is the link. */
	qt_conn_tuple(ctl, QT_DIR_ORIG, &t);
	assert_int_equal(qt_engine_delete(f->e, &t), 0);
	assert_null(qt_engine_master(f->e, ct));
	fx_free(f);
}

static void test_helper_off(void **state)
{
	struct fixture *f = fx_new(false, 1, 16);
	struct conv cv = ctl4(40000);
	struct conv d = {host4(CLI4), host4(SRV4), 40001, 50000, 7000, 8000};
	struct qt_result r;

	(void)state;
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	r = send_(f, &cv, false, ACK | PSH,
		  "227 Entering Passive Mode (10,0,2,2,195,80).\r\n", 0);
	assert_int_equal(r.conn->helper, QT_HELPER_NONE);
	assert_int_equal(expect_count(f), 0);
	data_conn(f, &d, false);
	fx_free(f);
}

static void test_active_v4(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	/* The server connects from port 20 to the client's port. */
	struct conv d = {host4(SRV4), host4(CLI4), 20, 40005, 7000, 8000};
	struct conv wrong = {host4(OTH4), host4(CLI4), 20, 40005, 1, 2};

	(void)state;
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,156,69\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	send_(f, &cv, false, ACK | PSH, "200 PORT ok\r\n", 0);
	/* Only the server may connect: another host is NEW. */
	assert_state(send_(f, &wrong, true, SYN, NULL, 0), QT_CT_NEW, false);
	data_conn(f, &d, true);

	/* EPRT works the same way; any server source port. */
	send_(f, &cv, true, ACK | PSH, "EPRT |1|10.0.1.2|40006|\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	d.cport = 33333;
	d.sport = 40006;
	data_conn(f, &d, true);
	fx_free(f);
}

static void test_bounce(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	struct conv d = {host4(SRV4), host4(OTH4), 20, 40005, 7000, 8000};
	struct conv p = {host4(CLI4), host4(OTH4), 40001, 50000, 1, 2};
	struct qt_result r;

	(void)state;
	ftp_login(f, &cv, 0);
	/* PORT naming a third host: the packet passes, nothing expected. */
	r = send_(f, &cv, true, ACK | PSH, "PORT 10,0,2,3,156,69\r\n", 0);
	assert_state(r, QT_CT_ESTABLISHED, false);
	assert_int_equal(expect_count(f), 0);
	data_conn(f, &d, false);
	/* 227 naming a host other than the server. */
	send_(f, &cv, false, ACK | PSH, "200 ok\r\n", 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	send_(f, &cv, false, ACK | PSH, "227 Passive (10,0,2,3,195,80)\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	data_conn(f, &p, false);
	/* Port 0 is never expected. */
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,0,0\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	fx_free(f);
}

/* The kernel's line tracking: only a segment that starts a line (after
 * one ending in '\n') is searched. */
static void test_line_tracking(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);

	(void)state;
	assert_state(send_(f, &cv, true, SYN, NULL, 0), QT_CT_NEW, false);
	send_(f, &cv, false, SYN | ACK, NULL, 0);
	send_(f, &cv, true, ACK, NULL, 0);
	/* The first segment of each direction is never searched. */
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,156,69\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	send_(f, &cv, false, ACK | PSH, "227 (10,0,2,2,195,80)\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	/* After a line end it is. */
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,156,69\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	/* A command split in two: the first part is a partial match (the
	 * kernel drops it), the second does not start a line. */
	send_(f, &cv, true, ACK | PSH, "PO", 0);
	send_(f, &cv, true, ACK | PSH, "RT 10,0,1,2,156,70\r\n", 0);
	{
		uint32_t cur = 0;
		const struct qt_expect *exp = qt_engine_expect_next(f->e, &cur);

		assert_non_null(exp);
		assert_int_equal(exp->tuple.dport, 156 * 256 + 69);
	}
	/* The segment after that starts a line again. */
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,156,71\r\n", 0);
	{
		uint32_t cur = 0;
		const struct qt_expect *exp = qt_engine_expect_next(f->e, &cur);

		assert_non_null(exp);
		assert_int_equal(exp->tuple.dport, 156 * 256 + 71);
	}
	/* A segment not ending in '\n' hides the next one's start. */
	send_(f, &cv, true, ACK | PSH, "NOOP", 0);
	send_(f, &cv, true, ACK | PSH, "PORT 10,0,1,2,156,72\r\n", 0);
	{
		uint32_t cur = 0;
		const struct qt_expect *exp = qt_engine_expect_next(f->e, &cur);

		assert_int_equal(exp->tuple.dport, 156 * 256 + 71);
	}
	fx_free(f);
}

/* Only the captured bytes are read: a command beyond them is not seen,
 * one within them is. */
static void test_truncated_capture(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	const char *cmd = "PORT 10,0,1,2,156,69\r\n";
	struct qt_result r;
	struct pkt p;

	(void)state;
	ftp_login(f, &cv, 0);
	p = tcp_pkt(&cv.c, &cv.s, cv.cport, cv.sport, cv.cseq, cv.sseq,
		    ACK | PSH, cmd, strlen(cmd));
	/* Captured up to the middle of the numbers. */
	qt_engine_process(f->e, p.b, p.len - 10, p.len, 0, f->now, &r);
	assert_state(r, QT_CT_ESTABLISHED, false);
	assert_int_equal(expect_count(f), 0);
	/* The retransmission, captured whole. */
	qt_engine_process(f->e, p.b, p.len, p.len, 0, f->now, &r);
	assert_int_equal(expect_count(f), 1);
	fx_free(f);
}

static void test_v6(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = {host6(CLI6), host6(SRV6), 40000, 21, 1000, 90000};
	struct conv pd = {host6(CLI6), host6(SRV6), 40001, 6446, 1, 2};
	struct conv ad = {host6(SRV6), host6(CLI6), 20, 40007, 1, 2};
	char line[256];

	(void)state;
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "EPSV\r\n", 0);
	send_(f, &cv, false, ACK | PSH,
	      "229 Entering Extended Passive Mode (|||6446|)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	{
		uint32_t cur = 0;
		const struct qt_expect *exp = qt_engine_expect_next(f->e, &cur);

		qt_format_expect(exp, 299, line, sizeof(line));
		assert_string_equal(
		    line, "299 l3proto = 10 proto=6 "
			  "src=fd00:0001:0000:0000:0000:0000:0000:0002 "
			  "dst=fd00:0002:0000:0000:0000:0000:0000:0002 "
			  "sport=0 dport=6446 ftp");
	}
	data_conn(f, &pd, true);

	/* EPRT |2| names the client; |1| on an IPv6 session is refused. */
	send_(f, &cv, true, ACK | PSH, "EPRT |1|10.0.1.2|40007|\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	/* That was malformed: the kernel drops it and does not record its
	 * end as a line start, so the next line is not searched. */
	send_(f, &cv, true, ACK | PSH, "EPRT |2|fd00:1::2|40007|\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	send_(f, &cv, true, ACK | PSH, "EPRT |2|fd00:1::2|40007|\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	data_conn(f, &ad, true);
	/* EPRT |2| naming another host is a bounce. */
	send_(f, &cv, true, ACK | PSH, "EPRT |2|fd00:1::3|40008|\r\n", 0);
	assert_int_equal(expect_count(f), 0);
	fx_free(f);
}

/* The data connection carries the control connection's connmark. */
static void test_connmark(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	struct conv d = {host4(CLI4), host4(SRV4), 40001, 50000, 7000, 8000};
	struct qt_result r;

	(void)state;
	ftp_login(f, &cv, 0x4200);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	send_(f, &cv, false, ACK | PSH, "227 (10,0,2,2,195,80)\r\n", 0);
	r = send_(f, &d, true, SYN, NULL, 0);
	assert_state(r, QT_CT_RELATED, false);
	assert_int_equal(r.conn->mark, 0x4200);
	assert_int_equal(r.mark, 0x4200 | f->conf.mark.state[QT_CT_RELATED]);
	r = send_(f, &d, false, SYN | ACK, NULL, 0);
	assert_int_equal(r.mark, 0x4200 | f->conf.mark.reply |
				     f->conf.mark.state[QT_CT_ESTABLISHED]);
	fx_free(f);
}

/* Expectations die with their master and on their timeout. */
static void test_master_dies(void **state)
{
	struct fixture *f = fx_new(true, 1, 16);
	struct conv cv = ctl4(40000);
	struct conv d = {host4(CLI4), host4(SRV4), 40001, 50000, 7000, 8000};
	struct qt_result r;
	struct qt_tuple t;

	(void)state;
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	r = send_(f, &cv, false, ACK | PSH, "227 (10,0,2,2,195,80)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	qt_conn_tuple(r.conn, QT_DIR_ORIG, &t);
	assert_int_equal(qt_engine_delete(f->e, &t), 0);
	/* The count follows at once, not at the next expiry (fuzz_flows). */
	assert_int_equal(expect_count(f), 0);
	qt_engine_expire(f->e, f->now, 0);
	assert_int_equal(expect_count(f), 0);
	data_conn(f, &d, false);

	/* A new control connection: the expectation times out after
	 * [helper] expect_timeout. */
	cv = ctl4(40010);
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	send_(f, &cv, false, ACK | PSH, "227 (10,0,2,2,195,81)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	f->now += (uint64_t)f->conf.helper.expect_timeout * 1000 - 2000;
	qt_engine_expire(f->e, f->now, 0);
	assert_int_equal(expect_count(f), 1);
	f->now += 3000;
	qt_engine_expire(f->e, f->now, 0);
	assert_int_equal(expect_count(f), 0);
	d.sport = 50001;
	d.cport = 40011;
	data_conn(f, &d, false);

	/* A flush takes the expectations too, and says so at once. */
	cv = ctl4(40020);
	ftp_login(f, &cv, 0);
	send_(f, &cv, true, ACK | PSH, "PASV\r\n", 0);
	send_(f, &cv, false, ACK | PSH, "227 (10,0,2,2,195,82)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	assert_true(qt_engine_flush(f->e) >= 1);
	assert_int_equal(expect_count(f), 0);
	fx_free(f);
}

/* Per master the newest expectation replaces the oldest (max_expected
 * 1); the table holds at most [helper] expect_max. */
static void test_limits(void **state)
{
	struct fixture *f = fx_new(true, 1, 1);
	struct conv a = ctl4(40000), b = ctl4(40100);
	struct conv d1 = {host4(CLI4), host4(SRV4), 40001, 50000, 7, 8};
	struct conv d2 = {host4(CLI4), host4(SRV4), 40002, 50001, 7, 8};
	struct conv d3 = {host4(CLI4), host4(SRV4), 40003, 50002, 7, 8};

	(void)state;
	ftp_login(f, &a, 0);
	ftp_login(f, &b, 0);
	send_(f, &a, false, ACK | PSH, "227 (10,0,2,2,195,80)\r\n", 0);
	send_(f, &a, false, ACK | PSH, "227 (10,0,2,2,195,81)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	/* The table is full: b's announcement finds no room. */
	send_(f, &b, false, ACK | PSH, "227 (10,0,2,2,195,82)\r\n", 0);
	assert_int_equal(expect_count(f), 1);
	data_conn(f, &d1, false);
	data_conn(f, &d3, false);
	data_conn(f, &d2, true);
	fx_free(f);

	/* With room for two per master both stay. */
	f = fx_new(true, 2, 16);
	a = ctl4(40000);
	ftp_login(f, &a, 0);
	send_(f, &a, false, ACK | PSH, "227 (10,0,2,2,195,80)\r\n", 0);
	send_(f, &a, false, ACK | PSH, "227 (10,0,2,2,195,81)\r\n", 0);
	assert_int_equal(expect_count(f), 2);
	d1.cseq = d2.cseq = 7;
	d1.sseq = d2.sseq = 8;
	data_conn(f, &d1, true);
	data_conn(f, &d2, true);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_not_commands),
	    cmocka_unit_test(test_parse_truncated),
	    cmocka_unit_test(test_parse_hostile),
	    cmocka_unit_test(test_parse_random),
	    cmocka_unit_test(test_passive_v4),
	    cmocka_unit_test(test_helper_off),
	    cmocka_unit_test(test_active_v4),
	    cmocka_unit_test(test_bounce),
	    cmocka_unit_test(test_line_tracking),
	    cmocka_unit_test(test_truncated_capture),
	    cmocka_unit_test(test_v6),
	    cmocka_unit_test(test_connmark),
	    cmocka_unit_test(test_master_dies),
	    cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
