/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loadgen.c - qtrack-loadgen: a small, bounded UDP load generator for the
 * end-to-end benchmark (bench/e2e.sh).
 *
 *   qtrack-loadgen server [-p PORT] [-t SECONDS]
 *	echo every datagram back to its sender (recvmmsg/sendmmsg)
 *   qtrack-loadgen client -d ADDR [-p PORT] [-f FLOWS] [-n COUNT]
 *			   [-t SECONDS] [-r RATE | -w WINDOW] [-s SIZE]
 *	send COUNT requests over FLOWS sockets (one source port each), at
 *	RATE requests per second (open loop), or as fast as the path allows
 *	with at most WINDOW requests outstanding (closed loop, -r 0); stop
 *	after COUNT requests or SECONDS, whichever comes first.  Each request
 *	carries its send time; the round trip of every reply is recorded.
 *
 * The client prints one line of key=value pairs: requests sent, replies
 * received, seconds, replies per second, packets per second through the
 * firewall (a request and its reply: 2 packets), and the round-trip time
 * p50/p99/max in microseconds.  Nothing here is timing-sensitive for
 * correctness; the program only measures.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_FLOWS 256
#define LG_BATCH 32
#define LG_MAX_SIZE 1400

struct lg_hdr {
	uint64_t seq;
	uint64_t sent_ns;
};

static uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void lg_usage(void)
{
	fprintf(stderr,
		"usage: qtrack-loadgen server [-p PORT] [-t SECONDS]\n"
		"       qtrack-loadgen client -d ADDR [-p PORT] [-f FLOWS] "
		"[-n COUNT] [-t SECONDS]\n"
		"                      [-r RATE | -w WINDOW] [-s SIZE] [-b SPORT]\n");
	exit(2);
}

