/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * table.h - the connection table: a pool of entries sized by [table] max
 * and a hash index over the connections.
 *
 * Entries are addressed by 32-bit index.  The index hash is symmetric: a
 * tuple and its inverse (the reply tuple) hash alike, so each connection
 * is indexed once, and a single lookup finds it from a packet of either
 * direction and says which.  No allocation after qt_table_init().
 *
 * The index is an array of cache-line buckets.  A bucket holds up to
 * QT_BUCKET_SLOTS slots of one 32-bit word each: the entry's index + 1 in
 * the low link_bits bits (as many as [table] max needs) and a tag, the top
 * bits of the hash, in the rest.  A lookup reads one line of index and
 * then, almost always, only the entry that matches: a tag mismatch
 * rejects an entry without touching it.  A bucket that is full continues
 * in a chain of overflow buckets from a side pool.  The index has one
 * bucket per eight configured buckets, so a table filled to [table] max =
 * buckets averages eight connections in a bucket of fifteen slots (about
 * 8 bytes of index per connection), and only about one connection in a
 * thousand lives in an overflow bucket, whose lookup costs a cache miss
 * the batch pipeline does not hide.
 *
 * The pool holds 96-byte entries (conn.h).  IPv6 connections keep their
 * original addresses in a second array, addr6, indexed like the pool:
 * an entry stores a pointer to its own element.  Like the pool it is
 * mapped lazily, so a table that tracks only IPv4 never touches a page of
 * it and it costs no resident memory.
 */
#ifndef QTRACK_TABLE_H
#define QTRACK_TABLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "tuple.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define QT_BUCKET_SLOTS 15
#define QT_BUCKET_PER_CONF 8	/* configured buckets per index bucket */

/* A free slot is 0 and a used one never is (its link is at least 1, its
 * tag never 0), so an all-zero bucket (a page the kernel has not yet given
 * us) is empty: the index needs no initialisation pass.  word[] sees the
 * slots and nmore as one array, for the tag match. */
struct qt_bucket {
	union {
		struct {
			/* tag << link_bits | (entry index + 1); 0 free */
			uint32_t slot[QT_BUCKET_SLOTS];
			uint32_t nmore;	/* ~overflow bucket index, 0 none */
		};
		uint32_t word[QT_BUCKET_SLOTS + 1];
	};
};

_Static_assert(sizeof(struct qt_bucket) == 64, "bucket is one cache line");

struct qt_table {
	struct qt_conn *conns;	  /* pool of max entries */
	struct qt_bucket *bucket; /* bmask + 1 buckets */
	uint32_t max;
	uint32_t nbuckets;  /* [table] buckets, power of two */
	uint32_t bmask;	    /* index buckets - 1 */
	uint32_t count;	    /* entries in use */
	uint32_t free_head; /* released entries, through their 1st word */
	uint32_t fresh;	    /* entries [fresh, max) never used */
	uint32_t seed;
	uint32_t link_bits; /* low bits of a slot that hold entry index + 1 */
	uint32_t link_mask; /* (1 << link_bits) - 1; its complement masks tags */
	size_t conns_size; /* bytes mapped */
	size_t bucket_size;
	struct qt_bucket *ovf; /* overflow buckets, [0] unused */
	uint32_t ovf_max;
	uint32_t ovf_fresh; /* [ovf_fresh, ovf_max) never used */
	uint32_t ovf_free;  /* released ones, through ~nmore; 0 none */
	size_t ovf_size;
	struct qt_acct *acct; /* max counters, or NULL: never accounted */
	size_t acct_size;
	struct qt_addr6pair *addr6; /* max IPv6 address pairs */
	size_t addr6_size;
};

int qt_table_init(struct qt_table *t, uint32_t max, uint32_t buckets,
		  uint32_t seed);
void qt_table_destroy(struct qt_table *t);

/* Map the counters array ([table] accounting switched on); a no-op when it
 * exists.  Live entries start from zero.  -1 with errno ENOMEM. */
int qt_table_acct_enable(struct qt_table *t);

/* The index hash of @tp, the same for @tp and its inverse.  The low bits
 * pick the bucket, the top 32 - link_bits are the tag. */
