/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_flows.c - libFuzzer target that drives one engine with sequences of
 * packets of a handful of flows, so the TCP state machine, the FTP helper
 * and its expectations, the timers and early drop get deep, which random
 * single packets (fuzz_packet.c) rarely do.
 *
 * Each input is a program of operations, each one opcode byte and its
 * arguments: a packet of one of eight flows (TCP, FTP control and data,
 * UDP, ICMP echo and errors quoting the others, generic; IPv4 and IPv6)
 * with fuzzed flags, sequence numbers, window and payload, where the
 * payload may be an FTP command built from a template so that PORT, PASV,
 * EPRT and EPSV announcements match the data flows; a batch of packets;
 * a burst of new connections; time passing; expiry; a reconfiguration;
 * a flush; a delete.  Every input
 * starts from a fresh engine, so a crash reproduces from its own input.
 *
 * After every operation the invariants are checked: the walk sees exactly
 * stats.count entries, NEW minus DESTROY events equals the count, and no
 * connection is destroyed by expiry before its deadline.  Every
 * FZ_DEEP_EVERY operations and at the end the lookups are checked too:
 * every entry is found by both its tuples, the walk sees exactly
 * stats.expect_count expectations and every expectation's master is in
 * the table.  (Those lookups, run after every operation, took half of
 * the run time; an index that lost an entry stays wrong until the next
 * deep check, and one packet later the entry is looked up anyway.)
 *
 * Inputs are short (-max_len in tests/CMakeLists.txt): a program of a
 * few dozen operations already opens, uses and closes an FTP session with
 * its data connection, and libFuzzer then runs thousands of them per
 * second instead of hundreds of programs of 256.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "expect.h"
#include "format.h"
#include "qtrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_CONNS 16
#define FZ_NFLOWS 8
#define FZ_PKT_MAX 1600
#define FZ_DEEP_EVERY 8		/* operations between lookup checks */

/* The input being consumed; reads past its end give zeros. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	if (!in->n)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

static uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)(fz_u8(in) << 8 | fz_u8(in));
}

static uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_u16(in) << 16 | fz_u16(in);
}

struct fz_deadline {
	uint32_t id;
	uint64_t at;
};

struct fz_state {
	struct qt_engine *e;
	struct qt_conf conf;
	uint64_t now;
	uint32_t seq[FZ_NFLOWS][2];	/* next sequence number per direction */
	uint16_t data_port;		/* last port an FTP command announced */
	bool active;			/* ... by PORT/EPRT: server connects */
	/* events */
	uint64_t ev_new, ev_destroy;
	bool in_expire;
	/* deadlines seen at the last check, by connection id */
	struct fz_deadline dl[FZ_MAX_CONNS * 2];
	size_t ndl;
};

static void fz_event(void *arg, enum qt_event_type type,
		     const struct qt_conn *ct)
{
	struct fz_state *s = arg;
	size_t i;

	if (type == QT_EV_NEW)
		s->ev_new++;
	if (type != QT_EV_DESTROY)
		return;
	s->ev_destroy++;
	if (!s->in_expire)
		return;
	/* Expiry may only take what was due: every timer a packet moved was
	 * recorded at the check after that packet. */
	for (i = 0; i < s->ndl; i++)
		if (s->dl[i].id == ct->id && s->dl[i].at > s->now)
			abort();
}

/* ---- packet building ------------------------------------------------ */

static const uint8_t fz_v4[3][4] = {
	{10, 0, 0, 1}, {10, 0, 0, 2}, {192, 0, 2, 254}
};
static const uint8_t fz_v6[3][16] = {
	{0xfd, 0, [15] = 1}, {0xfd, 0, [15] = 2}, {0x20, 0x01, 0x0d, 0xb8,
						   [15] = 0xfe}
};

static void fz_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void fz_put32(uint8_t *p, uint32_t v)
{
	fz_put16(p, (uint16_t)(v >> 16));
	fz_put16(p + 2, (uint16_t)v);
}

/* An IP header from host @a to host @b (indexes into fz_v4/fz_v6) carrying
 * @l4len bytes of @proto; returns its length. */
