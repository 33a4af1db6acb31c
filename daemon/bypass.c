/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bypass.c - established flows at kernel speed.
 *
 * With [bypass] enable = yes, qtrackd owns the nftables table "inet
 * qtrack": chains at priority -200 (before the mangle table, where the
 * queue rules are) look each TCP or UDP packet up in one verdict map per
 * family, keyed by the 5-tuple, and on a hit go to the chain that gives
 * it the mark qtrackd would have given it (ESTABLISHED, with the reply
 * bit for a reply-direction element).  The queue rules skip
 * packets that already carry a state, so such packets never leave the
 * kernel.  SYN, FIN, RST and fragments are never looked up: they still
 * reach qtrackd, whose state machine ends the offload.
 *
 * The table is written once at start by nft(8) (nft -f); elements are
 * added and removed with libnftnl batches on a netlink socket of our own,
 * no process per flow.  A connection is offloaded at its third packet
 * while steady (TCP ESTABLISHED, assured, reply seen; UDP assured; no
 * helper and no connmark bits, since the chains set a constant mark) and
 * leaves the fast path when an event says it no longer is or is gone.
 * Elements expire a while after their addition (bypass_timeout_ms); the
 * packet that then comes back renews them.  With [table] accounting every
 * element counts its packets: a listing adds them to the entry's
 * counters, and they join the entry's own when the offload ends
 * (bypass_query, bypass_stop).
 * Records written of an offloaded entry say so (bypass_export).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "bypass.h"
#include "log.h"
#include "qtrackd.h"
#include "record.h"

#define BYPASS_TABLE "qtrack"
#define BYPASS_BUCKETS 65536

/* The key of a set element: each field of a concatenation takes a
 * multiple of four bytes in nf_tables' registers. */
struct bypass_key4 {
	uint32_t saddr;
	uint8_t l4proto, pad1[3];
	uint16_t sport, pad2;
	uint32_t daddr;
	uint16_t dport, pad3;
};

struct bypass_key6 {
	uint8_t saddr[16];
	uint8_t l4proto, pad1[3];
	uint16_t sport, pad2;
	uint8_t daddr[16];
	uint16_t dport, pad3;
};

/* A steady connection: its engine and id name it. */
struct bypass_node {
	struct bypass_node *next;
	const struct qt_engine *e;
	uint32_t id;
	bool on;	   /* offloaded: its elements were added */
	uint8_t seen;	   /* packets seen steady, until it is */
	uint64_t added_ms; /* when its elements were last added */
	uint64_t expires_ms; /* and when they expire in the kernel */
};

/* The packet of a steady connection (counting the one that made it so)
 * at which it is offloaded. */
#define BYPASS_AFTER_PACKETS 3

/* A packet of an offloaded connection that reaches qtrackd this long after
 * its elements were added means they have expired: it adds them again.
 * Packets sooner than that were in the queue before the elements were. */
#define BYPASS_READD_MS 500

struct qtd_bypass {
	pthread_mutex_t lock; /* workers share the socket and the set */
	struct mnl_socket *nl;
	uint32_t seq;
	uint64_t timeout_ms;
	uint32_t connmark;
	bool counters; /* elements count packets ([table] accounting) */
	uint64_t offloaded, readded, ended, errors;
	struct bypass_node *bucket[BYPASS_BUCKETS];
};

/* One verdict map per family holds both directions' elements; an element
 * jumps (goto) to the chain that marks its direction. */
static const char *const bypass_maps[2] = {"flows4", "flows6"};
static const char *const bypass_chains[2] = {"est", "est_reply"};

/* ---- the table ---------------------------------------------------------- */

static const char bypass_keys[2][80] = {
	"ip saddr . meta l4proto . th sport . ip daddr . th dport",
	"ip6 saddr . meta l4proto . th sport . ip6 daddr . th dport",
};

static const char *const bypass_types[2] = {
	"ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service",
	"ipv6_addr . inet_proto . inet_service . ipv6_addr . inet_service",
};

/* The whole table as one nft transaction; an old table of ours (a crash)
 * is replaced. */
