/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pktbuild.h - packets built byte by byte for the engine's unit tests.
 *
 * The builders write network byte order by hand and compute checksums with
 * their own RFC 1071 sum, so that a test does not lean on the parser or the
 * checksum code it checks.  Everything is static inline: each test program
 * includes what it uses.
 */
#ifndef QTRACK_TEST_PKTBUILD_H
#define QTRACK_TEST_PKTBUILD_H

#include <stdint.h>
#include <string.h>

/* Large enough for a 1,500-byte datagram and the tests' jumbo segments. */
struct pkt {
	uint8_t b[1600];
	uint32_t len;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* An IPv4 header with fragment field @frag (offset in 8-byte units | MF)
 * and @l4len bytes of layer 4 copied from @l4.  Fragments share the
 * identification 0x4242; whole datagrams carry 0. */
static inline struct pkt ip4_frag(uint32_t src, uint32_t dst, uint8_t proto,
				  uint16_t frag, const uint8_t *l4,
				  uint32_t l4len)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.len = 20 + l4len;
	p.b[0] = 0x45;
	put16(p.b + 2, (uint16_t)p.len);
	if (frag)
		put16(p.b + 4, 0x4242);
	put16(p.b + 6, frag);
	p.b[8] = 64;
	p.b[9] = proto;
	put32(p.b + 12, src);
	put32(p.b + 16, dst);
	memcpy(p.b + 20, l4, l4len);
	return p;
}

static inline struct pkt ip4(uint32_t src, uint32_t dst, uint8_t proto,
			     const uint8_t *l4, uint32_t l4len)
{
	return ip4_frag(src, dst, proto, 0, l4, l4len);
}

/* An IPv6 header, a fragment header holding @frag (offset | M) unless
 * @frag < 0, and @l4len bytes of layer 4 copied from @l4. */
static inline struct pkt ip6_frag(const uint8_t *src, const uint8_t *dst,
				  uint8_t nh, int frag, const uint8_t *l4,
				  uint32_t l4len)
{
	struct pkt p;
	uint32_t off = 40;

	memset(&p, 0, sizeof(p));
	p.b[0] = 0x60;
	p.b[7] = 64;
	memcpy(p.b + 8, src, 16);
	memcpy(p.b + 24, dst, 16);
	if (frag >= 0) {
		p.b[6] = 44;
		p.b[40] = nh;
		put16(p.b + 42, (uint16_t)frag);
		put32(p.b + 44, 0x4242);
		off += 8;
	} else {
		p.b[6] = nh;
	}
	memcpy(p.b + off, l4, l4len);
	p.len = off + l4len;
	put16(p.b + 4, (uint16_t)(p.len - 40));
	return p;
}

static inline struct pkt ip6(const uint8_t *src, const uint8_t *dst,
			     uint8_t nh, const uint8_t *l4, uint32_t l4len)
{
	return ip6_frag(src, dst, nh, -1, l4, l4len);
}

/* A UDP datagram with four bytes of zero payload and no checksum. */
static inline struct pkt udp4(uint32_t src, uint32_t dst, uint16_t sp,
			      uint16_t dp)
{
	uint8_t u[12] = { 0 };

	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, sizeof(u));
	return ip4(src, dst, 17, u, sizeof(u));
}

/* A 20-byte TCP header without options, window 65535, checksum 0. */
static inline void tcp_hdr(uint8_t *t, uint16_t sp, uint16_t dp, uint32_t seq,
			   uint32_t ack, uint8_t flags)
{
	memset(t, 0, 20);
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
}

/* A TCP segment without options or data and without a checksum. */
static inline struct pkt tcp4(uint32_t src, uint32_t dst, uint16_t sp,
			      uint16_t dp, uint8_t flags, uint32_t seq,
			      uint32_t ack)
{
	uint8_t t[20];

	tcp_hdr(t, sp, dp, seq, ack, flags);
	return ip4(src, dst, 6, t, sizeof(t));
}

/* An ICMP query (echo request 8, reply 0, ...) with identifier @id. */
static inline struct pkt icmp4(uint32_t src, uint32_t dst, uint8_t type,
			       uint16_t id)
{
	uint8_t h[8] = { type, 0 };

	put16(h + 4, id);
	return ip4(src, dst, 1, h, sizeof(h));
}

/* An ICMP error from @src to @dst quoting @quoted (its first 28 bytes). */
static inline struct pkt icmp4_err(uint32_t src, uint32_t dst, uint8_t type,
				   uint8_t code, const struct pkt *quoted)
{
	uint8_t h[8 + 28] = { type, code };

	memcpy(h + 8, quoted->b, 28);
	return ip4(src, dst, 1, h, sizeof(h));
}

/* RFC 1071 sum over @len bytes, added to @sum. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The layer 4 checksum of an IPv4 packet without options, written at
 * offset @field of its layer 4 header (16 for TCP, 6 for UDP).  UDP's
 * zero is sent as 0xffff, as RFC 768 says. */
static inline void ip4_l4_csum(struct pkt *p, uint32_t field)
{
	uint8_t *l4 = p->b + 20;
	uint32_t len = p->len - 20, sum;
	uint16_t c;

	l4[field] = l4[field + 1] = 0;
	sum = csum_add(p->b[9] + len, p->b + 12, 8);
	c = csum_fold(csum_add(sum, l4, len));
	if (p->b[9] == 17 && c == 0)
		c = 0xffff;
	put16(l4 + field, c);
}

#endif
