// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper.c - the table of connection tracking helpers (helper.h).
 */
#include <stddef.h>

#include "helper.h"

/* Indexed by enum qt_helper; QT_HELPER_NONE has no row. */
static const struct qt_helper_ops *const qt_helpers[QT_HELPER_MAX] = {
    [QT_HELPER_FTP] = &qt_helper_ftp,
};

const struct qt_helper_ops *qt_helper_find(uint8_t helper)
{
	return helper < QT_HELPER_MAX ? qt_helpers[helper] : NULL;
}

uint8_t qt_helper_assign(const struct qt_conn *ct, const struct qt_conf *conf)
{
	for (uint8_t h = QT_HELPER_NONE + 1; h < QT_HELPER_MAX; h++)
		if (qt_helpers[h] && qt_helpers[h]->match(ct, conf))
			return h;
	return QT_HELPER_NONE;
}
