// SPDX-License-Identifier: GPL-2.0-or-later
/* Placeholder: the FTP helper lands with the RELATED data connection work. */
#include "expect.h"

void qt_helper_ftp(struct qt_expect_table *x, struct qt_wheel *w,
		   struct qt_conn *ct, const struct qt_pkt *pkt,
		   enum qt_dir dir, const struct qt_conf *conf, uint64_t now)
{
	(void)x;
	(void)w;
	(void)ct;
	(void)pkt;
	(void)dir;
	(void)conf;
	(void)now;
}
