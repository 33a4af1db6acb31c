/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flood.c - qtrack-flood: a bounded flood of connection openers from
 * spoofed sources, for the table exhaustion tests (tests/e2e/test_flood.sh).
 *
 *   qtrack-flood -d ADDR [-p PORT] [-P tcp|udp] [-s PREFIX/LEN] [-n COUNT]
 *		  [-r RATE] [-t SECONDS]
 *
 * Sends COUNT packets (TCP SYNs, or UDP datagrams of 32 bytes) to ADDR
 * (IPv4 or IPv6) and PORT (0: a random port per packet) from random
 * source addresses inside PREFIX and random source ports, at RATE packets
 * per second, through a raw socket that writes the whole IP header; stops
 * after COUNT packets or SECONDS, whichever comes first.  Checksums are
 * right, so a receiver that verifies them sees valid openers.  Prints one
 * line: sent=N seconds=S pps=P.  Send only to namespaces a test made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"

#define FL_BURST 64	/* packets between looks at the clock */

struct fl_opts {
	int family;
	uint8_t dst[16];
	uint8_t prefix[16];
	unsigned prefix_len;
	uint16_t port;
	uint8_t proto;
	uint64_t count;
	uint64_t rate;
	double seconds;
};

static uint64_t fl_rng = 0x9e3779b97f4a7c15ull;

/* xorshift64*: fast, and good enough to spread sources over a prefix. */
static uint64_t fl_rand(void)
{
	fl_rng ^= fl_rng >> 12;
	fl_rng ^= fl_rng << 25;
	fl_rng ^= fl_rng >> 27;
	return fl_rng * 0x2545f4914f6cdd1dull;
}

static double fl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The checksum field's value for the one's complement sum @sum
 * (lib/checksum.c). */
static uint16_t fl_fold(uint32_t sum)
{
	return (uint16_t)~qt_checksum_fold(sum);
}

/* A random address inside the prefix. */
static void fl_source(const struct fl_opts *o, uint8_t *addr)
{
	unsigned alen = o->family == AF_INET6 ? 16 : 4;

	for (unsigned i = 0; i < alen; i++) {
		unsigned bits = o->prefix_len > i * 8 ? o->prefix_len - i * 8
						      : 0;
		uint8_t keep = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		addr[i] = (uint8_t)((o->prefix[i] & keep) |
				    ((uint8_t)fl_rand() & ~keep));
	}
	/* Neither the network's nor the broadcast address of a /24. */
	if (addr[alen - 1] == 0 || addr[alen - 1] == 0xff)
		addr[alen - 1] = 7;
}

