/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_conf.c - the configuration model: defaults, every value syntax,
 * exact error messages, the [mark] contract, printing round trips, reload
 * rules, and that conf/qtrackd.conf, docs/qtrackd.conf.5 and
 * tests/conf/bad/ agree with the key table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"

/* ---- helpers ---------------------------------------------------------- */

static int parse(struct qt_conf *c, const char *text, char *err, size_t len)
{
	qt_conf_init(c);
	return qt_conf_parse(c, text, "t.conf", err, len);
}

static struct qt_conf parse_ok(const char *text)
{
	struct qt_conf c;
	char err[512];

	if (parse(&c, text, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	return c;
}

static void parse_err(const char *text, const char *expected)
{
	struct qt_conf c;
	char err[512];

	assert_int_equal(parse(&c, text, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
}

static struct qt_conf defaults(void)
{
	struct qt_conf c;

	qt_conf_init(&c);
	return c;
}

static void assert_conf_equal(const struct qt_conf *a, const struct qt_conf *b)
{
	char ta[8192], tb[8192];

	qt_conf_format(a, ta, sizeof(ta));
	qt_conf_format(b, tb, sizeof(tb));
	assert_string_equal(ta, tb); /* readable diff first */
	assert_memory_equal(a, b, sizeof(*a));
}

/* The source tree: $QT_SRC, else derived from this file's path. */
static char *src_path(const char *rel)
{
	const char *root = getenv("QT_SRC");
	char base[4096];
	char *p;

	if (root && *root) {
		snprintf(base, sizeof(base), "%s", root);
	} else {
		snprintf(base, sizeof(base), "%s", __FILE__);
		p = strstr(base, "tests/unit/test_conf.c");
		if (!p)
			return NULL;
		*p = '\0';
		if (!*base)
			snprintf(base, sizeof(base), ".");
	}
	p = malloc(strlen(base) + strlen(rel) + 2);
	sprintf(p, "%s/%s", base, rel);
	return p;
}

/* The whole file, NUL-terminated, or NULL. */
static char *file_read(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	char *text;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static char *src_read(const char *rel)
{
	char *path = src_path(rel);
	char *text = file_read(path);

	free(path);
	return text;
}

/* ---- defaults --------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct qt_conf c = defaults();
	char err[256];

	assert_int_equal(c.queue.num_first, 0);
	assert_int_equal(c.queue.num_last, 0);
	assert_int_equal(c.queue.mode, QT_MODE_ACCEPT);
	assert_int_equal(c.queue.copy_range, 4096);
	assert_int_equal(c.queue.maxlen, 4096);
	assert_false(c.queue.fail_open);
	assert_int_equal(c.queue.rcvbuf, 8388608);

	assert_int_equal(c.mark.mask, 0xff);
	assert_int_equal(c.mark.state[0], 0x1);
	assert_int_equal(c.mark.state[1], 0x2);
	assert_int_equal(c.mark.state[2], 0x3);
	assert_int_equal(c.mark.state[3], 0x4);
	assert_int_equal(c.mark.state[4], 0x5);
	assert_int_equal(c.mark.reply, 0x10);
	assert_int_equal(c.mark.notrack, 0x1000);
	assert_int_equal(c.mark.connmark, 0);

	assert_int_equal(c.table.max, 262144);
	assert_int_equal(c.table.buckets, 65536);
	assert_false(c.table.accounting);

	assert_int_equal(c.tcp.timeouts[QT_TCP_NONE], 0);
	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_SENT], 120);
	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_RECV], 60);
	assert_int_equal(c.tcp.timeouts[QT_TCP_ESTABLISHED], 432000);
	assert_int_equal(c.tcp.timeouts[QT_TCP_FIN_WAIT], 120);
	assert_int_equal(c.tcp.timeouts[QT_TCP_CLOSE_WAIT], 60);
	assert_int_equal(c.tcp.timeouts[QT_TCP_LAST_ACK], 30);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIME_WAIT], 120);
	assert_int_equal(c.tcp.timeouts[QT_TCP_CLOSE], 10);
	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_SENT2], 120);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIMEOUT_RETRANS], 300);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIMEOUT_UNACK], 300);
	assert_true(c.tcp.loose);
	assert_false(c.tcp.be_liberal);
	assert_false(c.tcp.ignore_invalid_rst);
	assert_int_equal(c.tcp.max_retrans, 3);

	assert_int_equal(c.udp.timeout, 30);
	assert_int_equal(c.udp.timeout_stream, 180);
	assert_int_equal(c.icmp.timeout, 30);
	assert_int_equal(c.icmpv6.timeout, 30);
	assert_int_equal(c.generic.timeout, 600);

	assert_int_equal(c.helper.n_ftp_ports, 0);
	assert_int_equal(c.helper.expect_max, 4096);
	assert_int_equal(c.helper.expect_timeout, 300);
	assert_int_equal(c.helper.expect_per_master, 1);

	assert_string_equal(c.control.socket, "/run/qtrackd/qtrackd.sock");
	assert_string_equal(c.control.group, "");
	assert_false(c.log.invalid);

	assert_int_equal(qt_conf_validate(&c, err, sizeof(err)), 0);
}

/* Each row's default text, parsed as a value, gives qt_conf_init()'s
 * value: the table's texts and the struct cannot disagree. */
static void test_defaults_parse(void **state)
{
	struct qt_conf d = defaults(), c0;
	const struct qt_conf_key *k;
	size_t n, i;

	k = qt_conf_keys(&n);
	assert_true(n >= 40);
	for (i = 0; i < n; i++) {
		char text[256];
		struct qt_conf c;

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", k[i].section,
			 k[i].key, k[i].def);
		c = parse_ok(text);
		assert_conf_equal(&c, &d);
		assert_non_null(k[i].help);
		assert_true(strlen(k[i].help) > 10);
		assert_true(k[i].offset + k[i].size <= sizeof(struct qt_conf));
	}
	/* An empty file and comments only are the defaults too. */
	c0 = parse_ok("");
	assert_conf_equal(&c0, &d);
	c0 = parse_ok("; only\n# comments\n\n");
	assert_conf_equal(&c0, &d);
}

/* ---- value syntax ----------------------------------------------------- */

static void test_bool(void **state)
{
	static const char *const yes[] = {"yes", "true", "on",
					  "1",	 "YES",	 "On"};
	static const char *const no[] = {"no", "false", "off",
					 "0",  "No",	"FALSE"};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "[log]\ninvalid = %s\n", yes[i]);
		assert_true(parse_ok(text).log.invalid);
		snprintf(text, sizeof(text), "[tcp]\nloose = %s\n", no[i]);
		assert_false(parse_ok(text).tcp.loose);
	}
	parse_err("[log]\ninvalid = 2\n",
		  "t.conf:2: [log] invalid: '2' is not a boolean (yes/no, "
		  "true/false, on/off, 1/0)");
	parse_err("[log]\ninvalid =\n",
		  "t.conf:2: [log] invalid: '' is not a boolean (yes/no, "
		  "true/false, on/off, 1/0)");
}

static void test_numbers(void **state)
{
	struct qt_conf c;

	c = parse_ok("[table]\nmax = 1000\nbuckets = 0x400\n");
	assert_int_equal(c.table.max, 1000);
	assert_int_equal(c.table.buckets, 1024);
	c = parse_ok("[table]\nmax = 100000000\nbuckets = 16777216\n");
	assert_int_equal(c.table.max, 100000000);
	assert_int_equal(c.table.buckets, 16777216);
	c = parse_ok("[tcp]\nmax_retrans = 0\n");
	assert_int_equal(c.tcp.max_retrans, 0);

	parse_err("[table]\nmax = 100000001\n",
		  "t.conf:2: [table] max: out of range (1..100000000)");
	parse_err("[table]\nbuckets = 0\n",
		  "t.conf:2: [table] buckets: out of range (1..16777216)");
	parse_err("[table]\nmax = 0x\n", "t.conf:2: [table] max: '0x' is "
					 "not a number");
	parse_err("[table]\nmax = +5\n", "t.conf:2: [table] max: '+5' is "
					 "not a number");
	parse_err("[table]\nmax = 1 000\n", "t.conf:2: [table] max: '1 000' "
					    "is not a number");
	/* 2^64 and beyond overflow the parser itself. */
	parse_err("[table]\nmax = 18446744073709551616\n",
		  "t.conf:2: [table] max: out of range (1..100000000)");
	parse_err("[table]\nmax = 0x10000000000000000\n",
		  "t.conf:2: [table] max: out of range (1..100000000)");
	parse_err("[tcp]\nmax_retrans = 256\n",
		  "t.conf:2: [tcp] max_retrans: out of range (0..255)");
}

static void test_marks(void **state)
{
	struct qt_conf c;

	c = parse_ok("[mark]\nmask = 0xff00\nnew = 0x100\nestablished = "
		     "0x200\nrelated = 0x300\ninvalid = 0x400\nuntracked = "
		     "0x500\nreply = 0x8000\nnotrack = 0x1\nconnmark = "
		     "0xff0000\n");
	assert_int_equal(c.mark.mask, 0xff00);
	assert_int_equal(c.mark.state[4], 0x500);
	assert_int_equal(c.mark.reply, 0x8000);
	assert_int_equal(c.mark.notrack, 1);
	assert_int_equal(c.mark.connmark, 0xff0000);
	c = parse_ok("[mark]\nmask = 0xFFFFFFFF\nnotrack = 0\n");
	assert_int_equal(c.mark.mask, UINT32_MAX);
	parse_err("[mark]\nmask = 0x100000000\n",
		  "t.conf:2: [mark] mask: out of range (0x0..0xffffffff)");
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint32_t seconds;
	} ok[] = {
	    {"1", 1},	   {"30", 30},	      {"30s", 30},
	    {"2m", 120},   {"12h", 43200},    {"5d", 432000},
	    {"90m", 5400}, {"100d", 8640000}, {"8640000", 8640000},
	    {"0001s", 1},
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[udp]\ntimeout = %s\n",
			 ok[i].text);
		assert_int_equal(parse_ok(text).udp.timeout, ok[i].seconds);
	}
	parse_err("[udp]\ntimeout = 0\n",
		  "t.conf:2: [udp] timeout: out of range (1s..100d)");
	parse_err("[udp]\ntimeout = 8640001\n",
		  "t.conf:2: [udp] timeout: out of range (1s..100d)");
	parse_err("[udp]\ntimeout = 2401h\n",
		  "t.conf:2: [udp] timeout: out of range (1s..100d)");
	/* Overflow of the multiplication, and of the digits. */
	parse_err("[udp]\ntimeout = 213503982334602d\n",
		  "t.conf:2: [udp] timeout: out of range (1s..100d)");
	parse_err("[udp]\ntimeout = 99999999999999999999999\n",
		  "t.conf:2: [udp] timeout: out of range (1s..100d)");
	parse_err("[udp]\ntimeout = 5w\n",
		  "t.conf:2: [udp] timeout: '5w' is not a duration (seconds, "
		  "or a number with s, m, h or d)");
	parse_err("[udp]\ntimeout = s\n",
		  "t.conf:2: [udp] timeout: 's' is not a duration (seconds, "
		  "or a number with s, m, h or d)");
	parse_err("[udp]\ntimeout = 1m30s\n",
		  "t.conf:2: [udp] timeout: '1m30s' is not a duration "
		  "(seconds, or a number with s, m, h or d)");
	parse_err("[udp]\ntimeout = 0x10\n",
		  "t.conf:2: [udp] timeout: '0x10' is not a duration "
		  "(seconds, or a number with s, m, h or d)");
	parse_err("[helper]\nexpect_timeout = 101d\n",
		  "t.conf:2: [helper] expect_timeout: out of range "
		  "(1s..100d)");
}

