// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto_sctp.c - SCTP, as the kernel's nf_conntrack_proto_sctp.c tracks it.
 *
 * The tuple holds the ports.  The state follows the chunks a packet
 * carries, one transition per chunk, through the table below; the
 * verification tag of each direction is learnt from INIT and INIT_ACK (or,
 * for an association picked up in the middle, from HEARTBEAT and
 * HEARTBEAT_ACK) and checked on every packet whose chunks do not carry a
 * tag of their own (RFC 9260 section 8.5).  An association is ASSURED when
 * it reaches ESTABLISHED.  The CRC32c is verified with the other checksums
 * (lib/checksum.c), before the tracker sees the packet.
 *
 * The chunks are walked inside the capture: with a copy_range shorter
 * than the packet, chunks past its end are not seen (the kernel sees the
 * whole packet).  A header-only copy must therefore hold the chunk headers;
 * the shipped configuration copies whole packets.
 */
#include "proto.h"

/* Chunk types (RFC 9260 section 3.2). */
#define CID_DATA		0
#define CID_INIT		1
#define CID_INIT_ACK		2
#define CID_HEARTBEAT		4
#define CID_HEARTBEAT_ACK	5
#define CID_ABORT		6
#define CID_SHUTDOWN		7
#define CID_SHUTDOWN_ACK	8
#define CID_ERROR		9
#define CID_COOKIE_ECHO		10
#define CID_COOKIE_ACK		11
#define CID_SHUTDOWN_COMPLETE	14

/* The T bit of ABORT and SHUTDOWN_COMPLETE: the packet carries the
 * receiver's tag of the sender's peer (it reflects a tag it was sent). */
#define CHUNK_FLAG_T		0x01

#define SCTP_HDR_LEN		12
#define CHUNK_HDR_LEN		4
#define INIT_HDR_LEN		16	/* tag, a_rwnd, streams, TSN */

#define sNO QT_SCTP_NONE
#define sCL QT_SCTP_CLOSED
#define sCW QT_SCTP_COOKIE_WAIT
#define sCE QT_SCTP_COOKIE_ECHOED
#define sES QT_SCTP_ESTABLISHED
#define sSS QT_SCTP_SHUTDOWN_SENT
#define sSR QT_SCTP_SHUTDOWN_RECD
#define sSA QT_SCTP_SHUTDOWN_ACK_SENT
#define sHS QT_SCTP_HEARTBEAT_SENT
#define sIV QT_SCTP_STATE_MAX	/* the chunk is invalid here */

/* The rows of the transition table: the chunks that move the state.  Any
 * other chunk (DATA, SACK, ...) leaves it as it is. */
enum sctp_row {
	R_INIT,
	R_INIT_ACK,
	R_ABORT,
	R_SHUTDOWN,
	R_SHUTDOWN_ACK,
	R_ERROR,
	R_COOKIE_ECHO,
	R_COOKIE_ACK,
	R_SHUTDOWN_COMPLETE,
	R_HEARTBEAT,
	R_HEARTBEAT_ACK,
	R_MAX,
};

/* The row of each chunk type, plus one: 0 for a chunk without a row. */
static const uint8_t sctp_row_of[256] = {
	[CID_INIT] = R_INIT + 1,
	[CID_INIT_ACK] = R_INIT_ACK + 1,
	[CID_ABORT] = R_ABORT + 1,
	[CID_SHUTDOWN] = R_SHUTDOWN + 1,
	[CID_SHUTDOWN_ACK] = R_SHUTDOWN_ACK + 1,
	[CID_ERROR] = R_ERROR + 1,
	[CID_COOKIE_ECHO] = R_COOKIE_ECHO + 1,
	[CID_COOKIE_ACK] = R_COOKIE_ACK + 1,
	[CID_SHUTDOWN_COMPLETE] = R_SHUTDOWN_COMPLETE + 1,
	[CID_HEARTBEAT] = R_HEARTBEAT + 1,
	[CID_HEARTBEAT_ACK] = R_HEARTBEAT_ACK + 1,
};

