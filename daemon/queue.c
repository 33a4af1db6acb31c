/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.c - NFQUEUE I/O with libmnl and libnetfilter_queue's nfq_nlmsg_*
 * helpers.
 *
 * On each wakeup the socket is drained without blocking up to a budget of
 * datagrams.  Every packet message is classified at once and its verdict
 * (NF_ACCEPT or NF_REPEAT, with the engine's mark) appended to one buffer;
 * the whole buffer leaves in one sendto.  Verdicts carry no NLM_F_ACK: the
 * kernel reports only failures, which arrive as NLMSG_ERROR messages in a
 * later read and are counted.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "bypass.h"
#include "fdstore.h"
#include "format.h"
#include "log.h"
#include "queue.h"

/* Datagrams read per wakeup (one recvmmsg) before the verdicts go out and
 * the loop gets a chance to run other watchers. */
#define QUEUE_RX_BUDGET 64
/* The kernel caps copy_range at 64 KiB; the rest is room for the netlink
 * header and the metadata attributes. */
#define QUEUE_RX_SIZE (65536 + 8192)
/* A verdict message with a mark is 40 bytes; leave room for a full batch
 * even if several packets share a datagram. */
#define QUEUE_TX_SIZE (64 * 1024)
#define QUEUE_VERDICT_MAX 64
/* Packets classified by one qt_engine_process_batch() call.  The kernel
 * sends one packet per datagram, so a wakeup is normally one batch. */
#define QUEUE_BATCH_MAX 256

struct queue_io {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint32_t cfg_seq; /* queue_configure()'s message awaiting its answer */
	ev_io watcher;
	char *rx; /* QUEUE_RX_BUDGET buffers of QUEUE_RX_SIZE */
	struct mmsghdr msgs[QUEUE_RX_BUDGET];
	struct iovec iov[QUEUE_RX_BUDGET];
	char *tx;
	size_t tx_used;
	/* The batch being gathered: inputs point into rx. */
	unsigned nbatch;
	struct qt_input in[QUEUE_BATCH_MAX];
	uint32_t ids[QUEUE_BATCH_MAX];
	struct qt_result res[QUEUE_BATCH_MAX];
	uint8_t confirm_seen;  /* 1 IPv4, 2 IPv6: a confirm rule's packet */
	uint8_t confirm_check; /* queue_check_confirm()'s progress */
	uint64_t fragments; /* the engine's fragment count last looked at */
	bool stored;	       /* a duplicate is in systemd's fd store */
};

static struct log_rl rl_rx = LOG_RL_INIT(10000, 5);
static struct log_rl rl_tx = LOG_RL_INIT(10000, 5);
static struct log_rl rl_msg = LOG_RL_INIT(10000, 5);
static struct log_rl rl_invalid = LOG_RL_INIT(1000, 10);
static struct log_rl rl_frag = LOG_RL_INIT(600000, 1);

static struct queue_io *queue_io(struct qtd_worker *w)
{
	return w->io;
}

static void queue_flush(struct qtd_worker *w)
{
	struct queue_io *io = queue_io(w);

	if (!io->tx_used)
		return;
	if (mnl_socket_sendto(io->nl, io->tx, io->tx_used) < 0) {
		w->qstats.errors++;
		log_rl(&rl_tx, LOG_WARNING, "queue %u: sending verdicts: %s",
		       w->queue_num, strerror(errno));
	} else {
		w->qstats.batches++;
	}
	io->tx_used = 0;
}

static void queue_verdict_add(struct qtd_worker *w, uint32_t id, uint32_t mark,
			      int verdict)
{
	struct queue_io *io = queue_io(w);
	struct nlmsghdr *nlh;

	if (io->tx_used + 2 * MNL_NLMSG_HDRLEN + 64 > QUEUE_TX_SIZE)
		queue_flush(w);
	nlh = nfq_nlmsg_put(io->tx + io->tx_used, NFQNL_MSG_VERDICT,
			    w->queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	nfq_nlmsg_verdict_put_mark(nlh, mark);
	io->tx_used += MNL_ALIGN(nlh->nlmsg_len);
	w->qstats.verdicts++;
}

/* Fetch a big-endian u32 attribute, refusing a wrong length. */
static bool queue_attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) != sizeof(uint32_t))
		return false;
	*v = ntohl(mnl_attr_get_u32(a));
	return true;
}

