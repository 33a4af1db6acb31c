/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_table.c - the connection index on its own: random inserts and
 * releases against a list of what is live, with indexes small enough that
 * most connections sit in overflow buckets.  Every live entry must be found
 * from both of its tuples (with the right direction), no released one may
 * be found, and overflow buckets must go back to the pool as chains
 * shrink.  The tuples mix UDP, TCP, ICMP echo (whose inverse changes the
 * type), reversed address orders and flows from an address to itself, so
 * the symmetric hash must agree with every tracker's invert(); a third of
 * them are IPv6, so entries are reused across families.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "table.h"

#define MAX 3000

static uint64_t rng_state;

static uint32_t rng_below(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

static struct qt_tuple tuple_of(uint32_t key)
{
	struct qt_tuple tp;

	memset(&tp, 0, sizeof(tp));
	tp.family = AF_INET;
	tp.src.ip = htonl(0x0a000000u | key);
	tp.dst.ip = htonl(0x0a800001u);
	switch (key % 5) {
	case 0:		/* UDP, the lower address first */
		tp.proto = IPPROTO_UDP;
		tp.sport = (uint16_t)(1024 + key % 50000);
		tp.dport = 53;
		break;
	case 1:		/* TCP from the higher address */
		tp.proto = IPPROTO_TCP;
		tp.src.ip = htonl(0x0b000000u | key);
		tp.sport = 80;
		tp.dport = (uint16_t)(1024 + key % 50000);
		break;
	case 2:		/* ICMP echo: the reply tuple has type 0 */
		tp.proto = IPPROTO_ICMP;
		tp.icmp.id = (uint16_t)key;
		tp.icmp.type = 8;
		break;
	case 3:		/* an address to itself, ports in either order */
		tp.proto = IPPROTO_UDP;
		tp.dst = tp.src;
		tp.sport = (uint16_t)(key & 1 ? 4000 : 5000);
		tp.dport = (uint16_t)(key & 1 ? 5000 : 4000);
		break;
	default:	/* a protocol without a tracker: no ports */
		tp.proto = 47;
		tp.src.ip = htonl(0x0c000000u | key);
		break;
	}
	if (key / 5 % 3 == 1) {
		/* A third of them IPv6: fd00::<the IPv4 address>, so that
		 * entries change family as keys come and go. */
		tp.family = AF_INET6;
		tp.src.w[3] = tp.src.ip;
		tp.dst.w[3] = tp.dst.ip;
		tp.src.w[0] = tp.dst.w[0] = htonl(0xfd000000u);
		if (tp.proto == IPPROTO_ICMP) {
			tp.proto = IPPROTO_ICMPV6;
			tp.icmp.type = 128;
		}
	}
	return tp;
}

/* Overflow buckets in use: taken from the pool minus those on its free
 * list. */
static uint32_t ovf_used(const struct qt_table *t)
{
	uint32_t n = t->ovf_fresh - 1;

	for (uint32_t r = t->ovf_free; r; r = ~t->ovf[r].nmore)
		n--;
	return n;
}

static void check_all(const struct qt_table *t, struct qt_conn **live,
		      const uint32_t *key, size_t nlive, uint32_t nkeys)
{
	for (size_t i = 0; i < nlive; i++) {
		struct qt_tuple o = tuple_of(key[i]), r;
		enum qt_dir d;

		qt_conn_tuple(live[i], QT_DIR_REPLY, &r);
		assert_ptr_equal(qt_table_lookup(t, &o, &d), live[i]);
		assert_int_equal(d, QT_DIR_ORIG);
		assert_ptr_equal(qt_table_lookup(t, &r, &d), live[i]);
		assert_int_equal(d, QT_DIR_REPLY);
	}
	/* Keys never or no longer inserted are not found. */
	for (uint32_t k = 0; k < nkeys; k++) {
		struct qt_tuple o = tuple_of(k);
		bool in = false;

		for (size_t i = 0; i < nlive && !in; i++)
			in = key[i] == k;
		if (!in)
			assert_null(qt_table_lookup(t, &o, NULL));
	}
}

static void run(uint32_t buckets, uint64_t seed)
{
	static struct qt_conn *live[MAX];
	static uint32_t key[MAX];
	uint32_t nkeys = 2 * MAX, next_key = 0;
	size_t nlive = 0;
	struct qt_table t;

	rng_state = seed;
	assert_int_equal(qt_table_init(&t, MAX, buckets, 7), 0);
	for (int op = 0; op < 40000; op++) {
		bool add = nlive == 0 ||
			   (nlive < MAX && rng_below(100) < (op < 20000 ? 60 : 35));

		if (add) {
			struct qt_conn *ct = qt_table_alloc(&t);

			assert_non_null(ct);
			key[nlive] = next_key++ % nkeys;
			/* A key may still be live after wrapping: skip it. */
			for (size_t i = 0; i < nlive; i++)
				if (key[i] == key[nlive])
					key[nlive] = UINT32_MAX;
			if (key[nlive] == UINT32_MAX) {
				qt_table_release(&t, ct);
				continue;
			}
			{
				struct qt_tuple tp = tuple_of(key[nlive]);

				qt_table_set_tuple(&t, ct, &tp);
			}
			qt_table_insert(&t, ct);
			live[nlive++] = ct;
		} else {
			size_t i = rng_below((uint32_t)nlive);

			qt_table_release(&t, live[i]);
			live[i] = live[--nlive];
			key[i] = key[nlive];
		}
		assert_int_equal(t.count, nlive);
		if (op % 4000 == 3999)
			check_all(&t, live, key, nlive, nkeys);
		/* A chain of n connections never needs more than n / 15
		 * overflow buckets. */
		assert_true(ovf_used(&t) <= nlive / QT_BUCKET_SLOTS);
	}
	check_all(&t, live, key, nlive, nkeys);
	while (nlive)
		qt_table_release(&t, live[--nlive]);
	assert_int_equal(ovf_used(&t), 0);
	assert_int_equal(t.count, 0);
	qt_table_destroy(&t);
}

static void test_one_bucket(void **state)
{
	(void)state;
	run(1, 1);
}

static void test_small_index(void **state)
{
	(void)state;
	run(64, 2);
	run(512, 3);
}

static void test_normal_index(void **state)
{
	(void)state;
	run(4096, 4);
}

/* Connections that live in an overflow bucket of @t. */
static uint32_t spilled(const struct qt_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i <= t->bmask; i++)
		for (const struct qt_bucket *b = &t->bucket[i]; b->nmore;) {
			b = &t->ovf[~b->nmore];
			for (unsigned s = 0; s < QT_BUCKET_SLOTS; s++)
				n += b->slot[s] != 0;
		}
	return n;
}