static int bypass_table_write(FILE *f, const struct qt_conf *conf)
{
	const struct qt_conf_mark *m = &conf->mark;
	uint32_t size = conf->table.max;
	unsigned fam, dir;

	fprintf(f, "table inet " BYPASS_TABLE " {}\n"
		   "delete table inet " BYPASS_TABLE "\n"
		   "table inet " BYPASS_TABLE " {\n");
	for (fam = 0; fam < 2; fam++)
		fprintf(f,
			"\tmap %s {\n\t\ttype %s : verdict\n"
			"\t\tflags dynamic, timeout\n"
			"\t\tsize %" PRIu32 "\n\t\ttimeout %" PRIu32
			"s\n%s\t}\n",
			bypass_maps[fam], bypass_types[fam], size,
			conf->bypass.timeout,
			conf->table.accounting ? "\t\tcounter\n" : "");
	for (dir = 0; dir < 2; dir++)
		fprintf(f,
			"\tchain %s {\n"
			"\t\tmeta mark set meta mark & 0x%08" PRIx32
			" | 0x%08" PRIx32 "\n\t}\n",
			bypass_chains[dir], ~m->mask,
			(m->state[QT_CT_ESTABLISHED] | (dir ? m->reply : 0)) &
			    m->mask);
	/* Fragments and the packets that change a TCP connection's state
	 * never take the fast path.  Other protocols need no rule of their
	 * own: the key holds the protocol, and the maps only TCP and UDP
	 * elements.  One lookup finds either direction. */
	fprintf(f, "\tchain lookup {\n"
		   "\t\tip frag-off & 0x3fff != 0 return\n"
		   "\t\texthdr frag exists return\n"
		   "\t\ttcp flags & (fin | syn | rst) != 0 return\n");
	for (fam = 0; fam < 2; fam++)
		fprintf(f, "\t\t%s vmap @%s\n", bypass_keys[fam],
			bypass_maps[fam]);
	fprintf(f, "\t}\n"
		   "\tchain prerouting {\n"
		   "\t\ttype filter hook prerouting priority -200; "
		   "policy accept;\n\t\tjump lookup\n\t}\n"
		   "\tchain output {\n"
		   "\t\ttype filter hook output priority -200; "
		   "policy accept;\n\t\tjump lookup\n\t}\n"
		   "}\n");
	return ferror(f) ? -1 : 0;
}

static int bypass_table_create(const struct qt_conf *conf)
{
	FILE *f = popen("nft -f -", "w");
	int st;

	if (!f) {
		log_warnx("bypass: cannot run nft: %s", strerror(errno));
		return -1;
	}
	bypass_table_write(f, conf);
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_warnx("bypass: nft could not create table inet "
			  BYPASS_TABLE);
		return -1;
	}
	return 0;
}

/* Send the batch in @buf; the kernel's answers (errors only, nothing asks
 * for acknowledgements unless @ack) are read back.  Returns 0 or -errno of
 * the first error. */
static int bypass_send(struct qtd_bypass *b, struct mnl_nlmsg_batch *batch,
		       bool ack)
{
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	int ret = 0, n;

	if (mnl_socket_sendto(b->nl, mnl_nlmsg_batch_head(batch),
			      mnl_nlmsg_batch_size(batch)) < 0)
		return -errno;
	for (;;) {
		n = recv(mnl_socket_get_fd(b->nl), rbuf, sizeof(rbuf),
			 ack ? 0 : MSG_DONTWAIT);
		if (n <= 0)
			break;
		n = mnl_cb_run(rbuf, n, 0, 0, NULL, NULL);
		if (n < 0 && !ret)
			ret = -errno;
		if (ack)
			break;
	}
	return ret;
}

static void bypass_table_delete(struct qtd_bypass *b)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!t)
		return;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, BYPASS_TABLE);
	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), b->seq++);
	mnl_nlmsg_batch_next(batch);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch),
				    NFT_MSG_DELTABLE, NFPROTO_INET, NLM_F_ACK,
				    b->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(batch);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), b->seq++);
	mnl_nlmsg_batch_next(batch);
	ret = bypass_send(b, batch, true);
	if (ret < 0)
		log_warnx("bypass: cannot remove table inet " BYPASS_TABLE
			  ": %s", strerror(-ret));
	mnl_nlmsg_batch_stop(batch);
	nftnl_table_free(t);
}

struct qtd_bypass *bypass_open(const struct qt_conf *conf)
{
	struct qtd_bypass *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->seq = (uint32_t)time(NULL);
	b->timeout_ms = (uint64_t)conf->bypass.timeout * 1000;
	b->connmark = conf->mark.connmark;
	/* A counter costs every fast-path packet a little: only when the
	 * counts are shown. */
	b->counters = conf->table.accounting;
	b->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!b->nl || mnl_socket_bind(b->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warnx("bypass: netlink: %s", strerror(errno));
		goto fail;
	}
	if (bypass_table_create(conf) < 0)
		goto fail;
	log_info("bypass: table inet " BYPASS_TABLE " created, element "
		 "timeout %" PRIu32 " s", conf->bypass.timeout);
	return b;
fail:
	if (b->nl)
		mnl_socket_close(b->nl);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return NULL;
}

