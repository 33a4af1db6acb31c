/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtrackctl-compat.c - the parts of conntrack(8)'s command line that
 * qtrackctl carries out itself, on the lines the daemon sends
 * (qtrackctl.h).  The lines are the "conntrack -L" format of
 * lib/format.c: a protocol name and number, the timeout, the TCP state,
 * the original tuple, flags such as [UNREPLIED], the reply tuple, more
 * flags, mark=N and use=1, separated by single blanks.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtrackctl.h"

#define CTL_MAX_TOKENS 48

/* A line split at its blanks: tok[i] points into buf. */
struct ctl_tokens {
	char buf[2048];
	char *tok[CTL_MAX_TOKENS];
	unsigned n;
};

static void ctl_tokenize(struct ctl_tokens *t, const char *line, size_t len)
{
	char *p, *save = NULL;

	if (len >= sizeof(t->buf))
		len = sizeof(t->buf) - 1;
	memcpy(t->buf, line, len);
	t->buf[len] = '\0';
	t->n = 0;
	for (p = strtok_r(t->buf, " ", &save); p && t->n < CTL_MAX_TOKENS;
	     p = strtok_r(NULL, " ", &save))
		t->tok[t->n++] = p;
}

/* The value of the @nth (0: original, 1: reply) "@key=" token. */
static const char *ctl_field(const struct ctl_tokens *t, const char *key,
			     unsigned nth)
{
	size_t klen = strlen(key);
	unsigned i, seen = 0;

	for (i = 0; i < t->n; i++) {
		if (strncmp(t->tok[i], key, klen) || t->tok[i][klen] != '=')
			continue;
		if (seen++ == nth)
			return t->tok[i] + klen + 1;
	}
	return NULL;
}

static bool ctl_has_token(const struct ctl_tokens *t, const char *word)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->tok[i], word))
			return true;
	return false;
}

static int ctl_addr_parse(const char *s, uint8_t *family, union qt_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool ctl_addr_is(const char *text, uint8_t family,
			const union qt_addr *a)
{
	union qt_addr b;
	uint8_t f;

	return text && !ctl_addr_parse(text, &f, &b) && f == family &&
	       !memcmp(&b, a, sizeof(b));
}

/* "VALUE" or "VALUE/MASK", each decimal or 0x hex, as conntrack -m. */
static int ctl_mark_parse(const char *s, uint32_t *mark, uint32_t *mask)
{
	unsigned long long v, m = 0xffffffffull;
	char *end;

	v = strtoull(s, &end, 0);
	if (end == s || v > 0xffffffffull || *s == '-')
		return -1;
	if (*end == '/') {
		const char *ms = end + 1;

		m = strtoull(ms, &end, 0);
		if (end == ms || m > 0xffffffffull || *ms == '-')
			return -1;
	}
	if (*end)
		return -1;
	*mark = (uint32_t)v;
	*mask = (uint32_t)m;
	return 0;
}

/* A word of a comma-separated list and the bits it stands for. */
struct ctl_word {
	const char *name;
	unsigned bits;
};

static const struct ctl_word ctl_status_words[] = {
    {"ASSURED", CTL_ST_ASSURED},
    {"SEEN_REPLY", CTL_ST_SEEN_REPLY},
    {"UNSET", CTL_ST_UNSET},
};

static const struct ctl_word ctl_event_words[] = {
    {"NEW", CTL_EV_NEW},
    {"UPDATE", CTL_EV_UPDATE},
    {"DESTROY", CTL_EV_DESTROY},
    {"ALL", CTL_EV_NEW | CTL_EV_UPDATE | CTL_EV_DESTROY},
};

#define CTL_NWORDS(table) (sizeof(table) / sizeof((table)[0]))

/* "A,B,C" (case-insensitive words of @table) as the union of their bits.
 * 0, or -1 for an unknown word or an empty list. */
static int ctl_words(const char *arg, const struct ctl_word *table, size_t n,
		     unsigned *out)
{
	char buf[128], *w, *save = NULL;
	unsigned bits = 0;
	size_t i;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -1;
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcasecmp(w, table[i].name); i++)
			;
		if (i == n)
			return -1;
		bits |= table[i].bits;
	}
	if (!bits)
		return -1;
	*out = bits;
	return 0;
}

