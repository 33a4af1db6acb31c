/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrack-replay - classify the packets of a pcap file offline.
 *
 * The packets' own timestamps are the engine's clock, so a capture replays
 * the same way every time: that is what the golden tests in tests/replay
 * rely on.  The output format is specified in docs/qtrack-replay.1 and must
 * stay stable.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "format.h"
#include "proto.h"
#include "qtrack.h"

/* Link types, by number: not every libpcap defines every name. */
#define LT_NULL_ETHER 1		/* DLT_EN10MB */
#define LT_RAW_A 12		/* DLT_RAW on most systems */
#define LT_RAW_B 14		/* DLT_RAW on some BSDs */
#define LT_RAW 101		/* LINKTYPE_RAW */
#define LT_SLL 113		/* DLT_LINUX_SLL */
#define LT_IPV4 228		/* DLT_IPV4 */
#define LT_IPV6 229		/* DLT_IPV6 */
#define LT_SLL2 276		/* DLT_LINUX_SLL2 */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define SLL_HLEN 16
#define SLL2_HLEN 20

enum out_mode {
	OUT_TEXT,
	OUT_JSON,
};

struct replay {
	struct qt_engine *engine;
	struct qt_conf conf;
	enum out_mode out;
	uint32_t in_flags;	/* QT_IN_VERIFY_CSUM with -C */
	uint64_t first_ms;	/* clock of the first packet: time 0.000 */
	uint64_t now;		/* clock of the last packet, ms */
	unsigned long n;	/* frame number in the capture, from 1 */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: qtrack-replay [-C] [-c FILE] [-o text|json] "
		   "FILE.pcap\n");
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * link_ip_offset - where the IP header starts in a frame of @linktype.
 * Returns the offset, or -1 when the frame carries no IPv4/IPv6 packet
 * (ARP, LLDP, ...) or is too short to tell; such frames are skipped.
 */
static long link_ip_offset(int linktype, const uint8_t *p, uint32_t caplen)
{
	uint32_t off;
	uint16_t type;

	switch (linktype) {
	case LT_NULL_ETHER:
		off = ETH_HLEN;
		if (caplen < off)
			return -1;
		type = get16(p + 12);
		/* 802.1Q and 802.1ad tags, possibly stacked (QinQ). */
		while (type == ETH_P_8021Q || type == ETH_P_8021AD) {
			if (caplen < off + VLAN_HLEN)
				return -1;
			type = get16(p + off + 2);
			off += VLAN_HLEN;
		}
		break;
	case LT_SLL:
		off = SLL_HLEN;
		if (caplen < off)
			return -1;
		type = get16(p + 14);
		break;
	case LT_SLL2:
		off = SLL2_HLEN;
		if (caplen < off)
			return -1;
		type = get16(p);
		break;
	case LT_RAW:
	case LT_RAW_A:
	case LT_RAW_B:
	case LT_IPV4:
	case LT_IPV6:
		/* The engine tells IPv4 from IPv6 by the version nibble. */
		return 0;
	default:
		return -1;
	}
	if (type != ETH_P_IP && type != ETH_P_IPV6)
		return -1;
	return off;
}

static bool linktype_supported(int linktype)
{
	switch (linktype) {
	case LT_NULL_ETHER:
	case LT_SLL:
	case LT_SLL2:
	case LT_RAW:
	case LT_RAW_A:
	case LT_RAW_B:
	case LT_IPV4:
	case LT_IPV6:
		return true;
	default:
		return false;
	}
}

/* What the packet line says about the packet itself, independent of the
 * verdict.  Filled from the parsed packet, or for a packet the parser
 * refused, from whatever of the IP header the capture holds. */
struct pkt_view {
	bool have_addr;
	int family;
	union qt_addr src, dst;
	uint8_t proto;
	bool have_l4;		/* ports / ICMP fields / TCP flags valid */
	struct qt_pkt pkt;
};

static void view_fill(struct pkt_view *v, const uint8_t *d, uint32_t caplen,
		      uint32_t origlen)
{
	enum qt_reason r;

	memset(v, 0, sizeof(*v));
	r = qt_packet_parse(d, caplen, origlen, &v->pkt);
	if (r == QT_R_NONE) {
		v->have_addr = true;
		v->have_l4 = true;
		v->family = v->pkt.tuple.family;
		v->src = v->pkt.tuple.src;
		v->dst = v->pkt.tuple.dst;
		v->proto = v->pkt.tuple.proto;
		return;
	}
	/* Malformed: show the addresses if the fixed header is there. */
	if (caplen >= 20 && d[0] >> 4 == 4) {
		v->have_addr = true;
		v->family = AF_INET;
		memcpy(v->src.b, d + 12, 4);
		memcpy(v->dst.b, d + 16, 4);
		v->proto = d[9];
	} else if (caplen >= 40 && d[0] >> 4 == 6) {
		v->have_addr = true;
		v->family = AF_INET6;
		memcpy(v->src.b, d + 8, 16);
		memcpy(v->dst.b, d + 24, 16);
		v->proto = d[6];
	}
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP;
}