/* Build one packet into @buf; returns its length. */
static size_t fl_build(const struct fl_opts *o, uint8_t *buf)
{
	bool v6 = o->family == AF_INET6;
	size_t iplen = v6 ? 40 : 20, l4len = o->proto == IPPROTO_TCP ? 20 : 40;
	unsigned alen = v6 ? 16 : 4;
	uint8_t *l4 = buf + iplen, *src = buf + (v6 ? 8 : 12);
	uint16_t dport = o->port ? o->port : (uint16_t)(1024 + fl_rand() % 60000);
	uint32_t sum;

	memset(buf, 0, iplen + l4len);
	if (v6) {
		buf[0] = 0x60;
		fl_put16(buf + 4, (uint16_t)l4len);
		buf[6] = o->proto;
		buf[7] = 64;
		memcpy(buf + 24, o->dst, 16);
	} else {
		buf[0] = 0x45;
		fl_put16(buf + 2, (uint16_t)(iplen + l4len));
		fl_put16(buf + 4, (uint16_t)fl_rand());
		buf[8] = 64;
		buf[9] = o->proto;
		memcpy(buf + 16, o->dst, 4);
	}
	fl_source(o, src);
	fl_put16(l4, (uint16_t)(1024 + fl_rand() % 60000));
	fl_put16(l4 + 2, dport);
	if (o->proto == IPPROTO_TCP) {
		uint32_t seq = (uint32_t)fl_rand();

		for (int i = 0; i < 4; i++)
			l4[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		l4[12] = 5 << 4;
		l4[13] = 0x02;			/* SYN */
		fl_put16(l4 + 14, 64240);
	} else {
		fl_put16(l4 + 4, (uint16_t)l4len);
	}
	/* The pseudo-header's addresses, protocol and length, then L4. */
	sum = qt_checksum_add(0, src, 2 * alen) + o->proto + (uint32_t)l4len;
	sum = fl_fold(qt_checksum_add(sum, l4, l4len));
	if (o->proto == IPPROTO_UDP && sum == 0)
		sum = 0xffff;
	fl_put16(l4 + (o->proto == IPPROTO_TCP ? 16 : 6), (uint16_t)sum);
	if (!v6)
		fl_put16(buf + 10, fl_fold(qt_checksum_add(0, buf, iplen)));
	return iplen + l4len;
}

static void fl_usage(void)
{
	fprintf(stderr, "usage: qtrack-flood -d ADDR [-p PORT] [-P tcp|udp] "
			"[-s PREFIX/LEN] [-n COUNT] [-r RATE] [-t SECONDS]\n");
	exit(2);
}

static void fl_parse_prefix(struct fl_opts *o, char *arg)
{
	char *slash = strchr(arg, '/');

	if (!slash)
		fl_usage();
	*slash = '\0';
	o->prefix_len = (unsigned)atoi(slash + 1);
	if (inet_pton(o->family, arg, o->prefix) != 1 ||
	    o->prefix_len > (o->family == AF_INET6 ? 128u : 32u)) {
		fprintf(stderr, "qtrack-flood: bad prefix %s\n", arg);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct fl_opts o = { .proto = IPPROTO_TCP, .count = 1000,
			     .rate = 10000, .seconds = 10 };
	struct sockaddr_storage ss;
	char *dst = NULL, *prefix = NULL;
	uint8_t pkt[128];
	uint64_t sent = 0;
	double start, now;
	int ch, fd, on = 1;

	while ((ch = getopt(argc, argv, "d:p:P:s:n:r:t:")) != -1) {
		switch (ch) {
		case 'd': dst = optarg; break;
		case 'p': o.port = (uint16_t)atoi(optarg); break;
		case 'P':
			if (!strcmp(optarg, "udp"))
				o.proto = IPPROTO_UDP;
			else if (strcmp(optarg, "tcp"))
				fl_usage();
			break;
		case 's': prefix = optarg; break;
		case 'n': o.count = strtoull(optarg, NULL, 10); break;
		case 'r': o.rate = strtoull(optarg, NULL, 10); break;
		case 't': o.seconds = atof(optarg); break;
		default: fl_usage();
		}
	}
	if (!dst || !prefix || !o.rate)
		fl_usage();
	o.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(o.family, dst, o.dst) != 1)
		fl_usage();
	fl_parse_prefix(&o, prefix);
	fl_rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

	fd = socket(o.family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("qtrack-flood: raw socket");
		return 1;
	}
	if (o.family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &on, sizeof(on)) < 0) {
		perror("qtrack-flood: IPV6_HDRINCL");
		return 1;
	}
	memset(&ss, 0, sizeof(ss));
	if (o.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, o.dst, 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, o.dst, 4);
	}

	start = now = fl_now();
	while (sent < o.count && now - start < o.seconds) {
		/* Open loop: as many packets as the rate allows by now. */
		uint64_t due = (uint64_t)((now - start) * (double)o.rate) + 1;

		for (int i = 0; i < FL_BURST && sent < due && sent < o.count;
		     i++) {
			size_t len = fl_build(&o, pkt);

			if (sendto(fd, pkt, len, 0, (struct sockaddr *)&ss,
				   sizeof(ss)) < 0 &&
			    errno != ENOBUFS && errno != EPERM) {
				perror("qtrack-flood: sendto");
				return 1;
			}
			sent++;
		}
		if (sent >= due) {
			struct timespec ts = { 0, 200000 };	/* 0.2 ms */

			nanosleep(&ts, NULL);
		}
		now = fl_now();
	}
	printf("sent=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)sent,
	       now - start, (double)sent / (now - start > 0 ? now - start : 1));
	close(fd);
	return 0;
}
