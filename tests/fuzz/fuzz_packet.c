/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_packet.c - libFuzzer target for the packet path.
 *
 * Each input is one packet starting at the IP header.  It is parsed on its
 * own (the parse must stay inside the capture and its lengths must be
 * consistent), then classified by one long-lived engine, so sequences of
 * inputs build up and tear down connections, expectations and timers.
 * The true length is the input's size plus its first byte, which makes
 * roughly half the inputs "truncated captures" as NFQUEUE delivers them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cheap enough to create once; a fuzzer process lives for one run. */
static struct qt_engine *fuzz_engine;
static uint64_t fuzz_now;
static uint64_t fuzz_inputs;

static struct qt_engine *fuzz_engine_get(void)
{
	struct qt_conf conf;

	if (fuzz_engine)
		return fuzz_engine;
	qt_conf_init(&conf);
	conf.table.max = 4096;
	conf.table.buckets = 1024;
	fuzz_engine = qt_engine_new(&conf, 0);
	if (!fuzz_engine)
		abort();
	return fuzz_engine;
}

/* What every successful or partial parse must satisfy. */
static void fuzz_parse_check(const uint8_t *buf, uint32_t caplen,
			     uint32_t origlen, const struct qt_pkt *pkt,
			     enum qt_reason r)
{
	if ((unsigned int)r >= QT_R_MAX || pkt->data != buf)
		abort();
	if (r != QT_R_NONE && r != QT_R_FRAGMENT)
		return;
	if (pkt->ip_len > origlen || pkt->l3_len > pkt->ip_len)
		abort();
	if (pkt->l3_len > caplen || pkt->l4_off != pkt->l3_len)
		abort();
	if (pkt->l4_off + pkt->l4_len != pkt->ip_len)
		abort();
	if (pkt->payload_off < pkt->l4_off ||
	    pkt->payload_off + pkt->payload_len != pkt->ip_len)
		abort();
	if (pkt->payload_caplen > pkt->payload_len ||
	    (pkt->payload_caplen &&
	     pkt->payload_off + pkt->payload_caplen > caplen))
		abort();
	if (pkt->tuple.pad != 0 || pkt->inner.tuple.pad != 0)
		abort();
	if (pkt->tcp.nsack > QT_TCP_MAX_SACK || pkt->tcp.wscale > 14)
		abort();
	if (r == QT_R_FRAGMENT && pkt->tuple.l4 != 0)
		abort();
	/* Touch every payload byte the parse claims is captured, so ASan
	 * sees a wrong payload_caplen. */
	if (pkt->payload_caplen) {
		volatile uint8_t sink = 0;
		uint32_t i;

		for (i = 0; i < pkt->payload_caplen; i++)
			sink ^= pkt->data[pkt->payload_off + i];
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qt_engine *e = fuzz_engine_get();
	struct qt_result res;
	struct qt_pkt pkt;
	uint32_t caplen, origlen;
	enum qt_reason r;
	uint8_t *buf;

	if (size > 65535)
		return 0;
	caplen = (uint32_t)size;
	origlen = caplen + (size ? data[0] : 0);

	/* An exact-size heap copy lets ASan catch any read past caplen. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	r = qt_packet_parse(buf, caplen, origlen, &pkt);
	fuzz_parse_check(buf, caplen, origlen, &pkt, r);

	fuzz_now += 250;
	qt_engine_process(e, buf, caplen, origlen, 0, fuzz_now, &res);
	if ((unsigned int)res.state >= QT_CT_MAX ||
	    (unsigned int)res.reason >= QT_R_MAX)
		abort();
	if (r != QT_R_NONE &&
	    (res.state != QT_CT_INVALID || res.reason != r || res.conn))
		abort();
	if (++fuzz_inputs % 64 == 0)
		qt_engine_expire(e, fuzz_now, 0);
	free(buf);
	return 0;
}
