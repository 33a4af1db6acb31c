// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_expect.c - the expectation table on its own: matching with an open
 * source port, refresh, the per-master and total limits, clashes between
 * masters, removal with the master, expiry, the helper state pool, the
 * listing formats, and the helper table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "expect.h"
#include "format.h"

struct fx {
	struct qt_table table;
	struct qt_wheel wheel;
	struct qt_expect_table x;
	struct qt_conf conf;
	struct qt_conn *m1, *m2;
};

static struct fx F;

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	qt_conf_init(&F.conf);
	assert_int_equal(qt_table_init(&F.table, 16, 8, 1), 0);
	assert_int_equal(qt_expect_init(&F.x, &F.table, 3), 0);
	qt_wheel_init(&F.wheel, 0);
	qt_wheel_set_array(&F.wheel, 1, &F.x.slot[0].timer, sizeof(*F.x.slot),
			   F.x.max);
	F.m1 = qt_table_alloc(&F.table);
	F.m2 = qt_table_alloc(&F.table);
	assert_non_null(F.m1);
	assert_non_null(F.m2);
	*state = &F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	qt_expect_destroy(&F.x);
	qt_table_destroy(&F.table);
	return 0;
}

/* client 10.0.1.2 -> server 10.0.2.2:@dport from @sport */
static struct qt_tuple tup(uint16_t sport, uint16_t dport)
{
	struct qt_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	t.proto = 6;
	t.src.b[0] = 10;
	t.src.b[2] = 1;
	t.src.b[3] = 2;
	t.dst.b[0] = 10;
	t.dst.b[2] = 2;
	t.dst.b[3] = 2;
	t.sport = sport;
	t.dport = dport;
	return t;
}

static int add(struct qt_conn *m, uint16_t dport, uint32_t per_master,
	       uint64_t now)
{
	struct qt_tuple t = tup(0, dport);

	return qt_expect_add(&F.x, &F.wheel, m, &t, QT_EXPECT_ANY_SPORT,
			     QT_HELPER_FTP, 300, per_master, now);
}

/* A new connection with original tuple @t: is it expected? */
static bool take(struct qt_tuple t)
{
	struct qt_conn *ct = qt_table_alloc(&F.table);
	bool related;

	assert_non_null(ct);
	qt_table_set_tuple(&F.table, ct, &t);
	F.m1->mark = 0x4200;
	F.m2->mark = 0x4200;
	qt_expect_apply(&F.x, &F.wheel, ct, &F.conf);
	related = ct->status & QT_CONN_EXPECTED;
	if (related) {
		assert_int_equal(ct->mark, 0x4200);
		assert_int_equal(ct->helper, QT_HELPER_NONE);
	}
	qt_table_release(&F.table, ct);
	return related;
}

static void test_match_and_use(void **state)
{
	struct qt_tuple other;

	(void)state;
	assert_int_equal(add(F.m1, 50000, 1, 0), 0);
	assert_int_equal(F.x.count, 1);
	assert_int_equal(F.m1->nexpect, 1);
	/* Wrong port, wrong source host, wrong protocol: not expected. */
	assert_false(take(tup(1234, 50001)));
	other = tup(1234, 50000);
	other.src.b[3] = 3;
	assert_false(take(other));
	other = tup(1234, 50000);
	other.proto = 17;
	assert_false(take(other));
	assert_int_equal(F.x.count, 1);
	/* Any source port matches; the expectation is used up. */
	assert_true(take(tup(40123, 50000)));
	assert_int_equal(F.x.count, 0);
	assert_int_equal(F.m1->nexpect, 0);
	assert_false(take(tup(40124, 50000)));
}

static void test_limits(void **state)
{
	(void)state;
	/* Per master 1: the newest replaces the oldest. */
	assert_int_equal(add(F.m1, 50000, 1, 0), 0);
	assert_int_equal(add(F.m1, 50001, 1, 0), 0);
	assert_int_equal(F.x.count, 1);
	assert_false(take(tup(1, 50000)));
	assert_true(take(tup(1, 50001)));
	/* The same announcement twice is one expectation, refreshed. */
	assert_int_equal(add(F.m1, 50002, 2, 0), 0);
	assert_int_equal(add(F.m1, 50002, 2, 1000), 0);
	assert_int_equal(F.x.count, 1);
	/* Total of three: a fourth is refused. */
	assert_int_equal(add(F.m1, 50003, 2, 0), 0);
	assert_int_equal(add(F.m2, 50004, 2, 0), 0);
	assert_int_equal(add(F.m2, 50005, 2, 0), -1);
	assert_int_equal(F.x.count, 3);
	assert_int_equal(F.x.refused, 1);
	/* Another master announcing the same connection clashes. */
	assert_int_equal(add(F.m2, 50002, 3, 0), -1);
	assert_int_equal(F.x.refused, 2);
}

