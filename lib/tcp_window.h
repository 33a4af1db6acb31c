/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcp_window.h - the TCP tracker's window update and its check of an
 * in-window ACK of an assured ESTABLISHED connection (tcp_fast_ack(), the
 * tracker's steady()), shared by the paths of proto_tcp.c.  Not part of
 * the library's interface.
 */
#ifndef QTRACK_TCP_WINDOW_H
#define QTRACK_TCP_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "packet.h"

/* Packet classes: the kernel's get_conntrack_index() order, which is also
 * what qt_tcp_conn.last_index stores. */
enum tcp_class { TC_SYN, TC_SYNACK, TC_FIN, TC_ACK, TC_RST, TC_NONE, TC_MAX };

/* Lower bound of an acceptable ack, as far below the receiver's end as the
 * sender's largest window, but never less than a fixed 66000 bytes. */
#define TCP_MAXACK_MIN 66000u

/* Sequence number comparisons modulo 2^32. */
static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_before(b, a);
}

static inline uint32_t tcp_maxackwin(const struct qt_tcp_dir *snd)
{
	return snd->maxwin > TCP_MAXACK_MIN ? snd->maxwin : TCP_MAXACK_MIN;
}

/*
 * The second half of tcp_in_window(): what a packet found in window
 * changes in both directions' window data.  @win is the packet's window,
 * already scaled; @sack the highest SACK edge or the ack.  Shared with the
 * fast path, so that both update exactly alike.
 */
static inline __attribute__((always_inline)) void
tcp_window_update(struct qt_tcp_conn *tc, uint8_t flags, uint16_t rawwin,
		  enum qt_dir dir, enum tcp_class cls, uint32_t seq,
		  uint32_t ack, uint32_t sack, uint32_t end, uint32_t win)
{
	struct qt_tcp_dir *snd = &tc->seen[dir];
	struct qt_tcp_dir *rcv = &tc->seen[!dir];
	uint32_t swin = win + (sack - ack);

	if (snd->maxwin < swin)
		snd->maxwin = swin;
	if (seq_after(end, snd->end)) {
		snd->end = end;
		tc->flags[dir] |= QT_TCPF_DATA_UNACKED;
	}
	if (flags & QT_TCP_ACK) {
		if (!(tc->flags[dir] & QT_TCPF_MAXACK_SET)) {
			snd->maxack = ack;
			tc->flags[dir] |= QT_TCPF_MAXACK_SET;
		} else if (seq_after(ack, snd->maxack)) {
			snd->maxack = ack;
		}
	}

	if (rcv->maxwin != 0 && seq_after(end, snd->maxend))
		rcv->maxwin += end - snd->maxend;
	if (seq_after(sack + win, rcv->maxend - 1)) {
		rcv->maxend = sack + win;
		if (win == 0)
			rcv->maxend++;
	}
	if (ack == rcv->end)
		tc->flags[!dir] &= ~QT_TCPF_DATA_UNACKED;

	/* The same ACK again from the same side is a retransmission. */
	if (cls == TC_ACK) {
		if (tc->last_dir == dir && tc->last_seq == seq &&
		    tc->last_ack == ack && tc->last_end == end &&
		    tc->last_win == rawwin) {
			tc->retrans++;
		} else {
			tc->last_dir = dir;
			tc->last_seq = seq;
			tc->last_ack = ack;
			tc->last_end = end;
			tc->last_win = rawwin;
			tc->retrans = 0;
		}
	}
}

/* The timeout for the new state, shortened while the conn looks stuck. */
static inline uint32_t tcp_timeout_pick(const struct qt_tcp_conn *tc,
					const struct qt_conf *conf,
					enum tcp_class cls, uint8_t new_state)
{
	const uint32_t *to = conf->tcp.timeouts;
	uint8_t any = tc->flags[0] | tc->flags[1];

	if (tc->retrans >= conf->tcp.max_retrans &&
	    to[new_state] > to[QT_TCP_TIMEOUT_RETRANS])
		return to[QT_TCP_TIMEOUT_RETRANS];
	if (cls == TC_RST)
		return to[QT_TCP_CLOSE];
	if (any & QT_TCPF_DATA_UNACKED &&
	    to[new_state] > to[QT_TCP_TIMEOUT_UNACK])
		return to[QT_TCP_TIMEOUT_UNACK];
	if (tc->last_win == 0 && to[new_state] > to[QT_TCP_TIMEOUT_RETRANS])
		return to[QT_TCP_TIMEOUT_RETRANS];
	return to[new_state];
}

/*
 * tcp_fast_ack - the bulk of all packets: an ACK (no SYN, FIN or RST) of
 * an assured ESTABLISHED conn, in window; @sack is the highest SACK edge
 * (qt_tcp_sack_highest(), the ack without blocks).  For it the
 * state table says ESTABLISHED again, no special case of tcp_decide()
 * applies, and of tcp_in_window() only the four bounds and the update
 * remain; this is that path without the tests that cannot fire.  Checks
 * everything before changing anything: returns false with the conn
 * untouched when the packet is anything else (or fails a bound), and the
 * general path decides it as before.
 */
static inline __attribute__((always_inline)) bool
tcp_fast_ack(struct qt_conn *ct, enum qt_dir dir, uint32_t seq, uint32_t ack,
	     uint32_t paylen, uint8_t flags, uint16_t rawwin, uint32_t sack,
	     const struct qt_conf *conf, uint32_t *timeout)
{
	struct qt_tcp_conn *tc = &ct->proto.tcp;
	struct qt_tcp_dir *snd = &tc->seen[dir];
	struct qt_tcp_dir *rcv = &tc->seen[!dir];
	uint32_t end = seq + paylen;

	/* SACK blocks count only if the receiver offered SACK. */
	if (sack != ack && !(tc->flags[!dir] & QT_TCPF_SACK_PERM))
		sack = ack;

	if ((flags & (QT_TCP_SYN | QT_TCP_FIN | QT_TCP_RST | QT_TCP_ACK)) !=
		QT_TCP_ACK ||
	    tc->state != QT_TCP_ESTABLISHED ||
	    (ct->status & (QT_CONN_SEEN_REPLY | QT_CONN_ASSURED)) !=
		(QT_CONN_SEEN_REPLY | QT_CONN_ASSURED) ||
	    snd->maxwin == 0)
		return false;
	/* I, III, II and IV of tcp_in_window(). */
	if (!seq_before(seq, snd->maxend + 1) ||
	    !seq_before(sack, rcv->end + 1) ||
	    (rcv->maxwin && !seq_after(end, snd->end - rcv->maxwin - 1)) ||
	    !seq_after(sack, rcv->end - tcp_maxackwin(snd) - 1))
		return false;

	tcp_window_update(tc, flags, rawwin, dir, TC_ACK, seq, ack, sack, end,
			  (uint32_t)rawwin << tc->scale[dir]);
	tc->last_index = TC_ACK;
	tc->last_dir = dir;
	*timeout = tcp_timeout_pick(tc, conf, TC_ACK, QT_TCP_ESTABLISHED);
	return true;
}

#endif