void bypass_close(struct qtd_bypass *b)
{
	unsigned i;

	if (!b)
		return;
	bypass_table_delete(b);
	log_info("bypass: %" PRIu64 " connections offloaded, %" PRIu64
		 " elements renewed, %" PRIu64 " ended, %" PRIu64
		 " netlink errors; table removed",
		 b->offloaded, b->readded, b->ended, b->errors);
	mnl_socket_close(b->nl);
	for (i = 0; i < BYPASS_BUCKETS; i++)
		while (b->bucket[i]) {
			struct bypass_node *n = b->bucket[i];

			b->bucket[i] = n->next;
			free(n);
		}
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* ---- the offloaded connections -------------------------------------------- */

static struct bypass_node **bypass_slot(struct qtd_bypass *b,
					const struct qt_engine *e, uint32_t id)
{
	uint32_t h = (id * 2654435761u ^ (uint32_t)(uintptr_t)e) %
		     BYPASS_BUCKETS;
	struct bypass_node **p = &b->bucket[h];

	while (*p && ((*p)->e != e || (*p)->id != id))
		p = &(*p)->next;
	return p;
}

static bool bypass_steady(const struct qtd_bypass *b, const struct qt_conn *ct)
{
	const uint8_t need = QT_CONN_ASSURED | QT_CONN_SEEN_REPLY |
			     QT_CONN_CONFIRMED | QT_CONN_HASHED;

	if ((ct->status & need) != need || ct->helper || ct->help ||
	    (ct->mark & b->connmark))
		return false;
	if (ct->l4proto == IPPROTO_TCP)
		return ct->proto.tcp.state == QT_TCP_ESTABLISHED;
	return ct->l4proto == IPPROTO_UDP;
}

/*
 * An element lives [bypass] timeout from its addition, busy or not, and at
 * most half the connection's own timeout: the packets that then come back
 * to qtrackd refresh the connection's timer before it can run out, and
 * bring the elements back (bypass_packet).  An idle connection expires in
 * qtrackd as it would without the bypass.
 */
static uint64_t bypass_timeout_ms(const struct qtd_bypass *b,
				  const struct qt_conn *ct)
{
	uint64_t half = (uint64_t)ct->timeout * 500;

	if (half < 1000)
		half = 1000;
	return half < b->timeout_ms ? half : b->timeout_ms;
}

/* The element of @ct's direction @dir: its key in @el, its set named in @s. */
static void bypass_elem_key(const struct qt_conn *ct, unsigned dir,
			    struct nftnl_set *s, struct nftnl_set_elem *el)
{
	uint16_t sp = dir ? ct->dport : ct->sport;
	uint16_t dp = dir ? ct->sport : ct->dport;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, BYPASS_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, bypass_maps[ct->v6]);
	if (ct->v6) {
		const union qt_addr *src = &ct->addr.ip6->src;
		const union qt_addr *dst = &ct->addr.ip6->dst;
		struct bypass_key6 k6 = {0};

		memcpy(k6.saddr, (dir ? dst : src)->b, 16);
		memcpy(k6.daddr, (dir ? src : dst)->b, 16);
		k6.l4proto = ct->l4proto;
		k6.sport = htons(sp);
		k6.dport = htons(dp);
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &k6, sizeof(k6));
	} else {
		struct bypass_key4 k4 = {0};

		k4.saddr = ct->addr.ip4[dir];
		k4.daddr = ct->addr.ip4[!dir];
		k4.l4proto = ct->l4proto;
		k4.sport = htons(sp);
		k4.dport = htons(dp);
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &k4, sizeof(k4));
	}
}

/* One message adding (NEWSETELEM) or removing (DELSETELEM) the element of
 * each direction of @ct. */