static void queue_log_invalid(struct qtd_worker *w, const uint8_t *data,
			      uint32_t caplen, uint32_t origlen,
			      const struct qt_result *res)
{
	char tuple[192];
	struct qt_pkt pkt;

	memset(&pkt, 0, sizeof(pkt));
	if (data && qt_packet_parse(data, caplen, origlen, &pkt) == QT_R_NONE) {
		/* The protocol's own fields, as conntrack prints them: ports,
		 * or ICMP type, code and id. */
		qt_format_tuple(&pkt.tuple, tuple, sizeof(tuple));
		log_rl(&rl_invalid, LOG_INFO,
		       "queue %u: INVALID %s: proto=%u %s len=%u",
		       w->queue_num, qt_reason_name(res->reason),
		       pkt.tuple.proto, tuple, origlen);
	} else {
		log_rl(&rl_invalid, LOG_INFO,
		       "queue %u: INVALID %s: caplen=%u len=%u", w->queue_num,
		       qt_reason_name(res->reason), caplen, origlen);
	}
}

/* Find the packet id even when the message as a whole fails validation, so
 * that such a packet still gets a verdict instead of staying queued. */
static bool queue_find_id(const struct nlmsghdr *nlh, uint32_t *id)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		const struct nfqnl_msg_packet_hdr *ph;

		if (mnl_attr_get_type(a) != NFQA_PACKET_HDR)
			continue;
		if (mnl_attr_get_payload_len(a) < sizeof(*ph))
			return false;
		ph = mnl_attr_get_payload(a);
		*id = ntohl(ph->packet_id);
		return true;
	}
	return false;
}

static void queue_batch_finish(struct qtd_worker *w, uint64_t now);

/*
 * A packet past PREROUTING that already carries NEW or RELATED in the
 * original direction comes from a confirm rule (the security table's
 * INPUT, FORWARD and OUTPUT, after the filter): it has passed the rules,
 * and the engine confirms its connection (QT_IN_CONFIRM).  Packets to be
 * classified carry no state code: the repeat mode's queue rules match
 * mark 0 under the mask, and in accept mode nothing before the queue rule
 * writes the bits qtrackd owns.
 */
static void queue_mark_confirm(struct qtd_worker *w, uint8_t hook,
			       struct qt_input *in)
{
	struct queue_io *io = queue_io(w);
	uint8_t fam;

	if (hook == NF_INET_PRE_ROUTING ||
	    !qt_mark_wants_confirm(&qt_engine_conf(w->engine)->mark,
				   in->mark))
		return;
	in->flags |= QT_IN_CONFIRM;
	fam = in->caplen && in->data[0] >> 4 == 6 ? 2 : 1;
	if (io->confirm_seen & fam)
		return;
	io->confirm_seen |= fam;
	log_info("queue %u: the %s confirm rule works: a new connection is "
		 "kept once its first packet has passed the rules",
		 w->queue_num, fam == 2 ? "IPv6" : "IPv4");
}

/* Add one packet to the batch; a full batch is classified at once. */
static void queue_batch_add(struct qtd_worker *w, uint32_t id,
			    const struct qt_input *in, uint64_t now)
{
	struct queue_io *io = queue_io(w);

	io->ids[io->nbatch] = id;
	io->in[io->nbatch++] = *in;
	if (io->nbatch == QUEUE_BATCH_MAX)
		queue_batch_finish(w, now);
}

