/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conf.c - the configuration model: one key table drives defaults, INI
 * parsing (libinih), validation, printing and the documentation.
 *
 * Every key is one row of conf_keys[]: where the value lives in struct
 * qt_conf, its syntax, default, range and help text.  Adding a key is
 * adding a row; nothing else in this file knows key names except the
 * cross-key checks of the [mark] contract.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <ini.h>

#include "conf.h"
#include "conn.h"
#include "strbuf.h"

/* The key table reads best as one row per key, so it keeps its own layout. */
/* clang-format off */
#define FIELD(f)                                                              \
	.offset = offsetof(struct qt_conf, f),                                \
	.size = sizeof(((struct qt_conf *)0)->f)

/* Durations run from one second to 100 days, as the kernel's sysctls
 * accept far more than any sane timeout. */
#define DUR_MIN 1
#define DUR_MAX (100u * 86400u)
/* A connection's timeout field has 24 bits (conn.h). */
_Static_assert(DUR_MAX <= QT_CONN_TIMEOUT_MAX, "timeouts fit ct->timeout");
#define DUR .type = QT_CT_DURATION, .min = DUR_MIN, .max = DUR_MAX
#define MARK .type = QT_CT_MARK, .min = 0, .max = UINT32_MAX
#define BOOL .type = QT_CT_BOOL, .min = 0, .max = 1
#define SYSCTL(s) .sysctl = "net.netfilter.nf_conntrack_" s

#define TCP_TIMEOUT(name, idx, dflt, text)                                    \
	{ .section = "tcp", .key = "timeout_" name, DUR, .def = dflt,         \
	  .help = text, SYSCTL("tcp_timeout_" name),                          \
	  FIELD(tcp.timeouts[idx]) }