uint64_t qt_table_hash(const struct qt_table *t, const struct qt_tuple *tp);

/* The hash's parts, inline for qt_table_hash4(): rounds of
 * multiply-rotate over the key's 64-bit words (two for IPv4, five for
 * IPv6), then the murmur3 finaliser.  Every byte takes part; the seed
 * makes buckets unpredictable from outside. */
static inline uint64_t qt_table_hash_start(const struct qt_table *t)
{
	return t->seed ^ 0x9e3779b97f4a7c15ull;
}

static inline uint64_t qt_hash_round(uint64_t h, uint64_t w)
{
	h ^= w * 0x87c37b91114253d5ull;
	h = (h << 31) | (h >> 33);
	return h * 0x4cf5ad432745937full;
}

static inline uint64_t qt_hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * qt_table_hash4 - qt_table_hash() of the IPv4 tuple with addresses @src,
 * @dst (network order), l4 word @l4 and protocol @proto, from the values:
 * the short way's brief packets have no struct qt_tuple.  The key is two
 * words instead of IPv6's five (an IPv4 tuple's other address bytes and
 * its pad are zero, tuple.h), with the rule that makes a tuple and its
 * inverse key alike: the lower (address, identifier) endpoint first, or
 * for a protocol whose identifiers do not swap what its inverse keeps
 * (tuple.h).
 */
static inline uint64_t qt_table_hash4(const struct qt_table *t, uint32_t src,
				      uint32_t dst, uint32_t l4, uint8_t proto)
{
	uint32_t a = src, b = dst;
	uint32_t pa = l4 & 0xffff, pb = l4 >> 16;
	bool swap;

	if (!qt_tuple_l4_swaps(proto)) {
		l4 &= QT_TUPLE_L4_KEPT;
		swap = a > b;
	} else {
		swap = a > b || (a == b && pa > pb);
		if (swap)
			l4 = pb | pa << 16;
	}
	if (swap) {
		a = dst;
		b = src;
	}
	return qt_hash_final(qt_hash_round(
	    qt_hash_round(qt_table_hash_start(t), (uint64_t)a << 32 | b),
	    l4 | (uint64_t)proto << 32 | (uint64_t)AF_INET << 40));
}

/* Find the entry with @tp as one of its tuples; *dir says which. */
struct qt_conn *qt_table_lookup(const struct qt_table *t,
				const struct qt_tuple *tp, enum qt_dir *dir);

/* The same, with @hash = qt_table_hash(t, tp) computed beforehand. */
struct qt_conn *qt_table_lookup_hashed(const struct qt_table *t,
				       const struct qt_tuple *tp, uint64_t hash,
				       enum qt_dir *dir);

/* The tag of @hash in place in a slot: the hash's top 32 - link_bits bits,
 * above the link.  Never 0, so that no free slot matches it. */
static inline uint32_t qt_table_tag(const struct qt_table *t, uint64_t hash)
{
	uint32_t tag = (uint32_t)(hash >> (32 + t->link_bits));

	tag |= tag == 0;
	return tag << t->link_bits;
}

static inline uint32_t qt_table_slot_link(const struct qt_table *t,
					  uint32_t slot)
{
	return slot & t->link_mask;
}

static inline struct qt_conn *qt_table_slot_conn(const struct qt_table *t,
						 uint32_t slot)
{
	return &t->conns[qt_table_slot_link(t, slot) - 1];
}

/* The index bucket of @hash (the first of its chain). */
static inline struct qt_bucket *qt_table_bucket(const struct qt_table *t,
						uint64_t hash)
{
	return &t->bucket[hash & t->bmask];
}

/* Batch pipeline helpers: stage 1 starts loading the bucket of @hash,
 * stage 2 (a while later) starts loading the entries whose tag matches.
 * Hints only: they change nothing. */
static inline void qt_table_prefetch_bucket(const struct qt_table *t,
					    uint64_t hash)
{
	__builtin_prefetch(qt_table_bucket(t, hash));
}

