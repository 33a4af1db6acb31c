/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrack-bench - engine-only benchmark of libqtrack.
 *
 * Raw IPv4 packets (valid IP, TCP, UDP and ICMP headers with checksums),
 * or with -6 IPv6 packets (TCP, UDP and ICMPv6, checksums over the IPv6
 * pseudo-header), are built in memory and fed to
 * qt_engine_process_batch() (-b N packets per call, 32 by default, as the
 * daemon hands over a queue's burst) or, with -b 1, to qt_engine_process()
 * one by one, with a synthetic clock.  TCP segments carry the options a
 * Linux host sends (timestamps on every segment, a SACK block on some;
 * see tcp_options()), so that the figures are those of real traffic;
 * --plain sends TCP without options, as earlier versions did.  No queue,
 * no kernel: packets are prepared in batches outside the timed region, so
 * the figures are the engine's cost alone.  Every result is checked
 * against the state the kernel would give the packet, and mismatches are
 * counted and printed: a benchmark of INVALID packets would measure the
 * wrong path.
 *
 * Phases per table size C: C new connections; the first reply of each;
 * the TCP handshake's last ACK; R rounds over all flows in a fresh random
 * order, directions alternating, TCP sequence numbers advancing as a real
 * exchange does; the TCP close (FIN, FIN/ACK, ACK); expiry of everything.
 * Bytes per connection come from the process's resident set.
 *
 * --ovs N I mimics `ovstest test-conntrack benchmark-zones N 1 I`: N
 * single-packet UDP flows are inserted, each is looked up once more by a
 * second original-direction packet, I times over.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "qtrack.h"

#define BATCH 256	     /* packets prepared, then processed, at once */
#define PKT_ROOM 128	     /* IPv6 (40) + TCP (20) + options (40) fit */
#define DATA_LEN 100	     /* payload bytes of an established packet */
#define PKTS_PER_MS 1024     /* synthetic clock: 1 ms per this many packets, */
#define PASS_MS 1000	     /* or more: a pass over every flow in at most 1 s */
#define FLOWS_PER_ADDR 50000 /* client ports per client address */
#define SERVER_ADDR 0xac100001u /* 172.16.0.1 */
#define CLIENT_BASE 0x0a000001u /* 10.0.0.1, and up */
#define MAX_EXAMPLES 5		/* mismatches printed per run */

/* -6: IPv6 addresses are 2001:db8::/96 with the IPv4 scheme's address in
 * the low 32 bits, so both families run the same flows. */
static const uint8_t v6_prefix[12] = {0x20, 0x01, 0x0d, 0xb8};

/* Packets per engine call; 1 = qt_engine_process() per packet. */
static unsigned int batch_size = 32;

/* Build IPv6 packets instead of IPv4 (-6). */
static bool ipv6;

/* TCP without options (--plain), as this benchmark sent before it sent
 * what a Linux host sends. */
static bool plain;

/* One TCP segment in this many (per flow and direction) carries a SACK
 * block, as after a loss or a duplicate; the rest only timestamps. */
#define SACK_EVERY 16

/* The window scale both ends announce, and the raw window they send
 * with it (64 KiB), as Linux does on a fresh connection. */
#define WSCALE 7
#define WIN_SCALED 512

enum mix { MIX_ALL, MIX_TCP, MIX_UDP, MIX_ICMP };

enum phase { PH_NEW, PH_REPLY, PH_ACK, PH_EST, PH_CLOSE, PH_MAX };

static const char *const phase_names[PH_MAX] = {
    "new", "reply", "ack", "established", "close",
};

struct flow {
	uint32_t seq[2]; /* next TCP sequence number per direction */
	uint32_t ts[2];	 /* TCP timestamp value per direction */
	uint16_t icmp_seq;
	uint8_t proto; /* IPPROTO_TCP, _UDP or _ICMP (echo, ICMPv6 with -6) */
	uint8_t dir;   /* direction of the flow's next data packet */
};

struct pkt {
	uint8_t buf[PKT_ROOM];
	uint32_t caplen;
	uint32_t origlen;
	uint8_t expect; /* enum qt_ct_state the kernel would give */
	uint8_t phase;
};

struct phase_stat {
	uint64_t ns;
	uint64_t cpu_ns; /* this thread's CPU time: robust to a loaded
			  * machine, which inflates ns */
	uint64_t packets;
	uint64_t mismatches;
};

struct run {
	uint32_t flows;
	uint32_t nproto[3]; /* tcp, udp, icmp */
	uint32_t rounds;
	struct phase_stat ph[PH_MAX];
	uint64_t expire_ns;
	uint64_t expire_cpu_ns;
	uint64_t expired;
	uint64_t early_expired; /* expiries before the expiry phase: wrong */
	uint64_t rss_before;
	uint64_t rss_after;
	uint32_t table_max;
};

struct bench {
	struct qt_engine *e;
	struct flow *flows;
	uint32_t *order;
	struct pkt batch[BATCH];
	unsigned int nbatch;
	uint64_t now;
	uint64_t sent; /* packets processed, drives the clock */
	uint64_t pkts_per_ms; /* the clock's rate, bench_clock_rate() */
	uint64_t rng;
	unsigned int examples;
	struct run *run;
};

/* ---- small helpers ------------------------------------------------- */

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* Resident set size in bytes, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint32_t round_pow2(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The checksum field's value for the one's complement sum @sum
 * (lib/checksum.c, the routine the engine verifies with). */
static uint16_t csum_field(uint32_t sum)
{
	return (uint16_t)~qt_checksum_fold(sum);
}

/* ---- packets ------------------------------------------------------- */

static void flow_addr(uint32_t i, uint32_t *client, uint16_t *port)
{
	*client = CLIENT_BASE + i / FLOWS_PER_ADDR;
	*port = (uint16_t)(10000 + i % FLOWS_PER_ADDR);
}

static uint8_t flow_proto(uint32_t i, enum mix mix)
{
	static const uint8_t protos[] = {
	    [MIX_TCP] = IPPROTO_TCP,
	    [MIX_UDP] = IPPROTO_UDP,
	    [MIX_ICMP] = IPPROTO_ICMP,
	};
	unsigned int m;

	if (mix != MIX_ALL)
		return protos[mix];
	/* 80 % TCP, 15 % UDP, 5 % ICMP, spread evenly over the flows. */
	m = i % 20;
	return m < 16 ? IPPROTO_TCP : m < 19 ? IPPROTO_UDP : IPPROTO_ICMP;
}

static void flow_reset(struct flow *f, uint32_t i, uint8_t proto)
{
	memset(f, 0, sizeof(*f));
	f->proto = proto;
	/* Initial sequence numbers spread over the whole space, wrapping
	 * included. */
	f->seq[QT_DIR_ORIG] = i * 2654435761u;
	f->seq[QT_DIR_REPLY] = ~i * 40503u + 0x9e3779b9u;
}

/* The layer 4 protocol number on the wire: echo flows are ICMPv6 in
 * IPv6 packets. */
static uint8_t wire_proto(uint8_t proto)
{
	return ipv6 && proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : proto;
}

/* Write the IP header for a layer 4 segment of @l4len bytes; returns its
 * length.  @src and @dst follow the IPv4 scheme and are mapped into
 * 2001:db8::/96 for IPv6. */
static uint32_t ip_build(uint8_t *ip, uint8_t proto, uint32_t src, uint32_t dst,
			 uint16_t l4len)
{
	if (ipv6) {
		memset(ip, 0, 40);
		ip[0] = 6 << 4; /* traffic class and flow label zero */
		put16(ip + 4, l4len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, v6_prefix, sizeof(v6_prefix));
		put32(ip + 20, src);
		memcpy(ip + 24, v6_prefix, sizeof(v6_prefix));
		put32(ip + 36, dst);
		return 40;
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum_field(qt_checksum_add(0, ip, 20)));
	return 20;
}

/*
 * The TCP options a Linux host sends (net.ipv4.tcp_timestamps,
 * tcp_sack and tcp_window_scaling on, the defaults): MSS, SACK permitted,
 * timestamps and window scale on a SYN; timestamps on every other
 * segment, a SACK block on one in SACK_EVERY (a duplicate's, RFC 2883,
 * just below the ack, which changes no window).  Returns their length,
 * a multiple of four.
 */
static uint16_t tcp_options(uint8_t *o, struct flow *f, enum qt_dir dir,
			    uint8_t tcp_flags, uint32_t ack)
{
	uint16_t n = 0;

	if (plain)
		return 0;
	if (tcp_flags & QT_TCP_SYN) {
		o[n++] = 2; /* MSS */
		o[n++] = 4;
		put16(o + n, ipv6 ? 1440 : 1460);
		n += 2;
		o[n++] = 4; /* SACK permitted */
		o[n++] = 2;
	} else {
		o[n++] = 1; /* NOP, NOP */
		o[n++] = 1;
	}
	o[n++] = 8; /* timestamps */
	o[n++] = 10;
	put32(o + n, f->ts[dir]++);
	put32(o + n + 4, tcp_flags & QT_TCP_ACK ? f->ts[!dir] : 0);
	n += 8;
	if (tcp_flags & QT_TCP_SYN) {
		o[n++] = 1; /* NOP, window scale */
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = WSCALE;
	} else if ((tcp_flags & QT_TCP_ACK) && f->ts[dir] % SACK_EVERY == 0) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5; /* SACK, one block */
		o[n++] = 10;
		put32(o + n, ack - DATA_LEN);
		put32(o + n + 4, ack);
		n += 8;
	}
	return n;
}

/*
 * Build the next packet of flow @i in direction @dir into @p.  TCP takes
 * its sequence and acknowledgement numbers from the flow and advances the
 * sender's by what it sends (@paylen, plus one for SYN or FIN), so every
 * packet is exactly what a well-behaved stack would send.
 */
static void pkt_build(struct pkt *p, struct flow *f, uint32_t i,
		      enum qt_dir dir, uint8_t tcp_flags, uint16_t paylen)
{
	uint8_t *ip = p->buf, *l4;
	uint8_t proto = wire_proto(f->proto);
	uint32_t client, src, dst, sum, iphdr;
	uint16_t port, l4hdr, l4len, csum, optlen = 0;
	uint8_t opts[40];

	flow_addr(i, &client, &port);
	src = dir == QT_DIR_ORIG ? client : SERVER_ADDR;
	dst = dir == QT_DIR_ORIG ? SERVER_ADDR : client;
	if (f->proto == IPPROTO_TCP)
		optlen = tcp_options(opts, f, dir, tcp_flags,
				     tcp_flags & QT_TCP_ACK ? f->seq[!dir] : 0);
	l4hdr = f->proto == IPPROTO_TCP ? (uint16_t)(20 + optlen) : 8;
	l4len = (uint16_t)(l4hdr + paylen);

	iphdr = ip_build(ip, proto, src, dst, l4len);
	l4 = ip + iphdr;
	memset(l4, 0, l4hdr);

	switch (f->proto) {
	case IPPROTO_TCP: {
		uint16_t sport = dir == QT_DIR_ORIG ? port : 80;
		uint16_t dport = dir == QT_DIR_ORIG ? 80 : port;

		put16(l4, sport);
		put16(l4 + 2, dport);
		put32(l4 + 4, f->seq[dir]);
		if (tcp_flags & QT_TCP_ACK)
			put32(l4 + 8, f->seq[!dir]);
		l4[12] = (uint8_t)(l4hdr / 4 << 4);
		l4[13] = tcp_flags;
		/* A SYN's window is never scaled. */
		put16(l4 + 14, plain || (tcp_flags & QT_TCP_SYN) ? 65535
							       : WIN_SCALED);
		memcpy(l4 + 20, opts, optlen);
		f->seq[dir] += paylen + !!(tcp_flags & QT_TCP_SYN) +
			       !!(tcp_flags & QT_TCP_FIN);
		break;
	}
	case IPPROTO_UDP:
		put16(l4, dir == QT_DIR_ORIG ? port : 53);
		put16(l4 + 2, dir == QT_DIR_ORIG ? 53 : port);
		put16(l4 + 4, l4len);
		break;
	default: /* echo: request out, reply back, same id and seq */
		if (dir == QT_DIR_ORIG)
			f->icmp_seq++;
		if (ipv6)
			l4[0] = dir == QT_DIR_ORIG ? 128 : 129;
		else
			l4[0] = dir == QT_DIR_ORIG ? 8 : 0;
		put16(l4 + 4, port);
		put16(l4 + 6, f->icmp_seq);
		break;
	}

	/* The payload is zeros and not captured (as with a header-only
	 * NFQUEUE copy), so the checksum covers the header alone.  All but
	 * ICMP over IPv4 include the pseudo-header: addresses, protocol and
	 * layer 4 length (RFC 793, 768, 8200 8.1). */
	sum = qt_checksum_add(0, l4, l4hdr);
	if (proto != IPPROTO_ICMP) {
		if (ipv6)
			sum = qt_checksum_add(sum, ip + 8, 32);
		else
			sum = qt_checksum_add(sum, ip + 12, 8);
		sum += proto + l4len;
	}
	csum = csum_field(sum);
	/* A zero UDP checksum means "none" (RFC 768), which IPv6 forbids
	 * (RFC 8200 8.1): a computed zero is sent as all ones. */
	if (f->proto == IPPROTO_UDP && !csum)
		csum = 0xffff;
	put16(l4 + (f->proto == IPPROTO_TCP   ? 16
		    : f->proto == IPPROTO_UDP ? 6
					      : 2),
	      csum);
	p->caplen = iphdr + l4hdr;
	p->origlen = iphdr + l4len;
}

/* ---- running batches ----------------------------------------------- */

static void bench_mismatch(struct bench *b, const struct pkt *p,
			   const struct qt_result *res)
{
	b->run->ph[p->phase].mismatches++;
	if (b->examples++ >= MAX_EXAMPLES)
		return;
	fprintf(stderr,
		"qtrack-bench: %u flows, %s phase, proto %u: expected %s, "
		"got %s (%s)\n",
		b->run->flows, phase_names[p->phase],
		ipv6 ? p->buf[6] : p->buf[9], qt_ct_state_name(p->expect),
		qt_ct_state_name(res->state), qt_reason_name(res->reason));
}

/* Process the prepared batch, timing only the engine calls. */
static void bench_flush(struct bench *b)
{
	uint8_t got[BATCH], why[BATCH];
	struct qt_input in[BATCH];
	static struct qt_result out[BATCH];
	struct qt_result res;
	uint64_t t0, t1, c0, c1;
	unsigned int k;

	if (!b->nbatch)
		return;
	for (k = 0; k < b->nbatch; k++)
		in[k] = (struct qt_input){
		    .data = b->batch[k].buf,
		    .caplen = b->batch[k].caplen,
		    .origlen = b->batch[k].origlen,
		};
	c0 = cpu_ns();
	t0 = clock_ns();
	if (batch_size <= 1) {
		for (k = 0; k < b->nbatch; k++)
			qt_engine_process(
			    b->e, b->batch[k].buf, b->batch[k].caplen,
			    b->batch[k].origlen, 0, b->now, &out[k]);
	} else {
		for (k = 0; k < b->nbatch; k += batch_size)
			qt_engine_process_batch(b->e, &in[k],
						b->nbatch - k < batch_size
						    ? b->nbatch - k
						    : batch_size,
						b->now, &out[k]);
	}
	t1 = clock_ns();
	c1 = cpu_ns();
	for (k = 0; k < b->nbatch; k++) {
		got[k] = (uint8_t)out[k].state;
		why[k] = (uint8_t)out[k].reason;
	}

	/* One phase per batch: bench_phase_end() flushes between phases. */
	b->run->ph[b->batch[0].phase].ns += t1 - t0;
	b->run->ph[b->batch[0].phase].cpu_ns += c1 - c0;
	b->run->ph[b->batch[0].phase].packets += b->nbatch;
	for (k = 0; k < b->nbatch; k++) {
		if (got[k] != b->batch[k].expect) {
			res.state = got[k];
			res.reason = why[k];
			bench_mismatch(b, &b->batch[k], &res);
		}
	}
	b->sent += b->nbatch;
	b->nbatch = 0;
	/* The synthetic clock runs at pkts_per_ms; expire as a daemon's
	 * tick would.  Nothing should be due before the expiry phase. */
	b->now = 1000000 + b->sent / b->pkts_per_ms;
	b->run->early_expired += qt_engine_expire(b->e, b->now, 0);
}

static void bench_emit(struct bench *b, uint32_t i, enum qt_dir dir,
		       uint8_t tcp_flags, uint16_t paylen,
		       enum qt_ct_state expect, enum phase ph)
{
	struct pkt *p;

	if (b->nbatch && b->batch[0].phase != ph)
		bench_flush(b);
	p = &b->batch[b->nbatch++];
	pkt_build(p, &b->flows[i], i, dir, tcp_flags, paylen);
	p->expect = (uint8_t)expect;
	p->phase = (uint8_t)ph;
	if (b->nbatch == BATCH)
		bench_flush(b);
}

/*
 * The synthetic clock's rate for @n flows: 1 ms per PKTS_PER_MS packets,
 * unless a pass over all flows (one packet each) would then take longer
 * than PASS_MS.  A flow can wait three and a half passes' worth of
 * packets between two of its own (an echo flow from its reply to its
 * first round, past the TCP handshake's ACK pass; the TCP close, three
 * packets per TCP flow, after its last round), so with 10M flows at 1024
 * packets per ms ICMP's 30 s ran out and flows expired early.  Up to
 * about a million flows the rate is PKTS_PER_MS.
 */
static uint64_t bench_clock_rate(uint32_t n)
{
	uint64_t rate = (uint64_t)n / PASS_MS;

	return rate > PKTS_PER_MS ? rate : PKTS_PER_MS;
}

static void bench_shuffle(struct bench *b, uint32_t n)
{
	for (uint32_t k = n; k > 1; k--) {
		uint32_t j = (uint32_t)(rng_next(&b->rng) % k);
		uint32_t t = b->order[k - 1];

		b->order[k - 1] = b->order[j];
		b->order[j] = t;
	}
}

/* ---- the table-size benchmark -------------------------------------- */

static struct qt_engine *bench_engine(uint32_t max, uint64_t now)
{
	struct qt_conf conf;
	struct qt_engine *e;

	qt_conf_init(&conf);
	conf.table.max = max;
	conf.table.buckets = max;
	e = qt_engine_new(&conf, now);
	if (!e) {
		fprintf(stderr, "qtrack-bench: qt_engine_new(%u): %s\n", max,
			strerror(errno));
		exit(1);
	}
	return e;
}

static void bench_new_flows(struct bench *b, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = b->order[k];
		struct flow *f = &b->flows[i];

		bench_emit(b, i, QT_DIR_ORIG,
			   f->proto == IPPROTO_TCP ? QT_TCP_SYN : 0, 0,
			   QT_CT_NEW, PH_NEW);
	}
	bench_flush(b);
}

