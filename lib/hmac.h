/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmac.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), which
 * authenticate the sync messages between two qtrackd (docs/state-format.md).
 * Pure: no I/O, no allocation.
 */
#ifndef QTRACK_HMAC_H
#define QTRACK_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define QT_SHA256_LEN 32
#define QT_SHA256_BLOCK 64

struct qt_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[QT_SHA256_BLOCK];
	size_t used; /* bytes waiting in buf */
};

void qt_sha256_init(struct qt_sha256 *s);
void qt_sha256_update(struct qt_sha256 *s, const void *data, size_t len);
void qt_sha256_final(struct qt_sha256 *s, uint8_t out[QT_SHA256_LEN]);

/* HMAC-SHA256 of @len bytes of @data under @key (any length). */
void qt_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
		    size_t len, uint8_t out[QT_SHA256_LEN]);

/* Whether two MACs are equal, in time that does not depend on where they
 * differ. */
int qt_hmac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