static size_t fz_ip(uint8_t *p, bool v6, int a, int b, uint8_t proto,
		    size_t l4len)
{
	if (v6) {
		memset(p, 0, 40);
		p[0] = 0x60;
		fz_put16(p + 4, (uint16_t)l4len);
		p[6] = proto;
		p[7] = 64;
		memcpy(p + 8, fz_v6[a], 16);
		memcpy(p + 24, fz_v6[b], 16);
		return 40;
	}
	memset(p, 0, 20);
	p[0] = 0x45;
	fz_put16(p + 2, (uint16_t)(20 + l4len));
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, fz_v4[a], 4);
	memcpy(p + 16, fz_v4[b], 4);
	return 20;
}

/* An FTP command or reply, maybe announcing a port (s->data_port), cut after a fuzzed
 * length so that split lines occur too. */
static size_t fz_ftp(struct fz_state *s, struct fz_in *in, bool v6,
		     uint8_t *out, size_t room)
{
	uint8_t k = fz_u8(in);
	uint8_t cut = fz_u8(in);
	uint16_t port;
	char line[128];
	int n;

	port = (uint16_t)(1024 + (fz_u8(in) & 3));
	if (k & 0x40)
		port = (uint16_t)(port + (k & 0x80 ? 64000 : 0));
	switch (k & 7) {
	case 0:
		n = snprintf(line, sizeof(line), "PORT 10,0,0,%d,%d,%d\r\n",
			     k & 8 ? 9 : 1, port >> 8, port & 255);
		s->active = true;
		s->data_port = port;
		break;
	case 1:
		n = snprintf(line, sizeof(line),
			     "227 Entering Passive Mode (10,0,0,%d,%d,%d).\r\n",
			     k & 8 ? 9 : 2, port >> 8, port & 255);
		s->active = false;
		s->data_port = port;
		break;
	case 2:
		n = snprintf(line, sizeof(line), "EPRT |%d|%s|%u|\r\n",
			     v6 ? 2 : 1, v6 ? "fd00::1" : "10.0.0.1", port);
		s->active = true;
		s->data_port = port;
		break;
	case 3:
		n = snprintf(line, sizeof(line),
			     "229 Entering Extended Passive Mode (|||%u|)\r\n",
			     port);
		s->active = false;
		s->data_port = port;
		break;
	case 4:
		n = snprintf(line, sizeof(line), "USER anonymous\r\n");
		break;
	case 5:
		n = snprintf(line, sizeof(line), "PASV\r\n");
		break;
	case 6:
		n = snprintf(line, sizeof(line), "227 (10,0,0,2,%d,%d\r\n",
			     port >> 8, port & 255);
		break;
	default:
		n = snprintf(line, sizeof(line), "EPSV\r\n");
		break;
	}
	if (n < 0)
		return 0;
	if (cut && cut < n)
		n = cut;
	if ((size_t)n > room)
		n = (int)room;
	memcpy(out, line, (size_t)n);
	return (size_t)n;
}

/* Payload for a packet: none, an FTP line, or raw input bytes. */
static size_t fz_payload(struct fz_state *s, struct fz_in *in, bool v6,
			 uint8_t *out, size_t room)
{
	uint8_t k = fz_u8(in);
	size_t n;

	switch (k & 3) {
	case 1:
		return fz_ftp(s, in, v6, out, room);
	case 2:
		n = k >> 2;
		if (n > in->n)
			n = in->n;
		if (n > room)
			n = room;
		memcpy(out, in->p, n);
		in->p += n;
		in->n -= n;
		return n;
	case 3:
		n = (size_t)(k >> 2) * 20;	/* a big one, not captured */
		if (n > room)
			n = room;
		memset(out, 'x', n);
		return n;
	default:
		return 0;
	}
}