/* A table filled to [table] max = buckets averages eight connections in a
 * bucket of fifteen slots: about one in a thousand spills into an overflow
 * bucket (one in twenty did with ten slots), and each of those lookups is a
 * cache miss the batch pipeline cannot hide.  max is a power of two, so
 * the last entry's link (index + 1 = max) needs the widest link field. */
static void test_full_table(void **state)
{
	enum { N = 65536 };
	static struct qt_conn *ct[N];
	struct qt_table t;
	enum qt_dir d;

	(void)state;
	assert_int_equal(qt_table_init(&t, N, N, 11), 0);
	assert_int_equal(t.link_bits, 17);
	for (uint32_t k = 0; k < N; k++) {
		struct qt_tuple tp = tuple_of(k);

		ct[k] = qt_table_alloc(&t);
		assert_non_null(ct[k]);
		qt_table_set_tuple(&t, ct[k], &tp);
		qt_table_insert(&t, ct[k]);
	}
	assert_null(qt_table_alloc(&t));
	for (uint32_t k = 0; k < N; k++) {
		struct qt_tuple o = tuple_of(k), r;

		assert_ptr_equal(qt_table_lookup(&t, &o, &d), ct[k]);
		assert_int_equal(d, QT_DIR_ORIG);
		qt_conn_tuple(ct[k], QT_DIR_REPLY, &r);
		assert_ptr_equal(qt_table_lookup(&t, &r, &d), ct[k]);
		assert_int_equal(d, QT_DIR_REPLY);
	}
	assert_true(spilled(&t) * 200 < N);
	for (uint32_t k = 0; k < N; k++)
		qt_table_release(&t, ct[k]);
	assert_int_equal(ovf_used(&t), 0);
	assert_int_equal(t.count, 0);
	qt_table_destroy(&t);
}

