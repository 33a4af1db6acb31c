// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * table.c - connection pool and the hash index over both directions.
 *
 * Index (see table.h): one 64-byte bucket per eight configured buckets,
 * each with fifteen 32-bit slots, a tag and a link (the entry's index + 1)
 * each.  The link takes as few bits as [table] max needs and the tag the
 * rest: 11 link bits and a 21-bit tag for 1024 entries, 21 and 11 for a
 * million, so a false tag match (a wasted read of an entry) stays rare.
 * Fifteen slots for an average of eight keep overflow rare: with ten,
 * enough connections of a big table lived in an overflow bucket to slow
 * the average established packet down, each of their lookups being a
 * cache miss the batch pipeline could not hide (it prefetches the entry
 * from the first bucket).
 * The hash is taken over a direction-free form of the tuple (tuple_key(), and
 * qt_table_hash4() in table.h for IPv4),
 * so a connection has one slot, found from either of its tuples; the
 * entry's original tuple then says which direction the packet has.
 * Connections that find their bucket full go to overflow buckets of the
 * same format, taken from a side pool and chained through nmore; entries
 * carry no links.  Every bucket of a chain but the last is full: a slot
 * that frees up takes a connection back from the last bucket, which
 * returns to the pool once empty, so chains exist only while a bucket is
 * really over-full.  The pool is sized for the worst case (every
 * connection in one chain needs max / 15 buckets) but, being mapped lazily
 * like the rest, costs memory only for the buckets in use.
 *
 * Memory.  The pool, the index and the IPv6 address store are anonymous
 * mappings: pages the kernel
 * has not handed out read as zero, and neither array is written at start
 * (an all-zero bucket is empty, entries above `fresh` have never been
 * used), so resident memory grows with the connections actually tracked.
 * Big arrays are advised MADV_HUGEPAGE: in a big table every packet
 * touches a few random cache lines of a pool far larger than the TLB
 * covers with small pages, and huge pages spare most of the TLB misses on
 * top of the cache misses.  The overflow pool is the exception
 * (MADV_NOHUGEPAGE): it is used only at its start, where a huge page
 * would be memory mostly never used.
 * madvise() is a hint about memory the library owns, not I/O; its failure
 * is ignored.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "proto.h"
#include "table.h"

#define LINK_END UINT32_MAX
#define HUGE_ALIGN ((size_t)2 << 20)

/* Byte offsets in struct qt_tuple's last 64-bit word: the layer 4 word
 * comes first. */
_Static_assert(offsetof(struct qt_tuple, l4) == 32, "tuple_key: l4 word");

/*
 * The tuple as the index hashes it: the same words for a tuple and its
 * inverse.  Every tracker's invert() swaps the addresses; what it does
 * with the layer 4 word tuple.h says (qt_tuple_l4_swaps()): swap the
 * identifiers with the addresses, or keep QT_TUPLE_L4_KEPT of it.  So:
 * keep only those bits for the latter, and put the lower (address,
 * identifier) endpoint first.  Tuples that differ only in the bits left
 * out (the ICMP type) share a bucket and are told apart by the full
 * compare.
 */
static inline void tuple_key(const struct qt_tuple *tp, uint64_t w[5])
{
	uint64_t l4;
	bool swap;

	memcpy(w, tp, 5 * sizeof(*w));
	l4 = w[4];
	if (!qt_tuple_l4_swaps(tp->proto)) {
		w[4] = l4 & ~(uint64_t)(uint32_t)~QT_TUPLE_L4_KEPT;
		swap = w[0] > w[2] || (w[0] == w[2] && w[1] > w[3]);
	} else {
		swap = w[0] > w[2] ||
		       (w[0] == w[2] && (w[1] > w[3] || (w[1] == w[3] &&
			(l4 & 0xffff) > (l4 >> 16 & 0xffff))));
		if (swap)
			w[4] = (l4 & ~(uint64_t)0xffffffff) |
			       (l4 >> 16 & 0xffff) | (l4 & 0xffff) << 16;
	}
	if (swap) {
		uint64_t a = w[0], b = w[1];

		w[0] = w[2];
		w[1] = w[3];
		w[2] = a;
		w[3] = b;
	}
}

/* Rounds of multiply-rotate over the key's 64-bit words (two for IPv4,
 * five for IPv6), then the murmur3 finaliser.  Every byte takes part;
 * the seed makes buckets unpredictable from outside.  About half the cost
 * of the 32-bit murmur3 loop it replaces, which showed up first in
 * profiles of small tables. */
uint64_t qt_table_hash(const struct qt_table *t, const struct qt_tuple *tp)
{
	uint64_t w[sizeof(*tp) / 8];
	uint64_t h = qt_table_hash_start(t);

	_Static_assert(sizeof(w) == 40, "qt_table_hash: five words");
	if (tp->family == AF_INET)
		return qt_table_hash4(t, tp->src.ip, tp->dst.ip, tp->l4,
				      tp->proto);
	tuple_key(tp, w);
	for (unsigned i = 0; i < sizeof(w) / 8; i++)
		h = qt_hash_round(h, w[i]);
	return qt_hash_final(h);
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

/* Zeroed memory of @size bytes, 2 MB aligned when that large and advised
 * for huge pages with @huge; without, advised against them (for an array
 * of which only a little at the start is used, where one huge page would
 * keep 2 MB resident).  *mapped receives the length to unmap. */
static void *table_map(size_t size, bool huge, size_t *mapped)
{
	size_t len = (size + 4095) & ~(size_t)4095;
	size_t extra = huge && len >= HUGE_ALIGN ? HUGE_ALIGN : 0;
	uint8_t *p, *a;

	p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (extra) {
		a = (uint8_t *)(((uintptr_t)p + HUGE_ALIGN - 1) &
				~(uintptr_t)(HUGE_ALIGN - 1));
		if (a > p)
			munmap(p, (size_t)(a - p));
		if (a + len < p + len + extra)
			munmap(a + len, (size_t)(p + len + extra - (a + len)));
#ifdef MADV_HUGEPAGE
		(void)madvise(a, len, MADV_HUGEPAGE);
#endif
	}
#ifdef MADV_NOHUGEPAGE
	if (!huge)
		(void)madvise(a, len, MADV_NOHUGEPAGE);
#endif
	*mapped = len;
	return a;
}

int qt_table_init(struct qt_table *t, uint32_t max, uint32_t buckets,
		  uint32_t seed)
{
	uint32_t nb;

	memset(t, 0, sizeof(*t));
	if (max == 0 || max >= (1u << 31) || buckets == 0) {
		errno = EINVAL;
		return -1;
	}
	t->max = max;
	t->nbuckets = round_pow2(buckets);
	nb = t->nbuckets > QT_BUCKET_PER_CONF
		 ? t->nbuckets / QT_BUCKET_PER_CONF : 1;
	t->bmask = nb - 1;
	t->seed = seed;
	/* Links are index + 1 <= max; the tag keeps at least one bit. */
	t->link_bits = 32u - (uint32_t)__builtin_clz(max);
	t->link_mask = (UINT32_C(1) << t->link_bits) - 1;
	t->conns = table_map((size_t)max * sizeof(*t->conns), true,
			     &t->conns_size);
	t->bucket = table_map((size_t)nb * sizeof(*t->bucket), true,
			      &t->bucket_size);
	/* Index 0 of the overflow pool is never used: nmore 0 means none. */
	t->ovf_max = (uint32_t)(((uint64_t)max + QT_BUCKET_SLOTS - 1) /
				QT_BUCKET_SLOTS) + 1;
	/* About one connection in a thousand spills (table.h), into buckets
	 * taken from the start of the pool: small pages keep it a few pages
	 * resident instead of a whole 2 MB one. */
	t->ovf = table_map((size_t)t->ovf_max * sizeof(*t->ovf), false,
			   &t->ovf_size);
	t->ovf_fresh = 1;
	/* Touched only by IPv6 connections: free for an IPv4-only table. */
	t->addr6 = table_map((size_t)max * sizeof(*t->addr6), true,
			     &t->addr6_size);
	if (!t->conns || !t->bucket || !t->ovf || !t->addr6) {
		qt_table_destroy(t);
		errno = ENOMEM;
		return -1;
	}
	t->free_head = LINK_END;
	t->fresh = 0;
	return 0;
}

void qt_table_destroy(struct qt_table *t)
{
	if (t->conns)
		munmap(t->conns, t->conns_size);
	if (t->bucket)
		munmap(t->bucket, t->bucket_size);
	if (t->ovf)
		munmap(t->ovf, t->ovf_size);
	if (t->acct)
		munmap(t->acct, t->acct_size);
	if (t->addr6)
		munmap(t->addr6, t->addr6_size);
	t->conns = NULL;
	t->bucket = NULL;
	t->ovf = NULL;
	t->acct = NULL;
	t->addr6 = NULL;
}

int qt_table_acct_enable(struct qt_table *t)
{
	if (t->acct)
		return 0;
	/* Zero pages until written: costs nothing until packets count. */
	t->acct = table_map((size_t)t->max * sizeof(*t->acct), true,
			    &t->acct_size);
	if (!t->acct) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int qt_conn_set_tuple(struct qt_conn *ct, const struct qt_tuple *tp,
		      struct qt_addr6pair *store)
{
	if (tp->family == AF_INET6) {
		if (!store) {
			errno = EINVAL;
			return -1;
		}
		store->src = tp->src;
		store->dst = tp->dst;
		ct->addr.ip6 = store;
		ct->v6 = 1;
	} else if (tp->family == AF_INET) {
		ct->addr.ip4[0] = tp->src.ip;
		ct->addr.ip4[1] = tp->dst.ip;
		ct->v6 = 0;
	} else {
		errno = EINVAL;
		return -1;
	}
	ct->l4 = tp->l4;
	ct->l4proto = tp->proto;
	return 0;
}

void qt_table_set_tuple(struct qt_table *t, struct qt_conn *ct,
			const struct qt_tuple *tp)
{
	/* Packets carry only the two families, so this cannot fail. */
	(void)qt_conn_set_tuple(ct, tp, &t->addr6[qt_table_index(t, ct)]);
}

void qt_conn_tuple(const struct qt_conn *ct, enum qt_dir dir,
		   struct qt_tuple *out)
{
	struct qt_tuple o;

	if (dir == QT_DIR_ORIG) {
		qt_conn_tuple_orig(ct, out);
		return;
	}
	/* A tracked connection always has an inverse (engine_conn_new()
	 * refuses the rest); a hand-made one without gets plain swaps. */
	qt_conn_tuple_orig(ct, &o);
	if (!qt_proto_find(o.proto)->invert(out, &o))
		qt_proto_generic.invert(out, &o);
}

/*
 * Whether @tp is one of @ct's tuples; *d says which.  The original one
 * wins when both are (a flow from an address and port to themselves).
 * @tp is compared with the compact form directly: an IPv4 tuple's unused
 * address bytes and its pad are zero (tuple.h), so the address words, the
 * l4 word, protocol and family say everything.  Only the reply of a
 * protocol whose identifiers do not swap (tuple.h) needs the tracker's
 * invert().
 */
static inline bool conn_match(const struct qt_conn *ct,
			      const struct qt_tuple *tp, enum qt_dir *d)
{
	struct qt_tuple r;

	if (ct->l4proto != tp->proto ||
	    tp->family != (ct->v6 ? AF_INET6 : AF_INET))
		return false;
	if (!ct->v6) {
		int how = qt_conn_dir4(ct, tp->src.ip, tp->dst.ip, tp->l4);

		if (how < 0)
			return false;
		*d = (enum qt_dir)how;
		if (how == QT_DIR_ORIG)
			return true;
	} else {
		const struct qt_addr6pair *p = ct->addr.ip6;

		if (ct->l4 == tp->l4 &&
		    !memcmp(&p->src, &tp->src, sizeof(p->src)) &&
		    !memcmp(&p->dst, &tp->dst, sizeof(p->dst))) {
			*d = QT_DIR_ORIG;
			return true;
		}
		*d = QT_DIR_REPLY;
		if (memcmp(&p->src, &tp->dst, sizeof(p->src)) ||
		    memcmp(&p->dst, &tp->src, sizeof(p->dst)))
			return false;
	}
	/* Such an invert() swaps the identifiers, nothing else. */
	if (qt_tuple_l4_swaps(ct->l4proto))
		return ct->sport == tp->dport && ct->dport == tp->sport;
	qt_conn_tuple(ct, QT_DIR_REPLY, &r);
	return qt_tuple_equal(&r, tp);
}

struct qt_conn *qt_table_lookup_hashed(const struct qt_table *t,
				       const struct qt_tuple *tp, uint64_t hash,
				       enum qt_dir *dir)
{
	const struct qt_bucket *b = qt_table_bucket(t, hash);
	uint32_t tag = qt_table_tag(t, hash);
	enum qt_dir d;

	for (;;) {
		uint32_t m = qt_table_bucket_match(t, b, tag);

		for (; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			struct qt_conn *ct = qt_table_slot_conn(t, b->slot[i]);

			if (conn_match(ct, tp, &d)) {
				if (dir)
					*dir = d;
				return ct;
			}
		}
		if (!b->nmore)
			return NULL;
		b = &t->ovf[~b->nmore];
	}
}

/* The slot the hint names is read afresh: if it still holds an entry with
 * the tag and that entry has the tuple, it is the one (a tuple is in the
 * table once).  Anything else (the slot emptied, refilled, a false tag
 * match) is decided by the full lookup. */
struct qt_conn *qt_table_lookup_hint(const struct qt_table *t,
				     const struct qt_tuple *tp, uint64_t hash,
				     unsigned int hint, enum qt_dir *dir)
{
	if (hint) {
		uint32_t tmask = ~t->link_mask;
		uint32_t slot = qt_table_bucket(t, hash)->slot[hint - 1];
		struct qt_conn *ct;
		enum qt_dir d;

		if ((slot & tmask) == qt_table_tag(t, hash)) {
			ct = qt_table_slot_conn(t, slot);
			if (conn_match(ct, tp, &d)) {
				if (dir)
					*dir = d;
				return ct;
			}
		}
	}
	return qt_table_lookup_hashed(t, tp, hash, dir);
}

struct qt_conn *qt_table_lookup(const struct qt_table *t,
				const struct qt_tuple *tp, enum qt_dir *dir)
{
	return qt_table_lookup_hashed(t, tp, qt_table_hash(t, tp), dir);
}

struct qt_conn *qt_table_alloc(struct qt_table *t)
{
	struct qt_conn *ct;

	if (t->count >= t->max)
		return NULL;
	if (t->free_head != LINK_END) {
		ct = &t->conns[t->free_head];
		t->free_head = ct->addr.ip4[0];
	} else if (t->fresh < t->max) {
		/* Never used: a bump pointer instead of a free list written
		 * through the whole pool at start. */
		ct = &t->conns[t->fresh++];
	} else {
		return NULL;
	}
	memset(ct, 0, sizeof(*ct));
	if (t->acct)
		memset(&t->acct[qt_table_index(t, ct)], 0, sizeof(*t->acct));
	t->count++;
	return ct;
}

static struct qt_bucket *ovf_alloc(struct qt_table *t, uint32_t *ref)
{
	struct qt_bucket *o;

	if (t->ovf_free) {
		*ref = t->ovf_free;
		o = &t->ovf[*ref];
		t->ovf_free = ~o->nmore;
		o->nmore = 0;
		return o;
	}
	/* The pool holds the worst case (see the top), so this never runs
	 * dry; the check is for a broken invariant, not a full table. */
	if (t->ovf_fresh >= t->ovf_max)
		__builtin_trap();
	*ref = t->ovf_fresh++;
	return &t->ovf[*ref];
}

static void ovf_free(struct qt_table *t, uint32_t ref)
{
	struct qt_bucket *o = &t->ovf[ref];

	memset(o, 0, sizeof(*o));
	o->nmore = ~t->ovf_free;
	t->ovf_free = ref;
}

void qt_table_insert_hashed(struct qt_table *t, struct qt_conn *ct,
			    uint64_t hash)
{
	struct qt_bucket *b = qt_table_bucket(t, hash);
	uint32_t slot = qt_table_tag(t, hash) | (qt_table_index(t, ct) + 1);
	struct qt_bucket *o;
	uint32_t ref;

	ct->status |= QT_CONN_HASHED;
	/* Only the chain's last bucket can have a free slot. */
	while (b->nmore)
		b = &t->ovf[~b->nmore];
	for (unsigned i = 0; i < QT_BUCKET_SLOTS; i++) {
		if (!b->slot[i]) {
			b->slot[i] = slot;
			return;
		}
	}
	o = ovf_alloc(t, &ref);
	b->nmore = ~ref;
	o->slot[0] = slot;
}

void qt_table_insert(struct qt_table *t, struct qt_conn *ct)
{
	struct qt_tuple o;

	qt_conn_tuple_orig(ct, &o);
	qt_table_insert_hashed(t, ct, qt_table_hash(t, &o));
}

static void table_unlink(struct qt_table *t, struct qt_conn *ct)
{
	uint32_t want = qt_table_index(t, ct) + 1;
	struct qt_bucket *head, *b, *last, *prev = NULL;
	struct qt_tuple o;
	unsigned i, j;

	qt_conn_tuple_orig(ct, &o);
	head = qt_table_bucket(t, qt_table_hash(t, &o));
	b = head;

	for (;;) {
		for (i = 0; i < QT_BUCKET_SLOTS; i++)
			if (b->slot[i] &&
			    qt_table_slot_link(t, b->slot[i]) == want)
				break;
		if (i < QT_BUCKET_SLOTS)
			break;
		if (!b->nmore)
			return;		/* not linked: nothing to do */
		b = &t->ovf[~b->nmore];
	}
	b->slot[i] = 0;
	if (!b->nmore)
		goto shrink;
	/* Refill the hole from the chain's last bucket. */
	last = b;
	while (last->nmore) {
		prev = last;
		last = &t->ovf[~last->nmore];
	}
	for (j = QT_BUCKET_SLOTS; j-- > 0;)
		if (last->slot[j])
			break;
	b->slot[i] = last->slot[j];
	last->slot[j] = 0;
	b = last;
shrink:
	/* An overflow bucket left empty goes back to the pool. */
	for (j = 0; j < QT_BUCKET_SLOTS; j++)
		if (b->slot[j])
			return;
	if (!prev) {
		/* b is the last bucket; find what points to it. */
		struct qt_bucket *h = head;

		if (h == b)
			return;
		while (&t->ovf[~h->nmore] != b)
			h = &t->ovf[~h->nmore];
		prev = h;
	}
	ovf_free(t, ~prev->nmore);
	prev->nmore = 0;
}

void qt_table_release(struct qt_table *t, struct qt_conn *ct)
{
	if (ct->status & QT_CONN_HASHED)
		table_unlink(t, ct);
	ct->status = 0;
	/* A free entry's first word links the free list (entries carry no
	 * links of their own; alloc clears it). */
	ct->addr.ip4[0] = t->free_head;
	t->free_head = qt_table_index(t, ct);
	t->count--;
}

struct qt_conn *qt_table_victim(const struct qt_table *t,
				const struct qt_tuple *tp, unsigned scan,
				qt_victim_score_fn score, void *arg)
{
	uint64_t h = qt_table_hash(t, tp), best_score = 0;
	struct qt_conn *best = NULL;
	unsigned seen = 0;

	/* Like the kernel's early_drop(): look at buckets near the new
	 * tuple's, never at the whole table.  The kernel looks at 8; a table
	 * with many more buckets than entries ([table] max lowered, buckets
	 * left) may hold none in 8, so the walk goes on, over at most
	 * QT_VICTIM_BUCKETS buckets, until @scan entries were seen. */
	for (unsigned i = 0; i < QT_VICTIM_BUCKETS && seen < scan; i++) {
		const struct qt_bucket *b = qt_table_bucket(t, h + i);

		for (; b && seen < scan;
		     b = b->nmore ? &t->ovf[~b->nmore] : NULL) {
			for (unsigned s = 0; s < QT_BUCKET_SLOTS && seen < scan;
			     s++) {
				struct qt_conn *ct;
				uint64_t v;

				if (!b->slot[s])
					continue;
				ct = qt_table_slot_conn(t, b->slot[s]);
				seen++;
				v = score(arg, ct);
				if (v <= best_score)
					continue;
				best = ct;
				best_score = v;
			}
		}
	}
	return best;
}