static void queue_packet(struct qtd_worker *w, const struct nlmsghdr *nlh,
			 uint64_t now)
{
	struct nlattr *attr[NFQA_MAX + 1] = {NULL};
	const struct nfqnl_msg_packet_hdr *ph;
	struct qt_input in = {0};
	uint32_t id, skbinfo = 0;

	w->qstats.received++;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		w->qstats.errors++;
		if (!queue_find_id(nlh, &id)) {
			log_rl(&rl_msg, LOG_WARNING,
			       "queue %u: packet message without a usable id",
			       w->queue_num);
			return;
		}
		/* An empty packet: the engine calls it INVALID. */
		log_rl(&rl_msg, LOG_WARNING,
		       "queue %u: malformed packet message, id %u",
		       w->queue_num, id);
		queue_batch_add(w, id, &in, now);
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD]) {
		in.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		in.caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	/* NFQA_CAP_LEN is only sent when the copy was cut short; without it
	 * the payload is the whole packet. */
	if (!queue_attr_u32(attr[NFQA_CAP_LEN], &in.origlen) ||
	    in.origlen < in.caplen)
		in.origlen = in.caplen;
	if (!queue_attr_u32(attr[NFQA_MARK], &in.mark))
		in.mark = 0;
	queue_mark_confirm(w, ph->hook, &in);
	/* GSO super-packets are classified like any other: the engine takes
	 * lengths from the IP header and origlen.  The kernel's conntrack
	 * verifies L4 checksums of packets from the network that nobody has
	 * verified (not CHECKSUM_PARTIAL, not checked by the NIC): the queue
	 * says so with NFQA_SKB_CSUM_NOTVERIFIED, and an input interface
	 * tells a received packet from a locally generated one. */
	(void)queue_attr_u32(attr[NFQA_SKB_INFO], &skbinfo);
	if ((skbinfo & NFQA_SKB_CSUM_NOTVERIFIED) && attr[NFQA_IFINDEX_INDEV])
		in.flags |= QT_IN_VERIFY_CSUM;
	queue_batch_add(w, id, &in, now);
}

/*
 * An ICMP error that quotes no connection of this shard may quote one of
 * another queue's: the kernel's balance hash puts the error (protocol ICMP,
 * perhaps from a router's address) on any queue.  Ask the other engines,
 * one lock at a time.  Called without our own lock: a worker never holds
 * two, so two workers asking each other cannot deadlock.
 */
static bool queue_relate_elsewhere(struct qtd_worker *w,
				   const struct qt_input *in,
				   struct qt_result *res)
{
	struct qtd *d = w->d;
	struct qt_result r;
	unsigned i;
	bool found;

	for (i = 0; i < d->nworkers; i++) {
		struct qtd_worker *o = &d->workers[i];

		if (o == w)
			continue;
		qtd_worker_lock(o);
		found = qt_engine_relate(o->engine, in->data, in->caplen,
					 in->origlen, in->mark, &r);
		qtd_worker_unlock(o);
		if (found) {
			r.conn = NULL; /* points into o's table */
			*res = r;
			return true;
		}
	}
	return false;
}

/*
 * Fragments in the queue mean the netns does not reassemble before it:
 * later fragments have no ports and are INVALID, and the datagram is lost
 * once the rules drop them.  Say so at the first one, naming the fix, and
 * then at most every ten minutes.
 */
static void queue_fragments_check(struct qtd_worker *w, struct queue_io *io)
{
	uint64_t seen = qt_engine_stats(w->engine)->fragments;

	if (seen == io->fragments)
		return;
	log_rl(&rl_frag, LOG_WARNING,
	       "queue %u: %llu IP fragments received: the kernel does not "
	       "reassemble before the queue; load a socket match in the raw "
	       "table (iptables and ip6tables -t raw -N qtrack-defrag; "
	       "-A qtrack-defrag -m socket; see conf/*.rules)",
	       w->queue_num, (unsigned long long)seen);
	io->fragments = seen;
}

/*
 * Classify the gathered batch with one engine call and queue the verdicts.
 * Called with w->lock held; the lock is dropped and taken again around the
 * cross-shard lookups.
 */
