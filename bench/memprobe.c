/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memprobe.c - qtrack-memprobe: what the established path's memory access
 * pattern costs on this machine, without the engine.
 *
 *   qtrack-memprobe [-s MB,MB,...] [-w WORK] [-i INTERLUDE] [-l LAYOUT]
 *                   [-n OPS] [-a AHEAD] [-m]
 *
 * Each "packet" (op) does what qt_engine_process_batch() does to
 * memory, with the same pipeline: the index line of op k + AHEAD is
 * prefetched, the index line of op k + AHEAD / 2 is read and the two lines
 * of its 96-byte entry are prefetched, then op k reads its entry, writes
 * both of its lines (a packet updates the timer and the protocol state)
 * and does WORK rounds of register-only arithmetic (about a nanosecond
 * each here) in place of classifying the packet.  Ops come in timed chunks
 * of 256, as qtrack-bench's batches do; between chunks INTERLUDE random
 * read-modify-writes per op go to a separate 16 MB buffer (qtrack-bench
 * builds its packets from a 12 MB flow array there; a daemon has the
 * kernel's receive path), and are not timed.
 *
 * The table is sized for MB megabytes of entries plus an index of one
 * 64-byte line per eight entries:
 *   -l split  (default) index and entries in two arrays, as lib/table.c
 *             lays them out;
 *   -l pages  five index lines and 39 entries per 4 KB page, each entry in
 *             the page of its index line, one page translation per op
 *             (the index lines at the start of every page: in cache they
 *             share a few sets, which can only slow this layout down at
 *             small sizes);
 *   -l none   no index: op k's entry address is known from k (one
 *             prefetched random access per op, the least any lookup does).
 * Both arrays are anonymous memory advised MADV_HUGEPAGE and touched
 * before timing, like the engine's.
 *
 * -m adds a load and a store to a 16 KB (L1-resident) buffer to every
 * work round, closer to the engine's mix of instructions than pure
 * register arithmetic.
 *
 * -a sets AHEAD, the pipeline's lead in ops: 8 by default (an earlier
 * PIPE_AHEAD of the engine, which has since doubled it); even,
 * from 2 to 64.  With little work per op a lead of 8
 * ops is too short a time to cover a miss, and a longer one shows what the
 * memory itself can serve.
 *
 * Output: ns per op for each size, and the difference to the first size
 * (give a small one first, e.g. -s 1,128: the in-cache cost).  Nothing
 * here is qtrack code; it bounds what qtrack can reach on a machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define AHEAD_MAX 64
#define CHUNK 256
#define ENTRY 96
#define PAGE 4096
#define PAGE_IDX 5
#define PAGE_ENT 39
#define POLLUTE_BYTES ((size_t)16 << 20)
#define L1_WORDS 2048	/* 16 KB: stays in L1 */

enum layout { LAY_SPLIT, LAY_PAGES, LAY_NONE };

struct probe {
	enum layout lay;
	char *idx;	/* split: index lines */
	char *ent;	/* split, none: entries; pages: the pages */
	uint64_t nent;	/* entries */
	uint64_t nidx;	/* index lines */
	char *poll;	/* interlude buffer */
	uint64_t *l1;	/* -m: the work's loads and stores, or NULL */
};

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return x;
}

static char *map(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE);
#endif
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return p;
}

/* The index line op @k reads. */
static inline char *op_index(const struct probe *p, uint64_t k)
{
	uint64_t h = mix(k) % p->nidx;

	if (p->lay == LAY_PAGES)
		return p->ent + h / PAGE_IDX * PAGE + h % PAGE_IDX * 64;
	return p->idx + h * 64;
}

/* The entry of op @k, given its index line @line (read from memory: the
 * dependency a lookup has). */
static inline char *op_entry(const struct probe *p, uint64_t k,
			     const char *line)
{
	uint64_t e;

	if (p->lay == LAY_NONE)
		return p->ent + mix(k ^ 0x5555) % p->nent * ENTRY;
	e = *(const uint32_t *)line;
	if (p->lay == LAY_PAGES) {
		uint64_t page = (uint64_t)(line - p->ent) / PAGE;

		return p->ent + page * PAGE + PAGE_IDX * 64 +
		       e % PAGE_ENT * ENTRY;
	}
	return p->ent + e % p->nent * ENTRY;
}