static void test_tcp_timeouts(void **state)
{
	struct qt_conf c =
	    parse_ok("[tcp]\ntimeout_syn_sent = 1m\ntimeout_syn_recv = 2\n"
		     "timeout_established = 1d\ntimeout_fin_wait = 3\n"
		     "timeout_close_wait = 4\ntimeout_last_ack = 5\n"
		     "timeout_time_wait = 6\ntimeout_close = 7\n"
		     "timeout_max_retrans = 8\ntimeout_unacknowledged = 9\n");

	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_SENT], 60);
	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_RECV], 2);
	assert_int_equal(c.tcp.timeouts[QT_TCP_ESTABLISHED], 86400);
	assert_int_equal(c.tcp.timeouts[QT_TCP_FIN_WAIT], 3);
	assert_int_equal(c.tcp.timeouts[QT_TCP_CLOSE_WAIT], 4);
	assert_int_equal(c.tcp.timeouts[QT_TCP_LAST_ACK], 5);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIME_WAIT], 6);
	assert_int_equal(c.tcp.timeouts[QT_TCP_CLOSE], 7);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIMEOUT_RETRANS], 8);
	assert_int_equal(c.tcp.timeouts[QT_TCP_TIMEOUT_UNACK], 9);
	/* No key of its own: SYN_SENT2 follows SYN_SENT, as in the kernel. */
	assert_int_equal(c.tcp.timeouts[QT_TCP_SYN_SENT2], 60);
	parse_err("[tcp]\ntimeout_syn_sent2 = 5\n",
		  "t.conf:2: [tcp] timeout_syn_sent2: unknown key");
}