/* The slots of @b with tag @tag (qt_table_tag()), as a bit mask.  Computed
 * over all sixteen words with no branch (nmore's bit is dropped): four
 * vector compares where SSE2 exists (every x86-64), a loop elsewhere.  A
 * loop that stopped at the match would mispredict about once per lookup. */
static inline uint32_t qt_table_bucket_match(const struct qt_table *t,
					     const struct qt_bucket *b,
					     uint32_t tag)
{
	uint32_t tmask = ~t->link_mask;
	uint32_t m = 0;

#ifdef __SSE2__
	__m128i vtag = _mm_set1_epi32((int)tag);
	__m128i vmask = _mm_set1_epi32((int)tmask);

	for (unsigned i = 0; i < 4; i++) {
		__m128i w = _mm_loadu_si128((const __m128i *)&b->word[4 * i]);
		__m128i eq = _mm_cmpeq_epi32(_mm_and_si128(w, vmask), vtag);

		m |= (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(eq)) << (4 * i);
	}
#else
	for (unsigned i = 0; i < QT_BUCKET_SLOTS + 1; i++)
		m |= (uint32_t)((b->word[i] & tmask) == tag) << i;
#endif
	return m & ((UINT32_C(1) << QT_BUCKET_SLOTS) - 1);
}

/* Both lines of the entry (96 bytes at a multiple of 32: two lines
 * wherever it is, its first and last byte in different ones): the lookup
 * compares the tuple, and the packet then reads and writes status, timer
 * and TCP state. */
static inline void qt_table_conn_prefetch(const struct qt_conn *ct)
{
	const char *p = (const char *)ct;

	_Static_assert(sizeof(*ct) == 96, "conn_prefetch: two lines");
	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + sizeof(*ct) - 1, 1);
}

/* A new connection is linked into the bucket its lookup prefetched, so
 * no more than this is needed for either case.  @family is the packet's:
 * for AF_INET6 the candidates' address pairs (addr6) are loaded too.
 * Returns a hint for qt_table_lookup_hint(): 1 + the first slot of the
 * bucket whose tag matched, 0 for none; *@word receives that slot's
 * content (0 for none), for qt_table_find4_hint().  Inline: it runs for
 * every packet of a batch. */
static inline unsigned int qt_table_prefetch_entry(const struct qt_table *t,
						   uint64_t hash,
						   uint8_t family,
						   uint32_t *word)
{
	const struct qt_bucket *b = qt_table_bucket(t, hash);
	uint32_t m = qt_table_bucket_match(t, b, qt_table_tag(t, hash));
	unsigned int hint = m ? (unsigned int)__builtin_ctz(m) + 1 : 0;

	*word = hint ? b->slot[hint - 1] : 0;

	for (; m; m &= m - 1) {
		uint32_t slot = b->slot[__builtin_ctz(m)];

		qt_table_conn_prefetch(qt_table_slot_conn(t, slot));
		/* An IPv6 lookup compares the address pair too. */
		if (family == AF_INET6)
			__builtin_prefetch(
			    &t->addr6[qt_table_slot_link(t, slot) - 1]);
	}
	/* Not here: the rest of the chain (rare) is what the lookup reads
	 * next. */
	if (!hint && b->nmore)
		__builtin_prefetch(&t->ovf[~b->nmore]);
	return hint;
}

/* qt_table_lookup_hashed() that first tries the slot @hint names (from
 * qt_table_prefetch_entry() of the same hash, however long ago: a stale
 * hint costs a compare, never a wrong answer). */
struct qt_conn *qt_table_lookup_hint(const struct qt_table *t,
				     const struct qt_tuple *tp, uint64_t hash,
				     unsigned int hint, enum qt_dir *dir);

/* How an IPv4 entry @ct compares with a tuple of addresses @src, @dst
 * (network order) and l4 word @l4 of its protocol: QT_DIR_ORIG when it
 * is the entry's original tuple; QT_DIR_REPLY when the addresses are
 * swapped, so that it is the reply tuple if the layer 4 part is the
 * inverse too (the caller's test, which depends on the tracker); -1
 * otherwise.  Addresses first: they settle almost every mismatch. */