static void test_remove_master(void **state)
{
	struct qt_help *h;

	(void)state;
	assert_int_equal(add(F.m1, 50000, 2, 0), 0);
	assert_int_equal(add(F.m1, 50001, 2, 0), 0);
	assert_int_equal(add(F.m2, 50002, 2, 0), 0);
	h = qt_expect_help_get(&F.x, F.m1);
	assert_non_null(h);
	assert_ptr_equal(qt_expect_help_get(&F.x, F.m1), h);
	assert_int_equal(F.x.help_count, 1);
	qt_expect_remove_master(&F.x, &F.wheel, F.m1);
	assert_int_equal(F.x.count, 1);
	assert_int_equal(F.m1->nexpect, 0);
	assert_int_equal(F.m1->help, 0);
	assert_int_equal(F.x.help_count, 0);
	assert_false(take(tup(1, 50000)));
	assert_true(take(tup(1, 50002)));
}

static void fired(struct qt_timer *t, void *arg)
{
	qt_expect_timer_fired(arg, t);
}

static void test_expiry(void **state)
{
	(void)state;
	assert_int_equal(add(F.m1, 50000, 1, 0), 0);
	assert_true(qt_expect_is_timer(&F.x, &F.x.slot[0].timer));
	assert_false(qt_expect_is_timer(&F.x, &F.m1->timer));
	qt_wheel_advance(&F.wheel, 299000, fired, &F.x, 0);
	assert_int_equal(F.x.count, 1);
	qt_wheel_advance(&F.wheel, 301000, fired, &F.x, 0);
	assert_int_equal(F.x.count, 0);
	assert_int_equal(F.m1->nexpect, 0);
	assert_false(take(tup(1, 50000)));
}

/* The helper state pool is as large as the table (3 here). */
static void test_help_pool(void **state)
{
	struct qt_conn *c[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		c[i] = qt_table_alloc(&F.table);
		assert_non_null(c[i]);
	}
	for (int i = 0; i < 3; i++)
		assert_non_null(qt_expect_help_get(&F.x, c[i]));
	assert_null(qt_expect_help_get(&F.x, c[3]));
	assert_int_equal(F.x.help_refused, 1);
	qt_expect_remove_master(&F.x, &F.wheel, c[1]);
	assert_non_null(qt_expect_help_get(&F.x, c[3]));
}

static void test_listing(void **state)
{
	const struct qt_expect *exp;
	uint32_t cur = 0;
	char line[256];
	size_t n;

	(void)state;
	assert_int_equal(add(F.m1, 50000, 2, 0), 0);
	assert_int_equal(add(F.m2, 50001, 2, 0), 0);
	exp = qt_expect_next(&F.x, &cur);
	assert_non_null(exp);
	n = qt_format_expect(exp, 300, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_string_equal(line, "300 l3proto = 2 proto=6 src=10.0.1.2 "
				  "dst=10.0.2.2 sport=0 dport=50000 ftp");
	qt_format_expect_json(exp, 12, line, sizeof(line));
	assert_string_equal(line, "{\"timeout\":12,\"family\":\"ipv4\","
				  "\"proto\":6,\"src\":\"10.0.1.2\","
				  "\"dst\":\"10.0.2.2\",\"sport\":0,"
				  "\"dport\":50000,\"helper\":\"ftp\"}");
	/* A short buffer: the length needed, the text cut. */
	assert_int_equal(qt_format_expect(exp, 300, line, 10),
			 strlen("300 l3proto = 2 proto=6 src=10.0.1.2 "
				"dst=10.0.2.2 sport=0 dport=50000 ftp"));
	assert_string_equal(line, "300 l3pro");
	assert_non_null(qt_expect_next(&F.x, &cur));
	assert_null(qt_expect_next(&F.x, &cur));
}

/* The helper table: a new connection gets the helper whose ports and
 * protocol it matches, found again by its number with its name and
 * policy; a number no helper has finds none. */
static void test_helper_table(void **state)
{
	struct qt_tuple t = tup(40000, 2121);
	struct qt_conn *ct = qt_table_alloc(&F.table);
	const struct qt_helper_ops *h;
	struct qt_expect_policy p;

	(void)state;
	assert_non_null(ct);
	qt_table_set_tuple(&F.table, ct, &t);
	assert_int_equal(qt_helper_assign(ct, &F.conf), QT_HELPER_NONE);
	F.conf.helper.ftp_ports[0] = 21;
	F.conf.helper.ftp_ports[1] = 2121;
	F.conf.helper.n_ftp_ports = 2;
	assert_int_equal(qt_helper_assign(ct, &F.conf), QT_HELPER_FTP);
	qt_expect_apply(&F.x, &F.wheel, ct, &F.conf);
	assert_int_equal(ct->helper, QT_HELPER_FTP);
	qt_table_release(&F.table, ct);

	t.proto = 17;
	ct = qt_table_alloc(&F.table);
	assert_non_null(ct);
	qt_table_set_tuple(&F.table, ct, &t);
	assert_int_equal(qt_helper_assign(ct, &F.conf), QT_HELPER_NONE);
	qt_table_release(&F.table, ct);

	h = qt_helper_find(QT_HELPER_FTP);
	assert_non_null(h);
	assert_string_equal(h->name, "ftp");
	F.conf.helper.expect_per_master = 3;
	F.conf.helper.expect_timeout = 60;
	p = h->policy(&F.conf);
	assert_int_equal(p.max_expected, 3);
	assert_int_equal(p.timeout, 60);
	assert_null(qt_helper_find(QT_HELPER_NONE));
	assert_null(qt_helper_find(QT_HELPER_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_match_and_use, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_master, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_help_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