/* A TCP segment of flow @f: hosts and ports by flow, the rest fuzzed. */
static size_t fz_tcp(struct fz_state *s, struct fz_in *in, int f, bool v6,
		     bool reply, uint8_t *buf)
{
	uint8_t flags = fz_u8(in), mode = fz_u8(in), optk = fz_u8(in);
	int a = 0, b = 1;
	uint16_t sp, dp;
	uint8_t l4[60 + 1200];
	size_t hl = 20, plen, off;
	uint32_t seq, ack;
	int d = reply;

	if ((f & 3) == 0) {		/* FTP control */
		sp = 40000;
		dp = 21;
	} else if (s->active) {		/* FTP data, active */
		a = 1;
		b = 0;
		sp = 20;
		dp = s->data_port;
	} else {			/* FTP data, passive */
		sp = 40001;
		dp = s->data_port;
	}
	if (reply) {
		int t = a;
		uint16_t tp = sp;

		a = b;
		b = t;
		sp = dp;
		dp = tp;
	}
	memset(l4, 0, 60);
	fz_put16(l4, sp);
	fz_put16(l4 + 2, dp);
	seq = s->seq[f][d];
	ack = s->seq[f][!d];
	switch (mode & 3) {
	case 1:
		seq = fz_u32(in);
		ack = fz_u32(in);
		break;
	case 2:
		seq += (uint32_t)(int32_t)(int8_t)fz_u8(in) * 1000;
		ack += (uint32_t)(int32_t)(int8_t)fz_u8(in);
		break;
	case 3:
		seq -= (uint32_t)fz_u16(in);
		break;
	default:
		break;
	}
	if (flags & 0x02) {		/* SYN: fresh ISN unless told not */
		if (!(mode & 4))
			seq = (uint32_t)fz_u16(in) << 12;
		if (optk & 1) {
			l4[hl++] = 2;	/* MSS */
			l4[hl++] = 4;
			fz_put16(l4 + hl, 1460);
			hl += 2;
		}
		if (optk & 2) {
			l4[hl++] = 1;	/* wscale, maybe > 14 */
			l4[hl++] = 3;
			l4[hl++] = 3;
			l4[hl++] = optk >> 4;
		}
		if (optk & 4) {
			l4[hl++] = 4;	/* SACK permitted */
			l4[hl++] = 2;
		}
	} else if (optk & 8) {		/* a SACK block */
		l4[hl++] = 1;
		l4[hl++] = 1;
		l4[hl++] = 5;
		l4[hl++] = 10;
		fz_put32(l4 + hl, ack + fz_u8(in));
		fz_put32(l4 + hl + 4, ack + 1000);
		hl += 8;
	}
	while (hl & 3)
		l4[hl++] = 0;		/* EOL padding */
	fz_put32(l4 + 4, seq);
	fz_put32(l4 + 8, ack);
	l4[12] = (uint8_t)(hl / 4) << 4;
	l4[13] = flags;
	fz_put16(l4 + 14, (uint16_t)(mode & 0x80 ? fz_u16(in) : 65535));
	plen = fz_payload(s, in, v6, l4 + hl, sizeof(l4) - hl);
	if (!(mode & 0x40))
		s->seq[f][d] = seq + (uint32_t)plen + !!(flags & 0x02) +
			       !!(flags & 0x01);
	if ((flags & 0x12) == 0x12 || (flags & 0x10))
		s->seq[f][!d] = ack > s->seq[f][!d] ? ack : s->seq[f][!d];
	off = fz_ip(buf, v6, a, b, IPPROTO_TCP, hl + plen);
	memcpy(buf + off, l4, hl + plen);
	return off + hl + plen;
}

/* The packet an ICMP error of a router quotes: the first bytes of a
 * packet of flow @f (built with the same machinery). */
static size_t fz_build(struct fz_state *s, struct fz_in *in, int f,
		       uint8_t *buf, int depth);

static size_t fz_icmp_err(struct fz_state *s, struct fz_in *in, bool v6,
			  uint8_t *buf, int depth)
{
	uint8_t k = fz_u8(in);
	uint8_t inner[FZ_PKT_MAX];
	size_t n = 0, q, off;
	uint8_t l4[8 + 128];

	if (depth < 2)
		n = fz_build(s, in, (k >> 4) & 7, inner, depth + 1);
	q = n < 128 ? n : 128;
	if (k & 8)
		q = q > 8 ? q - 8 : q;	/* cut short */
	memset(l4, 0, 8);
	if (v6) {
		l4[0] = k & 1 ? 2 : 1;	/* packet too big, unreachable */
		l4[1] = 0;
	} else {
		l4[0] = k & 1 ? 11 : 3;	/* time exceeded, unreachable */
		l4[1] = k & 2 ? 3 : 4;
	}
	memcpy(l4 + 8, inner, q);
	off = fz_ip(buf, v6, k & 4 ? 2 : 1, 0,
		    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 8 + q);
	memcpy(buf + off, l4, 8 + q);
	return off + 8 + q;
}