static void bench_run(struct run *r, uint32_t n, uint64_t est_packets,
		      enum mix mix, uint64_t seed)
{
	struct bench *b = calloc(1, sizeof(*b));
	uint32_t reps, rep, k, round;
	uint64_t t0, c0;

	if (!b)
		goto oom;
	memset(r, 0, sizeof(*r));
	r->flows = n;
	r->table_max = round_pow2(n);
	b->run = r;
	b->rng = seed | 1;
	b->flows = malloc(sizeof(*b->flows) * n);
	b->order = malloc(sizeof(*b->order) * n);
	if (!b->flows || !b->order)
		goto oom;
	for (k = 0; k < n; k++) {
		uint8_t proto = flow_proto(k, mix);

		flow_reset(&b->flows[k], k, proto);
		r->nproto[proto == IPPROTO_TCP	 ? 0
			  : proto == IPPROTO_UDP ? 1
						 : 2]++;
		b->order[k] = k;
	}
	bench_shuffle(b, n);

	/* Everything the bench itself needs is allocated and touched. */
	r->rss_before = rss_bytes();
	b->now = 1000000;
	b->pkts_per_ms = bench_clock_rate(n);
	b->e = bench_engine(r->table_max, b->now);

	/* New connections; small tables are filled repeatedly so the
	 * figure rests on enough packets. */
	reps = n >= 250000 ? 1 : (250000 + n - 1) / n;
	if (reps > 1000)
		reps = 1000;
	for (rep = 0; rep < reps; rep++) {
		if (rep) {
			qt_engine_flush(b->e);
			for (k = 0; k < n; k++)
				flow_reset(&b->flows[k], k, b->flows[k].proto);
		}
		bench_new_flows(b, n);
	}
	if (qt_engine_stats(b->e)->count != n)
		fprintf(stderr, "qtrack-bench: %u flows but %u in the table\n",
			n, qt_engine_stats(b->e)->count);