static bool proto_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Query/reply messages carry an identifier; errors, neighbour discovery
 * and MLD do not, so printing one there would only mislead. */
static bool icmp_has_id(uint8_t proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP)
		return type == 0 || type == 8 || (type >= 13 && type <= 18);
	return type == 128 || type == 129 || type == 139 || type == 140;
}

/* "10.0.0.1:80", "[2001:db8::1]:80", or the bare address without port. */
static void endpoint_format(const struct pkt_view *v, const union qt_addr *a,
			    int port, char *buf, size_t len)
{
	char addr[64];

	qt_format_addr(v->family, a, addr, sizeof(addr));
	if (port < 0)
		snprintf(buf, len, "%s", addr);
	else if (v->family == AF_INET6)
		snprintf(buf, len, "[%s]:%d", addr, port);
	else
		snprintf(buf, len, "%s:%d", addr, port);
}

/* TCP flags in tcpdump's letters, in a fixed order: "S", "SA", "FA"... */
static void tcp_flags_format(uint8_t flags, char *buf)
{
	static const struct {
		uint8_t bit;
		char c;
	} letters[] = {
		{ QT_TCP_SYN, 'S' }, { QT_TCP_FIN, 'F' }, { QT_TCP_RST, 'R' },
		{ QT_TCP_PSH, 'P' }, { QT_TCP_ACK, 'A' }, { QT_TCP_URG, 'U' },
		{ QT_TCP_ECE, 'E' }, { QT_TCP_CWR, 'C' },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		if (flags & letters[i].bit)
			buf[n++] = letters[i].c;
	if (!n)
		buf[n++] = '-';
	buf[n] = '\0';
}

static const char *dir_name(const struct qt_result *res)
{
	/* Only a packet that belongs to a connection has a direction. */
	if (res->state == QT_CT_INVALID || res->state == QT_CT_UNTRACKED)
		return "-";
	return res->reply ? "reply" : "orig";
}

static const char *proto_label(uint8_t proto, char *buf, size_t len)
{
	const char *name = qt_proto_name(proto);

	if (strcmp(name, "unknown") != 0)
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void line_print_text(const struct replay *rp, const struct pkt_view *v,
			    const struct qt_result *res)
{
	const struct qt_pkt *p = &v->pkt;
	uint64_t t = rp->now - rp->first_ms;
	char src[80], dst[80], pbuf[8], flags[12];
	int sport = -1, dport = -1;

	printf("%lu %llu.%03llu %s %s", rp->n, (unsigned long long)(t / 1000),
	       (unsigned long long)(t % 1000), qt_ct_state_name(res->state),
	       dir_name(res));
	if (!v->have_addr) {
		printf(" - - > -");
	} else {
		if (v->have_l4 && proto_has_ports(v->proto)) {
			sport = p->tuple.sport;
			dport = p->tuple.dport;
		}
		endpoint_format(v, &v->src, sport, src, sizeof(src));
		endpoint_format(v, &v->dst, dport, dst, sizeof(dst));
		printf(" %s %s > %s",
		       proto_label(v->proto, pbuf, sizeof(pbuf)), src, dst);
	}
	if (v->have_l4 && proto_is_icmp(v->proto)) {
		printf(" type=%u code=%u", p->icmp.type, p->icmp.code);
		if (icmp_has_id(v->proto, p->icmp.type))
			printf(" id=%u", p->icmp.id);
	}
	if (v->have_l4 && v->proto == IPPROTO_TCP) {
		tcp_flags_format(p->tcp.flags, flags);
		printf(" flags=%s", flags);
	}
	if (v->have_l4 && v->proto == IPPROTO_GRE)
		printf(" srckey=0x%x dstkey=0x%x", p->tuple.sport,
		       p->tuple.dport);
	if (res->conn && qt_conn_l4proto(res->conn) == IPPROTO_TCP &&
	    res->state != QT_CT_RELATED)
		printf(" tcp=%s", qt_tcp_state_name(res->conn->proto.tcp.state));
	if (res->conn && qt_conn_l4proto(res->conn) == IPPROTO_SCTP &&
	    res->state != QT_CT_RELATED)
		printf(" sctp=%s", qt_proto_sctp.state_name(res->conn));
	if (res->reason != QT_R_NONE)
		printf(" reason=%s", qt_reason_name(res->reason));
	putchar('\n');
}

static void line_print_json(const struct replay *rp, const struct pkt_view *v,
			    const struct qt_result *res)
{
	const struct qt_pkt *p = &v->pkt;
	uint64_t t = rp->now - rp->first_ms;
	char addr[64], flags[12];

	printf("{\"type\":\"packet\",\"n\":%lu,\"time\":%llu.%03llu,"
	       "\"state\":\"%s\",\"dir\":\"%s\"",
	       rp->n, (unsigned long long)(t / 1000),
	       (unsigned long long)(t % 1000), qt_ct_state_name(res->state),
	       dir_name(res));
	if (v->have_addr) {
		printf(",\"family\":\"%s\",\"proto\":%u",
		       v->family == AF_INET6 ? "ipv6" : "ipv4", v->proto);
		qt_format_addr(v->family, &v->src, addr, sizeof(addr));
		printf(",\"src\":\"%s\"", addr);
		qt_format_addr(v->family, &v->dst, addr, sizeof(addr));
		printf(",\"dst\":\"%s\"", addr);
	}
	if (v->have_l4 && proto_has_ports(v->proto))
		printf(",\"sport\":%u,\"dport\":%u", p->tuple.sport,
		       p->tuple.dport);
	if (v->have_l4 && proto_is_icmp(v->proto)) {
		printf(",\"icmp_type\":%u,\"icmp_code\":%u", p->icmp.type,
		       p->icmp.code);
		if (icmp_has_id(v->proto, p->icmp.type))
			printf(",\"icmp_id\":%u", p->icmp.id);
	}
	if (v->have_l4 && v->proto == IPPROTO_TCP) {
		tcp_flags_format(p->tcp.flags, flags);
		printf(",\"tcp_flags\":\"%s\"", flags);
	}
	if (v->have_l4 && v->proto == IPPROTO_GRE)
		printf(",\"srckey\":%u,\"dstkey\":%u", p->tuple.sport,
		       p->tuple.dport);
	if (res->conn && qt_conn_l4proto(res->conn) == IPPROTO_TCP &&
	    res->state != QT_CT_RELATED)
		printf(",\"tcp_state\":\"%s\"",
		       qt_tcp_state_name(res->conn->proto.tcp.state));
	if (res->conn && qt_conn_l4proto(res->conn) == IPPROTO_SCTP &&
	    res->state != QT_CT_RELATED)
		printf(",\"sctp_state\":\"%s\"",
		       qt_proto_sctp.state_name(res->conn));
	if (res->reason != QT_R_NONE)
		printf(",\"reason\":\"%s\"", qt_reason_name(res->reason));
	printf(",\"mark\":%u}\n", res->mark);
}

static int replay_engine_start(struct replay *rp, uint64_t now)
{
	rp->engine = qt_engine_new(&rp->conf, now);
	if (!rp->engine) {
		fprintf(stderr, "qtrack-replay: cannot create the engine: %s\n",
			strerror(errno));
		return -1;
	}
	rp->first_ms = now;
	rp->now = now;
	return 0;
}

static int replay_packet(struct replay *rp, int linktype,
			 const struct pcap_pkthdr *h, const uint8_t *data)
{
	uint64_t now = (uint64_t)h->ts.tv_sec * 1000 + h->ts.tv_usec / 1000;
	struct qt_result res;
	struct qt_input in;
	struct pkt_view v;
	long off;

	rp->n++;
	off = link_ip_offset(linktype, data, h->caplen);
	if (off < 0)
		return 0;
	if (!rp->engine && replay_engine_start(rp, now) < 0)
		return -1;
	/* The engine's clock must not go backwards; a capture merged from
	 * several interfaces can be slightly out of order. */
	if (now < rp->now)
		now = rp->now;
	rp->now = now;

	qt_engine_expire(rp->engine, now, 0);
	view_fill(&v, data + off, h->caplen - off,
		  h->len > (uint32_t)off ? h->len - off : 0);
	/* One packet through the batch, as qtrackd hands them over. */
	in = (struct qt_input){
		.data = data + off,
		.caplen = h->caplen - off,
		.origlen = h->len > (uint32_t)off ? h->len - off : 0,
		.flags = rp->in_flags,
	};
	qt_engine_process_one(rp->engine, &in, now, &res);
	if (rp->out == OUT_JSON)
		line_print_json(rp, &v, &res);
	else
		line_print_text(rp, &v, &res);
	return 0;
}

static int conn_cmp_id(const void *a, const void *b)
{
	const struct qt_conn *x = *(const struct qt_conn *const *)a;
	const struct qt_conn *y = *(const struct qt_conn *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The final table, oldest connection first so that the output does not
 * depend on hash order. */
static int replay_table_print(struct replay *rp)
{
	const struct qt_conn *ct, **all = NULL;
	struct qt_format_opts o = { 0 };
	size_t n = 0, cap = 0, i;
	uint32_t cursor = 0;
	char line[1024];

	if (!rp->engine)
		return 0;
	qt_engine_expire(rp->engine, rp->now, 0);
	while ((ct = qt_engine_next(rp->engine, &cursor))) {
		if (n == cap) {
			const struct qt_conn **grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(all, cap * sizeof(*all));
			if (!grown) {
				free(all);
				fprintf(stderr, "qtrack-replay: out of memory\n");
				return -1;
			}
			all = grown;
		}
		all[n++] = ct;
	}
	if (n > 1)
		qsort(all, n, sizeof(*all), conn_cmp_id);
	o.accounting = rp->conf.table.accounting;
	for (i = 0; i < n; i++) {
		o.timeout = qt_engine_timeout_left(rp->engine, all[i], rp->now);
		o.acct = qt_engine_acct(rp->engine, all[i]);
		if (rp->out == OUT_JSON) {
			qt_format_conn_json(all[i], &o, line, sizeof(line));
			printf("{\"type\":\"conn\",\"conn\":%s}\n", line);
		} else {
			qt_format_conn(all[i], &o, line, sizeof(line));
			printf("%s\n", line);
		}
	}
	free(all);
	return 0;
}

/* Read @path whole; NULL with a message on failure. */
static char *file_read(const char *path)
{
	size_t len = 0, cap = 4096, got;
	char *buf, *grown;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "qtrack-replay: %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len - 1 == 0) {
			grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		fprintf(stderr, "qtrack-replay: %s: read error\n", path);
		free(buf);
		buf = NULL;
	} else if (!buf) {
		fprintf(stderr, "qtrack-replay: out of memory\n");
	} else {
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static int conf_load(struct qt_conf *conf, const char *path)
{
	char err[512];
	char *text;
	int rc;

	qt_conf_init(conf);
	if (!path)
		return 0;
	text = file_read(path);
	if (!text)
		return -1;
	rc = qt_conf_parse(conf, text, path, err, sizeof(err));
	free(text);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct replay rp = { 0 };
	const char *conf_path = NULL;
	struct pcap_pkthdr *h;
	const u_char *data;
	int opt, linktype, rc;
	pcap_t *pc;

	while ((opt = getopt(argc, argv, "Cc:o:h")) != -1) {
		switch (opt) {
		case 'C':
			rp.in_flags |= QT_IN_VERIFY_CSUM;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "json")) {
				rp.out = OUT_JSON;
			} else if (!strcmp(optarg, "text")) {
				rp.out = OUT_TEXT;
			} else {
				fprintf(stderr,
					"qtrack-replay: unknown output format '%s'\n",
					optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (conf_load(&rp.conf, conf_path) < 0)
		return 1;

	pc = pcap_open_offline(argv[optind], errbuf);
	if (!pc) {
		fprintf(stderr, "qtrack-replay: %s\n", errbuf);
		return 1;
	}
	linktype = pcap_datalink(pc);
	if (!linktype_supported(linktype)) {
		fprintf(stderr,
			"qtrack-replay: %s: unsupported link type %d (%s)\n",
			argv[optind], linktype,
			pcap_datalink_val_to_name(linktype) ?
				pcap_datalink_val_to_name(linktype) :
				"unknown");
		pcap_close(pc);
		return 1;
	}

	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		if (replay_packet(&rp, linktype, h, data) < 0)
			break;
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "qtrack-replay: %s: %s\n", argv[optind],
			pcap_geterr(pc));
		pcap_close(pc);
		qt_engine_free(rp.engine);
		return 1;
	}
	pcap_close(pc);
	if (rc != PCAP_ERROR_BREAK) {
		qt_engine_free(rp.engine);
		return 1;
	}

	/* Text: a blank line before the table; JSON stays one object a line. */
	if (rp.out == OUT_TEXT)
		putchar('\n');
	rc = replay_table_print(&rp);
	qt_engine_free(rp.engine);
	if (fflush(stdout) != 0 || rc < 0)
		return 1;
	return 0;
}
