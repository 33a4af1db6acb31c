/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowfill.c - qtrack-flowfill: create many distinct UDP flows quickly, to
 * fill qtrackd's table for bench/pause.sh.
 *
 *   qtrack-flowfill -d ADDR [-n FLOWS] [-o OFFSET] [-S SOCKETS]
 *		     [-b BASEPORT] [-r RATE] [-t SECONDS]
 *
 * Sends one small datagram per flow.  Flow i (counting from OFFSET) goes
 * out of socket i % SOCKETS (bound to source port BASEPORT + that index)
 * to destination port 1 + (i / SOCKETS) % 65535 of ADDR, so SOCKETS x
 * 65535 flows are distinct.  RATE (datagrams per second, 0 = as fast as
 * the sockets take them) keeps the NFQUEUE queue in front of qtrackd from
 * overflowing; a flow the kernel dropped is simply missing, and the caller
 * sends more with a higher OFFSET.  Prints "sent=N secs=S".  Nothing waits
 * for an answer: the destination is expected to be dropped after the queue.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FF_MAX_SOCKETS 1024

static uint64_t ff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ff_usage(void)
{
	fprintf(stderr, "usage: qtrack-flowfill -d ADDR [-n FLOWS] [-o OFFSET] "
			"[-S SOCKETS] [-b BASEPORT]\n"
			"                       [-r RATE] [-t SECONDS]\n");
	exit(2);
}

static unsigned long long ff_num(const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "qtrack-flowfill: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long long flows = 1000000, offset = 0, rate = 0;
	unsigned long nsock = 64, base = 20000, seconds = 60;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	static int fd[FF_MAX_SOCKETS];
	const char *addr = NULL;
	uint64_t t0, end, sent = 0;
	char payload[16] = "qtrack-flowfill";
	unsigned long k;
	int ch;

	while ((ch = getopt(argc, argv, "d:n:o:S:b:r:t:")) != -1) {
		switch (ch) {
		case 'd':
			addr = optarg;
			break;
		case 'n':
			flows = ff_num(optarg, 100000000);
			break;
		case 'o':
			offset = ff_num(optarg, 100000000);
			break;
		case 'S':
			nsock = (unsigned long)ff_num(optarg, FF_MAX_SOCKETS);
			break;
		case 'b':
			base = (unsigned long)ff_num(optarg, 65535);
			break;
		case 'r':
			rate = ff_num(optarg, 100000000);
			break;
		case 't':
			seconds = (unsigned long)ff_num(optarg, 600);
			break;
		default:
			ff_usage();
		}
	}
	if (optind != argc || !addr || !nsock || base + nsock > 65536 ||
	    inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		ff_usage();

	for (k = 0; k < nsock; k++) {
		struct sockaddr_in src = {.sin_family = AF_INET,
					  .sin_port =
					      htons((uint16_t)(base + k))};
		int one = 1;

		fd[k] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd[k] < 0) {
			perror("qtrack-flowfill: socket");
			return 1;
		}
		setsockopt(fd[k], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd[k], (struct sockaddr *)&src, sizeof(src)) < 0) {
			perror("qtrack-flowfill: bind");
			return 1;
		}
	}

	t0 = ff_now_ns();
	end = t0 + (uint64_t)seconds * 1000000000ull;
	while (sent < flows) {
		uint64_t now = ff_now_ns();
		uint64_t due = flows;

		if (now >= end)
			break;
		if (rate) {
			due = (now - t0) * rate / 1000000000ull + 1;
			if (due > flows)
				due = flows;
			if (due <= sent) {
				struct timespec ts = {0, 200000}; /* 0.2 ms */

				nanosleep(&ts, NULL);
				continue;
			}
		}
		while (sent < due) {
			uint64_t i = offset + sent;

			dst.sin_port =
			    htons((uint16_t)(1 + (i / nsock) % 65535));
			if (sendto(fd[i % nsock], payload, sizeof(payload),
				   MSG_DONTWAIT, (struct sockaddr *)&dst,
				   sizeof(dst)) < 0) {
				if (errno == EAGAIN || errno == ENOBUFS ||
				    errno == EINTR)
					break; /* try again on the next turn */
				perror("qtrack-flowfill: sendto");
				return 1;
			}
			sent++;
		}
	}
	printf("sent=%llu secs=%.3f\n", (unsigned long long)sent,
	       (double)(ff_now_ns() - t0) / 1e9);
	return 0;
}