static void queue_batch_finish(struct qtd_worker *w, uint64_t now)
{
	struct queue_io *io = queue_io(w);
	const struct qt_conf *conf = qt_engine_conf(w->engine);
	unsigned i, n = io->nbatch, nrel = 0;
	uint64_t xrel = 0;
	int verdict;

	if (!n)
		return;
	io->nbatch = 0;
	qt_engine_process_batch(w->engine, io->in, n, now, io->res);
	queue_fragments_check(w, io);
	if (w->d->nworkers > 1) {
		for (i = 0; i < n; i++)
			if (io->res[i].state == QT_CT_INVALID &&
			    io->res[i].reason == QT_R_ICMP_NO_CONN)
				nrel++;
		if (nrel) {
			qtd_worker_unlock(w);
			for (i = 0; i < n; i++)
				if (io->res[i].state == QT_CT_INVALID &&
				    io->res[i].reason == QT_R_ICMP_NO_CONN &&
				    queue_relate_elsewhere(w, &io->in[i],
							   &io->res[i]))
					xrel++;
			qtd_worker_lock(w);
			conf = qt_engine_conf(w->engine);
		}
	}
	w->qstats.xrelated += xrel;
	verdict = conf->queue.mode == QT_MODE_REPEAT ? NF_REPEAT : NF_ACCEPT;
	for (i = 0; i < n; i++) {
		const struct qt_result *res = &io->res[i];

		/* A confirm packet goes on with its mark: repeating the
		 * chain would only queue it again. */
		if (io->in[i].flags & QT_IN_CONFIRM) {
			queue_verdict_add(w, io->ids[i], res->mark, NF_ACCEPT);
			continue;
		}
		if (res->state == QT_CT_INVALID) {
			if (res->reason >= QT_R_TRUNCATED &&
			    res->reason <= QT_R_BAD_OPTIONS)
				w->qstats.unparsed++;
			if (conf->log.invalid)
				queue_log_invalid(w, io->in[i].data,
						  io->in[i].caplen,
						  io->in[i].origlen, res);
		}
		queue_verdict_add(w, io->ids[i], res->mark, verdict);
		if (res->conn && res->state == QT_CT_ESTABLISHED)
			bypass_packet(w->d->bypass, w->engine, res->conn, now);
	}
}

/*
 * Walk the messages of one datagram.  Packets are classified; errors are
 * counted.  If @ack_seq is non-zero and the acknowledgement for it is
 * found, its error code (0 or -errno) is stored in *@ack_err and 1 is
 * returned; otherwise 0.
 */
static int queue_dispatch(struct qtd_worker *w, const char *buf, size_t len,
			  uint64_t now, uint32_t ack_seq, int *ack_err)
{
	struct queue_io *io = queue_io(w);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	int acked = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				continue;
			if (ack_seq && nlh->nlmsg_seq == ack_seq) {
				*ack_err = e->error;
				acked = 1;
			} else if (io->cfg_seq &&
				   nlh->nlmsg_seq == io->cfg_seq) {
				/* The answer to queue_configure(). */
				io->cfg_seq = 0;
				if (e->error)
					log_warnx("queue %u: the kernel refused "
						  "the new queue parameters: "
						  "%s",
						  w->queue_num,
						  strerror(-e->error));
			} else if (e->error) {
				w->qstats.errors++;
				log_rl(&rl_msg, LOG_WARNING,
				       "queue %u: kernel refused a verdict: %s",
				       w->queue_num, strerror(-e->error));
			}
			continue;
		}
		if (nlh->nlmsg_type ==
		    ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
			queue_packet(w, nlh, now);
			continue;
		}
		/* NLMSG_DONE, NLMSG_NOOP and anything new: nothing to do. */
	}
	return acked;
}

/* Read up to @budget datagrams without blocking (0 = until empty), answer
 * them, flush the verdicts and advance the engine's timers.  One recvmmsg
 * fetches up to QUEUE_RX_BUDGET datagrams; their packets are classified as
 * one batch and their verdicts leave in one sendto. */