/*
 * The kernel's transition table: next state by direction, chunk and
 * current state.  These are states of the association as a middlebox sees
 * it, not of either endpoint: COOKIE_WAIT means an INIT (and maybe its
 * INIT_ACK) went by, SHUTDOWN_SENT a SHUTDOWN from the original side,
 * SHUTDOWN_RECD one from the reply side.  In NONE only the original
 * direction exists (the packet that creates the entry).
 */
static const uint8_t sctp_next[2][R_MAX][QT_SCTP_STATE_MAX] = {
	[QT_DIR_ORIG] = {
		/* columns:	  sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS */
		/* An INIT opens the association (CLOSED until answered)
		 * and restarts one being shut down; a retransmitted one
		 * changes nothing, and after a heartbeat-only pickup it
		 * starts the handshake. */
		[R_INIT] =
			{ sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW },
		/* An INIT_ACK from the side that sent no INIT answers
		 * nothing: CLOSED from NONE and after a heartbeat pickup. */
		[R_INIT_ACK] =
			{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		/* An ABORT ends the association in every state. */
		[R_ABORT] =
			{ sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* The original side starts the shutdown of an established
		 * association. */
		[R_SHUTDOWN] =
			{ sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL },
		/* Its SHUTDOWN_ACK answers the reply side's SHUTDOWN (or
		 * is an out-of-the-blue one, to which a SHUTDOWN_COMPLETE
		 * is the answer). */
		[R_SHUTDOWN_ACK] =
			{ sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA },
		/* An ERROR from the original side changes nothing (it
		 * cannot report a stale cookie: it sends the cookie). */
		[R_ERROR] =
			{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		/* The COOKIE_ECHO of the handshake. */
		[R_COOKIE_ECHO] =
			{ sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL },
		/* A COOKIE_ACK belongs to the reply side; from the original
		 * one it still completes a COOKIE_ECHOED association (an
		 * INIT collision turns the roles round). */
		[R_COOKIE_ACK] =
			{ sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL },
		/* SHUTDOWN_COMPLETE closes once SHUTDOWN_ACK went by. */
		[R_SHUTDOWN_COMPLETE] =
			{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL },
		/* A HEARTBEAT first seen opens a heartbeat-only entry (a
		 * secondary path of a multi-homed association). */
		[R_HEARTBEAT] =
			{ sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		/* A HEARTBEAT_ACK from the original side answers nothing
		 * in a heartbeat-only entry. */
		[R_HEARTBEAT_ACK] =
			{ sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
	},
	[QT_DIR_REPLY] = {
		/* columns:	  sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS */
		/* An INIT from the reply side (a collision) changes no
		 * state; it only records its tag (below). */
		[R_INIT] =
			{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		/* The INIT_ACK of the handshake: COOKIE_WAIT. */
		[R_INIT_ACK] =
			{ sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		/* An ABORT ends the association in every state. */
		[R_ABORT] =
			{ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV },
		/* The reply side starts the shutdown: SHUTDOWN_RECD. */
		[R_SHUTDOWN] =
			{ sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV },
		/* Its SHUTDOWN_ACK answers the original side's SHUTDOWN. */
		[R_SHUTDOWN_ACK] =
			{ sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV },
		/* An ERROR answering a COOKIE_ECHO (a stale cookie) closes
		 * the handshake. */
		[R_ERROR] =
			{ sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV },
		/* A COOKIE_ECHO from the reply side changes nothing. */
		[R_COOKIE_ECHO] =
			{ sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV },
		/* The COOKIE_ACK of the handshake: ESTABLISHED. */
		[R_COOKIE_ACK] =
			{ sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV },
		/* SHUTDOWN_COMPLETE closes once SHUTDOWN_ACK went by. */
		[R_SHUTDOWN_COMPLETE] =
			{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV },
		/* A HEARTBEAT from the reply side keeps the state. */
		[R_HEARTBEAT] =
			{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		/* A HEARTBEAT_ACK answering a heartbeat-only entry makes it
		 * an ESTABLISHED (and ASSURED) path. */
		[R_HEARTBEAT_ACK] =
			{ sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES },
	},
};

static const char *const sctp_state_names[QT_SCTP_STATE_MAX] = {
	[QT_SCTP_NONE] = "NONE",
	[QT_SCTP_CLOSED] = "CLOSED",
	[QT_SCTP_COOKIE_WAIT] = "COOKIE_WAIT",
	[QT_SCTP_COOKIE_ECHOED] = "COOKIE_ECHOED",
	[QT_SCTP_ESTABLISHED] = "ESTABLISHED",
	[QT_SCTP_SHUTDOWN_SENT] = "SHUTDOWN_SENT",
	[QT_SCTP_SHUTDOWN_RECD] = "SHUTDOWN_RECD",
	[QT_SCTP_SHUTDOWN_ACK_SENT] = "SHUTDOWN_ACK_SENT",
	[QT_SCTP_HEARTBEAT_SENT] = "HEARTBEAT_SENT",
};

/* The chunk types one packet carries, one bit each. */
struct sctp_map {
	uint64_t w[4];
};

static inline void map_set(struct sctp_map *m, uint8_t type)
{
	m->w[type >> 6] |= UINT64_C(1) << (type & 63);
}

static inline bool map_has(const struct sctp_map *m, uint8_t type)
{
	return m->w[type >> 6] >> (type & 63) & 1;
}

/* A walk over the chunks of one packet, in the packet and the capture. */
struct sctp_walk {
	const uint8_t *l4;	/* the common header */
	uint32_t end;		/* offset from l4 where the chunks end */
	uint32_t off;		/* offset from l4 of the current chunk */
};

static void walk_start(struct sctp_walk *w, const struct qt_pkt *pkt)
{
	uint32_t cap = pkt->payload_off + pkt->payload_caplen;

	w->l4 = pkt->data + pkt->l4_off;
	w->end = cap - pkt->l4_off;
	if (w->end > pkt->l4_len)
		w->end = pkt->l4_len;
	w->off = SCTP_HDR_LEN;
}

/* The chunk at the walk's position, or NULL at the end: as the kernel's
 * for_each_sctp_chunk(), a chunk header that does not fit ends the walk. */
static const uint8_t *walk_chunk(const struct sctp_walk *w)
{
	if (w->off >= w->end || w->end - w->off < CHUNK_HDR_LEN)
		return NULL;
	return w->l4 + w->off;
}

/* Chunks are padded to four bytes; the length field excludes the pad. */
static void walk_next(struct sctp_walk *w, const uint8_t *ch)
{
	w->off += (qt_load_be16(ch + 2) + 3u) & ~3u;
}

/* The initiate tag of the INIT or INIT_ACK chunk @ch, if its fixed part
 * is there. */
static bool walk_init_tag(const struct sctp_walk *w, const uint8_t *ch,
			  uint32_t *tag)
{
	if (w->end - w->off < CHUNK_HDR_LEN + INIT_HDR_LEN)
		return false;
	*tag = qt_load_be32(ch + CHUNK_HDR_LEN);
	return true;
}

/*
 * sctp_basic_checks - the kernel's do_basic_checks(): the packet has at
 * least one chunk, none of length zero, COOKIE_ECHO and COOKIE_ACK only
 * first, and INIT, INIT_ACK and SHUTDOWN_COMPLETE only alone.  Fills @map.
 */
static bool sctp_basic_checks(const struct qt_pkt *pkt, struct sctp_map *map)
{
	struct sctp_walk w;
	const uint8_t *ch;
	unsigned int count = 0;
	bool alone = false;

	*map = (struct sctp_map){ { 0 } };
	walk_start(&w, pkt);
	for (; (ch = walk_chunk(&w)); walk_next(&w, ch), count++) {
		if (ch[0] == CID_INIT || ch[0] == CID_INIT_ACK ||
		    ch[0] == CID_SHUTDOWN_COMPLETE)
			alone = true;
		if (((ch[0] == CID_COOKIE_ACK || ch[0] == CID_COOKIE_ECHO ||
		      alone) && count != 0) ||
		    qt_load_be16(ch + 2) == 0)
			return false;
		map_set(map, ch[0]);
	}
	return count != 0;
}

static inline uint8_t sctp_next_state(enum qt_dir dir, uint8_t cur,
				      uint8_t type)
{
	uint8_t row = sctp_row_of[type];

	return row ? sctp_next[dir][row - 1][cur] : cur;
}

static inline uint8_t init_bit(enum qt_dir dir)
{
	return dir == QT_DIR_ORIG ? QT_SCTPF_INIT_ORIG : QT_SCTPF_INIT_REPLY;
}

/*
 * The packet that creates the entry.  Out-of-the-blue packets with ABORT,
 * SHUTDOWN_COMPLETE or COOKIE_ACK are answered by no one and open
 * nothing (RFC 9260 section 8.4); every chunk must have a transition from
 * NONE, so DATA, SACK and the like cannot start an association.  The tags
 * to expect are taken as the kernel's sctp_new() takes them: the INIT's
 * initiate tag is what the reply side will send; a HEARTBEAT's own tag is
 * what its sender sends; any other packet's tag (an out-of-the-blue
 * SHUTDOWN_ACK, an ERROR) is what the answer will carry.
 */
static enum qt_reason sctp_new(struct qt_conn *ct, const struct qt_pkt *pkt,
			       const struct qt_proto_ctx *ctx)
{
	struct qt_sctp_conn *sc = &ct->proto.sctp;
	uint32_t vtag = qt_load_be32(pkt->data + pkt->l4_off + 4);
	struct sctp_map map;
	struct sctp_walk w;
	const uint8_t *ch;

	memset(sc, 0, sizeof(*sc));
	if (!sctp_basic_checks(pkt, &map))
		return QT_R_SCTP_CHUNK;
	if (map_has(&map, CID_ABORT) || map_has(&map, CID_SHUTDOWN_COMPLETE) ||
	    map_has(&map, CID_COOKIE_ACK))
		return QT_R_SCTP_NEW;

	walk_start(&w, pkt);
	for (; (ch = walk_chunk(&w)); walk_next(&w, ch)) {
		uint8_t next = sctp_next_state(QT_DIR_ORIG, QT_SCTP_NONE, ch[0]);
		uint32_t tag;

		if (next == QT_SCTP_NONE || next == QT_SCTP_STATE_MAX)
			return QT_R_SCTP_NEW;
		if (ch[0] == CID_INIT) {
			/* Section 8.5.1 (A): an INIT carries tag 0. */
			if (vtag != 0)
				return QT_R_SCTP_VTAG;
			if (!walk_init_tag(&w, ch, &tag))
				return QT_R_SCTP_CHUNK;
			sc->vtag[QT_DIR_REPLY] = tag;
		} else if (ch[0] == CID_HEARTBEAT) {
			sc->vtag[QT_DIR_ORIG] = vtag;
		} else {
			sc->vtag[QT_DIR_REPLY] = vtag;
		}
	}
	sc->state = QT_SCTP_NONE;
	sc->flags = QT_SCTPF_FRESH;
	return QT_R_NONE;
}

/*
 * sctp_hb_tag - a HEARTBEAT or HEARTBEAT_ACK's tag.  The first one in a
 * direction without a tag teaches it.  A different tag may mean that one
 * end restarted on this path: a HEARTBEAT with it is let through without
 * a refresh, and a HEARTBEAT_ACK with a new tag from the other side then
 * confirms the restart, so both tags are learnt afresh.  Returns QT_V_ACCEPT
 * to go on with the chunk, QT_V_IGNORE to let the packet pass without
 * tracking this chunk, QT_V_INVALID.
 */
static enum qt_verdict sctp_hb_tag(struct qt_sctp_conn *sc, uint8_t type,
				   uint32_t vtag, enum qt_dir dir,
				   const struct sctp_map *map, bool ignore)
{
	uint8_t last = dir == QT_DIR_REPLY ? QT_SCTPF_LAST_REPLY : 0;

	if (sc->vtag[dir] == 0) {
		sc->vtag[dir] = vtag;
		return QT_V_ACCEPT;
	}
	if (vtag == sc->vtag[dir]) {
		sc->flags &= ~QT_SCTPF_HB_VTAG_FAILED;
		return QT_V_ACCEPT;
	}
	if (map_has(map, CID_DATA) || ignore)
		return QT_V_INVALID;
	if (type == CID_HEARTBEAT) {
		sc->flags |= QT_SCTPF_HB_VTAG_FAILED;
		sc->flags = (sc->flags & ~QT_SCTPF_LAST_REPLY) | last;
		return QT_V_IGNORE;
	}
	/* A HEARTBEAT_ACK: only as the answer to such a HEARTBEAT. */
	if (!(sc->flags & QT_SCTPF_HB_VTAG_FAILED) ||
	    (sc->flags & QT_SCTPF_LAST_REPLY) == last)
		return QT_V_INVALID;
	sc->flags &= ~QT_SCTPF_HB_VTAG_FAILED;
	sc->vtag[dir] = vtag;
	sc->vtag[!dir] = 0;
	return QT_V_ACCEPT;
}

/* Section 8.5.1 (B), (C): ABORT and SHUTDOWN_COMPLETE carry the sender's
 * own tag, or with the T bit the one it was sent. */
static bool sctp_tag_reflected_ok(const struct qt_sctp_conn *sc,
				  const uint8_t *ch, uint32_t vtag,
				  enum qt_dir dir)
{
	return vtag == sc->vtag[ch[1] & CHUNK_FLAG_T ? !dir : dir];
}

static enum qt_verdict sctp_packet(struct qt_conn *ct, const struct qt_pkt *pkt,
				   enum qt_dir dir,
				   const struct qt_proto_ctx *ctx,
				   uint32_t *timeout, enum qt_reason *why)
{
	struct qt_sctp_conn *sc = &ct->proto.sctp;
	uint32_t vtag = qt_load_be32(pkt->data + pkt->l4_off + 4);
	bool fresh = sc->flags & QT_SCTPF_FRESH;
	uint8_t old_state, new_state = QT_SCTP_NONE;
	bool ignore = false;
	struct sctp_map map;
	struct sctp_walk w;
	const uint8_t *ch;

	sc->flags &= ~QT_SCTPF_FRESH;
	*why = QT_R_SCTP_CHUNK;
	if (!sctp_basic_checks(pkt, &map))
		return QT_V_INVALID;

	/* Section 8.5: a packet whose chunks have no tag rules of their own
	 * carries the tag its receiver chose. */
	*why = QT_R_SCTP_VTAG;
	if (!map_has(&map, CID_INIT) &&
	    !map_has(&map, CID_SHUTDOWN_COMPLETE) &&
	    !map_has(&map, CID_COOKIE_ECHO) && !map_has(&map, CID_ABORT) &&
	    !map_has(&map, CID_SHUTDOWN_ACK) &&
	    !map_has(&map, CID_HEARTBEAT) &&
	    !map_has(&map, CID_HEARTBEAT_ACK) && vtag != sc->vtag[dir])
		return QT_V_INVALID;

	walk_start(&w, pkt);
	for (; (ch = walk_chunk(&w)); walk_next(&w, ch)) {
		uint32_t tag;

		*why = QT_R_SCTP_VTAG;
		switch (ch[0]) {
		case CID_INIT:
			/* (A): an INIT carries tag 0. */
			if (vtag != 0)
				return QT_V_INVALID;
			break;
		case CID_ABORT:
		case CID_SHUTDOWN_COMPLETE:
			if (!sctp_tag_reflected_ok(sc, ch, vtag, dir))
				return QT_V_INVALID;
			break;
		case CID_COOKIE_ECHO:
			/* (D): the tag the INIT_ACK chose. */
			if (vtag != sc->vtag[dir])
				return QT_V_INVALID;
			break;
		case CID_COOKIE_ACK:
			/* The handshake is over: INITs seen so far no
			 * longer make a collision. */
			sc->flags &= ~(QT_SCTPF_INIT_ORIG | QT_SCTPF_INIT_REPLY);
			break;
		case CID_HEARTBEAT:
		case CID_HEARTBEAT_ACK:
			switch (sctp_hb_tag(sc, ch[0], vtag, dir, &map,
					    ignore)) {
			case QT_V_INVALID:
				return QT_V_INVALID;
			case QT_V_IGNORE:
				ignore = true;
				continue;
			default:
				break;
			}
			break;
		}

		old_state = sc->state;
		new_state = sctp_next_state(dir, old_state, ch[0]);
		if (new_state == QT_SCTP_STATE_MAX) {
			*why = QT_R_SCTP_STATE;
			return QT_V_INVALID;
		}

		*why = QT_R_SCTP_CHUNK;
		if (ch[0] == CID_INIT) {
			if (!walk_init_tag(&w, ch, &tag))
				return QT_V_INVALID;
			/* INITs from both sides: the later one is the one
			 * the INIT_ACK must answer. */
			if ((sc->flags & init_bit(dir)) &&
			    (sc->flags & init_bit(!dir)))
				sc->flags &= ~init_bit(!dir);
			sc->flags |= init_bit(dir);
			sc->vtag[!dir] = tag;
			/* A retransmitted INIT of a CLOSED entry does not
			 * refresh it, so that a client reusing its port
			 * cannot keep a dead entry alive for ever. */
			if (new_state == QT_SCTP_CLOSED &&
			    old_state == QT_SCTP_CLOSED && !fresh)
				ignore = true;
		} else if (ch[0] == CID_INIT_ACK) {
			uint32_t want = sc->vtag[!dir];

			if (!walk_init_tag(&w, ch, &tag))
				return QT_V_INVALID;
			/* Its tag must be the one the INIT announced,
			 * unless this side sent the INIT (a collision: then
			 * the tag is new), and in a collision both sides'
			 * INITs must agree with it. */
			*why = QT_R_SCTP_VTAG;
			if (!(sc->flags & init_bit(!dir)) && want &&
			    want != tag)
				return QT_V_INVALID;
			if ((sc->flags & init_bit(dir)) &&
			    (sc->flags & init_bit(!dir)) && want != tag)
				return QT_V_INVALID;
			sc->vtag[!dir] = tag;
		}

		sc->state = new_state;
		if (old_state != new_state &&
		    new_state == QT_SCTP_ESTABLISHED)
			ct->status |= QT_CONN_ASSURED;
	}

	/* Let it pass without refreshing the timeout. */
	if (ignore && !fresh)
		return QT_V_IGNORE;
	if (new_state == QT_SCTP_NONE)
		new_state = QT_SCTP_CLOSED;
	*timeout = ctx->conf->sctp.timeouts[new_state];
	return QT_V_ACCEPT;
}

const char *qt_sctp_state_name(enum qt_sctp_state s)
{
	if ((unsigned int)s >= QT_SCTP_STATE_MAX)
		return "UNKNOWN";
	return sctp_state_names[s];
}

static const char *sctp_state_name(const struct qt_conn *ct)
{
	return qt_sctp_state_name((enum qt_sctp_state)ct->proto.sctp.state);
}

/* As the kernel: an assured association may be evicted from a full table
 * only while it shuts down. */
static bool sctp_can_early_drop(const struct qt_conn *ct)
{
	switch (ct->proto.sctp.state) {
	case QT_SCTP_SHUTDOWN_SENT:
	case QT_SCTP_SHUTDOWN_RECD:
	case QT_SCTP_SHUTDOWN_ACK_SENT:
		return true;
	default:
		return false;
	}
}

static bool sctp_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	return qt_proto_generic.invert(reply, orig);
}

const struct qt_proto_ops qt_proto_sctp = {
	.proto = 132,
	.name = "sctp",
	.checksum = true,
	.invert = sctp_invert,
	.new = sctp_new,
	.packet = sctp_packet,
	.state_name = sctp_state_name,
	.can_early_drop = sctp_can_early_drop,
};