static inline int qt_conn_dir4(const struct qt_conn *ct, uint32_t src,
			       uint32_t dst, uint32_t l4)
{
	uint32_t a = ct->addr.ip4[0], b = ct->addr.ip4[1];

	if (a == src && b == dst && ct->l4 == l4)
		return QT_DIR_ORIG;
	if (a == dst && b == src)
		return QT_DIR_REPLY;
	return -1;
}

/*
 * qt_table_find4_hint - the short way's lookup of an IPv4 TCP or UDP
 * packet (addresses @src, @dst, l4 word @l4, hash
 * qt_table_hash4()): only the slot @hint names is tried, and only if it
 * still holds @word, as qt_table_prefetch_entry() of the same hash found
 * it (however long ago): then its entry is linked there, under the tag
 * that matched.  NULL when that is not the packet's connection (no hint,
 * the slot changed, another tuple); the caller then looks up in full.
 * TCP's and UDP's reply tuple is the original one with addresses and
 * ports swapped.
 */
static inline struct qt_conn *
qt_table_find4_hint(const struct qt_table *t, uint64_t hash, unsigned int hint,
		    uint32_t word, uint32_t src, uint32_t dst, uint32_t l4,
		    uint8_t proto, enum qt_dir *dir)
{
	struct qt_conn *ct;

	/* A free slot is 0, and a hint always comes with its word. */
	if (!word || qt_table_bucket(t, hash)->slot[hint - 1] != word)
		return NULL;
	ct = qt_table_slot_conn(t, word);
	if (ct->l4proto != proto || ct->v6)
		return NULL;
	switch (qt_conn_dir4(ct, src, dst, l4)) {
	case QT_DIR_ORIG:
		*dir = QT_DIR_ORIG;
		return ct;
	case QT_DIR_REPLY:
		*dir = QT_DIR_REPLY;
		return ct->l4 == (l4 >> 16 | l4 << 16) ? ct : NULL;
	default:
		return NULL;
	}
}

/* Take a free entry (zeroed), or NULL if full. */
struct qt_conn *qt_table_alloc(struct qt_table *t);

/* Make @tp the original tuple of @ct, an entry of @t not yet linked:
 * IPv6 addresses go to @ct's element of addr6. */
void qt_table_set_tuple(struct qt_table *t, struct qt_conn *ct,
			const struct qt_tuple *tp);

/* Link @ct into the index. */
void qt_table_insert(struct qt_table *t, struct qt_conn *ct);

/* The same, with @hash = qt_table_hash() of either tuple of @ct. */
void qt_table_insert_hashed(struct qt_table *t, struct qt_conn *ct,
			    uint64_t hash);

/* Unlink @ct from the index (if linked) and return it to the pool. */
void qt_table_release(struct qt_table *t, struct qt_conn *ct);

static inline uint32_t qt_table_index(const struct qt_table *t,
				      const struct qt_conn *ct)
{
	return (uint32_t)(ct - t->conns);
}

/* @ct's counters, or NULL when accounting has never been on. */
static inline struct qt_acct *qt_table_acct(const struct qt_table *t,
					    const struct qt_conn *ct)
{
	return t->acct ? &t->acct[qt_table_index(t, ct)] : NULL;
}

/* Entries at or above this index have never been used: walks stop here. */
static inline uint32_t qt_table_used(const struct qt_table *t)
{
	return t->fresh;
}

/* Most buckets qt_table_victim() looks at: 4 KiB of the index. */
#define QT_VICTIM_BUCKETS 64

/* How good a victim for early drop @ct is: 0 never, higher better. */
typedef uint64_t (*qt_victim_score_fn)(void *arg, const struct qt_conn *ct);

/*
 * qt_table_victim - the best victim for early drop near the bucket of @tp:
 * examines at most @scan entries in at most QT_VICTIM_BUCKETS buckets from
 * @tp's on, as the kernel's early_drop() looks at a bounded neighbourhood,
 * and returns the one @score rates highest (the first of equals), or NULL
 * if it rates them all 0.  The policy is the caller's.
 */
struct qt_conn *qt_table_victim(const struct qt_table *t,
				const struct qt_tuple *tp, unsigned scan,
				qt_victim_score_fn score, void *arg);

#endif