static void test_enum_range(void **state)
{
	struct qt_conf c;

	c = parse_ok("[queue]\nmode = repeat\nnum = 7\n");
	assert_int_equal(c.queue.mode, QT_MODE_REPEAT);
	assert_int_equal(c.queue.num_first, 7);
	assert_int_equal(c.queue.num_last, 7);
	c = parse_ok("[queue]\nnum = 0-3\n");
	assert_int_equal(c.queue.num_first, 0);
	assert_int_equal(c.queue.num_last, 3);
	c = parse_ok("[queue]\nnum = 65535-65535\n");
	assert_int_equal(c.queue.num_first, 65535);

	parse_err("[queue]\nmode = Accept\n",
		  "t.conf:2: [queue] mode: 'Accept' is not one of "
		  "accept/repeat");
	parse_err("[queue]\nnum = 4-2\n",
		  "t.conf:2: [queue] num: range end 2 is below its start 4");
	parse_err("[queue]\nnum = 65536\n",
		  "t.conf:2: [queue] num: out of range (0..65535)");
	parse_err("[queue]\nnum = 1-\n",
		  "t.conf:2: [queue] num: '1-' is not a number or range N-M");
	parse_err("[queue]\nnum = -1\n",
		  "t.conf:2: [queue] num: '-1' is not a number or range N-M");
	parse_err("[queue]\nnum = 1-2-3\n",
		  "t.conf:2: [queue] num: '1-2-3' is not a number or range "
		  "N-M");
}