static void queue_read(struct qtd_worker *w, unsigned budget)
{
	struct queue_io *io = queue_io(w);
	int fd = mnl_socket_get_fd(io->nl);
	uint64_t now = qtd_now_ms();
	unsigned n = 0;

	qtd_worker_lock(w);
	while (!budget || n < budget) {
		unsigned want = QUEUE_RX_BUDGET, i;
		int r;

		if (budget && budget - n < want)
			want = budget - n;
		for (i = 0; i < want; i++) {
			io->iov[i].iov_base =
			    io->rx + (size_t)i * QUEUE_RX_SIZE;
			io->iov[i].iov_len = QUEUE_RX_SIZE;
			memset(&io->msgs[i].msg_hdr, 0,
			       sizeof(io->msgs[i].msg_hdr));
			io->msgs[i].msg_hdr.msg_iov = &io->iov[i];
			io->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(fd, io->msgs, want, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped messages for us: the
				 * packets themselves are dropped by the
				 * queue (or bypass with fail_open). */
				w->qstats.enobufs++;
				log_rl(&rl_rx, LOG_WARNING,
				       "queue %u: receive buffer overrun "
				       "(ENOBUFS), packets lost; raise [queue] "
				       "rcvbuf",
				       w->queue_num);
				n++;
				continue;
			}
			w->qstats.errors++;
			log_rl(&rl_rx, LOG_WARNING, "queue %u: recv: %s",
			       w->queue_num, strerror(errno));
			break;
		}
		for (i = 0; i < (unsigned)r; i++)
			queue_dispatch(w, io->iov[i].iov_base,
				       io->msgs[i].msg_len, now, 0, NULL);
		/* The rx buffers are reused by the next recvmmsg. */
		queue_batch_finish(w, now);
		if (io->tx_used + QUEUE_VERDICT_MAX * 64 > QUEUE_TX_SIZE)
			queue_flush(w);
		n += (unsigned)r;
		if ((unsigned)r < want)
			break; /* the socket is empty */
	}
	queue_flush(w);
	qt_engine_expire(w->engine, now, 256);
	qtd_worker_unlock(w);
}

static void queue_io_cb(struct ev_loop *loop, ev_io *watcher, int revents)
{
	(void)loop;
	(void)revents;
	queue_read(watcher->data, QUEUE_RX_BUDGET);
}

/* Send one configuration message with NLM_F_ACK and wait for its answer,
 * answering any packet that arrives meanwhile. */
static int queue_config_send(struct qtd_worker *w, struct nlmsghdr *nlh)
{
	struct queue_io *io = queue_io(w);
	int ack_err = 0;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++io->seq;
	if (mnl_socket_sendto(io->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(io->nl, io->rx, QUEUE_RX_SIZE);
		uint64_t now = qtd_now_ms();
		int acked;

		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return -1;
		}
		qtd_worker_lock(w);
		acked = queue_dispatch(w, io->rx, (size_t)r, now,
				       nlh->nlmsg_seq, &ack_err);
		queue_batch_finish(w, now);
		queue_flush(w);
		qtd_worker_unlock(w);
		if (acked)
			break;
	}
	if (ack_err) {
		errno = -ack_err;
		return -1;
	}
	return 0;
}