static void bypass_elems_put(struct qtd_bypass *b,
			     struct mnl_nlmsg_batch *batch,
			     const struct qt_conn *ct, bool add)
{
	unsigned dir;

	for (dir = 0; dir < 2; dir++) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nftnl_set_elem *el = nftnl_set_elem_alloc();
		struct nlmsghdr *nlh;

		if (!s || !el) {
			nftnl_set_free(s);
			nftnl_set_elem_free(el);
			b->errors++;
			continue;
		}
		bypass_elem_key(ct, dir, s, el);
		/* With its expiration given, an element still there (one
		 * direction outlived the other) is renewed too. */
		if (add) {
			nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT,
					       (uint32_t)NFT_GOTO);
			nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN,
					       bypass_chains[dir]);
			nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT,
					       bypass_timeout_ms(b, ct));
			nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_EXPIRATION,
					       bypass_timeout_ms(b, ct));
		}
		nftnl_set_elem_add(s, el);
		nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch),
					    add ? NFT_MSG_NEWSETELEM
						: NFT_MSG_DELSETELEM,
					    NFPROTO_INET,
					    add ? NLM_F_CREATE : 0, b->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		mnl_nlmsg_batch_next(batch);
		nftnl_set_free(s);
	}
}

/* ---- the fast path's counters ------------------------------------------- */

struct bypass_count {
	uint64_t packets, bytes;
};

static int bypass_expr_count(struct nftnl_expr *ex, void *data)
{
	struct bypass_count *c = data;
	const char *name = nftnl_expr_get_str(ex, NFTNL_EXPR_NAME);

	if (name && !strcmp(name, "counter")) {
		c->packets += nftnl_expr_get_u64(ex, NFTNL_EXPR_CTR_PACKETS);
		c->bytes += nftnl_expr_get_u64(ex, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int bypass_elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(s);
	for (el = it ? nftnl_set_elems_iter_next(it) : NULL; el;
	     el = nftnl_set_elems_iter_next(it))
		nftnl_set_elem_expr_foreach(el, bypass_expr_count, data);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Read the counter of @ct's element for direction @dir into @c (zero when
 * the element has expired).  Returns 0 or -errno. */
static int bypass_elem_count(struct qtd_bypass *b, const struct qt_conn *ct,
			     unsigned dir, struct bypass_count *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	int fd = mnl_socket_get_fd(b->nl), n, ret;
	uint32_t seq, portid = mnl_socket_get_portid(b->nl);
	struct nlmsghdr *nlh;

	c->packets = c->bytes = 0;
	if (!s || !el) {
		nftnl_set_free(s);
		nftnl_set_elem_free(el);
		return -ENOMEM;
	}
	/* Errors of earlier batches (nobody waits for them) go first. */
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (mnl_cb_run(buf, n, 0, 0, NULL, NULL) < 0)
			b->errors++;
	bypass_elem_key(ct, dir, s, el);
	nftnl_set_elem_add(s, el);
	seq = b->seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The element, then the acknowledgement (or only an error). */
	do {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		ret = mnl_cb_run(buf, n, seq, portid, bypass_elem_cb, c);
	} while (ret > 0);
	if (ret < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

/* Both directions' counters of @ct added to @acct. */
static void bypass_count_add(struct qtd_bypass *b, const struct qt_conn *ct,
			     struct qt_acct *acct)
{
	unsigned dir;

	if (!b->counters)
		return;
	for (dir = 0; dir < 2; dir++) {
		struct bypass_count c;

		if (bypass_elem_count(b, ct, dir, &c) < 0) {
			b->errors++;
			continue;
		}
		acct->packets[dir] += c.packets;
		acct->bytes[dir] += c.bytes;
	}
}

static int bypass_update(struct qtd_bypass *b, const struct qt_conn *ct,
			 bool add)
{
	char buf[4096];
	struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	int ret;

	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), b->seq++);
	mnl_nlmsg_batch_next(batch);
	bypass_elems_put(b, batch, ct, add);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), b->seq++);
	mnl_nlmsg_batch_next(batch);
	ret = bypass_send(b, batch, false);
	mnl_nlmsg_batch_stop(batch);
	return ret;
}

/* Offload @ct, whose packets qtrackd has seen steady long enough. */
static void bypass_start(struct qtd_bypass *b, struct qt_engine *e,
			 const struct qt_conn *ct, struct bypass_node *n,
			 uint64_t now)
{
	n->on = true;
	n->added_ms = now;
	n->expires_ms = now + bypass_timeout_ms(b, ct);
	/* Before its packets skip us: any we still see are picked up
	 * liberally. */
	qt_engine_conn_offload(e, ct);
	if (bypass_update(b, ct, true) < 0)
		b->errors++;
	b->offloaded++;
}