/* qt_table_lookup_hint() answers as qt_table_lookup() whatever the hint,
 * also when the slot it names holds another connection with the same tag
 * (a tag is only a part of the hash). */
static void test_lookup_hint(void **state)
{
	enum { N = 500 };
	static struct qt_conn *ct[N];
	struct qt_tuple a = tuple_of(0), b, r;
	struct qt_conn *one;
	struct qt_table t;
	enum qt_dir d, d2;
	uint32_t k, word;
	unsigned int hint;

	(void)state;
	/* One index bucket: every tuple is looked up in it. */
	assert_int_equal(qt_table_init(&t, MAX, 8, 5), 0);
	one = qt_table_alloc(&t);
	qt_table_set_tuple(&t, one, &a);
	qt_table_insert(&t, one);
	hint = qt_table_prefetch_entry(&t, qt_table_hash(&t, &a), AF_INET,
				       &word);
	assert_int_not_equal(hint, 0);
	assert_ptr_equal(qt_table_lookup_hint(&t, &a, qt_table_hash(&t, &a),
					      hint, &d), one);
	assert_int_equal(d, QT_DIR_ORIG);
	qt_conn_tuple(one, QT_DIR_REPLY, &r);
	assert_ptr_equal(qt_table_lookup_hint(&t, &r, qt_table_hash(&t, &r),
					      hint, &d), one);
	assert_int_equal(d, QT_DIR_REPLY);
	/* A tuple whose tag is the entry's: the hint names the entry's
	 * slot, and the lookup must still say "none". */
	for (k = 1; k < (1u << 23); k++) {
		b = tuple_of(k);
		hint = qt_table_prefetch_entry(&t, qt_table_hash(&t, &b),
					       AF_INET, &word);
		if (hint)
			break;
	}
	assert_int_not_equal(hint, 0);
	assert_null(qt_table_lookup_hint(&t, &b, qt_table_hash(&t, &b), hint,
					 &d));
	qt_table_release(&t, one);

	/* Many entries, stale and random hints. */
	for (k = 0; k < N; k++) {
		struct qt_tuple tp = tuple_of(k * 3);

		ct[k] = qt_table_alloc(&t);
		qt_table_set_tuple(&t, ct[k], &tp);
		qt_table_insert(&t, ct[k]);
	}
	for (k = 0; k < 3 * N; k++) {
		struct qt_tuple tp = tuple_of(k);
		uint64_t h = qt_table_hash(&t, &tp);
		struct qt_conn *want = qt_table_lookup(&t, &tp, &d);

		assert_true(want == NULL || k % 3 == 0);
		for (hint = 0; hint <= QT_BUCKET_SLOTS; hint++) {
			assert_ptr_equal(qt_table_lookup_hint(&t, &tp, h, hint,
							      &d2), want);
			if (want)
				assert_int_equal(d2, d);
		}
	}
	qt_table_destroy(&t);
}

/* qt_table_find4_hint() of @tp's fields with hash @h, @hint and @word. */
static struct qt_conn *find4(const struct qt_table *t, const struct qt_tuple *tp,
			     uint64_t h, unsigned int hint, uint32_t word,
			     enum qt_dir *d)
{
	return qt_table_find4_hint(t, h, hint, word, tp->src.ip, tp->dst.ip,
				   tp->l4, tp->proto, d);
}

/*
 * The short way's lookup of a brief packet: it finds an entry only in the
 * slot the hint names, and only the entry of the tuple (either
 * direction).  Called with an entry's hash but another tuple (what a tag
 * collision looks like), every tuple that differs in one field, or has
 * the addresses or the ports swapped but not both, must find nothing.
 */
