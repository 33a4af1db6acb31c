/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conf.h - the configuration model shared by qtrackd, qtrack-replay and
 * qtrackctl.
 *
 * One declarative key table in conf.c (section, key, type, default, range,
 * help) drives parsing, validation, printing and the documentation.  The
 * library never opens files: callers read the file and hand its text to
 * qt_conf_parse() together with the file name used in error messages.
 *
 * Durations are stored in seconds.  Key names mirror the kernel's sysctls:
 * nf_conntrack_tcp_timeout_established is [tcp] timeout_established, and so
 * on.
 */
#ifndef QTRACK_CONF_H
#define QTRACK_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_CONF_DEFAULT_PATH "/etc/qtrack/qtrackd.conf"
#define QT_CONF_DEFAULT_SOCKET "/run/qtrackd/qtrackd.sock"
#define QT_CONF_DEFAULT_STATE "/var/lib/qtrack/state"
#define QT_CONF_MAX_PORTS 16

/* TCP connection tracking states, numbered as the kernel numbers
 * enum tcp_conntrack (TCP_CONNTRACK_NONE ... TCP_CONNTRACK_SYN_SENT2). */
enum qt_tcp_state {
	QT_TCP_NONE = 0,
	QT_TCP_SYN_SENT,
	QT_TCP_SYN_RECV,
	QT_TCP_ESTABLISHED,
	QT_TCP_FIN_WAIT,
	QT_TCP_CLOSE_WAIT,
	QT_TCP_LAST_ACK,
	QT_TCP_TIME_WAIT,
	QT_TCP_CLOSE,
	QT_TCP_SYN_SENT2,
	QT_TCP_STATE_MAX,
	/* timeouts that are not states, as in the kernel */
	QT_TCP_TIMEOUT_RETRANS = QT_TCP_STATE_MAX,
	QT_TCP_TIMEOUT_UNACK,
	QT_TCP_TIMEOUT_MAX
};

/* SCTP connection tracking states, numbered as the kernel numbers
 * enum sctp_conntrack (SCTP_CONNTRACK_NONE ... HEARTBEAT_SENT). */
enum qt_sctp_state {
	QT_SCTP_NONE = 0,
	QT_SCTP_CLOSED,
	QT_SCTP_COOKIE_WAIT,
	QT_SCTP_COOKIE_ECHOED,
	QT_SCTP_ESTABLISHED,
	QT_SCTP_SHUTDOWN_SENT,
	QT_SCTP_SHUTDOWN_RECD,
	QT_SCTP_SHUTDOWN_ACK_SENT,
	QT_SCTP_HEARTBEAT_SENT,
	QT_SCTP_STATE_MAX
};

enum qt_queue_mode {
	QT_MODE_ACCEPT = 0,	/* NF_ACCEPT with the mark */
	QT_MODE_REPEAT,		/* NF_REPEAT with the mark */
};

/* [table] confirm: when new connections wait for the confirm rule. */
enum qt_confirm_mode {
	QT_CONFIRM_AUTO = 0,	/* once a family's confirm packet is seen */
	QT_CONFIRM_YES,		/* always: the rule set has confirm rules */
	QT_CONFIRM_NO,		/* never: kept with their first packet */
};

/* Indexes of the state codes in qt_conf_mark.state[]; equal to enum
 * qt_ct_state in qtrack.h. */
struct qt_conf_mark {
	uint32_t mask;		/* bits the daemon owns */
	uint32_t state[5];	/* new, established, related, invalid, untracked */
	uint32_t reply;		/* set on reply-direction packets */
	uint32_t notrack;	/* input bits that mean "do not track" */
	uint32_t connmark;	/* bits saved on / restored from the conn */
};