static void queue_set_rcvbuf(struct qtd_worker *w, uint32_t bytes)
{
	int fd = mnl_socket_get_fd(queue_io(w)->nl);
	int v = bytes > 0x7fffffff ? 0x7fffffff : (int)bytes;

	if (!bytes)
		return;
	/* SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN,
	 * which the daemon has; fall back for unusual setups. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
		log_warn("queue %u: setting the receive buffer to %u bytes",
			 w->queue_num, bytes);
}

/* Build the parameter attributes of a config message from @conf. */
static void queue_put_params(struct nlmsghdr *nlh, const struct qt_conf *conf)
{
	uint32_t flags = NFQA_CFG_F_GSO;
	/* The params attribute is 5 bytes; libmnl 1.0.4 leaves the 3 bytes
	 * of padding after it as they were, and they would go to the kernel
	 * as stack garbage (valgrind: uninitialised bytes in sendto). */
	memset((char *)nlh + nlh->nlmsg_len, 0, 16);

	if (conf->queue.fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 (int)conf->queue.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, conf->queue.maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
}

/* Whether this process holds CAP_NET_ADMIN in its effective set.  The
 * capget(2) system call, to need no libcap for one bit. */
static bool queue_have_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &
	       CAP_TO_MASK(CAP_NET_ADMIN);
}

static void queue_bind_error(struct qtd_worker *w, int e, char *err,
			     size_t errlen)
{
	/* The kernel answers EPERM both to a caller without CAP_NET_ADMIN
	 * and to a bind of a queue that another socket holds.  Holding the
	 * capability tells them apart without reading the 0440 proc file. */
	if (e == EPERM && queue_have_net_admin())
		e = EBUSY;
	switch (e) {
	case EPERM:
	case EACCES:
		snprintf(err, errlen,
			 "binding queue %u: %s: need CAP_NET_ADMIN: run as "
			 "root or through systemd/qtrackd.service",
			 w->queue_num, strerror(e));
		break;
	case EBUSY:
		snprintf(err, errlen,
			 "binding queue %u: queue %u is already bound by "
			 "another process",
			 w->queue_num, w->queue_num);
		break;
	case EOPNOTSUPP:
	case ENOENT:
	case EPROTONOSUPPORT:
	case EINVAL:
		snprintf(err, errlen,
			 "binding queue %u: %s: kernel lacks nfnetlink_queue: "
			 "modprobe nfnetlink_queue",
			 w->queue_num, strerror(e));
		break;
	default:
		snprintf(err, errlen, "binding queue %u: %s", w->queue_num,
			 strerror(e));
		break;
	}
}

/*
 * Take over the bound socket of w->queue_num that systemd kept in its file
 * descriptor store (fdstore.c), and apply @conf's parameters to it.  The
 * queue was never unbound: packets that came meanwhile wait in the socket
 * and are answered from the (already restored) table.  0, or -1 when
 * there is none or it does not work (then the caller binds afresh).
 */
static int queue_takeover(struct qtd_worker *w, const struct qt_conf *conf)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct queue_io *io = queue_io(w);
	struct nlmsghdr *nlh;
	int fd = fdstore_take(w->queue_num), zero = 0;

	if (fd < 0)
		return -1;
	io->nl = mnl_socket_fdopen(fd);
	if (!io->nl) {
		log_warn("queue %u: the socket from systemd's store", w->queue_num);
		close(fd);
		return -1;
	}
	io->portid = mnl_socket_get_portid(io->nl);
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &zero, sizeof(zero));
	queue_set_rcvbuf(w, conf->queue.rcvbuf);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, w->queue_num);
	queue_put_params(nlh, conf);
	if (queue_config_send(w, nlh) < 0) {
		log_warn("queue %u: the socket from systemd's store no longer "
			 "serves it; binding afresh",
			 w->queue_num);
		mnl_socket_close(io->nl);
		io->nl = NULL;
		return -1;
	}
	log_info("queue %u: taken over, still bound, from systemd's file "
		 "descriptor store",
		 w->queue_num);
	return 0;
}

