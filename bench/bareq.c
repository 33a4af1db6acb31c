/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bareq.c - qtrack-bareq: the smallest useful NFQUEUE consumer, the
 * baseline of the end-to-end benchmark (bench/e2e.sh).
 *
 *   qtrack-bareq [-q QUEUE] [-c COPY_RANGE]
 *
 * It binds QUEUE the way qtrackd does (copy mode packet, copy_range, queue
 * maxlen, GSO, 8 MiB receive buffer) and accepts every packet with the
 * same batching: up to 64 datagrams per recvmmsg, every verdict of the
 * batch in one sendto.  It parses each message (nfq_nlmsg_parse) to find
 * the packet id, but looks at nothing else.  SIGTERM/SIGINT: answer what
 * the socket holds, unbind, print the packet count, exit 0.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define BQ_BUDGET 64
#define BQ_RX_SIZE (65536 + 8192)
#define BQ_TX_SIZE (64 * 1024)

static volatile sig_atomic_t bq_stop;

static void bq_signal(int sig)
{
	(void)sig;
	bq_stop = 1;
}

static int bq_config(struct mnl_socket *nl, uint16_t queue, int cmd,
		     unsigned copy_range)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	if (cmd)
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, (uint8_t)cmd);
	if (copy_range) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
					 (int)copy_range);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, 4096);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	}
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct mmsghdr m[BQ_BUDGET];
	static struct iovec iov[BQ_BUDGET];
	unsigned long long packets = 0, batches = 0;
	unsigned copy_range = 4096;
	uint16_t queue = 0;
	struct mnl_socket *nl;
	char *rx, *tx;
	int fd, ch, v = 8 << 20;

	while ((ch = getopt(argc, argv, "q:c:")) != -1) {
		switch (ch) {
		case 'q':
			queue = (uint16_t)atoi(optarg);
			break;
		case 'c':
			copy_range = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: qtrack-bareq [-q QUEUE] [-c COPY]\n");
			return 2;
		}
	}
	rx = malloc((size_t)BQ_BUDGET * BQ_RX_SIZE);
	tx = malloc(BQ_TX_SIZE);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!rx || !tx || !nl ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("qtrack-bareq: netlink");
		return 1;
	}
	fd = mnl_socket_get_fd(nl);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	/* Errors come back as NLMSG_ERROR and are ignored below: a failed
	 * bind shows as no traffic (the rule's --queue-bypass applies). */
	if (bq_config(nl, queue, NFQNL_CFG_CMD_BIND, copy_range) < 0) {
		perror("qtrack-bareq: bind");
		return 1;
	}
	/* No SA_RESTART: the blocking recvmmsg must return EINTR. */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = bq_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	fprintf(stderr, "qtrack-bareq: queue %u bound\n", queue);

	for (;;) {
		size_t tx_used = 0;
		int n, i;

		for (i = 0; i < BQ_BUDGET; i++) {
			iov[i].iov_base = rx + (size_t)i * BQ_RX_SIZE;
			iov[i].iov_len = BQ_RX_SIZE;
			memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		/* Block for the first datagram, then take what is there. */
		n = recvmmsg(fd, m, BQ_BUDGET, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR && bq_stop)
				break;
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("qtrack-bareq: recvmmsg");
			return 1;
		}
		for (i = 0; i < n; i++) {
			const struct nlmsghdr *nlh = iov[i].iov_base;
			int left = (int)m[i].msg_len;

			for (; mnl_nlmsg_ok(nlh, left);
			     nlh = mnl_nlmsg_next(nlh, &left)) {
				struct nlattr *attr[NFQA_MAX + 1] = {NULL};
				const struct nfqnl_msg_packet_hdr *ph;
				struct nlmsghdr *v_nlh;

				if (nlh->nlmsg_type !=
				    ((NFNL_SUBSYS_QUEUE << 8) |
				     NFQNL_MSG_PACKET))
					continue;
				if (nfq_nlmsg_parse(nlh, attr) < 0 ||
				    !attr[NFQA_PACKET_HDR])
					continue;
				ph =
				    mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
				if (tx_used + 128 > BQ_TX_SIZE) {
					mnl_socket_sendto(nl, tx, tx_used);
					tx_used = 0;
				}
				v_nlh = nfq_nlmsg_put(tx + tx_used,
						      NFQNL_MSG_VERDICT, queue);
				nfq_nlmsg_verdict_put(v_nlh,
						      (int)ntohl(ph->packet_id),
						      NF_ACCEPT);
				tx_used += MNL_ALIGN(v_nlh->nlmsg_len);
				packets++;
			}
		}
		if (tx_used) {
			mnl_socket_sendto(nl, tx, tx_used);
			batches++;
		}
		if (bq_stop)
			break;
	}
	bq_config(nl, queue, NFQNL_CFG_CMD_UNBIND, 0);
	mnl_socket_close(nl);
	fprintf(stderr, "qtrack-bareq: %llu packets in %llu batches\n", packets,
		batches);
	return 0;
}