static const struct qt_conf_key conf_keys[] = {
	{ .section = "queue", .key = "num", .type = QT_CT_RANGE, .def = "0",
	  .min = 0, .max = 65535, .flags = QT_CKF_RESTART,
	  .help = "NFQUEUE queue number, or a range N-M of queues to bind "
		  "(one worker each), as in the rule's --queue-num or "
		  "--queue-balance.",
	  FIELD(queue.num_first) },
	{ .section = "queue", .key = "mode", .type = QT_CT_ENUM,
	  .def = "accept", .choices = "accept|repeat",
	  .help = "Verdict given with the mark: accept (the packet goes on to "
		  "the next table) or repeat (the chain is traversed again).",
	  FIELD(queue.mode) },
	{ .section = "queue", .key = "copy_range", .type = QT_CT_UINT,
	  .def = "4096", .min = 64, .max = 65535,
	  .help = "Bytes of each packet copied to qtrackd; must cover the "
		  "headers and, for the FTP helper, the FTP command.",
	  FIELD(queue.copy_range) },
	{ .section = "queue", .key = "maxlen", .type = QT_CT_UINT,
	  .def = "4096", .min = 1, .max = 1000000,
	  .help = "Packets the kernel holds in the queue before it applies "
		  "fail_open or drops.",
	  FIELD(queue.maxlen) },
	{ .section = "queue", .key = "fail_open", BOOL, .def = "no",
	  .help = "When the queue is full, accept packets unclassified "
		  "instead of dropping them.",
	  FIELD(queue.fail_open) },
	{ .section = "queue", .key = "rcvbuf", .type = QT_CT_UINT,
	  .def = "8388608", .min = 65536, .max = 1073741824,
	  .help = "Receive buffer of the netlink socket, in bytes.",
	  FIELD(queue.rcvbuf) },

	{ .section = "mark", .key = "mask", MARK, .def = "0xff",
	  .help = "Bits of the packet mark that qtrackd owns; all other bits "
		  "are kept.",
	  FIELD(mark.mask) },
	{ .section = "mark", .key = "new", MARK, .def = "0x1",
	  .help = "Code written under the mask for NEW packets.",
	  FIELD(mark.state[0]) },
	{ .section = "mark", .key = "established", MARK, .def = "0x2",
	  .help = "Code written under the mask for ESTABLISHED packets.",
	  FIELD(mark.state[1]) },
	{ .section = "mark", .key = "related", MARK, .def = "0x3",
	  .help = "Code written under the mask for RELATED packets.",
	  FIELD(mark.state[2]) },
	{ .section = "mark", .key = "invalid", MARK, .def = "0x4",
	  .help = "Code written under the mask for INVALID packets.",
	  FIELD(mark.state[3]) },
	{ .section = "mark", .key = "untracked", MARK, .def = "0x5",
	  .help = "Code written under the mask for UNTRACKED packets.",
	  FIELD(mark.state[4]) },
	{ .section = "mark", .key = "reply", MARK, .def = "0x10",
	  .help = "Bit(s) added to the code of reply-direction packets.",
	  FIELD(mark.reply) },
	{ .section = "mark", .key = "notrack", MARK, .def = "0x1000",
	  .help = "A packet arriving with all these bits set is UNTRACKED and "
		  "creates no entry (the raw table's NOTRACK); 0 disables.",
	  FIELD(mark.notrack) },
	{ .section = "mark", .key = "connmark", MARK, .def = "0x0",
	  .help = "Bits of the first packet's mark saved with the connection "
		  "and restored onto each later packet; 0 disables.",
	  FIELD(mark.connmark) },

	{ .section = "table", .key = "max", .type = QT_CT_UINT,
	  .def = "262144", .min = 1, .max = 100000000,
	  .flags = QT_CKF_RESTART, SYSCTL("max"),
	  .help = "Most connections tracked at once; memory is taken at "
		  "start.",
	  FIELD(table.max) },
	{ .section = "table", .key = "buckets", .type = QT_CT_UINT,
	  .def = "65536", .min = 1, .max = 16777216,
	  .flags = QT_CKF_RESTART, SYSCTL("buckets"),
	  .help = "Hash buckets, rounded up to a power of two.",
	  FIELD(table.buckets) },
	{ .section = "table", .key = "accounting", BOOL, .def = "no",
	  SYSCTL("acct"),
	  .help = "Count packets and bytes per direction of each connection.",
	  FIELD(table.accounting) },
	{ .section = "table", .key = "checksum", BOOL, .def = "yes",
	  SYSCTL("checksum"),
	  .help = "Verify TCP, UDP, ICMP and ICMPv6 checksums of packets "
		  "from the network that nobody has verified yet; a bad one "
		  "is INVALID.",
	  FIELD(table.checksum) },
	{ .section = "table", .key = "confirm", .type = QT_CT_ENUM,
	  .def = "auto", .choices = "auto|yes|no",
	  .help = "When a new connection waits for its first packet to come "
		  "back from the confirm rule before it is kept: auto (once "
		  "such a packet of its family has been seen), yes (always; "
		  "only with confirm rules) or no (never).",
	  FIELD(table.confirm) },
	{ .section = "table", .key = "confirm_timeout", DUR, .def = "2",
	  .help = "Longest a new connection waits for its first packet to "
		  "come back from the confirm rule that ends the rule set; "
		  "an entry not confirmed by then is removed (its packet "
		  "was dropped).",
	  FIELD(table.confirm_timeout) },

	TCP_TIMEOUT("syn_sent", QT_TCP_SYN_SENT, "120",
		    "Timeout after a SYN (also used for SYN_SENT2)."),
	TCP_TIMEOUT("syn_recv", QT_TCP_SYN_RECV, "60",
		    "Timeout after the SYN/ACK."),
	TCP_TIMEOUT("established", QT_TCP_ESTABLISHED, "432000",
		    "Timeout of an established connection (5 days)."),
	TCP_TIMEOUT("fin_wait", QT_TCP_FIN_WAIT, "120",
		    "Timeout after the first FIN."),
	TCP_TIMEOUT("close_wait", QT_TCP_CLOSE_WAIT, "60",
		    "Timeout after the FIN was acknowledged."),
	TCP_TIMEOUT("last_ack", QT_TCP_LAST_ACK, "30",
		    "Timeout after the second FIN."),
	TCP_TIMEOUT("time_wait", QT_TCP_TIME_WAIT, "120",
		    "Timeout after the last ACK."),
	TCP_TIMEOUT("close", QT_TCP_CLOSE, "10", "Timeout after a RST."),
	TCP_TIMEOUT("max_retrans", QT_TCP_TIMEOUT_RETRANS, "300",
		    "Timeout cap once a packet was retransmitted max_retrans "
		    "times."),
	TCP_TIMEOUT("unacknowledged", QT_TCP_TIMEOUT_UNACK, "300",
		    "Timeout cap while data is outstanding unacknowledged."),
	{ .section = "tcp", .key = "loose", BOOL, .def = "yes",
	  SYSCTL("tcp_loose"),
	  .help = "Pick up connections already established (midstream "
		  "pickup).",
	  FIELD(tcp.loose) },
	{ .section = "tcp", .key = "be_liberal", BOOL, .def = "no",
	  SYSCTL("tcp_be_liberal"),
	  .help = "Mark only RST packets out of the window as INVALID.",
	  FIELD(tcp.be_liberal) },
	{ .section = "tcp", .key = "ignore_invalid_rst", BOOL, .def = "no",
	  SYSCTL("tcp_ignore_invalid_rst"),
	  .help = "Do not mark out-of-window RST packets as INVALID.",
	  FIELD(tcp.ignore_invalid_rst) },
	{ .section = "tcp", .key = "max_retrans", .type = QT_CT_UINT,
	  .def = "3", .min = 0, .max = 255, SYSCTL("tcp_max_retrans"),
	  .help = "Retransmissions of one packet before timeout_max_retrans "
		  "applies.",
	  FIELD(tcp.max_retrans) },

	{ .section = "udp", .key = "timeout", DUR, .def = "30",
	  SYSCTL("udp_timeout"),
	  .help = "Timeout of a UDP flow that saw traffic in one direction "
		  "or a single reply.",
	  FIELD(udp.timeout) },
	{ .section = "udp", .key = "timeout_stream", DUR, .def = "180",
	  SYSCTL("udp_timeout_stream"),
	  .help = "Timeout of a UDP stream (replies seen, traffic for more "
		  "than 2 s); the kernel's default is 120.",
	  FIELD(udp.timeout_stream) },

	{ .section = "sctp", .key = "timeout_closed", DUR, .def = "10",
	  SYSCTL("sctp_timeout_closed"),
	  .help = "Timeout of an SCTP association after its "
		  "SHUTDOWN_COMPLETE or ABORT, or of one that saw only an "
		  "INIT.",
	  FIELD(sctp.timeouts[QT_SCTP_CLOSED]) },
	{ .section = "sctp", .key = "timeout_cookie_wait", DUR, .def = "3",
	  SYSCTL("sctp_timeout_cookie_wait"),
	  .help = "Timeout of an SCTP association after its INIT (and "
		  "INIT_ACK).",
	  FIELD(sctp.timeouts[QT_SCTP_COOKIE_WAIT]) },
	{ .section = "sctp", .key = "timeout_cookie_echoed", DUR, .def = "3",
	  SYSCTL("sctp_timeout_cookie_echoed"),
	  .help = "Timeout of an SCTP association after its COOKIE_ECHO.",
	  FIELD(sctp.timeouts[QT_SCTP_COOKIE_ECHOED]) },
	{ .section = "sctp", .key = "timeout_established", DUR, .def = "210",
	  SYSCTL("sctp_timeout_established"),
	  .help = "Timeout of an established SCTP association (COOKIE_ACK "
		  "seen); its heartbeats keep it alive.",
	  FIELD(sctp.timeouts[QT_SCTP_ESTABLISHED]) },
	{ .section = "sctp", .key = "timeout_shutdown_sent", DUR, .def = "3",
	  SYSCTL("sctp_timeout_shutdown_sent"),
	  .help = "Timeout of an SCTP association after a SHUTDOWN from the "
		  "original side.",
	  FIELD(sctp.timeouts[QT_SCTP_SHUTDOWN_SENT]) },
	{ .section = "sctp", .key = "timeout_shutdown_recd", DUR, .def = "3",
	  SYSCTL("sctp_timeout_shutdown_recd"),
	  .help = "Timeout of an SCTP association after a SHUTDOWN from the "
		  "reply side.",
	  FIELD(sctp.timeouts[QT_SCTP_SHUTDOWN_RECD]) },
	{ .section = "sctp", .key = "timeout_shutdown_ack_sent", DUR,
	  .def = "3",
	  SYSCTL("sctp_timeout_shutdown_ack_sent"),
	  .help = "Timeout of an SCTP association after its SHUTDOWN_ACK.",
	  FIELD(sctp.timeouts[QT_SCTP_SHUTDOWN_ACK_SENT]) },
	{ .section = "sctp", .key = "timeout_heartbeat_sent", DUR, .def = "30",
	  SYSCTL("sctp_timeout_heartbeat_sent"),
	  .help = "Timeout of an SCTP flow first seen with a HEARTBEAT "
		  "(another path of a multi-homed association).",
	  FIELD(sctp.timeouts[QT_SCTP_HEARTBEAT_SENT]) },

	{ .section = "gre", .key = "timeout", DUR, .def = "30",
	  SYSCTL("gre_timeout"),
	  .help = "Timeout of a GRE flow that saw traffic in one direction "
		  "or a single reply.",
	  FIELD(gre.timeout) },
	{ .section = "gre", .key = "timeout_stream", DUR, .def = "180",
	  SYSCTL("gre_timeout_stream"),
	  .help = "Timeout of a GRE flow with traffic in both directions.",
	  FIELD(gre.timeout_stream) },

	{ .section = "icmp", .key = "timeout", DUR, .def = "30",
	  SYSCTL("icmp_timeout"),
	  .help = "Timeout of an ICMP query (echo, timestamp, ...).",
	  FIELD(icmp.timeout) },
	{ .section = "icmpv6", .key = "timeout", DUR, .def = "30",
	  SYSCTL("icmpv6_timeout"),
	  .help = "Timeout of an ICMPv6 query (echo).",
	  FIELD(icmpv6.timeout) },
	{ .section = "generic", .key = "timeout", DUR, .def = "600",
	  SYSCTL("generic_timeout"),
	  .help = "Timeout of any other layer 4 protocol.",
	  FIELD(generic.timeout) },

	{ .section = "helper", .key = "ftp", .type = QT_CT_PORTS, .def = "",
	  .min = 1, .max = 65535,
	  .help = "TCP ports the FTP helper watches, separated by commas or "
		  "spaces (the nf_conntrack_ftp ports= parameter); empty turns "
		  "the helper off.",
	  FIELD(helper.ftp_ports) },
	{ .section = "helper", .key = "expect_max", .type = QT_CT_UINT,
	  .def = "4096", .min = 1, .max = 1000000, SYSCTL("expect_max"),
	  .help = "Most expectations (awaited RELATED connections) at once.",
	  FIELD(helper.expect_max) },
	{ .section = "helper", .key = "expect_timeout", DUR, .def = "300",
	  .help = "How long an expectation waits for its connection.",
	  FIELD(helper.expect_timeout) },
	{ .section = "helper", .key = "expect_per_master", .type = QT_CT_UINT,
	  .def = "1", .min = 1, .max = 255,
	  .help = "Expectations one connection may have at once (the FTP "
		  "helper's max_expected).",
	  FIELD(helper.expect_per_master) },

	{ .section = "control", .key = "socket", .type = QT_CT_STRING,
	  .def = QT_CONF_DEFAULT_SOCKET, .min = 2, .max = 107,
	  .flags = QT_CKF_ABSPATH | QT_CKF_RESTART,
	  .help = "Path of the control socket qtrackctl talks to.",
	  FIELD(control.socket) },
	{ .section = "control", .key = "group", .type = QT_CT_STRING,
	  .def = "", .min = 0, .max = 63,
	  .flags = QT_CKF_NAME | QT_CKF_RESTART,
	  .help = "Group allowed to use the control socket; empty means root "
		  "and the daemon's own user only.",
	  FIELD(control.group) },

	{ .section = "log", .key = "invalid", BOOL, .def = "no",
	  SYSCTL("log_invalid"),
	  .help = "Log every INVALID packet with its reason (rate-limited).",
	  FIELD(log.invalid) },
	{ .section = "log", .key = "syslog", BOOL, .def = "no",
	  .help = "Send messages to syslog instead of standard error (which "
		  "the journal reads under systemd).",
	  FIELD(log.syslog) },

	{ .section = "state", .key = "file", .type = QT_CT_STRING,
	  .def = QT_CONF_DEFAULT_STATE, .min = 2, .max = 255,
	  .flags = QT_CKF_ABSPATH,
	  .help = "Where qtrackd saves its table when it stops and restores "
		  "it from when it starts (docs/state-format.md).",
	  FIELD(state.file) },
	{ .section = "state", .key = "save_interval", .type = QT_CT_DURATION,
	  .def = "0", .min = 0, .max = DUR_MAX,
	  .help = "Also save the table this often while running, so that a "
		  "crash loses only newer connections; 0 saves only on stop.",
	  FIELD(state.save_interval) },

	{ .section = "sync", .key = "peer", .type = QT_CT_STRING, .def = "",
	  .min = 0, .max = 63, .flags = QT_CKF_RESTART,
	  .help = "IPv4 or IPv6 address of the other firewall of a pair, to "
		  "which the table is replicated; sync messages from any "
		  "other address, or from another port than port, are "
		  "refused.  Empty turns replication off.",
	  FIELD(sync.peer) },
	{ .section = "sync", .key = "local", .type = QT_CT_STRING, .def = "",
	  .min = 0, .max = 63, .flags = QT_CKF_RESTART,
	  .help = "Address the sync socket binds to (the dedicated sync "
		  "link's); empty binds to every address.",
	  FIELD(sync.local) },
	{ .section = "sync", .key = "port", .type = QT_CT_UINT, .def = "3781",
	  .min = 1, .max = 65535, .flags = QT_CKF_RESTART,
	  .help = "UDP port of the sync messages, the same on both nodes.",
	  FIELD(sync.port) },
	{ .section = "sync", .key = "key_file", .type = QT_CT_STRING,
	  .def = "", .min = 0, .max = 255,
	  .flags = QT_CKF_ABSPATH | QT_CKF_RESTART,
	  .help = "File holding the pre-shared key (16 to 64 bytes) that "
		  "authenticates every sync message; required with peer.",
	  FIELD(sync.key_file) },
	{ .section = "sync", .key = "role", .type = QT_CT_ENUM,
	  .def = "standby", .choices = "standby|active",
	  .flags = QT_CKF_RESTART,
	  .help = "Role at start: the active node sends its table, the "
		  "standby keeps a copy; keepalived's notify script changes "
		  "it (SIGUSR1 active, SIGUSR2 standby).",
	  FIELD(sync.role) },
	{ .section = "sync", .key = "refresh", DUR, .def = "10",
	  .flags = QT_CKF_RESTART,
	  .help = "The active node resends its whole table, paced, once in "
		  "this time, so that the standby's timers stay true.",
	  FIELD(sync.refresh) },
	{ .section = "bypass", .key = "enable", BOOL, .def = "no",
	  .flags = QT_CKF_RESTART,
	  .help = "Offload steady connections to an nftables table that "
		  "qtrackd owns, so their packets skip the queue.",
	  FIELD(bypass.enable) },
	{ .section = "bypass", .key = "timeout", DUR, .def = "300",
	  .flags = QT_CKF_RESTART,
	  .help = "Seconds an offloaded connection's nftables elements live "
		  "(at most half its own timeout); its next packet then "
		  "reaches qtrackd, which refreshes it and adds them again.",
	  FIELD(bypass.timeout) },
};