static void test_ports(void **state)
{
	struct qt_conf c;

	c = parse_ok("[helper]\nftp = 21\n");
	assert_int_equal(c.helper.n_ftp_ports, 1);
	assert_int_equal(c.helper.ftp_ports[0], 21);
	c = parse_ok("[helper]\nftp = 21, 2121 ,990\t65535\n");
	assert_int_equal(c.helper.n_ftp_ports, 4);
	assert_int_equal(c.helper.ftp_ports[1], 2121);
	assert_int_equal(c.helper.ftp_ports[2], 990);
	assert_int_equal(c.helper.ftp_ports[3], 65535);
	/* A later, empty value turns the helper off again. */
	c = parse_ok("[helper]\nftp = 21\nftp =\n");
	assert_int_equal(c.helper.n_ftp_ports, 0);
	assert_int_equal(c.helper.ftp_ports[0], 0);
	c = parse_ok("[helper]\nftp = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
		     "16\n");
	assert_int_equal(c.helper.n_ftp_ports, QT_CONF_MAX_PORTS);

	parse_err("[helper]\nftp = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
		  "17\n",
		  "t.conf:2: [helper] ftp: too many ports (at most 16)");
	parse_err("[helper]\nftp = 21;22\n",
		  "t.conf:2: [helper] ftp: '21;22' is not a port number");
	parse_err("[helper]\nftp = 65536\n",
		  "t.conf:2: [helper] ftp: port 65536 out of range "
		  "(1..65535)");
	parse_err("[helper]\nftp = 21,21\n",
		  "t.conf:2: [helper] ftp: duplicate port 21");
}

