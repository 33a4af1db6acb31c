/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format_expect.c - an expectation as the kernel prints it in
 * /proc/net/nf_conntrack_expect:
 *
 *   TIMEOUT l3proto = FAMILY proto=PROTO src=A dst=B sport=S dport=D HELPER
 *
 * The odd "l3proto = " with blanks is the kernel's.  The source port of an
 * expectation whose mask leaves it open is zero in the kernel's tuple, so
 * it prints as sport=0.  The helper name follows the tuple; the FTP
 * helper's expectation policy has no name, hence no "/NAME" after it.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "expect.h"
#include "format.h"

/* %pI6: eight groups of four hex digits, nothing compressed. */
static void fmt_addr_proc(int family, const union qt_addr *a, char *buf,
			  size_t len)
{
	if (family != AF_INET6) {
		snprintf(buf, len, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2],
			 a->b[3]);
		return;
	}
	snprintf(buf, len,
		 "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:"
		 "%02x%02x:%02x%02x",
		 a->b[0], a->b[1], a->b[2], a->b[3], a->b[4], a->b[5], a->b[6],
		 a->b[7], a->b[8], a->b[9], a->b[10], a->b[11], a->b[12],
		 a->b[13], a->b[14], a->b[15]);
}

static const char *fmt_expect_helper(const struct qt_expect *exp)
{
	const struct qt_helper_ops *h = qt_helper_find(exp->helper);

	return h ? h->name : NULL;
}

size_t qt_format_expect(const struct qt_expect *exp, uint32_t timeout,
			char *buf, size_t len)
{
	const struct qt_tuple *t = &exp->tuple;
	const char *helper = fmt_expect_helper(exp);
	char src[48], dst[48];
	int n;

	fmt_addr_proc(t->family, &t->src, src, sizeof(src));
	fmt_addr_proc(t->family, &t->dst, dst, sizeof(dst));
	n = snprintf(buf, len,
		     "%" PRIu32 " l3proto = %u proto=%u src=%s dst=%s "
		     "sport=%u dport=%u %s",
		     timeout, t->family, t->proto, src, dst,
		     exp->flags & QT_EXPECT_ANY_SPORT ? 0u : t->sport, t->dport,
		     helper ? helper : "");
	if (n < 0)
		return 0;
	/* Without a helper the kernel's line ends after "dport=N ". */
	return (size_t)n;
}

size_t qt_format_expect_json(const struct qt_expect *exp, uint32_t timeout,
			     char *buf, size_t len)
{
	const struct qt_tuple *t = &exp->tuple;
	const char *helper = fmt_expect_helper(exp);
	char src[48], dst[48];
	int n;

	qt_format_addr(t->family, &t->src, src, sizeof(src));
	qt_format_addr(t->family, &t->dst, dst, sizeof(dst));
	n = snprintf(buf, len,
		     "{\"timeout\":%" PRIu32 ",\"family\":\"%s\",\"proto\":%u,"
		     "\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,"
		     "\"dport\":%u,\"helper\":%s%s%s}",
		     timeout, t->family == AF_INET6 ? "ipv6" : "ipv4", t->proto,
		     src, dst, exp->flags & QT_EXPECT_ANY_SPORT ? 0u : t->sport,
		     t->dport, helper ? "\"" : "", helper ? helper : "null",
		     helper ? "\"" : "");
	return n < 0 ? 0 : (size_t)n;
}