/*
 * Flows: 0 FTP control v4, 1 FTP data v4, 2 UDP v4 (16 source ports),
 * 3 ICMP echo v4 (16 ids), 4 FTP control v6, 5 FTP data v6, 6 ICMP error
 * quoting another flow (v4 or v6), 7 generic (GRE) or UDP v6.
 */
static size_t fz_build(struct fz_state *s, struct fz_in *in, int f,
		       uint8_t *buf, int depth)
{
	uint8_t k = fz_u8(in);
	bool reply = k & 1, v6 = f >= 4;
	uint8_t l4[8 + 512];
	size_t plen, off;

	switch (f) {
	case 0:
	case 1:
	case 4:
	case 5:
		return fz_tcp(s, in, f, v6, reply, buf);
	case 2:
	case 7:
		if (f == 7 && (k & 2)) {
			plen = fz_payload(s, in, false, l4, 64);
			off = fz_ip(buf, false, reply, !reply, 47, plen);
			memcpy(buf + off, l4, plen);
			return off + plen;
		}
		fz_put16(l4, reply ? 53 : (uint16_t)(5000 + (k >> 4)));
		fz_put16(l4 + 2, reply ? (uint16_t)(5000 + (k >> 4)) : 53);
		plen = fz_payload(s, in, v6, l4 + 8, 512);
		fz_put16(l4 + 4, (uint16_t)(8 + plen));
		fz_put16(l4 + 6, 0);
		off = fz_ip(buf, f == 7, reply, !reply, IPPROTO_UDP, 8 + plen);
		memcpy(buf + off, l4, 8 + plen);
		return off + 8 + plen;
	case 3:
		memset(l4, 0, 8);
		l4[0] = reply ? 0 : 8;
		if (k & 2)
			l4[0] = 13;	/* timestamp */
		fz_put16(l4 + 4, (uint16_t)(k >> 4));
		fz_put16(l4 + 6, fz_u8(in));
		off = fz_ip(buf, false, reply, !reply, IPPROTO_ICMP, 8);
		memcpy(buf + off, l4, 8);
		return off + 8;
	default:
		return fz_icmp_err(s, in, k & 2, buf, depth);
	}
}

/* ---- invariants ----------------------------------------------------- */

/* The walk's invariants, after every operation.  With @format also every
 * entry's and expectation's -L and JSON lines: formatting took most of a
 * run's time when done after every operation, so it is done once, on the
 * table the last operation left. */
/* The invariants; @deep adds the lookups and the expectations, @format
 * formats every entry and expectation as list and JSON lines. */
static void fz_check(struct fz_state *s, bool deep, bool format)
{
	const struct qt_stats *st = qt_engine_stats(s->e);
	const struct qt_conn *ct;
	const struct qt_expect *exp;
	struct qt_tuple t;
	enum qt_dir dir;
	uint32_t cur = 0, n = 0;
	char buf[512];

	s->ndl = 0;
	while ((ct = qt_engine_next(s->e, &cur))) {
		if (++n > st->max)
			abort();
		if (s->ndl < sizeof(s->dl) / sizeof(s->dl[0])) {
			s->dl[s->ndl].id = ct->id;
			s->dl[s->ndl].at = s->now +
					   qt_timer_left(&ct->timer, s->now);
			s->ndl++;
		}
		if (!deep)
			continue;
		qt_conn_tuple(ct, QT_DIR_ORIG, &t);
		if (qt_engine_find(s->e, &t, &dir) != ct || dir != QT_DIR_ORIG)
			abort();
		qt_conn_tuple(ct, QT_DIR_REPLY, &t);
		if (qt_engine_find(s->e, &t, &dir) != ct || dir != QT_DIR_REPLY)
			abort();
		qt_engine_master(s->e, ct);
		if (format) {
			struct qt_format_opts o = {
			    .timeout = qt_engine_timeout_left(s->e, ct, s->now),
			    .accounting = true,
			    .acct = qt_engine_acct(s->e, ct),
			    .id = true,
			};

			qt_format_conn(ct, &o, buf, sizeof(buf));
			qt_format_conn_json(ct, &o, buf, 16);
		}
	}
	if (n != st->count || st->count > st->max)
		abort();
	if (s->ev_new - s->ev_destroy != st->count)
		abort();
	if (!deep)
		return;

	cur = 0;
	n = 0;
	while ((exp = qt_engine_expect_next(s->e, &cur))) {
		const struct qt_conn *m = qt_engine_expect_master(s->e, exp);
		uint32_t left = qt_engine_expect_timeout_left(s->e, exp,
							      s->now);

		n++;
		if (!m)
			abort();
		qt_conn_tuple(m, QT_DIR_ORIG, &t);
		if (qt_engine_find(s->e, &t, &dir) != m)
			abort();
		if (format) {
			qt_format_expect(exp, left, buf, sizeof(buf));
			qt_format_expect_json(exp, left, buf, 24);
		}
	}
	if (n != st->expect_count)
		abort();
}