static unsigned long lg_num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max) {
		fprintf(stderr, "qtrack-loadgen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int lg_server(uint16_t port, unsigned seconds)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	static char buf[LG_BATCH][2048];
	struct sockaddr_in from[LG_BATCH];
	struct mmsghdr m[LG_BATCH];
	struct iovec iov[LG_BATCH];
	uint64_t end = lg_now_ns() + (uint64_t)seconds * 1000000000ull;
	int fd, v = 8 << 20, i;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("qtrack-loadgen: server socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	while (lg_now_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		for (i = 0; i < LG_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, m, LG_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		/* Replies the socket cannot take are lost, like on a wire. */
		(void)sendmmsg(fd, m, (unsigned)n, MSG_DONTWAIT);
	}
	close(fd);
	return 0;
}

static int lg_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct lg_client {
	int fd[LG_MAX_FLOWS];
	unsigned flows;
	unsigned size;
	uint64_t sent, recvd;
	uint64_t lost;	  /* given up on in the closed loop */
	uint32_t *rtt_us; /* one per reply, up to cap */
	uint64_t cap;
	unsigned next_flow;
};

/* Send @n requests round-robin over the flows; returns how many left. */
static unsigned lg_send(struct lg_client *c, unsigned n)
{
	static char buf[LG_MAX_SIZE];
	unsigned i;

	for (i = 0; i < n; i++) {
		struct lg_hdr h = {.seq = c->sent, .sent_ns = lg_now_ns()};
		int fd = c->fd[c->next_flow];

		memcpy(buf, &h, sizeof(h));
		if (send(fd, buf, c->size, MSG_DONTWAIT) < 0)
			break;
		c->sent++;
		c->next_flow = (c->next_flow + 1) % c->flows;
	}
	return i;
}

/* Read every reply waiting on every flow. */
static void lg_recv(struct lg_client *c)
{
	static char buf[LG_BATCH][LG_MAX_SIZE];
	struct mmsghdr m[LG_BATCH];
	struct iovec iov[LG_BATCH];
	unsigned f;
	int i, n;

	for (f = 0; f < c->flows; f++) {
		do {
			uint64_t now;

			for (i = 0; i < LG_BATCH; i++) {
				iov[i].iov_base = buf[i];
				iov[i].iov_len = sizeof(buf[i]);
				memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
				m[i].msg_hdr.msg_iov = &iov[i];
				m[i].msg_hdr.msg_iovlen = 1;
			}
			n = recvmmsg(c->fd[f], m, LG_BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			now = lg_now_ns();
			for (i = 0; i < n; i++) {
				struct lg_hdr h;

				if (m[i].msg_len < sizeof(h))
					continue;
				memcpy(&h, buf[i], sizeof(h));
				if (c->recvd < c->cap)
					c->rtt_us[c->recvd] =
					    (uint32_t)((now - h.sent_ns) /
						       1000);
				c->recvd++;
			}
		} while (n == LG_BATCH);
	}
}

/* -b: the flows' first source port (0: ephemeral ones).  Fixed ports let
 * one run continue the flows of the one before (warm-up, then load). */
static unsigned long lg_sport;

static int lg_client_run(const char *addr, uint16_t port, unsigned flows,
			 uint64_t count, unsigned seconds, uint64_t rate,
			 uint64_t window, unsigned size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	static struct lg_client c;
	struct pollfd pf[LG_MAX_FLOWS];
	uint64_t t0, end, stop, now;
	uint64_t n;
	double secs;
	unsigned f;
	int v = 4 << 20;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "qtrack-loadgen: bad address %s\n", addr);
		return 2;
	}
	c.flows = flows;
	c.size = size;
	c.cap = count;
	c.rtt_us = calloc(count ? count : 1, sizeof(*c.rtt_us));
	if (!c.rtt_us) {
		perror("qtrack-loadgen");
		return 1;
	}
	for (f = 0; f < flows; f++) {
		struct sockaddr_in me = {.sin_family = AF_INET,
					 .sin_port = htons(lg_sport + f)};
		int one = 1;

		c.fd[f] = socket(AF_INET, SOCK_DGRAM, 0);
		if (c.fd[f] >= 0 && lg_sport)
			setsockopt(c.fd[f], SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
		if (c.fd[f] < 0 ||
		    (lg_sport &&
		     bind(c.fd[f], (struct sockaddr *)&me, sizeof(me)) < 0) ||
		    connect(c.fd[f], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("qtrack-loadgen: client socket");
			return 1;
		}
		setsockopt(c.fd[f], SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
		pf[f].fd = c.fd[f];
		pf[f].events = POLLIN;
	}
	t0 = lg_now_ns();
	end = t0 + (uint64_t)seconds * 1000000000ull;
	while ((now = lg_now_ns()) < end && c.sent < count) {
		if (rate) {
			/* Open loop: as many as the schedule says by now. */
			uint64_t due = (now - t0) * rate / 1000000000ull + 1;

			if (due > count)
				due = count;
			if (due > c.sent)
				lg_send(&c, (unsigned)(due - c.sent > 4096
							   ? 4096
							   : due - c.sent));
			lg_recv(&c);
			if (c.sent >= due) {
				/* Sleep in short steps, not past the next
				 * due time; replies wake us up. */
				(void)poll(pf, flows, 0);
				if (rate < 20000) {
					struct timespec ts = {
					    0, (long)(1000000000ull / rate)};
					nanosleep(&ts, NULL);
				}
			}
		} else {
			/* Closed loop: keep @window requests in flight.
			 * Lost ones are forgotten after a while. */
			uint64_t done = c.recvd + c.lost;
			uint64_t inflight = c.sent > done ? c.sent - done : 0;

			if (inflight < window) {
				n = window - inflight;
				if (n > count - c.sent)
					n = count - c.sent;
				if (!lg_send(&c, (unsigned)(n > 256 ? 256 : n)))
					(void)poll(pf, flows, 1);
			} else if (poll(pf, flows, 10) == 0) {
				/* Nothing came back within 10 ms: treat
				 * what is in flight as lost. */
				c.lost += inflight;
			}
			lg_recv(&c);
		}
	}
	secs = (double)(lg_now_ns() - t0) / 1e9;
	/* Late replies for 200 ms. */
	stop = lg_now_ns() + 200000000ull;
	while (lg_now_ns() < stop && c.recvd < c.sent) {
		(void)poll(pf, flows, 20);
		lg_recv(&c);
	}
	n = c.recvd < c.cap ? c.recvd : c.cap;
	qsort(c.rtt_us, n, sizeof(*c.rtt_us), lg_cmp_u32);
	printf("sent=%llu recv=%llu secs=%.3f rps=%.0f pps=%.0f p50_us=%u "
	       "p99_us=%u max_us=%u\n",
	       (unsigned long long)c.sent, (unsigned long long)c.recvd, secs,
	       (double)c.recvd / secs, 2.0 * (double)c.recvd / secs,
	       n ? c.rtt_us[n / 2] : 0, n ? c.rtt_us[n * 99 / 100] : 0,
	       n ? c.rtt_us[n - 1] : 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	unsigned long port = 9999, flows = 16, seconds = 10, size = 64;
	unsigned long long count = 1000000, rate = 0, window = 256;
	int server, ch;

	if (argc < 2)
		lg_usage();
	if (!strcmp(argv[1], "server"))
		server = 1;
	else if (!strcmp(argv[1], "client"))
		server = 0;
	else
		lg_usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "d:p:f:n:t:r:w:s:b:")) != -1) {
		switch (ch) {
		case 'd':
			addr = optarg;
			break;
		case 'p':
			port = lg_num(optarg, 65535);
			break;
		case 'f':
			flows = lg_num(optarg, LG_MAX_FLOWS);
			break;
		case 'n':
			count = lg_num(optarg, 100000000);
			break;
		case 't':
			seconds = lg_num(optarg, 600);
			break;
		case 'r':
			rate = lg_num(optarg, 10000000);
			break;
		case 'w':
			window = lg_num(optarg, 1000000);
			break;
		case 's':
			size = lg_num(optarg, LG_MAX_SIZE);
			break;
		case 'b':
			lg_sport = lg_num(optarg, 65535 - LG_MAX_FLOWS);
			break;
		default:
			lg_usage();
		}
	}
	if (optind != argc)
		lg_usage();
	if (server)
		return lg_server((uint16_t)port, (unsigned)seconds);
	if (!addr || !flows || !window || size < sizeof(struct lg_hdr))
		lg_usage();
	return lg_client_run(addr, (uint16_t)port, (unsigned)flows, count,
			     (unsigned)seconds, rate, window, (unsigned)size);
}
