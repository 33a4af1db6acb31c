/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.h - the connection table: a pool of entries sized by [table] max
 * and a chained hash index over both tuples of every entry.
 *
 * Entries are addressed by 32-bit index; each entry has two hash links,
 * one per direction, so a single lookup finds a connection from a packet
 * of either direction and says which.  No allocation after qt_table_new().
 */
#ifndef QTRACK_TABLE_H
#define QTRACK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "tuple.h"

struct qt_table {
	struct qt_conn *conns;		/* pool of max entries */
	uint32_t *bucket;		/* head link per bucket */
	uint32_t max;
	uint32_t nbuckets;		/* power of two */
	uint32_t count;			/* entries in use */
	uint32_t free_head;		/* free list through hnext[0] */
	uint32_t seed;
};

int qt_table_init(struct qt_table *t, uint32_t max, uint32_t buckets,
		  uint32_t seed);
void qt_table_destroy(struct qt_table *t);

uint32_t qt_table_hash(const struct qt_table *t, const struct qt_tuple *tp);

/* Find the entry with @tp as one of its tuples; *dir says which. */
struct qt_conn *qt_table_lookup(const struct qt_table *t,
				const struct qt_tuple *tp, enum qt_dir *dir);

/* Take a free entry (zeroed, master = QT_NO_CONN), or NULL if full. */
struct qt_conn *qt_table_alloc(struct qt_table *t);

/* Link both tuples of @ct into the index. */
void qt_table_insert(struct qt_table *t, struct qt_conn *ct);

/* Unlink @ct from the index (if linked) and return it to the pool. */
void qt_table_release(struct qt_table *t, struct qt_conn *ct);

static inline uint32_t qt_table_index(const struct qt_table *t,
				      const struct qt_conn *ct)
{
	return (uint32_t)(ct - t->conns);
}

/* A non-assured victim for early drop near the bucket of @tp, examining at
 * most @scan entries; NULL if none. @ok may veto (proto can_early_drop). */
struct qt_conn *qt_table_victim(const struct qt_table *t,
				const struct qt_tuple *tp, unsigned scan,
				bool (*ok)(const struct qt_conn *ct));

#endif