static double run(struct probe *p, uint64_t ops, unsigned work,
		  unsigned interlude, unsigned ahead)
{
	char *ring[CHUNK + AHEAD_MAX];
	uint64_t t = 0, s = 1;

	for (uint64_t k0 = 0; k0 < ops; k0 += CHUNK) {
		uint64_t t0;

		for (unsigned j = 0; j < interlude * CHUNK; j++) {
			size_t a = mix(s + j) % POLLUTE_BYTES;

			p->poll[a]++;
			s += (uint8_t)p->poll[mix(a) % POLLUTE_BYTES];
		}
		t0 = clock_ns();
		for (uint64_t k = k0; k < k0 + CHUNK + ahead; k++) {
			/* Stage 1: the index line of op k (used at
			 * k + ahead / 2, processed at k + ahead). */
			if (k < k0 + CHUNK && p->lay != LAY_NONE)
				__builtin_prefetch(op_index(p, k));
			/* Stage 2: read op k - ahead / 2's index line,
			 * prefetch its entry. */
			if (k >= k0 + ahead / 2 && k < k0 + CHUNK + ahead / 2) {
				uint64_t m = k - ahead / 2;
				char *e = op_entry(p, m, p->lay == LAY_NONE
							     ? NULL
							     : op_index(p, m));

				__builtin_prefetch(e, 1);
				__builtin_prefetch(e + ENTRY - 1, 1);
				ring[m - k0] = e;
			}
			/* Stage 3: op k - ahead reads and writes its entry,
			 * then works. */
			if (k >= k0 + ahead) {
				uint64_t *q = (uint64_t *)(void *)
					ring[k - ahead - k0];
				uint64_t a = s + q[0], b = a + 1, c = a + 2,
					 d = a + 3;

				/* Words 1 and 11: one in each line. */
				q[1] = b;
				q[11] = a;
				for (unsigned w = 0; w < work; w++) {
					a += b ^ w;
					b += c ^ w;
					c += d ^ w;
					d += a ^ w;
					__asm__ volatile("" : "+r"(a), "+r"(b),
							 "+r"(c), "+r"(d));
					if (p->l1) {
						a += p->l1[(a ^ w) % L1_WORDS];
						p->l1[(b + w) % L1_WORDS] = c;
					}
				}
				s += a ^ b ^ c ^ d;
			}
		}
		t += clock_ns() - t0;
	}
	/* Keep s alive. */
	if (s == 42)
		fputc(' ', stderr);
	return (double)t / (double)ops;
}

static int setup(struct probe *p, enum layout lay, uint64_t mb)
{
	uint64_t bytes = mb << 20;

	memset(p, 0, sizeof(*p));
	p->lay = lay;
	if (lay == LAY_PAGES) {
		uint64_t pages = bytes / (PAGE_ENT * ENTRY) + 1;

		p->nent = pages * PAGE_ENT;
		p->nidx = pages * PAGE_IDX;
		p->ent = map(pages * PAGE);
	} else {
		p->nent = bytes / ENTRY + 1;
		p->nidx = p->nent / 8 + 1;
		p->ent = map(p->nent * ENTRY);
		if (lay == LAY_SPLIT)
			p->idx = map(p->nidx * 64);
	}
	if (!p->ent || (lay == LAY_SPLIT && !p->idx))
		return -1;
	/* Each index line names a random entry (its first word). */
	for (uint64_t i = 0; i < p->nidx; i++) {
		char *line = lay == LAY_PAGES
				     ? p->ent + i / PAGE_IDX * PAGE +
					       i % PAGE_IDX * 64
				     : lay == LAY_SPLIT ? p->idx + i * 64 : NULL;

		if (line)
			*(uint32_t *)(void *)line = (uint32_t)mix(i + 7);
	}
	return 0;
}

static void teardown(struct probe *p)
{
	if (p->lay == LAY_PAGES)
		munmap(p->ent, (p->nent / PAGE_ENT) * PAGE);
	else
		munmap(p->ent, p->nent * ENTRY);
	if (p->idx)
		munmap(p->idx, p->nidx * 64);
}

/* A whole decimal number from 0 to @max, or -1 after saying what is
 * wrong. */
static int parse_num(const char *s, const char *opt, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (end == s || *end || *s == '-' || errno || *out > max) {
		fprintf(stderr, "qtrack-memprobe: %s %s: a number from 0 to "
			"%llu\n", opt, s, max);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qtrack-memprobe [-s MB,MB,...] [-w WORK] [-i INTERLUDE]"
		" [-l split|pages|none] [-n OPS] [-a AHEAD] [-m]\n"
		"  -s  entry memory per run, MB (default 1,8,32,128)\n"
		"  -w  register-only work rounds per op (default 40)\n"
		"  -i  untimed random accesses per op between chunks "
		"(default 4)\n"
		"  -l  layout of index and entries (default split)\n"
		"  -n  ops per size (default 4000000)\n"
		"  -a  pipeline lead in ops, even, 2 to 64 (default 8; the "
		"engine's is 16)\n"
		"  -m  a load and a store to L1-resident memory in every "
		"work round\n");
}