	/* First reply, then the handshake's last ACK. */
	bench_shuffle(b, n);
	for (k = 0; k < n; k++) {
		uint32_t i = b->order[k];
		bool tcp = b->flows[i].proto == IPPROTO_TCP;

		bench_emit(b, i, QT_DIR_REPLY,
			   tcp ? QT_TCP_SYN | QT_TCP_ACK : 0, 0,
			   QT_CT_ESTABLISHED, PH_REPLY);
	}
	bench_flush(b);
	for (k = 0; k < n; k++) {
		uint32_t i = b->order[k];

		if (b->flows[i].proto == IPPROTO_TCP)
			bench_emit(b, i, QT_DIR_ORIG, QT_TCP_ACK, 0,
				   QT_CT_ESTABLISHED, PH_ACK);
	}
	bench_flush(b);

	/* The established path: each round visits every flow once in a
	 * new random order, each flow alternating its direction. */
	r->rounds = (uint32_t)((est_packets + n - 1) / n);
	if (r->rounds < 2)
		r->rounds = 2;
	for (round = 0; round < r->rounds; round++) {
		bench_shuffle(b, n);
		for (k = 0; k < n; k++) {
			uint32_t i = b->order[k];
			struct flow *f = &b->flows[i];
			bool tcp = f->proto == IPPROTO_TCP;

			bench_emit(b, i, f->dir,
				   tcp ? QT_TCP_ACK | QT_TCP_PSH : 0, DATA_LEN,
				   QT_CT_ESTABLISHED, PH_EST);
			f->dir = !f->dir;
		}
	}
	bench_flush(b);
	r->rss_after = rss_bytes();

