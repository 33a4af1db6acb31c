/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_sync.c - arbitrary bytes as a sync datagram, received as qtrackd's
 * standby receives one.  The input is tried twice: as it is (it must then
 * be refused, as it cannot carry our key's MAC), and signed with the key
 * (the MAC appended), so that the parser behind the MAC is reached.  An
 * accepted datagram's items are applied to an engine (update, delete,
 * expectation import, a dump's generation and its sweep); nothing may
 * crash and the engine must stay consistent: every entry found again by
 * its original tuple.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtrack.h"
#include "record.h"
#include "syncmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[] = "fuzz-sync-key-0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[QT_SYNC_DGRAM_MAX];
	struct qt_sync_item it;
	struct qt_sync_hdr h;
	struct qt_engine *e;
	const struct qt_conn *ct;
	struct qt_conf c;
	uint32_t cursor = 0;
	size_t off = 0, len;

	if (size > QT_SYNC_DGRAM_MAX - QT_SYNC_MAC)
		return 0;
	if (qt_sync_check(data, size, key, sizeof(key) - 1, &h) ==
		QT_SYNC_OK &&
	    size >= QT_SYNC_MAC)
		abort(); /* a forged MAC */
	memcpy(buf, data, size);
	len = qt_sync_seal(buf, size, key, sizeof(key) - 1);
	if (qt_sync_check(buf, len, key, sizeof(key) - 1, &h) != QT_SYNC_OK)
		return 0;
	qt_conf_init(&c);
	c.table.max = 256;
	c.table.buckets = 64;
	c.helper.expect_max = 64;
	e = qt_engine_new(&c, 1000);
	if (!e)
		return 0;
	while (qt_sync_next(buf, len, &off, &it)) {
		switch (it.op) {
		case QT_SYNC_OP_CONN:
			qt_engine_update_conn(e, &it.rec.conn, 0);
			break;
		case QT_SYNC_OP_DESTROY:
			qt_engine_delete(e, &it.rec.conn.orig);
			break;
		case QT_SYNC_OP_EXPECT:
			qt_engine_import_expect(e, &it.rec.expect, 0);
			break;
		case QT_SYNC_OP_DUMP_BEGIN:
			qt_engine_sync_dump_begin(e);
			break;
		case QT_SYNC_OP_DUMP_END: {
			/* The sweep in small steps, as the daemon does. */
			uint32_t cur = 0;
			size_t removed = 0;

			while (!qt_engine_sync_sweep(e, &cur, 7, &removed))
				;
			if (removed > c.table.max)
				abort();
			break;
		}
		default:
			break;
		}
	}
	while ((ct = qt_engine_next(e, &cursor))) {
		struct qt_tuple t;

		qt_conn_tuple_orig(ct, &t);
		if (qt_engine_find(e, &t, NULL) != ct)
			abort();
	}
	qt_engine_expire(e, 1000 + 86400000ull * 200, 0);
	if (qt_engine_stats(e)->count != 0)
		abort();
	qt_engine_free(e);
	return 0;
}