static void test_strings(void **state)
{
	struct qt_conf c;
	char text[512], expected[512];

	c = parse_ok("[control]\nsocket = /tmp/q.sock\ngroup = qtrack-ctl\n");
	assert_string_equal(c.control.socket, "/tmp/q.sock");
	assert_string_equal(c.control.group, "qtrack-ctl");
	c = parse_ok("[control]\ngroup = adm\ngroup =\n");
	assert_string_equal(c.control.group, "");

	/* 107 bytes fit sun_path with its NUL; 108 do not. */
	snprintf(text, sizeof(text), "[control]\nsocket = /%0106d\n", 0);
	c = parse_ok(text);
	assert_int_equal(strlen(c.control.socket), 107);
	snprintf(text, sizeof(text), "[control]\nsocket = /%0107d\n", 0);
	parse_err(text, "t.conf:2: [control] socket: too long (at most 107 "
			"bytes)");
	parse_err("[control]\nsocket =\n",
		  "t.conf:2: [control] socket: '' is not an absolute path");
	parse_err("[control]\nsocket = /\n",
		  "t.conf:2: [control] socket: '/' is not an absolute path");
	parse_err("[control]\ngroup = a b\n",
		  "t.conf:2: [control] group: 'a b' is not a valid name");
	snprintf(text, sizeof(text), "[control]\ngroup = %064d\n", 0);
	snprintf(expected, sizeof(expected),
		 "t.conf:2: [control] group: too long (at most 63 bytes)");
	parse_err(text, expected);
}

/* ---- file structure and messages -------------------------------------- */

static void test_errors(void **state)
{
	parse_err("[queue]\nnum = 1\n\n[bogus]\nkey = 1\n",
		  "t.conf:5: [bogus] key: unknown section");
	parse_err("; comment\n# comment\n\n[queue]\n\nnum = 1\nfoo = bar\n",
		  "t.conf:7: [queue] foo: unknown key");
	parse_err("num = 1\n", "t.conf:1: [] num: key outside any section");
	parse_err("[queue]\nnum\n", "t.conf:2: syntax error (expected "
				    "[section] or key = value)");
	/* The first error wins, whichever kind it is. */
	parse_err("[queue]\nnum 1\nbogus = 1\n",
		  "t.conf:2: syntax error (expected [section] or key = value)");
	parse_err("[queue]\nbogus = 1\nnum 1\n",
		  "t.conf:2: [queue] bogus: unknown key");
	/* CRLF line ends and a missing final newline count the same. */
	parse_err("[queue]\r\nnum = 1\r\n\r\nmode = x",
		  "t.conf:4: [queue] mode: 'x' is not one of accept/repeat");
	/* inih allows ':' too, and ';' starts an inline comment. */
	assert_int_equal(parse_ok("[udp]\ntimeout: 45 ; seconds\n").udp.timeout,
			 45);
	/* '#' does not: the comment is part of the value. */
	parse_err("[udp]\ntimeout = 45 # seconds\n",
		  "t.conf:2: [udp] timeout: '45 # seconds' is not a duration "
		  "(seconds, or a number with s, m, h or d)");
}

static void test_long_line(void **state)
{
	char text[1024];

	snprintf(text, sizeof(text), "[log]\n\n# %0400d\ninvalid = yes\n", 0);
	parse_err(text, "t.conf:3: line too long (at most 197 bytes)");
	/* The longest line inih takes is fine. */
	snprintf(text, sizeof(text), "[log]\n#%0196d\ninvalid = yes\n", 0);
	assert_true(parse_ok(text).log.invalid);
}

/* Duplicates are allowed; the last one wins, as documented. */
static void test_duplicates(void **state)
{
	struct qt_conf c = parse_ok("[udp]\ntimeout = 10\n[tcp]\n[udp]\n"
				    "timeout = 20\n");

	assert_int_equal(c.udp.timeout, 20);
}

/* Parsing goes on top of what is there, so a caller may layer files. */
static void test_layering(void **state)
{
	struct qt_conf c = parse_ok("[udp]\ntimeout = 10\n");
	char err[256];

	assert_int_equal(qt_conf_parse(&c, "[icmp]\ntimeout = 5\n", "b.conf",
				       err, sizeof(err)),
			 0);
	assert_int_equal(c.udp.timeout, 10);
	assert_int_equal(c.icmp.timeout, 5);
}

/* ---- validation ------------------------------------------------------- */