struct qt_conf {
	struct {
		uint16_t num_first;	/* "num = 3" or "num = 0-1" */
		uint16_t num_last;
		enum qt_queue_mode mode;
		uint32_t copy_range;	/* bytes of each packet copied */
		uint32_t maxlen;	/* kernel queue length */
		bool fail_open;
		uint32_t rcvbuf;	/* socket receive buffer, bytes */
	} queue;
	struct qt_conf_mark mark;
	struct {
		uint32_t max;		/* nf_conntrack_max */
		uint32_t buckets;	/* nf_conntrack_buckets */
		bool accounting;	/* nf_conntrack_acct */
		bool checksum;		/* nf_conntrack_checksum */
		enum qt_confirm_mode confirm;
		uint32_t confirm_timeout; /* seconds an entry may wait for
					   * its confirmation */
	} table;
	struct {
		uint32_t timeouts[QT_TCP_TIMEOUT_MAX];	/* seconds */
		bool loose;		/* nf_conntrack_tcp_loose */
		bool be_liberal;	/* nf_conntrack_tcp_be_liberal */
		bool ignore_invalid_rst;/* nf_conntrack_tcp_ignore_invalid_rst */
		uint32_t max_retrans;	/* nf_conntrack_tcp_max_retrans */
	} tcp;
	struct {
		uint32_t timeout;	/* nf_conntrack_udp_timeout */
		uint32_t timeout_stream;/* nf_conntrack_udp_timeout_stream */
	} udp;
	struct {
		/* nf_conntrack_sctp_timeout_*, by state; [QT_SCTP_NONE]
		 * is unused */
		uint32_t timeouts[QT_SCTP_STATE_MAX];
	} sctp;
	struct {
		uint32_t timeout;	/* nf_conntrack_gre_timeout */
		uint32_t timeout_stream;/* nf_conntrack_gre_timeout_stream */
	} gre;
	struct {
		uint32_t timeout;
	} icmp, icmpv6, generic;
	struct {
		uint16_t ftp_ports[QT_CONF_MAX_PORTS];
		uint8_t n_ftp_ports;	/* 0: FTP helper off */
		uint32_t expect_max;	/* nf_conntrack_expect_max */
		uint32_t expect_timeout;/* seconds an expectation lives */
		uint32_t expect_per_master;
	} helper;
	struct {
		char socket[108];
		char group[64];		/* empty: root and our own user only */
	} control;
	struct {
		bool invalid;		/* log every INVALID packet (rate-limited) */
		bool syslog;		/* syslog instead of stderr */
	} log;
	struct {
		char file[256];		/* the table across restarts */
		uint32_t save_interval;	/* seconds between snapshots, 0 off */
	} state;
	struct {
		char local[64];		/* address to bind, "" any */
		uint32_t port;		/* UDP port, both ends */
		char peer[64];		/* the other firewall, "" sync off */
		char key_file[256];	/* pre-shared key */
		uint32_t role;		/* enum qt_sync_role at start */
		uint32_t refresh;	/* seconds to resend the whole table */
	} sync;
	struct {
		bool enable;		/* offload steady flows to nftables */
		uint32_t timeout;	/* seconds an idle element lives */
	} bypass;
};

/* [sync] role: the active node sends its table, the standby applies it. */
enum qt_sync_role {
	QT_SYNC_STANDBY = 0,
	QT_SYNC_ACTIVE,
};

enum qt_conf_type {
	QT_CT_BOOL,
	QT_CT_UINT,		/* decimal or 0x hex */
	QT_CT_DURATION,		/* seconds, or with s/m/h/d suffix */
	QT_CT_MARK,		/* 32-bit value, usually hex */
	QT_CT_STRING,
	QT_CT_ENUM,
	QT_CT_PORTS,		/* comma-separated port list, may be empty */
	QT_CT_RANGE,		/* N or N-M */
};

/* One entry of the declarative key table, exported for documentation
 * generators and `qtrackd -n -v`. */
struct qt_conf_key {
	const char *section;
	const char *key;
	enum qt_conf_type type;
	const char *def;	/* default, as text */
	uint64_t min, max;	/* range for numeric types; length of strings */
	const char *help;	/* one sentence */
	const char *sysctl;	/* kernel equivalent (net.netfilter.*), or NULL */
	const char *choices;	/* QT_CT_ENUM: values, "|"-separated */
	unsigned int flags;	/* QT_CKF_* */
	size_t offset;		/* where the value lives in struct qt_conf */
	size_t size;		/* sizeof that field (string buffer size) */
};

/* qt_conf_key.flags */
#define QT_CKF_ABSPATH	0x1	/* QT_CT_STRING: an absolute path */
#define QT_CKF_NAME	0x2	/* QT_CT_STRING: a user or group name */
#define QT_CKF_RESTART	0x4	/* cannot change on reload */

/* The key table; *n receives its length. */
const struct qt_conf_key *qt_conf_keys(size_t *n);

/* Fill @c with every default. */
void qt_conf_init(struct qt_conf *c);

/*
 * qt_conf_parse - parse INI text on top of the current contents of @c.
 * @file names the source in messages.  On error returns -1 and writes
 * "FILE:LINE: [section] key: reason" into @err; @c is then unspecified, so
 * callers parse into a scratch copy and swap on success.  The result is
 * validated (qt_conf_validate) before 0 is returned.
 */
int qt_conf_parse(struct qt_conf *c, const char *text, const char *file,
		  char *err, size_t errlen);

/* Cross-key checks (state codes inside the mask and distinct, reply bit
 * inside the mask and disjoint from codes, buckets <= max, ...).  Returns 0
 * or -1 with a message naming the key. */
int qt_conf_validate(const struct qt_conf *c, char *err, size_t errlen);

/* Write the normalised configuration (every key, sections in table order)
 * into @buf; returns the length it needed, like snprintf. */
size_t qt_conf_format(const struct qt_conf *c, char *buf, size_t len);

/* Whether @next can replace @cur in a running daemon; 0 if so, else -1
 * and a message naming the key that cannot change live. */
int qt_conf_check_reload(const struct qt_conf *cur, const struct qt_conf *next,
			 char *err, size_t errlen);

#endif