int ctl_post_set(struct ctl_post *p, int which, const char *arg, char *err,
		 size_t errlen)
{
	switch (which) {
	case 'r':
		p->have_rsrc = !ctl_addr_parse(arg, &p->rsrc_family, &p->rsrc);
		if (!p->have_rsrc)
			break;
		return 0;
	case 'q':
		p->have_rdst = !ctl_addr_parse(arg, &p->rdst_family, &p->rdst);
		if (!p->have_rdst)
			break;
		return 0;
	case 'm':
		if (ctl_mark_parse(arg, &p->mark, &p->mark_mask))
			break;
		p->have_mark = true;
		return 0;
	case 't':
		if (ctl_words(arg, ctl_status_words,
			      CTL_NWORDS(ctl_status_words), &p->status))
			break;
		if ((p->status & CTL_ST_UNSET) && p->status != CTL_ST_UNSET)
			break;
		return 0;
	}
	snprintf(err, errlen, "bad value '%s'", arg);
	return -1;
}

bool ctl_post_active(const struct ctl_post *p)
{
	return p->have_rsrc || p->have_rdst || p->have_mark || p->status;
}

bool ctl_post_match(const struct ctl_post *p, const char *line, size_t len)
{
	struct ctl_tokens t;
	unsigned st = 0;

	ctl_tokenize(&t, line, len);
	if (p->have_rsrc &&
	    !ctl_addr_is(ctl_field(&t, "src", 1), p->rsrc_family, &p->rsrc))
		return false;
	if (p->have_rdst &&
	    !ctl_addr_is(ctl_field(&t, "dst", 1), p->rdst_family, &p->rdst))
		return false;
	if (p->have_mark) {
		const char *m = ctl_field(&t, "mark", 0);
		unsigned long long v;

		if (!m)
			return false;
		v = strtoull(m, NULL, 10);
		if (((uint32_t)v & p->mark_mask) != (p->mark & p->mark_mask))
			return false;
	}
	if (!p->status)
		return true;
	/* An offloaded entry is assured; its line says [OFFLOAD] instead. */
	if (ctl_has_token(&t, "[ASSURED]") || ctl_has_token(&t, "[OFFLOAD]"))
		st |= CTL_ST_ASSURED;
	if (!ctl_has_token(&t, "[UNREPLIED]"))
		st |= CTL_ST_SEEN_REPLY;
	if (p->status == CTL_ST_UNSET)
		return st == 0;
	return (st & p->status) == p->status;
}

int ctl_event_mask(const char *arg, unsigned *mask)
{
	return ctl_words(arg, ctl_event_words, CTL_NWORDS(ctl_event_words),
			 mask);
}

bool ctl_event_match(unsigned mask, const char *line, size_t len)
{
	size_t i;

	while (len && *line == ' ') {
		line++;
		len--;
	}
	for (i = 0; i < CTL_NWORDS(ctl_event_words); i++) {
		size_t n = strlen(ctl_event_words[i].name);

		if (len > n + 1 && line[0] == '[' && line[n + 1] == ']' &&
		    !strncmp(line + 1, ctl_event_words[i].name, n))
			return (mask & ctl_event_words[i].bits) != 0;
	}
	return true; /* not an event line: keep it */
}

const char *ctl_extended_prefix(const char *line, size_t len)
{
	struct ctl_tokens t;
	const char *src;

	ctl_tokenize(&t, line, len);
	src = ctl_field(&t, "src", 0);
	return src && strchr(src, ':') ? "ipv6     10 " : "ipv4     2 ";
}

int ctl_tuple_request(const char *cmd, const char *line, size_t len, char *out,
		      size_t outlen)
{
	struct ctl_tokens t;
	const char *src, *dst, *a, *b, *c;
	int n;

	ctl_tokenize(&t, line, len);
	if (t.n < 2)
		return -1;
	src = ctl_field(&t, "src", 0);
	dst = ctl_field(&t, "dst", 0);
	if (!src || !dst)
		return -1;
	a = ctl_field(&t, "sport", 0);
	b = ctl_field(&t, "dport", 0);
	if (a && b) {
		n = snprintf(out, outlen,
			     "%s proto=%s src=%s dst=%s sport=%s dport=%s",
			     cmd, t.tok[1], src, dst, a, b);
	} else {
		a = ctl_field(&t, "type", 0);
		b = ctl_field(&t, "code", 0);
		c = ctl_field(&t, "id", 0);
		if (!a || !b || !c)
			return -1;
		n = snprintf(out, outlen,
			     "%s proto=%s src=%s dst=%s type=%s code=%s "
			     "id=%s",
			     cmd, t.tok[1], src, dst, a, b, c);
	}
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