int main(int argc, char **argv)
{
	const char *sizes = "1,8,32,128";
	unsigned work = 40, interlude = 4, ahead = 8;
	uint64_t ops = 4000000;
	enum layout lay = LAY_SPLIT;
	double first = 0;
	char *list, *tok, *save = NULL;
	struct probe p;
	char *poll;
	int c, n = 0;
	bool l1 = false;
	uint64_t *l1buf;
	unsigned long long num;

	while ((c = getopt(argc, argv, "s:w:i:l:n:a:mh")) != -1) {
		switch (c) {
		case 'm':
			l1 = true;
			break;
		case 's':
			sizes = optarg;
			break;
		case 'w':
			if (parse_num(optarg, "-w", 100000, &num) < 0)
				return 2;
			work = (unsigned)num;
			break;
		case 'i':
			if (parse_num(optarg, "-i", 1024, &num) < 0)
				return 2;
			interlude = (unsigned)num;
			break;
		case 'n':
			if (parse_num(optarg, "-n", (uint64_t)1 << 40, &num) < 0)
				return 2;
			ops = num;
			break;
		case 'a':
			if (parse_num(optarg, "-a", 1000000, &num) < 0)
				return 2;
			if (num < 2 || num > AHEAD_MAX || num % 2) {
				fprintf(stderr, "qtrack-memprobe: -a %s: an even "
					"number from 2 to %d\n", optarg,
					AHEAD_MAX);
				return 2;
			}
			ahead = (unsigned)num;
			break;
		case 'l':
			if (!strcmp(optarg, "split"))
				lay = LAY_SPLIT;
			else if (!strcmp(optarg, "pages"))
				lay = LAY_PAGES;
			else if (!strcmp(optarg, "none"))
				lay = LAY_NONE;
			else {
				fprintf(stderr, "qtrack-memprobe: -l %s: not "
					"split, pages or none\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || ops < CHUNK) {
		usage(stderr);
		return 2;
	}
	ops -= ops % CHUNK;
	list = strdup(sizes);
	if (!list) {
		fprintf(stderr, "qtrack-memprobe: %s\n", strerror(errno));
		return 1;
	}
	/* Check every size before the first run. */
	for (const char *q = sizes; *q;) {
		char *end;
		unsigned long long mb = strtoull(q, &end, 10);

		if (end == q || (*end && *end != ',') || mb == 0 ||
		    mb > ((uint64_t)1 << 16)) {
			fprintf(stderr, "qtrack-memprobe: -s %s: a list of "
				"sizes from 1 to 65536 MB\n", sizes);
			return 2;
		}
		q = *end ? end + 1 : end;
	}
	poll = map(POLLUTE_BYTES);
	l1buf = l1 ? calloc(L1_WORDS, sizeof(*l1buf)) : NULL;
	if (!poll || (l1 && !l1buf)) {
		fprintf(stderr, "qtrack-memprobe: %s\n", strerror(errno));
		return 1;
	}
	printf("layout %s, %u work rounds%s, %u interlude accesses per op, "
	       "lead %u ops, %llu ops\n", lay == LAY_SPLIT ? "split" :
	       lay == LAY_PAGES ? "pages" : "none", work,
	       l1 ? " with L1 loads and stores" : "", interlude, ahead,
	       (unsigned long long)ops);
	printf("%8s %10s %10s\n", "MB", "ns/op", "+ns");
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t mb = strtoull(tok, NULL, 10);
		double ns;

		if (setup(&p, lay, mb) < 0) {
			fprintf(stderr, "qtrack-memprobe: %llu MB: %s\n",
				(unsigned long long)mb, strerror(errno));
			return 1;
		}
		p.poll = poll;
		p.l1 = l1buf;
		/* Warm up (caches, clock speed); then the timed run. */
		(void)run(&p, ops / 4 - ops / 4 % CHUNK + CHUNK, work,
			  interlude, ahead);
		ns = run(&p, ops, work, interlude, ahead);
		if (!n++)
			first = ns;
		printf("%8llu %10.1f %+10.1f\n", (unsigned long long)mb, ns,
		       ns - first);
		teardown(&p);
	}
	free(list);
	free(l1buf);
	return 0;
}
