/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackctl.h - what qtrackctl's source files share.
 */
#ifndef QTRACKCTL_H
#define QTRACKCTL_H

/* `save FILE`: read the daemon's reply on @fd (a state file stream) and
 * write it to @path.  @send_errno: the request could not be sent.
 * Returns the exit status, having said what happened on stderr. */
int ctl_save_reply(int fd, const char *path, int send_errno);

#endif