/* clang-format on */

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* The setters below rely on these layouts: a range is two adjacent
 * uint16_t, a port list is followed by its count. */
_Static_assert(offsetof(struct qt_conf, queue.num_last) ==
		   offsetof(struct qt_conf, queue.num_first) + sizeof(uint16_t),
	       "num_last must follow num_first");
_Static_assert(offsetof(struct qt_conf, helper.n_ftp_ports) ==
		   offsetof(struct qt_conf, helper.ftp_ports) +
		       sizeof(((struct qt_conf *)0)->helper.ftp_ports),
	       "n_ftp_ports must follow ftp_ports");
_Static_assert(sizeof(enum qt_queue_mode) == sizeof(uint32_t),
	       "enums are stored as uint32_t");

const struct qt_conf_key *qt_conf_keys(size_t *n)
{
	*n = N_KEYS;
	return conf_keys;
}

/* ---- storage by size ---------------------------------------------- */

static void *conf_field(struct qt_conf *c, const struct qt_conf_key *k)
{
	return (char *)c + k->offset;
}

static const void *conf_cfield(const struct qt_conf *c,
			       const struct qt_conf_key *k)
{
	return (const char *)c + k->offset;
}

static void conf_store_uint(void *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1:
		memcpy(p, &u8, 1);
		break;
	case 2:
		memcpy(p, &u16, 2);
		break;
	case 4:
		memcpy(p, &u32, 4);
		break;
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static uint64_t conf_load_uint(const void *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

/* ---- value syntax ---------------------------------------------------- */

/* Decimal or 0x hex, digits only: no sign, no blanks (inih has trimmed the
 * value).  Returns 0, -1 for bad syntax, -2 for overflow. */
static int conf_parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned int)(tolower((unsigned char)*s) - 'a' +
					   10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -2;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static const struct {
	char suffix;
	uint32_t seconds;
} conf_units[] = {
    {'d', 86400},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
};

/* Seconds, or decimal digits with one of s, m, h, d.  Returns 0, -1 for
 * bad syntax, -2 for overflow. */
static int conf_parse_duration(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t mult = 1, v = 0;
	size_t i;

	if (len && !isdigit((unsigned char)s[len - 1])) {
		for (i = 0; i < sizeof(conf_units) / sizeof(conf_units[0]); i++)
			if (s[len - 1] == conf_units[i].suffix)
				break;
		if (i == sizeof(conf_units) / sizeof(conf_units[0]))
			return -1;
		mult = conf_units[i].seconds;
		len--;
	}
	if (!len)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT64_MAX / mult)
		return -2;
	*out = v * mult;
	return 0;
}

/* The shortest exact form of a duration: 432000 -> "5d", 90 -> "90s". */
static void conf_duration_text(uint64_t v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(conf_units) / sizeof(conf_units[0]); i++) {
		if (v && v % conf_units[i].seconds == 0) {
			snprintf(buf, len, "%" PRIu64 "%c",
				 v / conf_units[i].seconds,
				 conf_units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "s", v);
}

static int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Index of @s among the "|"-separated @choices, or -1. */
static int conf_enum_index(const char *choices, const char *s)
{
	size_t n = strlen(s);
	int idx = 0;

	while (*choices) {
		size_t w = strcspn(choices, "|");

		if (w == n && !strncmp(choices, s, n))
			return idx;
		choices += w;
		if (*choices == '|')
			choices++;
		idx++;
	}
	return -1;
}

/* Word number @idx of @choices into @buf. */
static void conf_enum_name(const char *choices, uint64_t idx, char *buf,
			   size_t len)
{
	while (idx-- && *choices) {
		choices += strcspn(choices, "|");
		if (*choices == '|')
			choices++;
	}
	snprintf(buf, len, "%.*s", (int)strcspn(choices, "|"), choices);
}

static bool conf_name_ok(const char *s)
{
	if (*s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

/* ---- one key: set from text, check, print ----------------------------- */

static int conf_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int conf_range_why(const struct qt_conf_key *k, char *why, size_t len)
{
	char lo[24], hi[24];

	if (k->type == QT_CT_DURATION) {
		conf_duration_text(k->min, lo, sizeof(lo));
		conf_duration_text(k->max, hi, sizeof(hi));
	} else if (k->type == QT_CT_MARK) {
		snprintf(lo, sizeof(lo), "0x%" PRIx64, k->min);
		snprintf(hi, sizeof(hi), "0x%" PRIx64, k->max);
	} else {
		snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
		snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
	}
	return conf_why(why, len, "out of range (%s..%s)", lo, hi);
}

static int conf_set_ports(struct qt_conf *c, const struct qt_conf_key *k,
			  const char *val, char *why, size_t len)
{
	size_t nmax = k->size / sizeof(uint16_t);
	uint16_t ports[QT_CONF_MAX_PORTS];
	uint8_t n = 0;
	char word[32];

	while (*val) {
		size_t w = strcspn(val, ", \t");
		uint64_t port;
		uint8_t i;
		int r;

		if (!w) {
			val++;
			continue;
		}
		if (n == nmax)
			return conf_why(why, len,
					"too many ports (at most %zu)", nmax);
		snprintf(word, sizeof(word), "%.*s", (int)w, val);
		r = w < sizeof(word) ? conf_parse_u64(word, &port) : -1;
		if (r == -1)
			return conf_why(why, len, "'%s' is not a port number",
					word);
		if (r < 0 || port < k->min || port > k->max)
			return conf_why(
			    why, len, "port %s out of range (1..65535)", word);
		for (i = 0; i < n; i++)
			if (ports[i] == port)
				return conf_why(why, len, "duplicate port %s",
						word);
		ports[n++] = (uint16_t)port;
		val += w;
	}
	memset(conf_field(c, k), 0, k->size);
	memcpy(conf_field(c, k), ports, n * sizeof(uint16_t));
	memcpy((char *)conf_field(c, k) + k->size, &n, 1);
	return 0;
}

static int conf_set_range(struct qt_conf *c, const struct qt_conf_key *k,
			  const char *val, char *why, size_t len)
{
	char first[32];
	const char *dash = strchr(val, '-');
	uint64_t lo, hi;
	int r1, r2;

	if (strlen(val) >= sizeof(first))
		return conf_why(why, len,
				"out of range (%" PRIu64 "..%" PRIu64 ")",
				k->min, k->max);
	snprintf(first, sizeof(first), "%.*s",
		 (int)(dash ? (size_t)(dash - val) : strlen(val)), val);
	r1 = conf_parse_u64(first, &lo);
	r2 = dash ? conf_parse_u64(dash + 1, &hi) : r1;
	if (!dash)
		hi = lo;
	if (r1 == -1 || r2 == -1)
		return conf_why(why, len, "'%s' is not a number or range N-M",
				val);
	if (r1 < 0 || r2 < 0 || lo < k->min || hi > k->max || lo > k->max)
		return conf_range_why(k, why, len);
	if (hi < lo)
		return conf_why(why, len,
				"range end %" PRIu64
				" is below its start %" PRIu64,
				hi, lo);
	conf_store_uint(conf_field(c, k), 2, lo);
	conf_store_uint((char *)conf_field(c, k) + 2, 2, hi);
	return 0;
}

/* Syntax of a string value: length, absolute path, name characters. */
static int conf_check_string(const struct qt_conf_key *k, const char *val,
			     char *why, size_t len)
{
	size_t n = strnlen(val, k->size);

	if (n > k->max || n >= k->size)
		return conf_why(why, len,
				"too long (at most %" PRIu64 " bytes)", k->max);
	/* An optional path (min 0) may be empty. */
	if ((k->flags & QT_CKF_ABSPATH) && (val[0] != '/' || n < 2) &&
	    !(k->min == 0 && n == 0))
		return conf_why(why, len, "'%s' is not an absolute path", val);
	if ((k->flags & QT_CKF_NAME) && !conf_name_ok(val))
		return conf_why(why, len, "'%s' is not a valid name", val);
	return 0;
}

static int conf_set_string(struct qt_conf *c, const struct qt_conf_key *k,
			   const char *val, char *why, size_t len)
{
	if (conf_check_string(k, val, why, len) < 0)
		return -1;
	memset(conf_field(c, k), 0, k->size);
	memcpy(conf_field(c, k), val, strlen(val));
	return 0;
}

/*
 * conf_set - parse @val as the value of @k into @c.  Returns 0, or -1 with
 * the reason (no key name) in @why.
 */
static int conf_set(struct qt_conf *c, const struct qt_conf_key *k,
		    const char *val, char *why, size_t len)
{
	uint64_t v;
	bool b;
	int r, idx;

	switch (k->type) {
	case QT_CT_BOOL:
		if (conf_parse_bool(val, &b) < 0)
			return conf_why(why, len,
					"'%s' is not a boolean (yes/no, "
					"true/false, on/off, 1/0)",
					val);
		*(bool *)conf_field(c, k) = b;
		return 0;
	case QT_CT_UINT:
	case QT_CT_MARK:
		r = conf_parse_u64(val, &v);
		if (r == -1)
			return conf_why(why, len, "'%s' is not a number", val);
		if (r < 0 || v < k->min || v > k->max)
			return conf_range_why(k, why, len);
		conf_store_uint(conf_field(c, k), k->size, v);
		return 0;
	case QT_CT_DURATION:
		r = conf_parse_duration(val, &v);
		if (r == -1)
			return conf_why(why, len,
					"'%s' is not a duration (seconds, or "
					"a number with s, m, h or d)",
					val);
		if (r < 0 || v < k->min || v > k->max)
			return conf_range_why(k, why, len);
		conf_store_uint(conf_field(c, k), k->size, v);
		return 0;
	case QT_CT_ENUM:
		idx = conf_enum_index(k->choices, val);
		if (idx < 0) {
			char list[64];
			size_t i;

			snprintf(list, sizeof(list), "%s", k->choices);
			for (i = 0; list[i]; i++)
				if (list[i] == '|')
					list[i] = '/';
			return conf_why(why, len, "'%s' is not one of %s", val,
					list);
		}
		conf_store_uint(conf_field(c, k), k->size, (uint64_t)idx);
		return 0;
	case QT_CT_PORTS:
		return conf_set_ports(c, k, val, why, len);
	case QT_CT_RANGE:
		return conf_set_range(c, k, val, why, len);
	case QT_CT_STRING:
		return conf_set_string(c, k, val, why, len);
	}
	return conf_why(why, len, "unsupported key type");
}

/* The value of @k in @c as the config file would spell it. */
static void conf_value_text(const struct qt_conf *c,
			    const struct qt_conf_key *k, char *buf, size_t len)
{
	const void *p = conf_cfield(c, k);
	uint64_t v = 0, hi;
	size_t off = 0;
	uint8_t i, n;

	buf[0] = '\0';
	switch (k->type) {
	case QT_CT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case QT_CT_UINT:
		snprintf(buf, len, "%" PRIu64, conf_load_uint(p, k->size));
		break;
	case QT_CT_MARK:
		snprintf(buf, len, "0x%" PRIx64, conf_load_uint(p, k->size));
		break;
	case QT_CT_DURATION:
		/* Plain seconds: the unit the kernel's sysctls use, so the
		 * value compares one to one. */
		snprintf(buf, len, "%" PRIu64, conf_load_uint(p, k->size));
		break;
	case QT_CT_ENUM:
		conf_enum_name(k->choices, conf_load_uint(p, k->size), buf,
			       len);
		break;
	case QT_CT_RANGE:
		v = conf_load_uint(p, 2);
		hi = conf_load_uint((const char *)p + 2, 2);
		if (v == hi)
			snprintf(buf, len, "%" PRIu64, v);
		else
			snprintf(buf, len, "%" PRIu64 "-%" PRIu64, v, hi);
		break;
	case QT_CT_PORTS:
		memcpy(&n, (const char *)p + k->size, 1);
		for (i = 0; i < n && i < k->size / 2 && off < len; i++) {
			v = conf_load_uint((const char *)p + 2 * i, 2);
			off += (size_t)snprintf(buf + off, len - off,
						"%s%" PRIu64, i ? "," : "", v);
		}
		break;
	case QT_CT_STRING:
		snprintf(buf, len, "%.*s", (int)k->size, (const char *)p);
		break;
	}
}

/* Range and syntax checks of one key on a struct that may not come from
 * the parser. */
static int conf_check_key(const struct qt_conf *c, const struct qt_conf_key *k,
			  char *why, size_t len)
{
	const void *p = conf_cfield(c, k);
	uint64_t v;
	uint8_t i, n;

	switch (k->type) {
	case QT_CT_UINT:
	case QT_CT_MARK:
	case QT_CT_DURATION:
		v = conf_load_uint(p, k->size);
		if (v < k->min || v > k->max) {
			char text[24], range[64];

			conf_value_text(c, k, text, sizeof(text));
			conf_range_why(k, range, sizeof(range));
			return conf_why(why, len, "%s is %s", text, range);
		}
		return 0;
	case QT_CT_RANGE:
		if (conf_load_uint(p, 2) >
		    conf_load_uint((const char *)p + 2, 2))
			return conf_why(why, len,
					"range end is below its start");
		return 0;
	case QT_CT_PORTS:
		memcpy(&n, (const char *)p + k->size, 1);
		if (n > k->size / 2)
			return conf_why(why, len, "too many ports");
		for (i = 0; i < n; i++)
			if (!conf_load_uint((const char *)p + 2 * i, 2))
				return conf_why(why, len, "port 0");
		return 0;
	case QT_CT_STRING:
		if (!memchr(p, '\0', k->size))
			return conf_why(why, len, "not terminated");
		return conf_check_string(k, p, why, len);
	default:
		return 0;
	}
}

static const struct qt_conf_key *conf_key_find(const char *section,
					       const char *key)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(conf_keys[i].section, section) &&
		    !strcmp(conf_keys[i].key, key))
			return &conf_keys[i];
	return NULL;
}

static bool conf_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(conf_keys[i].section, section))
			return true;
	return false;
}