int queue_open(struct qtd_worker *w, const struct qt_conf *conf, char *err,
	       size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct queue_io *io;
	struct nlmsghdr *nlh;

	io = calloc(1, sizeof(*io));
	if (!io ||
	    !(io->rx = malloc((size_t)QUEUE_RX_BUDGET * QUEUE_RX_SIZE)) ||
	    !(io->tx = malloc(QUEUE_TX_SIZE))) {
		snprintf(err, errlen, "queue %u: out of memory", w->queue_num);
		goto fail;
	}
	w->io = io;
	if (queue_takeover(w, conf) == 0)
		goto bound;
	io->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!io->nl) {
		int e = errno;

		if (e == EPROTONOSUPPORT)
			snprintf(err, errlen,
				 "netlink socket: %s: kernel lacks nfnetlink: "
				 "modprobe nfnetlink_queue",
				 strerror(e));
		else
			snprintf(err, errlen, "netlink socket: %s",
				 strerror(e));
		goto fail;
	}
	if (mnl_socket_bind(io->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	io->portid = mnl_socket_get_portid(io->nl);
	queue_set_rcvbuf(w, conf->queue.rcvbuf);

	/* Bind and configure in one message: the kernel applies the command
	 * first, then the parameters, so no packet is ever copied with the
	 * default (metadata only) mode. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, w->queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	queue_put_params(nlh, conf);
	if (queue_config_send(w, nlh) < 0) {
		queue_bind_error(w, errno, err, errlen);
		goto fail;
	}
bound:
	io->stored = fdstore_keep(w->queue_num, mnl_socket_get_fd(io->nl));
	ev_io_init(&io->watcher, queue_io_cb, mnl_socket_get_fd(io->nl),
		   EV_READ);
	io->watcher.data = w;
	log_info("queue %u: bound (mode %s, copy_range %u, maxlen %u%s)",
		 w->queue_num,
		 conf->queue.mode == QT_MODE_REPEAT ? "repeat" : "accept",
		 conf->queue.copy_range, conf->queue.maxlen,
		 conf->queue.fail_open ? ", fail_open" : "");
	if (conf->table.confirm == QT_CONFIRM_AUTO)
		log_info("queue %u: until a packet comes from a confirm rule, "
			 "a new connection is kept with its first packet "
			 "(qtrackd(8), CONFIRMATION)",
			 w->queue_num);
	return 0;
fail:
	if (io) {
		if (io->nl)
			mnl_socket_close(io->nl);
		free(io->rx);
		free(io->tx);
		free(io);
	}
	w->io = NULL;
	return -1;
}

int queue_configure(struct qtd_worker *w, const struct qt_conf *conf, char *err,
		    size_t errlen)
{
	struct queue_io *io = queue_io(w);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	queue_set_rcvbuf(w, conf->queue.rcvbuf);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, w->queue_num);
	queue_put_params(nlh, conf);
	/* Posted, not awaited: the kernel's answer arrives among the
	 * packets and queue_dispatch() reports a refusal.  Waiting here
	 * would hold the packets read meanwhile outside their batches. */
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++io->seq;
	if (mnl_socket_sendto(io->nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "configuring queue %u: %s", w->queue_num,
			 strerror(errno));
		return -1;
	}
	io->cfg_seq = nlh->nlmsg_seq;
	return 0;
}

void queue_start(struct qtd_worker *w)
{
	ev_io_start(w->loop, &queue_io(w)->watcher);
}

void queue_stop(struct qtd_worker *w)
{
	if (w->io)
		ev_io_stop(w->loop, &queue_io(w)->watcher);
}

void queue_drain(struct qtd_worker *w)
{
	if (w->io)
		queue_read(w, 0);
}

void queue_close(struct qtd_worker *w)
{
	struct queue_io *io = queue_io(w);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!io)
		return;
	if (io->stored) {
		/* systemd keeps the socket, bound, for the next qtrackd (or
		 * closes it, which unbinds, if the service stops for good).
		 * Packets now wait in it; a full buffer must not raise an
		 * error on the socket, or systemd would drop it (POLLERR). */
		int one = 1;

		setsockopt(mnl_socket_get_fd(io->nl), SOL_NETLINK,
			   NETLINK_NO_ENOBUFS, &one, sizeof(one));
		log_info("queue %u: left bound in systemd's file descriptor "
			 "store",
			 w->queue_num);
	} else {
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, w->queue_num);
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
		if (queue_config_send(w, nlh) < 0)
			log_warn("queue %u: unbind", w->queue_num);
	}
	mnl_socket_close(io->nl);
	free(io->rx);
	free(io->tx);
	free(io);
	w->io = NULL;
}

void queue_check_confirm(struct qtd_worker *w)
{
	struct queue_io *io = queue_io(w);
	const struct qt_stats *st;
	enum qt_confirm_mode mode;
	uint64_t opened;
	uint8_t seen;

	if (!io || io->confirm_check > 1)
		return;
	qtd_worker_lock(w);
	seen = io->confirm_seen;
	st = qt_engine_stats(w->engine);
	opened = st->created + st->unconfirmed_expired +
		 st->unconfirmed_replaced;
	mode = qt_engine_conf(w->engine)->table.confirm;
	qtd_worker_unlock(w);
	if (seen || !opened || mode == QT_CONFIRM_NO)
		return;
	/* Connections were opened a whole check interval ago, and still no
	 * confirm packet: the rule set has no confirm rule. */
	if (io->confirm_check++ == 0)
		return;
	if (mode == QT_CONFIRM_YES)
		log_warnx("queue %u: [table] confirm = yes, but no packet came "
			  "from a confirm rule: every new connection is "
			  "removed after confirm_timeout (add the confirm rules "
			  "of the shipped rule sets, see qtrackd(8), "
			  "CONFIRMATION)",
			  w->queue_num);
	else
		log_warnx("queue %u: no packet from a confirm rule: "
			  "connections are kept with their first packet, so "
			  "packets the rules drop leave entries (add the "
			  "confirm rules of the shipped rule sets, see "
			  "qtrackd(8), CONFIRMATION)",
			  w->queue_num);
}