static void test_find4_hint(void **state)
{
	enum { N = 300 };
	struct qt_table t;
	enum qt_dir d, d2;

	(void)state;
	assert_int_equal(qt_table_init(&t, MAX, MAX, 9), 0);
	for (uint32_t k = 0; k < N; k++) {
		struct qt_tuple tp = tuple_of(k), r, v[10];
		struct qt_conn *ct = qt_table_alloc(&t);
		uint64_t h = qt_table_hash(&t, &tp);
		unsigned int hint;
		uint32_t word;

		if ((tp.proto != IPPROTO_TCP && tp.proto != IPPROTO_UDP) ||
		    tp.family != AF_INET) {
			qt_table_release(&t, ct);
			continue;
		}
		qt_table_set_tuple(&t, ct, &tp);
		qt_table_insert(&t, ct);
		assert_int_equal(qt_table_hash4(&t, tp.src.ip, tp.dst.ip, tp.l4,
						tp.proto), h);
		hint = qt_table_prefetch_entry(&t, h, AF_INET, &word);
		assert_int_not_equal(hint, 0);
		assert_int_equal(word, t.bucket[h & t.bmask].slot[hint - 1]);
		assert_null(find4(&t, &tp, h, 0, 0, &d));
		assert_ptr_equal(find4(&t, &tp, h, hint, word, &d), ct);
		assert_int_equal(d, QT_DIR_ORIG);
		/* The slot's content changed since: no answer. */
		assert_null(find4(&t, &tp, h, hint, word ^ 1, &d));
		qt_conn_tuple(ct, QT_DIR_REPLY, &r);
		assert_int_equal(qt_table_hash(&t, &r), h);
		assert_ptr_equal(find4(&t, &r, h, hint, word, &d), ct);
		assert_int_equal(d, QT_DIR_REPLY);
		for (unsigned int i = 0; i < 7; i++)
			v[i] = tp;
		v[0].src.ip ^= htonl(1);
		v[1].dst.ip ^= htonl(0x100);
		v[2].sport++;
		v[3].dport++;
		v[4].proto = tp.proto == IPPROTO_TCP ? IPPROTO_UDP
						    : IPPROTO_TCP;
		v[5].src.ip = tp.dst.ip;	/* addresses swapped only */
		v[5].dst.ip = tp.src.ip;
		v[6].sport = tp.dport;		/* ports swapped only */
		v[6].dport = tp.sport;
		v[7] = r;			/* the reply, one field off */
		v[7].sport ^= 0x8000;
		v[8] = r;
		v[8].src.ip ^= htonl(1);
		v[9] = r;
		v[9].dst.ip ^= htonl(1);
		for (unsigned int i = 0; i < 10; i++) {
			/* An address to itself: a swap may give the tuple
			 * or its reply. */
			if (qt_tuple_equal(&v[i], &tp) ||
			    qt_tuple_equal(&v[i], &r))
				continue;
			assert_null(find4(&t, &v[i], h, hint, word, &d));
		}
	}
	/* Random tuples, every hint: the entry of the tuple or nothing. */
	for (uint32_t k = 0; k < 3 * N; k++) {
		struct qt_tuple tp = tuple_of(k);
		uint64_t h = qt_table_hash(&t, &tp);
		struct qt_conn *want = qt_table_lookup(&t, &tp, &d);

		if ((tp.proto != IPPROTO_TCP && tp.proto != IPPROTO_UDP) ||
		    tp.family != AF_INET)
			continue;
		for (unsigned int hint = 0; hint <= QT_BUCKET_SLOTS; hint++) {
			/* The slot's content, whatever its tag. */
			uint32_t w = hint ? t.bucket[h & t.bmask].slot[hint - 1]
					  : 0;
			struct qt_conn *got = find4(&t, &tp, h, hint, w, &d2);

			assert_true(got == NULL || got == want);
			if (got)
				assert_int_equal(d2, d);
		}
	}
	qt_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_bucket),
	    cmocka_unit_test(test_small_index),
	    cmocka_unit_test(test_normal_index),
	    cmocka_unit_test(test_full_table),
	    cmocka_unit_test(test_lookup_hint),
	    cmocka_unit_test(test_find4_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