/* The kernel has no sysctl for SYN_SENT2 and uses the SYN_SENT timeout
 * (see nf_conntrack_proto_tcp.c), so neither do we. */
static void conf_derive(struct qt_conf *c)
{
	c->tcp.timeouts[QT_TCP_SYN_SENT2] = c->tcp.timeouts[QT_TCP_SYN_SENT];
}

void qt_conf_init(struct qt_conf *c)
{
	char why[128];
	size_t i;

	memset(c, 0, sizeof(*c));
	/* The defaults are checked by the unit tests to parse. */
	for (i = 0; i < N_KEYS; i++)
		conf_set(c, &conf_keys[i], conf_keys[i].def, why, sizeof(why));
	conf_derive(c);
}

/* ---- validation ----------------------------------------------------- */

static const char *const conf_state_keys[] = {
    "new", "established", "related", "invalid", "untracked",
};

/* An IPv4 or IPv6 address in text, or empty. */
static bool conf_addr_ok(const char *s)
{
	uint8_t buf[16];

	return !*s || inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* Replication needs a key, and addresses of one family. */
static int conf_sync_validate(const struct qt_conf *c, char *err,
			      size_t errlen)
{
	if (!conf_addr_ok(c->sync.peer))
		return conf_why(err, errlen,
				"[sync] peer: '%s' is not an IP address",
				c->sync.peer);
	if (!conf_addr_ok(c->sync.local))
		return conf_why(err, errlen,
				"[sync] local: '%s' is not an IP address",
				c->sync.local);
	if (!c->sync.peer[0])
		return 0;
	if (!c->sync.key_file[0])
		return conf_why(err, errlen,
				"[sync] key_file: required when peer is set");
	if (c->sync.local[0] &&
	    !strchr(c->sync.local, ':') != !strchr(c->sync.peer, ':'))
		return conf_why(err, errlen,
				"[sync] local: '%s' is not of the family of "
				"peer '%s'",
				c->sync.local, c->sync.peer);
	return 0;
}

int qt_conf_validate(const struct qt_conf *c, char *err, size_t errlen)
{
	const struct qt_conf_mark *m = &c->mark;
	char why[160];
	size_t i, j;

	for (i = 0; i < N_KEYS; i++)
		if (conf_check_key(c, &conf_keys[i], why, sizeof(why)) < 0)
			return conf_why(err, errlen, "[%s] %s: %s",
					conf_keys[i].section, conf_keys[i].key,
					why);

	if (!m->reply)
		return conf_why(err, errlen, "[mark] reply: must not be 0");
	if (m->reply & ~m->mask)
		return conf_why(err, errlen,
				"[mark] reply: 0x%x is outside mask 0x%x",
				m->reply, m->mask);
	for (i = 0; i < 5; i++) {
		const char *name = conf_state_keys[i];
		uint32_t code = m->state[i];

		if (!code)
			return conf_why(err, errlen, "[mark] %s: must not be 0",
					name);
		if (code & ~m->mask)
			return conf_why(err, errlen,
					"[mark] %s: 0x%x is outside mask 0x%x",
					name, code, m->mask);
		if (code & m->reply)
			return conf_why(err, errlen,
					"[mark] %s: 0x%x has bits of reply "
					"0x%x",
					name, code, m->reply);
		for (j = 0; j < i; j++)
			if (m->state[j] == code)
				return conf_why(err, errlen,
						"[mark] %s: 0x%x is also the "
						"code of %s",
						name, code, conf_state_keys[j]);
	}
	if (m->notrack & m->mask)
		return conf_why(err, errlen,
				"[mark] notrack: 0x%x overlaps mask 0x%x",
				m->notrack, m->mask);
	if (m->connmark & m->mask)
		return conf_why(err, errlen,
				"[mark] connmark: 0x%x overlaps mask 0x%x",
				m->connmark, m->mask);
	return conf_sync_validate(c, err, errlen);
}

/* ---- parsing ---------------------------------------------------------- */

struct conf_parse {
	struct qt_conf *c;
	const char *file;
	const char *text;
	size_t pos;
	int lineno;   /* line the reader returned last */
	int err_line; /* line of the first error we reported */
	char *err;
	size_t errlen;
};

/* An fgets() over the text that counts lines, so the handler knows the
 * line it is called for.  A line longer than inih's buffer would be split
 * and misnumbered, so it ends the parse with an error instead. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	const char *start = p->text + p->pos;
	const char *nl;
	size_t n;

	if (!*start || p->err_line)
		return NULL;
	nl = strchr(start, '\n');
	n = nl ? (size_t)(nl - start) + 1 : strlen(start);
	if (n > (size_t)num - 1) {
		p->err_line = p->lineno + 1;
		snprintf(p->err, p->errlen,
			 "%s:%d: line too long (at most %d bytes)", p->file,
			 p->err_line, num - 3);
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	p->pos += n;
	p->lineno++;
	return str;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parse *p = user;
	const struct qt_conf_key *k;
	char why[160];

	if (p->err_line)
		return 1; /* report the first error only */
	if (!*section) {
		snprintf(why, sizeof(why), "key outside any section");
	} else if (!conf_section_known(section)) {
		snprintf(why, sizeof(why), "unknown section");
	} else if (!(k = conf_key_find(section, name))) {
		snprintf(why, sizeof(why), "unknown key");
	} else if (conf_set(p->c, k, value, why, sizeof(why)) == 0) {
		return 1;
	}
	p->err_line = p->lineno;
	snprintf(p->err, p->errlen, "%s:%d: [%s] %s: %s", p->file, p->lineno,
		 section, name, why);
	return 0;
}