	/* TCP close: FIN from the client, FIN/ACK back, the last ACK. */
	bench_shuffle(b, n);
	for (k = 0; k < n; k++) {
		uint32_t i = b->order[k];

		if (b->flows[i].proto != IPPROTO_TCP)
			continue;
		bench_emit(b, i, QT_DIR_ORIG, QT_TCP_FIN | QT_TCP_ACK, 0,
			   QT_CT_ESTABLISHED, PH_CLOSE);
		bench_emit(b, i, QT_DIR_REPLY, QT_TCP_FIN | QT_TCP_ACK, 0,
			   QT_CT_ESTABLISHED, PH_CLOSE);
		bench_emit(b, i, QT_DIR_ORIG, QT_TCP_ACK, 0, QT_CT_ESTABLISHED,
			   PH_CLOSE);
	}
	bench_flush(b);

	/* Expiry: jump past every timeout (TCP established is 5 days). */
	b->now += 30ull * 24 * 3600 * 1000;
	c0 = cpu_ns();
	t0 = clock_ns();
	r->expired = qt_engine_expire(b->e, b->now, 0);
	r->expire_ns = clock_ns() - t0;
	r->expire_cpu_ns = cpu_ns() - c0;
	if (qt_engine_stats(b->e)->count != 0)
		fprintf(stderr, "qtrack-bench: %u entries left after expiry\n",
			qt_engine_stats(b->e)->count);

