/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlreq.h - requests on the control socket (docs/control-protocol.md).
 *
 * A request is one line of at most QT_CTL_MAX_LINE bytes: a command word,
 * then optional format words and key=value filters separated by blanks:
 *
 *   list [json] [unconfirmed] [id] [family=F] [proto=P] [src=A] [dst=A]
 *        [sport=N] [dport=N]
 *        [state=S] [type=N] [code=N] [id=N] [ctid=N]
 *
 * The bare word "id" (list, delete, update) ends each text line with the
 * entry's id=N, as conntrack -o id; ctid=N selects the entry of that id.
 *   count [filters as list]
 *   stats [json|prometheus]
 *   events [json]
 *   flush
 *   delete proto=P src=A dst=A [sport=N dport=N | type=N code=N id=N]
 *   update (the tuple as delete) mark=V[/M]      (conntrack -U's new mark)
 *   expect [json]
 *   reload
 *   save                 (the reply is a state file, docs/state-format.md)
 *   sync-active | sync-standby | sync-resync   ([sync]: role, full table)
 *
 * The parser is pure so the daemon, qtrackctl (which builds its requests
 * with the same code), the unit tests and the fuzzer share it.
 */
#ifndef QTRACK_CTLREQ_H
#define QTRACK_CTLREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "tuple.h"

/* Longest request line, newline included. */
#define QT_CTL_MAX_LINE 1024

enum qt_ctl_cmd {
	QT_CTL_LIST = 0,
	QT_CTL_COUNT,
	QT_CTL_STATS,
	QT_CTL_EVENTS,
	QT_CTL_FLUSH,
	QT_CTL_DELETE,
	QT_CTL_EXPECT,
	QT_CTL_RELOAD,
	QT_CTL_SAVE,
	QT_CTL_SYNC_ACTIVE,	/* [sync]: this node sends its table */
	QT_CTL_SYNC_STANDBY,	/* [sync]: this node keeps the peer's */
	QT_CTL_SYNC_RESYNC,	/* [sync]: exchange the whole table now */
	QT_CTL_UPDATE,		/* set a connection's mark (conntrack -U) */
	QT_CTL_CMD_MAX
};

enum qt_ctl_fmt {
	QT_CTL_FMT_TEXT = 0,
	QT_CTL_FMT_JSON,
	QT_CTL_FMT_PROMETHEUS,
};

/* Bits of qt_ctl_filter.have: which filters were given. */
#define QT_CTLF_FAMILY 0x001 /* set by family=, src= or dst= */
#define QT_CTLF_PROTO 0x002
#define QT_CTLF_SRC 0x004
#define QT_CTLF_DST 0x008
#define QT_CTLF_SPORT 0x010
#define QT_CTLF_DPORT 0x020
#define QT_CTLF_STATE 0x040
#define QT_CTLF_TYPE 0x080
#define QT_CTLF_CODE 0x100
#define QT_CTLF_ID 0x200
#define QT_CTLF_FAMILY_KEY 0x400 /* family= itself was given */
#define QT_CTLF_UNCONFIRMED 0x800 /* the word "unconfirmed": list or count
				   * the entries waiting for confirmation */
#define QT_CTLF_MARK 0x1000	  /* update: mark=VALUE[/MASK] */
#define QT_CTLF_SHOW_ID 0x2000	  /* the word "id": print id=N */
#define QT_CTLF_CTID 0x4000	  /* ctid=N: the connection's id */

/* Filters on the original-direction tuple, as conntrack -L applies its
 * --src, --dst, --sport, ... options. */
struct qt_ctl_filter {
	uint32_t have;	   /* QT_CTLF_* */
	uint8_t family;	   /* AF_INET, AF_INET6 */
	uint8_t proto;	   /* IPPROTO_* */
	uint8_t tcp_state; /* enum qt_tcp_state, QT_TCP_STATE_MAX if the
			    * name is no TCP state */
	uint8_t sctp_state; /* enum qt_sctp_state, QT_SCTP_STATE_MAX if
			     * the name is no SCTP state */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t icmp_id;
	uint16_t sport;
	uint16_t dport;
	union qt_addr src;
	union qt_addr dst;
	uint32_t ctid;	    /* ctid=: struct qt_conn's id */
	uint32_t mark;	    /* update: the new mark is (old & ~mark_mask) ^ */
	uint32_t mark_mask; /* mark, as conntrack -U -m VALUE/MASK */
};

struct qt_ctlreq {
	enum qt_ctl_cmd cmd;
	enum qt_ctl_fmt fmt;
	struct qt_ctl_filter f;
};

/* The command's name ("list"), or NULL for an out-of-range value. */
const char *qt_ctl_cmd_name(enum qt_ctl_cmd cmd);

/* Start an empty request for @cmd: text format, no filters. */
void qt_ctlreq_init(struct qt_ctlreq *r, enum qt_ctl_cmd cmd);

/*
 * qt_ctlreq_set - apply one "key=value" word (or a format word: "json",
 * "prometheus", "text") to @r, checking that @r's command accepts it.
 * @word is @len bytes, not necessarily NUL-terminated.  Returns 0, or -1
 * with a reason in @err ("unknown key 'foo'", "bad port '70000'", ...).
 */
int qt_ctlreq_set(struct qt_ctlreq *r, const char *word, size_t len, char *err,
		  size_t errlen);

/*
 * qt_ctlreq_check - cross-filter checks once every word is in: ports need a
 * protocol that has ports, state needs TCP, addresses of one family,
 * delete names a whole tuple.  Returns 0, or -1 with a reason in @err.
 */
int qt_ctlreq_check(const struct qt_ctlreq *r, char *err, size_t errlen);

/*
 * qt_ctlreq_parse - parse one request line of @len bytes (without the
 * newline; a trailing "\r" is accepted) into @r.  Returns 0, or -1 with a
 * reason in @err; @r is then unspecified.  Never reads beyond @len.
 */
int qt_ctlreq_parse(struct qt_ctlreq *r, const char *line, size_t len,
		    char *err, size_t errlen);

/* Write @r as a request line, without the newline, into @buf; returns the
 * length needed, like snprintf.  qt_ctlreq_parse() reads it back to an
 * equal request. */
size_t qt_ctlreq_format(const struct qt_ctlreq *r, char *buf, size_t len);

/* Whether @ct's original tuple (and TCP state) passes every filter. */
bool qt_ctlreq_match(const struct qt_ctl_filter *f, const struct qt_conn *ct);

/* The original-direction tuple a delete request names (requires a request
 * that passed qt_ctlreq_check()). */
void qt_ctlreq_tuple(const struct qt_ctl_filter *f, struct qt_tuple *t);

/* Whether @proto's tuple carries ports (TCP, UDP, UDP-Lite, SCTP, DCCP). */
bool qt_ctl_proto_has_ports(uint8_t proto);

#endif