int qt_conf_parse(struct qt_conf *c, const char *text, const char *file,
		  char *err, size_t errlen)
{
	struct conf_parse p = {
	    .c = c,
	    .file = file,
	    .text = text,
	    .err = err,
	    .errlen = errlen,
	};
	char why[256];
	int r;

	if (errlen)
		err[0] = '\0';
	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (r == -2)
		return conf_why(err, errlen, "%s: out of memory", file);
	/* inih reports the first bad line, ours or a syntax error. */
	if (r > 0 && (!p.err_line || r < p.err_line))
		return conf_why(err, errlen,
				"%s:%d: syntax error (expected [section] or "
				"key = value)",
				file, r);
	if (p.err_line)
		return -1;
	conf_derive(c);
	if (qt_conf_validate(c, why, sizeof(why)) < 0)
		return conf_why(err, errlen, "%s: %s", file, why);
	return 0;
}

/* ---- printing ------------------------------------------------------- */

size_t qt_conf_format(const struct qt_conf *c, char *buf, size_t len)
{
	struct qt_strbuf o = {.buf = buf, .len = len};
	const char *section = NULL;
	char value[256];
	size_t i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < N_KEYS; i++) {
		const struct qt_conf_key *k = &conf_keys[i];

		if (!section || strcmp(section, k->section)) {
			qt_strbuf_printf(&o, "%s[%s]\n", section ? "\n" : "",
				 k->section);
			section = k->section;
		}
		conf_value_text(c, k, value, sizeof(value));
		qt_strbuf_printf(&o, "%s =%s%s\n", k->key, *value ? " " : "", value);
	}
	return o.n;
}

int qt_conf_check_reload(const struct qt_conf *cur, const struct qt_conf *next,
			 char *err, size_t errlen)
{
	char was[256], now[256];
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct qt_conf_key *k = &conf_keys[i];

		if (!(k->flags & QT_CKF_RESTART))
			continue;
		conf_value_text(cur, k, was, sizeof(was));
		conf_value_text(next, k, now, sizeof(now));
		if (!strcmp(was, now))
			continue;
		return conf_why(err, errlen,
				"[%s] %s: cannot change while running (was "
				"%s%s%s, now %s%s%s); restart qtrackd",
				k->section, k->key, *was ? "" : "\"", was,
				*was ? "" : "\"", *now ? "" : "\"", now,
				*now ? "" : "\"");
	}
	return 0;
}