/* ---- operations ----------------------------------------------------- */

static void fz_packet(struct fz_state *s, struct fz_in *in, int f)
{
	uint8_t buf[FZ_PKT_MAX], k = fz_u8(in);
	size_t len = fz_build(s, in, f, buf, 0);
	uint32_t caplen = (uint32_t)len;
	struct qt_result res;
	uint8_t *copy;

	if (k & 0x80 && caplen > 40)
		caplen = 40 + (k & 0x3f) % (caplen - 40); /* truncated capture */
	copy = malloc(caplen ? caplen : 1);	/* exact size for ASan */
	if (!copy)
		return;
	memcpy(copy, buf, caplen);
	if (k & 0x40) {
		if (qt_engine_relate(s->e, copy, caplen, (uint32_t)len, 0,
				     &res) &&
		    (res.state != QT_CT_RELATED || !res.conn))
			abort();
	} else {
		qt_engine_process(s->e, copy, caplen, (uint32_t)len,
				  (uint32_t)k << 24, s->now, &res);
		if ((unsigned int)res.state >= QT_CT_MAX ||
		    (unsigned int)res.reason >= QT_R_MAX)
			abort();
		if (res.conn) {
			struct qt_tuple o;

			qt_conn_tuple(res.conn, QT_DIR_ORIG, &o);
			if (qt_engine_find(s->e, &o, NULL) != res.conn)
				abort();
		}
#ifdef FZ_DEBUG	/* to check what a seed does: -DFZ_DEBUG */
		fprintf(stderr, "flow %d len %zu: %s reason %d, %u conns, "
			"%u expectations\n", f, len,
			qt_ct_state_name(res.state), (int)res.reason,
			qt_engine_stats(s->e)->count,
			qt_engine_stats(s->e)->expect_count);
#endif
	}
	free(copy);
}

static void fz_batch(struct fz_state *s, struct fz_in *in)
{
	uint8_t bufs[4][FZ_PKT_MAX];
	struct qt_input pk[4];
	struct qt_result res[4];
	size_t i, n = 1 + (fz_u8(in) & 3);

	for (i = 0; i < n; i++) {
		size_t len = fz_build(s, in, fz_u8(in) & 7, bufs[i], 0);

		pk[i] = (struct qt_input){ .data = bufs[i],
					   .caplen = (uint32_t)len,
					   .origlen = (uint32_t)len };
	}
	qt_engine_process_batch(s->e, pk, n, s->now, res);
	for (i = 0; i < n; i++)
		if ((unsigned int)res[i].state >= QT_CT_MAX)
			abort();
}

static void fz_reconf(struct fz_state *s, struct fz_in *in)
{
	struct qt_conf c = s->conf;
	uint8_t k = fz_u8(in), t = fz_u8(in);
	char err[256];
	int i;

	c.tcp.loose = k & 1;
	c.tcp.be_liberal = k & 2;
	c.tcp.ignore_invalid_rst = k & 4;
	c.table.accounting = k & 8;
	c.table.checksum = k & 16;
	c.helper.n_ftp_ports = k & 32 ? 0 : 1;
	c.helper.expect_max = 1 + (t & 3);
	c.helper.expect_per_master = 1 + ((t >> 2) & 3);
	c.tcp.max_retrans = (t >> 4) & 3;
	if (k & 64) {			/* short timeouts: expiry gets busy */
		for (i = 0; i < QT_TCP_TIMEOUT_MAX; i++)
			c.tcp.timeouts[i] = 1 + (uint32_t)((i + t) & 7);
		c.udp.timeout = 1 + (t & 3);
		c.udp.timeout_stream = 2 + (t & 7);
		c.icmp.timeout = c.icmpv6.timeout = c.generic.timeout = 2;
		c.helper.expect_timeout = 1 + (t >> 6);
	}
	if (qt_conf_validate(&c, err, sizeof(err)) < 0)
		return;
	if (qt_engine_reconfigure(s->e, &c, err, sizeof(err)) == 0)
		s->conf = c;
}