/* End @n's offload of @ct and forget @n (unlinked by the caller). */
static void bypass_stop(struct qtd_bypass *b, struct qt_engine *e,
			const struct qt_conn *ct, struct bypass_node *n)
{
	/* Elements that expired a while ago are gone already (a second's
	 * slack for the kernel's clock); an element that is not there is
	 * no error. */
	if (n->on && qtd_now_ms() < n->expires_ms + 1000) {
		struct qt_acct got = {{0}};
		int ret;

		/* What passed the fast path joins the entry's own counters
		 * (before a DESTROY event reports them). */
		if (qt_engine_acct(e, ct)) {
			bypass_count_add(b, ct, &got);
			qt_engine_acct_add(e, ct, &got);
		}
		ret = bypass_update(b, ct, false);
		if (ret < 0 && ret != -ENOENT)
			b->errors++;
	}
	if (n->on)
		b->ended++;
	free(n);
}

/*
 * @ct is steady or not (an event, or a packet qtrackd saw when @packet);
 * with b->lock held.  A connection that becomes steady is offloaded at
 * the BYPASS_AFTER_PACKETS-th packet qtrackd sees of it while steady, not
 * at once: a short connection (connect, a request, close) ends before
 * then and so costs no netlink transactions, while a busy one loses
 * next to nothing.
 */
static void bypass_set_locked(struct qtd_bypass *b, struct qt_engine *e,
			      const struct qt_conn *ct, bool steady,
			      bool packet, uint64_t now)
{
	struct bypass_node **p = bypass_slot(b, e, ct->id), *n = *p;

	if (!steady) {
		if (n) {
			*p = n->next;
			bypass_stop(b, e, ct, n);
		}
		return;
	}
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return;
		n->e = e;
		n->id = ct->id;
		*p = n;
	}
	if (!packet)
		return;
	if (!n->on) {
		if (++n->seen >= BYPASS_AFTER_PACKETS)
			bypass_start(b, e, ct, n, now);
	} else if (now - n->added_ms >= BYPASS_READD_MS) {
		n->added_ms = now;
		n->expires_ms = now + bypass_timeout_ms(b, ct);
		if (bypass_update(b, ct, true) < 0)
			b->errors++;
		b->readded++;
	}
}

void bypass_event(struct qtd_bypass *b, struct qt_engine *e,
		  enum qt_event_type type, const struct qt_conn *ct)
{
	bool steady;

	if (!b || (ct->l4proto != IPPROTO_TCP && ct->l4proto != IPPROTO_UDP))
		return;
	steady = type != QT_EV_DESTROY && bypass_steady(b, ct);
	pthread_mutex_lock(&b->lock);
	/* An event starts the count to an offload or ends an offload; it
	 * never adds elements: only packets do (bypass_packet). */
	if (steady != (*bypass_slot(b, e, ct->id) != NULL))
		bypass_set_locked(b, e, ct, steady, false, qtd_now_ms());
	pthread_mutex_unlock(&b->lock);
}

void bypass_packet(struct qtd_bypass *b, struct qt_engine *e,
		   const struct qt_conn *ct, uint64_t now)
{
	if (!b || (ct->l4proto != IPPROTO_TCP && ct->l4proto != IPPROTO_UDP) ||
	    !bypass_steady(b, ct))
		return;
	pthread_mutex_lock(&b->lock);
	bypass_set_locked(b, e, ct, true, true, now);
	pthread_mutex_unlock(&b->lock);
}

bool bypass_query(struct qtd_bypass *b, const struct qt_engine *e,
		  const struct qt_conn *ct, struct qt_acct *acct)
{
	struct bypass_node *n;
	bool on;

	if (!b || (ct->l4proto != IPPROTO_TCP && ct->l4proto != IPPROTO_UDP))
		return false;
	pthread_mutex_lock(&b->lock);
	n = *bypass_slot(b, e, ct->id);
	/* Once its elements have expired, its packets come back to us: it
	 * is not offloaded until one of them adds them again (as the
	 * kernel's flowtable lets an idle flow go). */
	on = n && n->on && qtd_now_ms() < n->expires_ms;
	if (on && acct)
		bypass_count_add(b, ct, acct);
	pthread_mutex_unlock(&b->lock);
	return on;
}

void bypass_export(struct qtd_bypass *b, const struct qt_engine *e,
		   const struct qt_conn *ct, struct qt_rec_conn *rc)
{
	if (bypass_query(b, e, ct, NULL))
		rc->status |= QT_REC_ST_OFFLOAD;
}
