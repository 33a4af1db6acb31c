// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * table.c - connection pool and the hash index over both directions.
 *
 * Every entry carries two hash links, hnext[QT_DIR_ORIG] and
 * hnext[QT_DIR_REPLY]; a link value is (entry index << 1 | direction), so
 * walking a chain tells at once which tuple of which entry matched.  The
 * pool is one array of [table] max entries taken at start; the free list
 * runs through hnext[0] of free entries.  calloc() leaves untouched pages
 * unmapped, so memory grows with the entries actually used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define LINK_END UINT32_MAX

static inline uint32_t link_make(uint32_t idx, enum qt_dir dir)
{
	return idx << 1 | (uint32_t)dir;
}

static inline uint32_t rol32(uint32_t v, unsigned s)
{
	return (v << s) | (v >> (32 - s));
}

static inline uint32_t mix32(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51u;
	k = rol32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = rol32(h, 13);
	return h * 5 + 0xe6546b64u;
}

/* Murmur3-style hash over the ten 32-bit words of a tuple.  Every byte of
 * the tuple takes part; the seed makes chains unpredictable from outside. */
uint32_t qt_table_hash(const struct qt_table *t, const struct qt_tuple *tp)
{
	uint32_t w[sizeof(*tp) / 4];
	uint32_t h = t->seed;

	memcpy(w, tp, sizeof(w));
	for (unsigned i = 0; i < sizeof(w) / 4; i++)
		h = mix32(h, w[i]);
	h ^= sizeof(w);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

int qt_table_init(struct qt_table *t, uint32_t max, uint32_t buckets,
		  uint32_t seed)
{
	memset(t, 0, sizeof(*t));
	if (max == 0 || max >= (1u << 31) || buckets == 0) {
		errno = EINVAL;
		return -1;
	}
	t->max = max;
	t->nbuckets = round_pow2(buckets);
	t->seed = seed;
	t->conns = calloc(max, sizeof(*t->conns));
	t->bucket = malloc((size_t)t->nbuckets * sizeof(*t->bucket));
	if (!t->conns || !t->bucket) {
		qt_table_destroy(t);
		errno = ENOMEM;
		return -1;
	}
	memset(t->bucket, 0xff, (size_t)t->nbuckets * sizeof(*t->bucket));
	/* Free list in index order, so a fresh table fills low pages first. */
	for (uint32_t i = 0; i < max; i++)
		t->conns[i].hnext[0] = i + 1 < max ? i + 1 : LINK_END;
	t->free_head = 0;
	return 0;
}

void qt_table_destroy(struct qt_table *t)
{
	free(t->conns);
	free(t->bucket);
	t->conns = NULL;
	t->bucket = NULL;
}

struct qt_conn *qt_table_lookup(const struct qt_table *t,
				const struct qt_tuple *tp, enum qt_dir *dir)
{
	uint32_t link = t->bucket[qt_table_hash(t, tp) & (t->nbuckets - 1)];

	while (link != LINK_END) {
		struct qt_conn *ct = &t->conns[link >> 1];
		enum qt_dir d = (enum qt_dir)(link & 1);

		if (qt_tuple_equal(&ct->tuple[d], tp)) {
			if (dir)
				*dir = d;
			return ct;
		}
		link = ct->hnext[d];
	}
	return NULL;
}

struct qt_conn *qt_table_alloc(struct qt_table *t)
{
	struct qt_conn *ct;

	if (t->free_head == LINK_END || t->count >= t->max)
		return NULL;
	ct = &t->conns[t->free_head];
	t->free_head = ct->hnext[0];
	memset(ct, 0, sizeof(*ct));
	ct->hnext[0] = ct->hnext[1] = LINK_END;
	ct->master = QT_NO_CONN;
	t->count++;
	return ct;
}

void qt_table_insert(struct qt_table *t, struct qt_conn *ct)
{
	uint32_t idx = qt_table_index(t, ct);

	for (int d = 0; d < 2; d++) {
		uint32_t b = qt_table_hash(t, &ct->tuple[d]) & (t->nbuckets - 1);

		ct->hnext[d] = t->bucket[b];
		t->bucket[b] = link_make(idx, (enum qt_dir)d);
	}
	ct->status |= QT_CONN_CONFIRMED;
}

static void table_unlink(struct qt_table *t, struct qt_conn *ct,
			 enum qt_dir d)
{
	uint32_t want = link_make(qt_table_index(t, ct), d);
	uint32_t *pp =
		&t->bucket[qt_table_hash(t, &ct->tuple[d]) & (t->nbuckets - 1)];

	while (*pp != LINK_END) {
		if (*pp == want) {
			*pp = ct->hnext[d];
			return;
		}
		pp = &t->conns[*pp >> 1].hnext[*pp & 1];
	}
}

void qt_table_release(struct qt_table *t, struct qt_conn *ct)
{
	if (ct->status & QT_CONN_CONFIRMED) {
		table_unlink(t, ct, QT_DIR_ORIG);
		table_unlink(t, ct, QT_DIR_REPLY);
	}
	ct->status = 0;
	ct->hnext[1] = LINK_END;
	ct->hnext[0] = t->free_head;
	t->free_head = qt_table_index(t, ct);
	t->count--;
}

struct qt_conn *qt_table_victim(const struct qt_table *t,
				const struct qt_tuple *tp, unsigned scan,
				bool (*ok)(const struct qt_conn *ct))
{
	uint32_t b = qt_table_hash(t, tp) & (t->nbuckets - 1);
	unsigned seen = 0;

	/* Like the kernel's early_drop(): look at a few chains near the new
	 * tuple's bucket, never at the whole table. */
	for (unsigned i = 0; i < 8 && seen < scan; i++) {
		uint32_t link = t->bucket[(b + i) & (t->nbuckets - 1)];

		while (link != LINK_END && seen < scan) {
			struct qt_conn *ct = &t->conns[link >> 1];

			seen++;
			if (!(ct->status & QT_CONN_ASSURED) && (!ok || ok(ct)))
				return ct;
			link = ct->hnext[link & 1];
		}
	}
	return NULL;
}