static void expect_invalid(const struct qt_conf *c, const char *expected)
{
	char err[256];

	assert_int_equal(qt_conf_validate(c, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
}

static void test_validate(void **state)
{
	struct qt_conf c;

	c = defaults();
	c.mark.state[2] = 0x2;
	expect_invalid(&c, "[mark] related: 0x2 is also the code of "
			   "established");
	c = defaults();
	c.mark.state[0] = 0;
	expect_invalid(&c, "[mark] new: must not be 0");
	c = defaults();
	c.mark.state[3] = 0x104;
	expect_invalid(&c, "[mark] invalid: 0x104 is outside mask 0xff");
	c = defaults();
	c.mark.state[1] = 0x12;
	expect_invalid(&c, "[mark] established: 0x12 has bits of reply "
			   "0x10");
	c = defaults();
	c.mark.reply = 0;
	expect_invalid(&c, "[mark] reply: must not be 0");
	c = defaults();
	c.mark.reply = 0x100;
	expect_invalid(&c, "[mark] reply: 0x100 is outside mask 0xff");
	c = defaults();
	c.mark.notrack = 0x1001;
	expect_invalid(&c, "[mark] notrack: 0x1001 overlaps mask 0xff");
	c = defaults();
	c.mark.connmark = 0x180;
	expect_invalid(&c, "[mark] connmark: 0x180 overlaps mask 0xff");

	/* Single-key ranges hold for structs built in code as well. */
	c = defaults();
	c.table.max = 0;
	expect_invalid(&c, "[table] max: 0 is out of range (1..100000000)");
	c = defaults();
	c.tcp.timeouts[QT_TCP_CLOSE] = 0;
	expect_invalid(&c, "[tcp] timeout_close: 0 is out of range "
			   "(1s..100d)");
	c = defaults();
	c.queue.num_first = 3;
	expect_invalid(&c, "[queue] num: range end is below its start");
	c = defaults();
	c.control.socket[0] = 'x';
	expect_invalid(&c, "[control] socket: 'xrun/qtrackd/qtrackd.sock' "
			   "is not an absolute path");

	/* Through the parser, cross-key errors name the file, no line. */
	parse_err("[mark]\nmask = 0xf0\nnew = 0x10\n",
		  "t.conf: [mark] new: 0x10 has bits of reply 0x10");
	parse_err("[mark]\nmask = 0x0f\n",
		  "t.conf: [mark] reply: 0x10 is outside mask 0xf");
	parse_err("[mark]\nnotrack = 0x0\nconnmark = 0x1\n",
		  "t.conf: [mark] connmark: 0x1 overlaps mask 0xff");
	parse_ok("[mark]\nmask = 0xff\nreply = 0x80\nuntracked = 0x7f\n");
}

/* ---- printing --------------------------------------------------------- */

static void test_format(void **state)
{
	struct qt_conf c = defaults();
	char buf[8192], small[16];
	size_t n;

	n = qt_conf_format(&c, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_true(!strncmp(buf, "[queue]\nnum = 0\nmode = accept\n", 30));
	assert_non_null(strstr(buf, "\n\n[mark]\nmask = 0xff\nnew = 0x1\n"));
	assert_non_null(strstr(buf, "[tcp]\ntimeout_syn_sent = 120\n"));
	assert_non_null(strstr(buf, "timeout_established = 432000\n"));
	assert_non_null(strstr(buf, "\nftp =\n"));
	assert_non_null(strstr(buf, "\ngroup =\n"));
	assert_non_null(strstr(buf, "notrack = 0x1000\n"));
	assert_null(strstr(buf, "syn_sent2"));
	assert_int_equal(buf[n - 1], '\n');

	assert_int_equal(qt_conf_format(&c, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(qt_conf_format(&c, NULL, 0), n);
}

static void test_round_trip(void **state)
{
	struct qt_conf a, b;
	char buf[8192], err[256];

	a = parse_ok("[queue]\nnum = 2-5\nmode = repeat\ncopy_range = 128\n"
		     "maxlen = 77\nfail_open = yes\nrcvbuf = 65536\n"
		     "[mark]\nmask = 0xf0\nnew = 0x10\nestablished = 0x20\n"
		     "related = 0x30\ninvalid = 0x40\nuntracked = 0x50\n"
		     "reply = 0x80\nnotrack = 0x1\nconnmark = 0xff00\n"
		     "[table]\nmax = 7\nbuckets = 9\naccounting = on\n"
		     "[tcp]\ntimeout_established = 2h\ntimeout_close = 1\n"
		     "loose = no\nbe_liberal = yes\nignore_invalid_rst = 1\n"
		     "max_retrans = 9\n[udp]\ntimeout = 1m\n"
		     "timeout_stream = 100d\n[icmp]\ntimeout = 3\n"
		     "[icmpv6]\ntimeout = 4\n[generic]\ntimeout = 5\n"
		     "[helper]\nftp = 21 2121\nexpect_max = 3\n"
		     "expect_timeout = 1h\nexpect_per_master = 255\n"
		     "[control]\nsocket = /x/y.sock\ngroup = adm\n"
		     "[log]\ninvalid = true\n");
	qt_conf_format(&a, buf, sizeof(buf));
	qt_conf_init(&b);
	assert_int_equal(qt_conf_parse(&b, buf, "printed", err, sizeof(err)),
			 0);
	assert_conf_equal(&a, &b);
	assert_non_null(strstr(buf, "num = 2-5\n"));
	assert_non_null(strstr(buf, "ftp = 21,2121\n"));
	assert_non_null(strstr(buf, "connmark = 0xff00\n"));

	/* And the defaults. */
	a = defaults();
	qt_conf_format(&a, buf, sizeof(buf));
	b = parse_ok(buf);
	assert_conf_equal(&a, &b);
}

/* ---- reload ----------------------------------------------------------- */

static void expect_reload(const char *text, const char *expected)
{
	struct qt_conf cur = defaults(), next = parse_ok(text);
	char err[256];

	if (!expected) {
		assert_int_equal(
		    qt_conf_check_reload(&cur, &next, err, sizeof(err)), 0);
		return;
	}
	assert_int_equal(qt_conf_check_reload(&cur, &next, err, sizeof(err)),
			 -1);
	assert_string_equal(err, expected);
}

static void test_reload(void **state)
{
	expect_reload("", NULL);
	expect_reload("[udp]\ntimeout = 60\n[tcp]\nloose = no\n[mark]\n"
		      "new = 0x9\n[queue]\nmode = repeat\nmaxlen = 9\n"
		      "[helper]\nftp = 21\n[table]\naccounting = yes\n",
		      NULL);
	expect_reload("[table]\nmax = 1000\n",
		      "[table] max: cannot change while running (was 262144, "
		      "now 1000); restart qtrackd");
	expect_reload("[table]\nbuckets = 1024\n",
		      "[table] buckets: cannot change while running (was "
		      "65536, now 1024); restart qtrackd");
	expect_reload("[queue]\nnum = 0-1\n",
		      "[queue] num: cannot change while running (was 0, now "
		      "0-1); restart qtrackd");
	expect_reload("[control]\nsocket = /tmp/s\n",
		      "[control] socket: cannot change while running (was "
		      "/run/qtrackd/qtrackd.sock, now /tmp/s); restart "
		      "qtrackd");
	expect_reload("[control]\ngroup = adm\n",
		      "[control] group: cannot change while running (was \"\", "
		      "now adm); restart qtrackd");
}

/* ---- the shipped files ------------------------------------------------ */

/* conf/qtrackd.conf with every "#key = value" line uncommented is exactly
 * the defaults, so the file cannot drift from the table. */
static void test_shipped_conf(void **state)
{
	char *text = src_read("conf/qtrackd.conf");
	struct qt_conf d = defaults(), c;
	const struct qt_conf_key *k;
	size_t n, i, uncommented = 0;
	char *p, *q;

	if (!text)
		skip();
	c = parse_ok(text);
	assert_conf_equal(&c, &d);

	/* Drop the '#' of each commented-out key in place. */
	for (p = text, q = text; *p; p++) {
		if ((p == text || p[-1] == '\n') && p[0] == '#' &&
		    p[1] >= 'a' && p[1] <= 'z') {
			uncommented++;
			continue;
		}
		*q++ = *p;
	}
	*q = '\0';
	k = qt_conf_keys(&n);
	assert_int_equal(uncommented, n);
	c = parse_ok(text);
	assert_conf_equal(&c, &d);

	/* Every key sits in its own section, by name. */
	for (i = 0; i < n; i++) {
		char head[64], line[128], *sec, *next;

		snprintf(head, sizeof(head), "\n[%s]\n", k[i].section);
		snprintf(line, sizeof(line), "\n%s =", k[i].key);
		sec = strstr(text, head);
		if (!sec) {
			fail_msg("[%s] missing from conf/qtrackd.conf",
				 k[i].section);
			return;
		}
		next = strstr(sec + 1, "\n[");
		p = strstr(sec, line);
		if (!p || (next && p > next))
			fail_msg("[%s] %s missing from conf/qtrackd.conf",
				 k[i].section, k[i].key);
	}
	free(text);
}

/* Every key of the table is documented in its section of the man page. */
static void test_man_page(void **state)
{
	char *text = src_read("docs/qtrackd.conf.5");
	const struct qt_conf_key *k;
	size_t n, i;

	if (!text)
		skip();
	k = qt_conf_keys(&n);
	for (i = 0; i < n; i++) {
		char head[64], entry[128];
		char *sec, *next, *p;

		snprintf(head, sizeof(head), "\n.SS [%s]\n", k[i].section);
		snprintf(entry, sizeof(entry), "\n.BR %s \" = \" ", k[i].key);
		sec = strstr(text, head);
		if (!sec) {
			fail_msg("section [%s] missing from qtrackd.conf.5",
				 k[i].section);
			return;
		}
		next = strstr(sec + 1, "\n.SS ");
		if (!next)
			next = strstr(sec + 1, "\n.SH ");
		p = strstr(sec, entry);
		if (!p || (next && p > next))
			fail_msg("[%s] %s missing from qtrackd.conf.5",
				 k[i].section, k[i].key);
		if (k[i].sysctl && !strstr(text, k[i].sysctl))
			fail_msg("%s missing from qtrackd.conf.5", k[i].sysctl);
	}
	free(text);
}

/* tests/conf/bad: each file fails with exactly the line in expected.txt
 * (which the e2e test also checks through qtrackd -n -c). */
static void test_bad_configs(void **state)
{
	char *list = src_read("tests/conf/bad/expected.txt");
	char *dir = src_path("tests/conf/bad");
	char *line, *save = NULL;
	size_t checked = 0;

	if (!list)
		skip();
	for (line = strtok_r(list, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char file[256], path[4096], err[512];
		struct qt_conf c;
		char *text;

		if (line[0] == '#')
			continue;
		snprintf(file, sizeof(file), "%.*s", (int)strcspn(line, ":"),
			 line);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		text = file_read(path);
		if (!text)
			fail_msg("%s listed in expected.txt is missing", file);
		qt_conf_init(&c);
		if (qt_conf_parse(&c, text, file, err, sizeof(err)) == 0)
			fail_msg("%s parsed without error", file);
		assert_string_equal(err, line);
		free(text);
		checked++;
	}
	assert_true(checked >= 30);
	free(list);
	free(dir);
}

/* [sync]: addresses, a key with a peer, one family. */
static void test_sync_keys(void **state)
{
	struct qt_conf c;
	(void)state;

	c = parse_ok("[sync]\npeer = 10.0.3.2\nlocal = 10.0.3.1\n"
		     "key_file = /etc/qtrack/sync.key\nrole = active\n"
		     "refresh = 5\n");
	assert_string_equal(c.sync.peer, "10.0.3.2");
	assert_int_equal(c.sync.role, QT_SYNC_ACTIVE);
	assert_int_equal(c.sync.refresh, 5);
	assert_int_equal(c.sync.port, 3781);
	c = parse_ok("[sync]\npeer = fd00:3::2\n"
		     "key_file = /etc/qtrack/sync.key\n");
	assert_int_equal(c.sync.role, QT_SYNC_STANDBY);
	parse_err("[sync]\npeer = fw2\nkey_file = /k\n",
		  "t.conf: [sync] peer: 'fw2' is not an IP address");
	parse_err("[sync]\npeer = 10.0.3.2\n",
		  "t.conf: [sync] key_file: required when peer is set");
	parse_err("[sync]\npeer = 10.0.3.2\nlocal = fd00::1\nkey_file = /k\n",
		  "t.conf: [sync] local: 'fd00::1' is not of the family of "
		  "peer '10.0.3.2'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_defaults_parse),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_marks),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_tcp_timeouts),
	    cmocka_unit_test(test_enum_range),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_layering),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_shipped_conf),
	    cmocka_unit_test(test_man_page),
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_sync_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