	qt_engine_free(b->e);
	free(b->flows);
	free(b->order);
	free(b);
	return;
oom:
	fprintf(stderr, "qtrack-bench: out of memory for %u flows\n", n);
	exit(1);
}

static double per(uint64_t ns, uint64_t n)
{
	return n ? (double)ns / (double)n : 0.0;
}

static uint64_t run_mismatches(const struct run *r)
{
	uint64_t m = 0;

	for (int p = 0; p < PH_MAX; p++)
		m += r->ph[p].mismatches;
	return m;
}

static double run_bytes_per_conn(const struct run *r)
{
	if (r->rss_after < r->rss_before)
		return 0;
	return (double)(r->rss_after - r->rss_before) / r->flows;
}

/* The figures of one run, in the columns of the table. */
enum fig {
	FIG_NEW, FIG_REPLY, FIG_EST, FIG_EST_CPU, FIG_CLOSE, FIG_EXPIRE,
	FIG_BYTES, FIG_MAX
};

static void run_figs(const struct run *r, double v[FIG_MAX])
{
	const struct phase_stat *ph = r->ph;

	v[FIG_NEW] = per(ph[PH_NEW].ns, ph[PH_NEW].packets);
	v[FIG_REPLY] = per(ph[PH_REPLY].ns, ph[PH_REPLY].packets);
	v[FIG_EST] = per(ph[PH_EST].ns, ph[PH_EST].packets);
	v[FIG_EST_CPU] = per(ph[PH_EST].cpu_ns, ph[PH_EST].packets);
	v[FIG_CLOSE] = per(ph[PH_CLOSE].ns, r->nproto[0]);
	v[FIG_EXPIRE] = per(r->expire_ns, r->expired);
	v[FIG_BYTES] = run_bytes_per_conn(r);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of each figure over the @reps runs of one size, which lie
 * @stride apart in @runs (the repetitions are interleaved). */
static void median_figs(const struct run *runs, size_t reps, size_t stride,
			double v[FIG_MAX])
{
	double col[FIG_MAX][64];

	for (size_t k = 0; k < reps; k++) {
		double all[FIG_MAX];

		run_figs(&runs[k * stride], all);
		for (int f = 0; f < FIG_MAX; f++)
			col[f][k] = all[f];
	}
	for (int f = 0; f < FIG_MAX; f++) {
		qsort(col[f], reps, sizeof(col[f][0]), cmp_double);
		v[f] = reps % 2 ? col[f][reps / 2]
				: (col[f][reps / 2 - 1] + col[f][reps / 2]) / 2;
	}
}

static void print_row(const struct run *r, const double v[FIG_MAX],
		      uint64_t mismatches)
{
	printf("%9u%10u%10.1f%10.1f%10.1f%10.1f%10.1f%10.1f%10.1f"
	       "%10" PRIu64 "%10" PRIu64 "\n",
	       r->flows, r->table_max, v[FIG_NEW], v[FIG_REPLY], v[FIG_EST],
	       v[FIG_EST_CPU], v[FIG_CLOSE], v[FIG_EXPIRE], v[FIG_BYTES],
	       r->ph[PH_EST].packets, mismatches);
}

/* @runs holds @reps rounds of the @nsizes sizes, round after round. */
static void print_table(const struct run *runs, size_t nsizes, size_t reps)
{
	static const char *const head[2][11] = {
	    {"flows", "tbl max", "new", "reply", "est", "est cpu", "close/ct",
	     "expire/ct", "B/conn", "est pkts", "mismatch"},
	    {"", "", "ns/ct", "ns/pkt", "ns/pkt", "ns/pkt", "ns", "ns", "(RSS)",
	     "", ""},
	};
	double first[FIG_MAX], last[FIG_MAX], v[FIG_MAX];

	if (ipv6)
		printf("IPv6 packets (2001:db8::/96), sizeof(struct qt_conn) = "
		       "%zu bytes + %zu in the address store, %u packets per "
		       "engine call\n\n",
		       sizeof(struct qt_conn), sizeof(struct qt_addr6pair),
		       batch_size);
	else
		printf("IPv4 packets, sizeof(struct qt_conn) = %zu bytes, %u "
		       "packets per engine call\n\n",
		       sizeof(struct qt_conn), batch_size);
	for (int h = 0; h < 2; h++) {
		for (int col = 0; col < 11; col++)
			printf("%*s", col ? 10 : 9, head[h][col]);
		printf("\n");
	}
	for (size_t k = 0; k < nsizes * reps; k++) {
		const struct run *r = &runs[k];

		run_figs(r, v);
		print_row(r, v, run_mismatches(r));
		if (r->early_expired || r->expired != r->flows)
			printf("  warning: %" PRIu64 " expired early, %" PRIu64
			       " at the expiry phase (want %u)\n",
			       r->early_expired, r->expired, r->flows);
	}
	if (reps > 1) {
		printf("median of %zu runs (interleaved):\n", reps);
		for (size_t k = 0; k < nsizes; k++) {
			uint64_t mism = 0;

			for (size_t i = 0; i < reps; i++)
				mism += run_mismatches(&runs[i * nsizes + k]);
			median_figs(&runs[k], reps, nsizes, v);
			print_row(&runs[k], v, mism);
		}
	}
	if (nsizes > 1) {
		/* Issue 8's scaling target: the largest table's cost over
		 * the smallest's. */
		median_figs(&runs[0], reps, nsizes, first);
		median_figs(&runs[nsizes - 1], reps, nsizes, last);
		printf("est %u / est %u: %.2fx (cpu %.2fx); new: %.2fx\n",
		       runs[nsizes - 1].flows, runs[0].flows,
		       first[FIG_EST] ? last[FIG_EST] / first[FIG_EST] : 0,
		       first[FIG_EST_CPU]
			   ? last[FIG_EST_CPU] / first[FIG_EST_CPU] : 0,
		       first[FIG_NEW] ? last[FIG_NEW] / first[FIG_NEW] : 0);
	}
}

static const char *family_name(void)
{
	return ipv6 ? "ipv6" : "ipv4";
}

static void print_json(const struct run *runs, size_t nruns)
{
	printf("{\"family\": \"%s\", \"sizeof_conn\": %zu, "
	       "\"batch\": %u, \"runs\": [",
	       family_name(), sizeof(struct qt_conn), batch_size);
	for (size_t k = 0; k < nruns; k++) {
		const struct run *r = &runs[k];
		const struct phase_stat *ph = r->ph;

		printf("%s\n {\"flows\": %u, \"table_max\": %u, \"tcp\": %u, "
		       "\"udp\": %u, \"icmp\": %u, \"rounds\": %u",
		       k ? "," : "", r->flows, r->table_max, r->nproto[0],
		       r->nproto[1], r->nproto[2], r->rounds);
		for (int p = 0; p < PH_MAX; p++)
			printf(", \"%s\": {\"packets\": %" PRIu64
			       ", \"ns_per_packet\": %.2f"
			       ", \"cpu_ns_per_packet\": %.2f"
			       ", \"mismatches\": %" PRIu64 "}",
			       phase_names[p], ph[p].packets,
			       per(ph[p].ns, ph[p].packets),
			       per(ph[p].cpu_ns, ph[p].packets),
			       ph[p].mismatches);
		printf(", \"ns_per_new_conn\": %.2f",
		       per(ph[PH_NEW].ns, ph[PH_NEW].packets));
		printf(", \"ns_per_close\": %.2f",
		       per(ph[PH_CLOSE].ns, r->nproto[0]));
		printf(", \"expired\": %" PRIu64, r->expired);
		printf(", \"ns_per_expiry\": %.2f",
		       per(r->expire_ns, r->expired));
		printf(", \"cpu_ns_per_expiry\": %.2f",
		       per(r->expire_cpu_ns, r->expired));
		printf(", \"early_expired\": %" PRIu64, r->early_expired);
		printf(", \"rss_before\": %" PRIu64 ", \"rss_after\": %" PRIu64,
		       r->rss_before, r->rss_after);
		printf(", \"bytes_per_conn\": %.1f}", run_bytes_per_conn(r));
	}
	printf("\n]}\n");
}

/* ---- the OVS-comparable mode --------------------------------------- */

static int bench_ovs(uint32_t n, uint32_t iters, bool json)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct run r;
	uint64_t ins, look;

	if (!b || !(b->flows = malloc(sizeof(*b->flows) * n))) {
		fprintf(stderr, "qtrack-bench: out of memory\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.flows = n;
	b->run = &r;
	b->now = 1000000;
	b->pkts_per_ms = bench_clock_rate(n);
	b->e = bench_engine(round_pow2(n), b->now);
	for (uint32_t it = 0; it < iters; it++) {
		for (uint32_t i = 0; i < n; i++)
			flow_reset(&b->flows[i], i, IPPROTO_UDP);
		/* Insert: one packet per flow, each flow new. */
		for (uint32_t i = 0; i < n; i++)
			bench_emit(b, i, QT_DIR_ORIG, 0, 0, QT_CT_NEW, PH_NEW);
		bench_flush(b);
		/* Look up: the same flow again, original direction; no
		 * reply has been seen, so the kernel still says NEW. */
		for (uint32_t i = 0; i < n; i++)
			bench_emit(b, i, QT_DIR_ORIG, 0, 0, QT_CT_NEW, PH_EST);
		bench_flush(b);
		if (qt_engine_flush(b->e) != n)
			fprintf(stderr, "qtrack-bench: flush: not %u\n", n);
	}
	ins = r.ph[PH_NEW].packets;
	look = r.ph[PH_EST].packets;
	if (json)
		printf("{\"ovs\": {\"family\": \"%s\", \"flows\": %u, "
		       "\"iterations\": %u, "
		       "\"ns_per_insert\": %.2f, \"ns_per_lookup\": %.2f, "
		       "\"cpu_ns_per_insert\": %.2f, "
		       "\"cpu_ns_per_lookup\": %.2f, \"mismatches\": %" PRIu64
		       "}}\n",
		       family_name(), n, iters, per(r.ph[PH_NEW].ns, ins),
		       per(r.ph[PH_EST].ns, look),
		       per(r.ph[PH_NEW].cpu_ns, ins),
		       per(r.ph[PH_EST].cpu_ns, look), run_mismatches(&r));
	else
		printf("ovs-style (%s, batch %u): %u flows x %u iterations: "
		       "%.1f ns/insert, "
		       "%.1f ns/lookup (CPU time: %.1f, %.1f), %" PRIu64
		       " mismatches\n",
		       ipv6 ? "IPv6" : "IPv4", batch_size, n, iters,
		       per(r.ph[PH_NEW].ns, ins),
		       per(r.ph[PH_EST].ns, look),
		       per(r.ph[PH_NEW].cpu_ns, ins),
		       per(r.ph[PH_EST].cpu_ns, look), run_mismatches(&r));
	qt_engine_free(b->e);
	free(b->flows);
	free(b);
	return run_mismatches(&r) ? 2 : 0;
}

/* ---- main ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qtrack-bench [-6] [--plain] [-c N[,N...]] "
		"[--max-flows N] "
		"[--proto tcp|udp|icmp|mix]\n"
		"                    [-p PACKETS] [-b BATCH] [-r RUNS] "
		"[--seed S] [--json]\n"
		"       qtrack-bench [-6] --ovs N ITERATIONS [-b BATCH] "
		"[--json]\n"
		"  -6, --ipv6    IPv6 packets (2001:db8::/96 + the IPv4 "
		"addresses; TCP, UDP,\n"
		"                ICMPv6 echo) instead of IPv4, in every "
		"phase and mode\n"
		"  --plain       TCP without options, as before; by default "
		"TCP carries what\n"
		"                Linux sends: MSS, SACK permitted, "
		"timestamps, window scale on\n"
		"                SYNs, timestamps on every segment, a SACK "
		"block on one in 16\n"
		"  -b BATCH      packets per engine call (default 32, max "
		"256); 1 = qt_engine_process() per packet\n"
		"  -c N          table sizes (concurrent flows); default "
		"1000,100000,1000000\n"
		"  --max-flows N skip sizes above N\n"
		"  --proto P     one protocol instead of the mix (80 %% TCP, "
		"15 %% UDP, 5 %% echo);\n"
		"                icmp is ICMPv6 echo with -6\n"
		"  -p PACKETS    established-path packets per size "
		"(default 2000000)\n"
		"  -r RUNS       run every size RUNS times (max 64), "
		"interleaved, and print the medians\n"
		"Exit status: 0, or 2 if any packet got another state than "
		"the kernel's.\n");
}

static uint32_t parse_u32(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || (*end && *end != ',') || v == 0 ||
	    v > 100000000ull) {
		fprintf(stderr, "qtrack-bench: bad %s '%s'\n", what, s);
		exit(1);
	}
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"max-flows", required_argument, NULL, 'm'},
	    {"proto", required_argument, NULL, 'P'},
	    {"json", no_argument, NULL, 'j'},
	    {"ovs", required_argument, NULL, 'o'},
	    {"seed", required_argument, NULL, 's'},
	    {"ipv6", no_argument, NULL, '6'},
	    {"plain", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint32_t sizes[16] = {1000, 100000, 1000000};
	size_t nsizes = 3, nruns = 0, reps = 1;
	uint32_t max_flows = UINT32_MAX, ovs_n = 0, ovs_iters = 0;
	uint64_t est_packets = 2000000, seed = 0x5eed;
	enum mix mix = MIX_ALL;
	bool json = false;
	struct run *runs;
	int c;

	while ((c = getopt_long(argc, argv, "6b:c:p:r:h", opts, NULL)) != -1) {
		switch (c) {
		case '6':
			ipv6 = true;
			break;
		case 'T':
			plain = true;
			break;
		case 'b':
			batch_size = parse_u32(optarg, "-b");
			if (batch_size > BATCH)
				batch_size = BATCH;
			break;
		case 'c': {
			const char *s = optarg;

			nsizes = 0;
			while (s && *s && nsizes < 16) {
				sizes[nsizes++] = parse_u32(s, "size");
				s = strchr(s, ',');
				s = s ? s + 1 : NULL;
			}
			break;
		}
		case 'm':
			max_flows = parse_u32(optarg, "--max-flows");
			break;
		case 'p':
			est_packets = parse_u32(optarg, "-p");
			break;
		case 'r':
			reps = parse_u32(optarg, "-r");
			if (reps > 64)
				reps = 64;
			break;
		case 'P':
			if (!strcmp(optarg, "tcp"))
				mix = MIX_TCP;
			else if (!strcmp(optarg, "udp"))
				mix = MIX_UDP;
			else if (!strcmp(optarg, "icmp"))
				mix = MIX_ICMP;
			else if (!strcmp(optarg, "mix"))
				mix = MIX_ALL;
			else {
				usage(stderr);
				return 1;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			if (optind >= argc) {
				usage(stderr);
				return 1;
			}
			ovs_n = parse_u32(optarg, "--ovs N");
			ovs_iters = parse_u32(argv[optind++], "--ovs I");
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (ovs_n)
		return bench_ovs(ovs_n, ovs_iters, json);

	runs = calloc(nsizes * reps, sizeof(*runs));
	if (!runs)
		return 1;
	{
		size_t kept = 0;

		for (size_t k = 0; k < nsizes; k++)
			if (sizes[k] <= max_flows)
				sizes[kept++] = sizes[k];
		nsizes = kept;
	}
	/* Round after round over all sizes, so that a slow spell of a
	 * shared machine falls on every size alike. */
	for (size_t i = 0; i < reps; i++)
		for (size_t k = 0; k < nsizes; k++)
			bench_run(&runs[nruns++], sizes[k], est_packets, mix,
				  seed + i);
	if (json)
		print_json(runs, nruns);
	else
		print_table(runs, nsizes, reps);
	for (size_t k = 0; k < nruns; k++) {
		if (run_mismatches(&runs[k]) || runs[k].early_expired ||
		    runs[k].expired != runs[k].flows) {
			free(runs);
			return 2;
		}
	}
	free(runs);
	return 0;
}
