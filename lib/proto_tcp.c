/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto_tcp.c - TCP connection tracking, as Linux nf_conntrack_proto_tcp.c.
 *
 * Two parts work together.  A state table, indexed by direction, packet
 * class and current state, says what a packet would do to the connection.
 * A window tracker (Guido van Rooij's "Real Stateful TCP Packet Filtering
 * in IP Filter", with the kernel's refinements) says whether the packet
 * fits the sequence space both ends have shown us; only packets that pass
 * both move the state and refresh the timeout.
 *
 * Deliberate differences from the kernel are listed in docs/conformance.md:
 * no checksum verification, no NAT sequence adjustment, no SYN proxy, and
 * no per-conn timeout policies (the configured timeouts apply to all).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* tests/unit/test_tcp_fast.c builds a second copy of this file with
 * QT_TCP_REFERENCE defined: no steady(), exported names renamed, so the
 * two can be run side by side on the same packets. */
#ifdef QT_TCP_REFERENCE
#define qt_proto_tcp qt_proto_tcp_reference
#define qt_tcp_state_name qt_tcp_state_name_reference
#endif

#include "proto.h"
#include "tcp_window.h"

/* Table outcomes that are not states. */
/* clang-format off */
#define sIV QT_TCP_STATE_MAX		/* invalid in this state */
#define sIG (QT_TCP_STATE_MAX + 1)	/* let through, keep state, note it */

#define sNO QT_TCP_NONE
#define sSS QT_TCP_SYN_SENT
#define sSR QT_TCP_SYN_RECV
#define sES QT_TCP_ESTABLISHED
#define sFW QT_TCP_FIN_WAIT
#define sCW QT_TCP_CLOSE_WAIT
#define sLA QT_TCP_LAST_ACK
#define sTW QT_TCP_TIME_WAIT
#define sCL QT_TCP_CLOSE
#define sS2 QT_TCP_SYN_SENT2
/* clang-format on */

/*
 * The state machine.  We sit between the two ends and see every packet,
 * but a packet we see may still be lost before it arrives; we assume an end
 * never receives what we did not see.  The table guesses the state of the
 * sender of each packet.  sIG marks packets that may be valid or not and
 * that the receiver answers either with a RST (then we close) or with
 * something that proves we were out of sync (then we resynchronise); they
 * pass without changing anything.  sIV marks packets that are plainly
 * wrong in that state.
 */
/* clang-format off */
static const uint8_t tcp_transitions[2][TC_MAX][QT_TCP_STATE_MAX] = {
[QT_DIR_ORIG] = {
/*	     sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
/* A SYN from the client opens a conn, or repeats itself in SYN_SENT and
 * SYN_SENT2.  After TIME_WAIT or CLOSE it may reopen the port (RFC 1122),
 * which the code turns into a fresh conn.  In any other state it is either
 * an attack or a sign that we hold a dead conn: the server's answer (RST,
 * SYN/ACK or challenge ACK) will tell, so let it pass. */
[TC_SYN] =   { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
/* The client sends a SYN/ACK only in a simultaneous open, answering the
 * server's SYN (SYN_SENT2), or repeating that answer (SYN_RECV).  Before
 * any SYN, right after its own SYN, and once established, it is bogus. */
[TC_SYNACK] = { sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
/* A FIN starts the close (SYN_RECV, ESTABLISHED), answers the other
 * side's FIN (FIN_WAIT, CLOSE_WAIT) or repeats (LAST_ACK, TIME_WAIT,
 * CLOSE).  Without a completed handshake there is nothing to close. */
[TC_FIN] =   { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/* An ACK completes the handshake (SYN_RECV), keeps ESTABLISHED, answers a
 * FIN (FIN_WAIT, CLOSE_WAIT) or the last FIN (LAST_ACK to TIME_WAIT), and
 * repeats harmlessly later.  From NONE it picks up a running conn.  Right
 * after our own SYN no SYN/ACK has been seen yet, so it cannot be. */
[TC_ACK] =   { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
/* A RST closes the conn from any state it can reach; it cannot start
 * one. */
[TC_RST] =   { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/* A segment with none of SYN, FIN, ACK or RST is never valid. */
[TC_NONE] =  { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
},
[QT_DIR_REPLY] = {
/*	     sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
/* A SYN from the server is a simultaneous open (SYN_SENT, repeated in
 * SYN_SENT2).  In TIME_WAIT the server may reopen the port with the roles
 * swapped.  Anywhere else the server has no business sending a SYN. */
[TC_SYN] =   { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
/* The SYN/ACK answers the client's SYN (SYN_SENT) or, in a simultaneous
 * open, the crossed SYNs (SYN_SENT2).  Later it is a retransmission or the
 * answer to a SYN we let pass while out of sync: ignore it, the code may
 * use it to resynchronise. */
[TC_SYNACK] = { sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
/* A FIN from the server: as for the client. */
[TC_FIN] =   { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/* An ACK from the server right after the client's SYN may belong to a
 * half-open conn we do not know (or be a challenge ACK): let it pass.  In
 * SYN_RECV it may answer a repeated SYN and does not establish (the
 * client's ACK does; simultaneous open is handled in code).  Later as for
 * the client. */
[TC_ACK] =   { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
/* A RST from the server closes the conn. */
[TC_RST] =   { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/* Never valid. */
[TC_NONE] =  { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
},
};
/* clang-format on */

/* Flag combinations that may appear at all, after masking out PSH, ECE
 * and CWR, which are valid with anything (the kernel's tcp_valid_flags). */
static const bool tcp_flags_ok[64] = {
    [QT_TCP_SYN] = true,
    [QT_TCP_SYN | QT_TCP_URG] = true,
    [QT_TCP_SYN | QT_TCP_ACK] = true,
    [QT_TCP_RST] = true,
    [QT_TCP_RST | QT_TCP_ACK] = true,
    [QT_TCP_FIN | QT_TCP_ACK] = true,
    [QT_TCP_FIN | QT_TCP_ACK | QT_TCP_URG] = true,
    [QT_TCP_ACK] = true,
    [QT_TCP_ACK | QT_TCP_URG] = true,
};

static const char *const tcp_state_names[QT_TCP_STATE_MAX] = {
    [QT_TCP_NONE] = "NONE",	    [QT_TCP_SYN_SENT] = "SYN_SENT",
    [QT_TCP_SYN_RECV] = "SYN_RECV", [QT_TCP_ESTABLISHED] = "ESTABLISHED",
    [QT_TCP_FIN_WAIT] = "FIN_WAIT", [QT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
    [QT_TCP_LAST_ACK] = "LAST_ACK", [QT_TCP_TIME_WAIT] = "TIME_WAIT",
    [QT_TCP_CLOSE] = "CLOSE",	    [QT_TCP_SYN_SENT2] = "SYN_SENT2",
};

/* What the window tracker decided. */
enum tcp_win_result {
	TW_IGNORE,  /* let it through, change nothing more */
	TW_INVALID, /* INVALID */
	TW_ACCEPT,  /* in window; the state may move */
};

static enum tcp_class tcp_classify(uint8_t flags)
{
	if (flags & QT_TCP_RST)
		return TC_RST;
	if (flags & QT_TCP_SYN)
		return flags & QT_TCP_ACK ? TC_SYNACK : TC_SYN;
	if (flags & QT_TCP_FIN)
		return TC_FIN;
	if (flags & QT_TCP_ACK)
		return TC_ACK;
	return TC_NONE;
}

/* The sequence number just past the segment: SYN and FIN count as one
 * byte each.  The payload length comes from the IP header, so a header-only
 * copy or a GSO packet counts in full. */
static uint32_t tcp_seg_end(const struct qt_pkt *pkt)
{
	uint32_t end = pkt->tcp.seq + pkt->payload_len;

	if (pkt->tcp.flags & QT_TCP_SYN)
		end++;
	if (pkt->tcp.flags & QT_TCP_FIN)
		end++;
	return end;
}

/*
 * tcp_frag_end - the end to assume for the segment of a first fragment,
 * whose own end @end covers only the bytes this fragment carries.  The
 * rest of the datagram follows in fragments without a TCP header, which
 * cannot be told apart from any other; the kernel would have seen the
 * whole segment.  Taking the fragment's end would leave the peer's ack of
 * the whole segment above the data seen (bound III of tcp_in_window()),
 * and the connection INVALID from then on.  So the segment is taken to
 * run as far as it can: up to the right edge of the window the receiver
 * announced, never beyond what one IP datagram carries, and never short of
 * this fragment's bytes.
 */
static uint32_t tcp_frag_end(const struct qt_pkt *pkt,
			     const struct qt_tcp_dir *snd, uint32_t end)
{
	/* The largest IPv4 total length, or IPv6 payload length after the
	 * fixed 40-byte header, less the headers in front of the data. */
	uint32_t dgram = pkt->tuple.family == AF_INET ? 0xffff : 0xffff + 40;
	uint32_t most = pkt->tcp.seq + (dgram - pkt->l3_len - pkt->tcp.doff);
	uint32_t edge = seq_before(snd->maxend, most) ? snd->maxend : most;

	return seq_after(edge, end) ? edge : end;
}

/*
 * Take window scale and SACK permission from the packet's options into
 * a direction's *@scale and *@flags.  Like the kernel, a header without
 * options (or whose options we could not see) leaves them as they were;
 * otherwise only BE_LIBERAL survives.
 */
static void tcp_dir_take_options(uint8_t *scale, uint8_t *flags,
				 const struct qt_pkt *pkt)
{
	if (pkt->tcp.doff <= 20 || !pkt->tcp.opts_seen)
		return;
	*scale = 0;
	*flags &= QT_TCPF_BE_LIBERAL;
	if (pkt->tcp.sack_perm)
		*flags |= QT_TCPF_SACK_PERM;
	if (pkt->tcp.has_wscale) {
		*scale = pkt->tcp.wscale > 14 ? 14 : pkt->tcp.wscale;
		*flags |= QT_TCPF_WINDOW_SCALE;
	}
}

/*
 * Start tracking direction @dir from its SYN or SYN/ACK.  Window scaling
 * is in force only when both SYNs offered it (RFC 1323), which is known
 * once the reply side's SYN is seen.
 */
static void tcp_dir_init(struct qt_tcp_conn *tc, const struct qt_pkt *pkt,
			 uint32_t end, enum qt_dir dir)
{
	struct qt_tcp_dir *snd = &tc->seen[dir];

	snd->end = end;
	snd->maxend = end;
	snd->maxwin = pkt->tcp.win ? pkt->tcp.win : 1;
	tcp_dir_take_options(&tc->scale[dir], &tc->flags[dir], pkt);
	if (dir == QT_DIR_REPLY &&
	    !(tc->flags[dir] & QT_TCPF_WINDOW_SCALE &&
	      tc->flags[!dir] & QT_TCPF_WINDOW_SCALE)) {
		tc->scale[dir] = 0;
		tc->scale[!dir] = 0;
	}
}

/* A failed window check: liberal senders (or a liberal configuration) are
 * accepted, though without the window updates a passing packet makes. */
static enum tcp_win_result tcp_win_fail(uint8_t snd_flags,
					const struct qt_conf *conf,
					enum tcp_win_result res)
{
	if (snd_flags & QT_TCPF_BE_LIBERAL || conf->tcp.be_liberal)
		return TW_ACCEPT;
	return res;
}

/*
 * tcp_in_window - the four bounds of van Rooij's paper:
 *   I.   seq <= sender.maxend               (data not beyond the window)
 *   II.  end >= sender.end - receiver.maxwin (data not too old)
 *   III. sack <= receiver.end                (acks only data seen)
 *   IV.  sack >= receiver.end - maxackwin    (ack not too old)
 * where sack is the highest SACK right edge, or the ack.  A packet that
 * passes updates both directions' window data.  Failing I or III is
 * INVALID; failing II or IV is most likely an old retransmission and is
 * let through without updates, as the kernel does.
 */
static enum tcp_win_result tcp_in_window(struct qt_tcp_conn *tc,
					 const struct qt_pkt *pkt,
					 enum qt_dir dir, enum tcp_class cls,
					 const struct qt_conf *conf)
{
	struct qt_tcp_dir *snd = &tc->seen[dir];
	struct qt_tcp_dir *rcv = &tc->seen[!dir];
	uint8_t flags = pkt->tcp.flags;
	uint32_t seq = pkt->tcp.seq;
	uint32_t ack = pkt->tcp.ack;
	uint32_t sack = ack;
	uint32_t win = pkt->tcp.win;
	uint32_t end = tcp_seg_end(pkt);
	uint32_t swin;

	if (tc->flags[!dir] & QT_TCPF_SACK_PERM)
		sack = qt_tcp_sack_highest(&pkt->tcp, ack);

	if (snd->maxwin == 0) {
		if (flags & QT_TCP_SYN) {
			/* SYN/ACK answering the SYN, or the server's SYN in a
			 * simultaneous open, which carries no ack to check. */
			tcp_dir_init(tc, pkt, end, dir);
			if (!(flags & QT_TCP_ACK))
				return TW_ACCEPT;
		} else {
			/* Picked up mid-stream: the history is lost, so
			 * believe what this packet says. */
			snd->end = end;
			swin = win << tc->scale[dir];
			snd->maxwin = swin ? swin : 1;
			snd->maxend = end + snd->maxwin;
			if (rcv->maxwin == 0) {
				/* Nothing seen the other way yet: let the ack
				 * pass III and IV until something is. */
				rcv->end = sack;
				rcv->maxend = sack;
			} else if (sack == rcv->end + 1) {
				/* Probably answers a keepalive. */
				rcv->end++;
			}
		}
	} else if (flags & QT_TCP_SYN && seq_after(end, snd->end) &&
		   (tc->state == QT_TCP_SYN_SENT ||
		    tc->state == QT_TCP_SYN_RECV)) {
		/* A reinitialised end may restart with higher sequence
		 * numbers (RFC 793) and other options: start over. */
		tcp_dir_init(tc, pkt, end, dir);
		if (dir == QT_DIR_REPLY && !(flags & QT_TCP_ACK))
			return TW_ACCEPT;
	}

	if (!(flags & QT_TCP_ACK)) {
		/* No ack: pretend it acks exactly what was sent. */
		ack = rcv->end;
		sack = ack;
	} else if ((flags & (QT_TCP_ACK | QT_TCP_RST)) ==
		       (QT_TCP_ACK | QT_TCP_RST) &&
		   ack == 0) {
		/* Some stacks set ACK on a RST with a zero ack. */
		ack = rcv->end;
		sack = ack;
	}

	if (flags & QT_TCP_RST && seq == 0 && tc->state == QT_TCP_SYN_SENT) {
		/* A RST answering our SYN. */
		seq = snd->end;
		end = snd->end;
	}
	if (pkt->fragment)
		end = tcp_frag_end(pkt, snd, end);

	if (!seq_before(seq, snd->maxend + 1)) {
		/* I fails.  Some stacks send a little more than the window
		 * allows; if everything else fits, remember the data so that
		 * the ack for it is not refused later, and let it pass. */
		uint32_t overshot = end - snd->maxend + 1;
		bool ack_ok =
		    seq_after(sack, rcv->end - tcp_maxackwin(snd) - 1);
		bool in_rwin =
		    rcv->maxwin && seq_after(end, snd->end - rcv->maxwin - 1);

		if (in_rwin && ack_ok && overshot <= rcv->maxwin &&
		    seq_before(sack, rcv->end + 1)) {
			snd->end = end;
			tc->flags[dir] |= QT_TCPF_DATA_UNACKED;
			return tcp_win_fail(tc->flags[dir], conf, TW_IGNORE);
		}
		return tcp_win_fail(tc->flags[dir], conf, TW_INVALID);
	}

	/* III */
	if (!seq_before(sack, rcv->end + 1))
		return tcp_win_fail(tc->flags[dir], conf, TW_INVALID);

	/* II */
	if (rcv->maxwin && !seq_after(end, snd->end - rcv->maxwin - 1))
		return tcp_win_fail(tc->flags[dir], conf, TW_IGNORE);

	/* IV */
	if (!seq_after(sack, rcv->end - tcp_maxackwin(snd) - 1))
		return tcp_win_fail(tc->flags[dir], conf, TW_IGNORE);

	/* The window field of a SYN is never scaled (RFC 1323). */
	if (!(flags & QT_TCP_SYN))
		win <<= tc->scale[dir];

	tcp_window_update(tc, pkt->tcp.flags, pkt->tcp.win, dir, cls, seq, ack,
			  sack, end, win);
	return TW_ACCEPT;
}

/* ESTABLISHED and ASSURED, the kernel's nf_conntrack_tcp_established(). */
static bool tcp_established(const struct qt_conn *ct)
{
	return ct->proto.tcp.state == QT_TCP_ESTABLISHED &&
	       ct->status & QT_CONN_ASSURED;
}

static bool tcp_can_early_drop(const struct qt_conn *ct)
{
	switch (ct->proto.tcp.state) {
	case QT_TCP_FIN_WAIT:
	case QT_TCP_LAST_ACK:
	case QT_TCP_TIME_WAIT:
	case QT_TCP_CLOSE:
	case QT_TCP_CLOSE_WAIT:
		return true;
	default:
		return false;
	}
}

/* Forget a direction's window data, keeping only its liberal flag. */
static void tcp_dir_reset(struct qt_tcp_conn *tc, enum qt_dir dir)
{
	memset(&tc->seen[dir], 0, sizeof(tc->seen[dir]));
	tc->scale[dir] = 0;
	tc->flags[dir] &= QT_TCPF_BE_LIBERAL;
}

/*
 * A packet the table says to ignore.  Returns true when it is a SYN/ACK
 * answering a SYN we ignored earlier: both ends are in sync and we are
 * not, so take the SYN's data we noted and go on as in a fresh handshake.
 * Otherwise note the packet (a later one may prove it right) and return
 * false: it passes without changing the state.
 */
static bool tcp_ignored(struct qt_tcp_conn *tc, const struct qt_pkt *pkt,
			enum qt_dir dir, enum tcp_class cls, uint8_t old_state)
{
	if (cls == TC_SYNACK && tc->last_index == TC_SYN &&
	    tc->last_dir != dir && pkt->tcp.ack == tc->last_end) {
		struct qt_tcp_dir *syn_dir = &tc->seen[tc->last_dir];

		syn_dir->end = tc->last_end;
		syn_dir->maxend = tc->last_end;
		syn_dir->maxwin = tc->last_win ? tc->last_win : 1;
		tc->scale[tc->last_dir] = tc->last_wscale;
		tc->last_flags &= ~QT_TCPF_CHALLENGE_ACK;
		tc->flags[tc->last_dir] = tc->last_flags;
		tcp_dir_reset(tc, dir);
		return true;
	}

	tc->last_index = cls;
	tc->last_dir = dir;
	tc->last_seq = pkt->tcp.seq;
	tc->last_end = tcp_seg_end(pkt);
	tc->last_win = pkt->tcp.win;

	if (cls == TC_SYN && dir == QT_DIR_ORIG) {
		/* The client may have restarted and the server will answer
		 * with a SYN/ACK: keep the SYN's options for then.  Or the
		 * server answers with an RFC 5961 challenge ACK, which in
		 * LAST_ACK must not be taken for the ack of the last FIN. */
		uint8_t scale = 0, flags = 0;

		tcp_dir_take_options(&scale, &flags, pkt);
		tc->last_flags = 0;
		tc->last_wscale = 0;
		if (flags & QT_TCPF_WINDOW_SCALE) {
			tc->last_flags |= QT_TCPF_WINDOW_SCALE;
			tc->last_wscale = scale;
		}
		if (flags & QT_TCPF_SACK_PERM)
			tc->last_flags |= QT_TCPF_SACK_PERM;
		if (old_state == QT_TCP_LAST_ACK)
			tc->last_flags |= QT_TCPF_CHALLENGE_ACK;
	}

	/* A reply ACK to a SYN may be a challenge ACK; a RST answering it
	 * carries this ack as its sequence number. */
	if (old_state == QT_TCP_SYN_SENT && cls == TC_ACK &&
	    dir == QT_DIR_REPLY)
		tc->last_ack = pkt->tcp.ack;
	return false;
}

/* What to do with a RST after the table's verdict. */
enum tcp_rst_action {
	RST_CHECK,   /* check the window as usual */
	RST_TRUST,   /* skip the window check */
	RST_INVALID, /* INVALID */
};

/*
 * A RST is accepted only when its sequence number is exactly the next one
 * the other side expects (RFC 5961).  An in-window but inexact RST leaves
 * an established conn as it is, so that the challenge ACK it provokes
 * passes; @new_state is then set back to the old state.  RSTs answering a
 * packet we let through while out of sync skip the window check.
 */
static enum tcp_rst_action tcp_rst_check(const struct qt_conn *ct,
					 const struct qt_pkt *pkt,
					 enum qt_dir dir, uint8_t old_state,
					 uint8_t *new_state,
					 const struct qt_conf *conf)
{
	const struct qt_tcp_conn *tc = &ct->proto.tcp;
	const struct qt_tcp_dir *peer = &tc->seen[!dir];
	uint32_t seq = pkt->tcp.seq;

	/* While closing, the tuple may already be reused by a new conn and
	 * our window data is stale. */
	if (tcp_can_early_drop(ct))
		return RST_TRUST;

	/* The peer's maxack is stale if we let a SYN pass since. */
	if (tc->flags[!dir] & QT_TCPF_MAXACK_SET && tc->last_index != TC_SYN) {
		bool est = tcp_established(ct);

		/* Most likely answers a SYN we let pass. */
		if (seq == 0 && !est)
			goto check_ignored;
		if (seq_before(seq, peer->maxack) &&
		    !conf->tcp.ignore_invalid_rst)
			return RST_INVALID;
		if (!est || seq == peer->maxack)
			goto check_ignored;
		/* A RST right behind our own data, a train like
		 * "P seq 100:119" then "R seq 119". */
		if (tc->last_index == TC_ACK && tc->last_dir == dir &&
		    seq == tc->last_end)
			goto check_ignored;
		*new_state = old_state;
	}

check_ignored:
	/* The RST answers a SYN (after the conn saw a reply) or an ACK
	 * (before it was assured) that we let pass while out of sync: it
	 * may ack data we never tracked, so trust it. */
	if (((ct->status & QT_CONN_SEEN_REPLY && tc->last_index == TC_SYN) ||
	     (!(ct->status & QT_CONN_ASSURED) && tc->last_index == TC_ACK)) &&
	    pkt->tcp.ack == tc->last_end)
		return RST_TRUST;

	/* The RST answers a challenge ACK that we let pass in SYN_SENT. */
	if (old_state == QT_TCP_SYN_SENT && tc->last_index == TC_ACK &&
	    tc->last_dir == QT_DIR_REPLY && seq == tc->last_ack)
		return RST_TRUST;

	return RST_CHECK;
}

/*
 * An assured conn whose FIN or RST was found out of window, answered by a
 * FIN or RST from the other side that is out of window too, is probably
 * dead while we think it alive: shorten its timeout to the unacked one if
 * it is longer (the kernel's nf_tcp_handle_invalid).  Returns the new
 * timeout in seconds, or 0 to keep the timer.  packet() then returns
 * QT_V_INVALID with *timeout set to it; an engine that re-arms the timer
 * when *timeout changed on QT_V_INVALID matches the kernel exactly.
 */
static uint32_t tcp_invalid_timeout(struct qt_conn *ct, enum qt_dir dir,
				    enum tcp_class cls,
				    const struct qt_proto_ctx *ctx)
{
	struct qt_tcp_conn *tc = &ct->proto.tcp;
	uint32_t unack = ctx->conf->tcp.timeouts[QT_TCP_TIMEOUT_UNACK];
	uint64_t left;

	if (!(ct->status & QT_CONN_ASSURED))
		return 0;
	if (cls != TC_RST && cls != TC_FIN)
		return 0;
	if (tc->last_dir == dir ||
	    (tc->last_index != TC_FIN && tc->last_index != TC_RST)) {
		tc->last_index = cls;
		tc->last_dir = dir;
		return 0;
	}
	left = qt_timer_left(&ct->timer, ctx->now);
	left /= 1000;
	if (left < 120 || left <= unack)
		return 0;
	return unack;
}

static enum qt_ct_state tcp_pre(const struct qt_pkt *pkt,
				const struct qt_proto_ctx *ctx,
				enum qt_reason *why)
{
	uint8_t f = pkt->tcp.flags & ~(QT_TCP_ECE | QT_TCP_CWR | QT_TCP_PSH);

	if (!tcp_flags_ok[f]) {
		*why = QT_R_TCP_FLAGS;
		return QT_CT_INVALID;
	}
	return QT_CT_MAX;
}

static bool tcp_invert(struct qt_tuple *reply, const struct qt_tuple *orig)
{
	*reply = *orig;
	reply->src = orig->dst;
	reply->dst = orig->src;
	reply->sport = orig->dport;
	reply->dport = orig->sport;
	return true;
}

/*
 * A conn may start with a SYN, or with loose pickup on, with a plain ACK
 * of a conn already running.  The latter is tracked liberally in both
 * directions, since its window scaling and SACK use are unknown.
 */
static enum qt_reason tcp_new(struct qt_conn *ct, const struct qt_pkt *pkt,
			      const struct qt_proto_ctx *ctx)
{
	struct qt_tcp_conn *tc = &ct->proto.tcp;
	enum tcp_class cls = tcp_classify(pkt->tcp.flags);
	uint8_t state = tcp_transitions[QT_DIR_ORIG][cls][QT_TCP_NONE];
	struct qt_tcp_dir *d = &tc->seen[QT_DIR_ORIG];

	if (state >= QT_TCP_STATE_MAX)
		return QT_R_TCP_NEW;
	if (state != QT_TCP_SYN_SENT && !ctx->conf->tcp.loose)
		return QT_R_TCP_NEW;

	memset(tc, 0, sizeof(*tc));
	d->end = tcp_seg_end(pkt);
	d->maxwin = pkt->tcp.win ? pkt->tcp.win : 1;
	if (state == QT_TCP_SYN_SENT) {
		d->maxend = d->end;
		tcp_dir_take_options(&tc->scale[QT_DIR_ORIG],
				     &tc->flags[QT_DIR_ORIG], pkt);
	} else {
		d->maxend = d->end + d->maxwin;
		tc->flags[QT_DIR_ORIG] =
		    QT_TCPF_SACK_PERM | QT_TCPF_BE_LIBERAL;
		tc->flags[QT_DIR_REPLY] =
		    QT_TCPF_SACK_PERM | QT_TCPF_BE_LIBERAL;
	}
	tc->state = QT_TCP_NONE;
	tc->last_index = TC_NONE;
	return QT_R_NONE;
}

/*
 * The table's verdict and the special cases around it, up to the window
 * check.  Returns the verdict when the packet is settled here, or -1 to go
 * on; *new_state and *skip_window are updated for the rest.
 */
static int tcp_decide(struct qt_conn *ct, const struct qt_pkt *pkt,
		      enum qt_dir dir, enum tcp_class cls, uint8_t *old_state,
		      uint8_t *new_state, bool *skip_window,
		      const struct qt_conf *conf, enum qt_reason *why)
{
	struct qt_tcp_conn *tc = &ct->proto.tcp;

	switch (*new_state) {
	case QT_TCP_SYN_SENT:
		if (*old_state < QT_TCP_TIME_WAIT)
			break;
		/* A SYN after TIME_WAIT or CLOSE: if either side started a
		 * close, or our side reset the conn, the port is reused
		 * (RFC 1122): start over with a new conn. */
		if ((tc->flags[0] | tc->flags[1]) & QT_TCPF_CLOSE_INIT ||
		    (tc->last_dir == dir && tc->last_index == TC_RST))
			return QT_V_RESTART;
		/* Otherwise we may be out of sync: treat it as ignored. */
		__attribute__((fallthrough));
	case sIG:
		if (tcp_ignored(tc, pkt, dir, cls, *old_state)) {
			*old_state = QT_TCP_SYN_SENT;
			*new_state = QT_TCP_SYN_RECV;
			break;
		}
		return QT_V_IGNORE;
	case sIV:
		*why = QT_R_TCP_STATE;
		return QT_V_INVALID;
	case QT_TCP_TIME_WAIT:
		/* An RFC 5961 challenge ACK answering a SYN we let pass in
		 * LAST_ACK does not ack the last FIN. */
		if (*old_state == QT_TCP_LAST_ACK && cls == TC_ACK &&
		    tc->last_dir != dir && tc->last_index == TC_SYN &&
		    tc->last_flags & QT_TCPF_CHALLENGE_ACK) {
			tc->last_flags &= ~QT_TCPF_CHALLENGE_ACK;
			return QT_V_IGNORE;
		}
		break;
	case QT_TCP_SYN_SENT2:
		/* The table cannot tell a simultaneous open from a normal
		 * one once in SYN_RECV: remember it. */
		tc->last_flags |= QT_TCPF_SIMULTANEOUS;
		break;
	case QT_TCP_SYN_RECV:
		/* In a simultaneous open the server's ACK of the client's
		 * SYN/ACK completes the handshake. */
		if (dir == QT_DIR_REPLY && cls == TC_ACK &&
		    tc->last_flags & QT_TCPF_SIMULTANEOUS)
			*new_state = QT_TCP_ESTABLISHED;
		break;
	case QT_TCP_CLOSE:
		if (cls != TC_RST)
			break;
		switch (
		    tcp_rst_check(ct, pkt, dir, *old_state, new_state, conf)) {
		case RST_INVALID:
			*why = QT_R_TCP_RST;
			return QT_V_INVALID;
		case RST_TRUST:
			*skip_window = true;
			break;
		case RST_CHECK:
			break;
		}
		break;
	default:
		break;
	}
	return -1;
}

#ifndef QT_TCP_REFERENCE
/* The steady way (proto.h): an in-window ACK of an assured ESTABLISHED
 * connection, with or without SACK blocks.  pre() lets every such flag
 * combination through, and packet() would take tcp_fast_ack()'s verdict:
 * the window bounds are tcp_in_window()'s, the update its own. */
static bool tcp_steady(struct qt_conn *ct, const struct qt_pkt_view *v,
		       enum qt_dir dir, const struct qt_proto_ctx *ctx,
		       uint32_t *timeout)
{
	return tcp_fast_ack(ct, dir, v->seq, v->ack, v->payload_len, v->flags,
			    v->win, v->sack, ctx->conf, timeout);
}
#endif

/* Every packet.  The engine has offered the packets of steady
 * connections to tcp_steady() before, so an in-window ACK comes here only
 * when that refused it: trying tcp_fast_ack() again would be wasted. */
static enum qt_verdict
tcp_packet(struct qt_conn *ct, const struct qt_pkt *pkt,
		   enum qt_dir dir, const struct qt_proto_ctx *ctx,
		   uint32_t *timeout, enum qt_reason *why)
{
	const struct qt_conf *conf = ctx->conf;
	struct qt_tcp_conn *tc = &ct->proto.tcp;
	enum tcp_class cls = tcp_classify(pkt->tcp.flags);
	uint8_t old_state = tc->state;
	uint8_t new_state;
	bool skip_window = false;
	uint32_t to, shrink;
	int v;

	if (old_state >= QT_TCP_STATE_MAX) {
		*why = QT_R_TCP_STATE;
		return QT_V_INVALID;
	}
	new_state = tcp_transitions[dir][cls][old_state];
	v = tcp_decide(ct, pkt, dir, cls, &old_state, &new_state, &skip_window,
		       conf, why);
	if (v >= 0)
		return (enum qt_verdict)v;

	if (!skip_window) {
		switch (tcp_in_window(tc, pkt, dir, cls, conf)) {
		case TW_IGNORE:
			return QT_V_IGNORE;
		case TW_INVALID:
			*why = cls == TC_SYNACK ? QT_R_TCP_SYNACK
						: QT_R_TCP_WINDOW;
			shrink = tcp_invalid_timeout(ct, dir, cls, ctx);
			if (shrink)
				*timeout = shrink;
			return QT_V_INVALID;
		case TW_ACCEPT:
			break;
		}
	}

	/* From here on the packet is in window. */
	tc->last_index = cls;
	tc->last_dir = dir;
	tc->state = new_state;
	if (old_state != new_state && new_state == QT_TCP_FIN_WAIT)
		tc->flags[dir] |= QT_TCPF_CLOSE_INIT;

	to = tcp_timeout_pick(tc, conf, cls, new_state);
	*timeout = to;

	if (!(ct->status & QT_CONN_SEEN_REPLY)) {
		/* A RST as the only answer: the conn never existed. */
		if (pkt->tcp.flags & QT_TCP_RST)
			return QT_V_DESTROY;
		/* Repeated SYNs must not keep an unanswered conn alive
		 * forever (port reuse by a client or a NAT). */
		if (cls == TC_SYN && old_state == QT_TCP_SYN_SENT)
			return QT_V_IGNORE;
		/* A conn picked up mid-stream is not trusted with the long
		 * established timeout before the other side answers. */
		if (new_state == QT_TCP_ESTABLISHED &&
		    to > conf->tcp.timeouts[QT_TCP_TIMEOUT_UNACK])
			*timeout = conf->tcp.timeouts[QT_TCP_TIMEOUT_UNACK];
	} else if (!(ct->status & QT_CONN_ASSURED) &&
		   (old_state == QT_TCP_SYN_RECV ||
		    old_state == QT_TCP_ESTABLISHED) &&
		   new_state == QT_TCP_ESTABLISHED) {
		/* A valid ACK after SYN_RECV, or an answer to a picked-up
		 * conn. */
		ct->status |= QT_CONN_ASSURED;
	}
	return QT_V_ACCEPT;
}

const char *qt_tcp_state_name(enum qt_tcp_state s)
{
	if ((unsigned int)s >= QT_TCP_STATE_MAX)
		return "UNKNOWN";
	return tcp_state_names[s];
}

static const char *tcp_state_name(const struct qt_conn *ct)
{
	return qt_tcp_state_name((enum qt_tcp_state)ct->proto.tcp.state);
}

const struct qt_proto_ops qt_proto_tcp = {
    .proto = 6,
    .name = "tcp",
	.checksum = true,
    .pre = tcp_pre,
    .invert = tcp_invert,
    .new = tcp_new,
    .packet = tcp_packet,
    .state_name = tcp_state_name,
    .can_early_drop = tcp_can_early_drop,
#ifndef QT_TCP_REFERENCE
    .steady = tcp_steady,
#endif
};