static void fz_delete(struct fz_state *s, struct fz_in *in)
{
	uint8_t buf[FZ_PKT_MAX];
	size_t len = fz_build(s, in, fz_u8(in) & 7, buf, 0);
	struct qt_pkt pkt;

	if (qt_packet_parse(buf, (uint32_t)len, (uint32_t)len, &pkt) ==
	    QT_R_NONE)
		qt_engine_delete(s->e, &pkt.tuple);
}

/* Up to 16 new UDP or TCP connections (a SYN each) from one byte, so
 * that a short program fills the table: early drop, refusal and the
 * index's overflow buckets need 16 entries, which single packets of
 * eight flows reach only in long inputs. */
static void fz_burst(struct fz_state *s, struct fz_in *in)
{
	uint8_t b = fz_u8(in), buf[80];
	bool tcp = b & 0x10, v6 = b & 0x20;
	uint16_t base = (uint16_t)(2000 + (b >> 6) * 64);
	struct qt_result res;
	int i, n = 1 + (b & 15);

	for (i = 0; i < n; i++) {
		size_t l4 = tcp ? 20 : 8;
		size_t off = fz_ip(buf, v6, 0, 1,
				   tcp ? IPPROTO_TCP : IPPROTO_UDP, l4);
		uint8_t *h = buf + off;

		memset(h, 0, l4);
		fz_put16(h, (uint16_t)(base + i));
		fz_put16(h + 2, tcp ? 80 : 53);
		if (tcp) {
			fz_put32(h + 4, 1000u * (uint32_t)i);
			h[12] = 5 << 4;
			h[13] = 0x02; /* SYN */
			fz_put16(h + 14, 65535);
		} else {
			fz_put16(h + 4, (uint16_t)l4);
		}
		qt_engine_process(s->e, buf, (uint32_t)(off + l4),
				  (uint32_t)(off + l4), 0, s->now, &res);
		if ((unsigned int)res.state >= QT_CT_MAX)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct fz_state *s;
	int ops = 0;

	static struct qt_conf base;
	static bool have_base;

	/* The defaults are parsed once: qt_conf_init() per input took a
	 * twentieth of the run time.  Every input still starts from the
	 * same configuration and a fresh engine. */
	if (!have_base) {
		qt_conf_init(&base);
		base.table.max = FZ_MAX_CONNS;
		base.table.buckets = 4;
		base.helper.ftp_ports[0] = 21;
		base.helper.n_ftp_ports = 1;
		base.helper.expect_max = 4;
		have_base = true;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return 0;
	s->conf = base;
	s->now = 1000;
	s->data_port = 1024;
	s->e = qt_engine_new(&s->conf, s->now);
	if (!s->e)
		abort();
	qt_engine_set_events(s->e, fz_event, s);

	while (in.n && ops++ < 256) {
		uint8_t op = fz_u8(&in), b;

		switch (op >> 5) {
		case 0:
		case 1:
		case 2:
			fz_packet(s, &in, op & 7);
			break;
		case 3:
			fz_batch(s, &in);
			break;
		case 4:
			b = fz_u8(&in);
			if (b < 64)
				s->now += b * 10u;
			else if (b < 128)
				s->now += (b - 64) * 1000u;
			else if (b < 192)
				s->now += (b - 128) * 60000u;
			else
				s->now += (b - 192) * 3600000ull;
			if (op & 1)
				break;
			/* fall through: expire when time passes */
		case 5:
			s->in_expire = true;
			qt_engine_expire(s->e, s->now, op & 0x10 ? 0 : op & 3);
			s->in_expire = false;
			break;
		case 6:
			fz_reconf(s, &in);
			break;
		default:
			if (op & 1)
				qt_engine_flush(s->e);
			else if (op & 2)
				fz_burst(s, &in);
			else
				fz_delete(s, &in);
			break;
		}
		fz_check(s, ops % FZ_DEEP_EVERY == 0, false);
	}
	fz_check(s, true, true);
	qt_engine_free(s->e);
	free(s);
	return 0;
}
