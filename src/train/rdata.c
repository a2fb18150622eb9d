/* rdata.c - R serialization reader (see rdata.h). Written from the format as
 * R's serialize.c documents it: a stream of items, each a 32-bit flags word
 * (type in the low byte, then object/attribute/tag bits, levels above bit 12)
 * followed by the item's payload, all big-endian (XDR). */
#include "config.h"
#include "rdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct rdata {
	rdata_obj **all; /* every object, for rdata_free */
	size_t n, cap;
	rdata_obj *root;
	rdata_obj *nil;
};

typedef struct rd {
	const unsigned char *p;
	size_t n, pos;
	rdata *r;
	rdata_obj **refs;
	size_t nref, capref;
	const char *name;
	rs_err *err;
	int failed;
} rd;

static rdata_obj *new_obj(rdata *r, int type)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->all = rs_xrealloc(r->all, r->cap * sizeof *r->all);
	}
	rdata_obj *o = rs_xcalloc(1, sizeof *o);
	o->type = type;
	r->all[r->n++] = o;
	return o;
}

static void fail(rd *d, const char *what)
{
	if (!d->failed)
		rs_fail(d->err, "%s: offset %zu: %s", d->name, d->pos, what);
	d->failed = 1;
}

static int32_t rd_int(rd *d)
{
	if (d->failed || d->pos + 4 > d->n) {
		fail(d, "truncated");
		return 0;
	}
	const unsigned char *q = d->p + d->pos;
	d->pos += 4;
	return (int32_t)((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]);
}

static double rd_double(rd *d)
{
	uint64_t hi = (uint32_t)rd_int(d), lo = (uint32_t)rd_int(d);
	uint64_t u = hi << 32 | lo;
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

static int64_t rd_len(rd *d)
{
	int32_t n = rd_int(d);
	if (n == -1) { /* long vector: two more words */
		int64_t hi = (uint32_t)rd_int(d), lo = (uint32_t)rd_int(d);
		return hi << 32 | lo;
	}
	if (n < 0)
		fail(d, "negative length");
	return n;
}

static void add_ref(rd *d, rdata_obj *o)
{
	if (d->nref == d->capref) {
		d->capref = d->capref ? d->capref * 2 : 64;
		d->refs = rs_xrealloc(d->refs, d->capref * sizeof *d->refs);
	}
	d->refs[d->nref++] = o;
}

/* Latin-1 strings are widened to UTF-8; everything else is kept as bytes. */
static char *rd_chars(rd *d, int32_t len, int latin1)
{
	if (len < 0 || d->pos + (size_t)len > d->n) {
		fail(d, "string runs past the end");
		return rs_xstrdup("");
	}
	const unsigned char *q = d->p + d->pos;
	d->pos += (size_t)len;
	char *s = rs_xmalloc((size_t)len * 2 + 1), *o = s;
	for (int32_t i = 0; i < len; i++) {
		if (latin1 && q[i] >= 0x80) {
			*o++ = (char)(0xc0 | (q[i] >> 6));
			*o++ = (char)(0x80 | (q[i] & 0x3f));
		} else {
			*o++ = (char)q[i];
		}
	}
	*o = 0;
	return s;
}

static rdata_obj *item(rd *d);

static rdata_obj *pairlist(rd *d, int32_t flags)
{
	/* Read iteratively: R writes a pairlist as nested cells, and long
	 * ones would otherwise recurse once per element. */
	rdata_obj *o = new_obj(d->r, (flags & 0xff) == RDATA_LIST ? RDATA_LIST : RDATA_OTHER);
	size_t cap = 0;
	for (int first = 1;; first = 0) {
		if (flags >> 9 & 1) {
			rdata_obj *a = item(d);
			if (first)
				o->attr = a;
		}
		char *tag = NULL;
		if (flags >> 10 & 1) {
			rdata_obj *t = item(d);
			if (t && t->chars)
				tag = rs_xstrdup(t->chars);
		}
		rdata_obj *car = item(d);
		if (d->failed) {
			free(tag);
			return o;
		}
		if ((size_t)o->n == cap) {
			cap = cap ? cap * 2 : 8;
			o->elt = rs_xrealloc(o->elt, cap * sizeof *o->elt);
			o->tags = rs_xrealloc(o->tags, cap * sizeof *o->tags);
		}
		o->elt[o->n] = car;
		o->tags[o->n++] = tag;
		size_t at = d->pos;
		int32_t next = rd_int(d);
		int nt = next & 0xff;
		if (!d->failed && (nt == 2 || nt == 6 || nt == 239 || nt == 240) && nt == (flags & 0xff)) {
			flags = next;
			continue;
		}
		d->pos = at;
		item(d); /* the tail: normally NILVALUE */
		return o;
	}
}

static rdata_obj *altrep(rd *d)
{
	rdata_obj *info = item(d), *state = item(d), *attr = item(d);
	if (d->failed)
		return d->r->nil;
	const char *cls = info && info->type == RDATA_LIST && info->n > 0 && info->elt[0]->chars
				  ? info->elt[0]->chars : "?";
	rdata_obj *o = NULL;
	if (!strcmp(cls, "compact_intseq") && state->type == RDATA_REAL && state->n >= 3) {
		int64_t n = (int64_t)state->reals[0];
		o = new_obj(d->r, RDATA_INT);
		o->n = n;
		o->ints = rs_xmalloc((size_t)(n ? n : 1) * sizeof *o->ints);
		for (int64_t i = 0; i < n; i++)
			o->ints[i] = (int32_t)(state->reals[1] + (double)i * state->reals[2]);
	} else if (!strncmp(cls, "wrap_", 5) && state->type == RDATA_VEC && state->n >= 1) {
		o = state->elt[0];
	} else {
		char msg[96];
		snprintf(msg, sizeof msg, "unsupported ALTREP class %s", cls);
		fail(d, msg);
		return d->r->nil;
	}
	if (attr && attr->type == RDATA_LIST)
		o->attr = attr;
	return o;
}

static rdata_obj *item(rd *d)
{
	if (d->failed)
		return d->r->nil;
	int32_t flags = rd_int(d);
	int type = flags & 0xff, has_attr = flags >> 9 & 1, levs = flags >> 12;
	rdata_obj *o;
	switch (type) {
	case 254: /* NILVALUE */
		return d->r->nil;
	case 253: case 252: case 251: case 250: case 242: case 241: /* singletons */
		return new_obj(d->r, RDATA_OTHER);
	case 255: { /* reference to an earlier symbol or environment */
		int32_t i = flags >> 8;
		if (i == 0)
			i = rd_int(d);
		if (i < 1 || (size_t)i > d->nref) {
			fail(d, "bad reference");
			return d->r->nil;
		}
		return d->refs[i - 1];
	}
	case 249: case 248: { /* namespace, package: a string vector */
		o = new_obj(d->r, RDATA_OTHER);
		add_ref(d, o);
		rd_int(d);
		int64_t n = rd_len(d);
		for (int64_t i = 0; i < n && !d->failed; i++)
			item(d);
		return o;
	}
	case 238:
		return altrep(d);
	case RDATA_SYM: {
		o = new_obj(d->r, RDATA_SYM);
		add_ref(d, o);
		rdata_obj *c = item(d);
		o->chars = rs_xstrdup(c->chars ? c->chars : "");
		return o;
	}
	case RDATA_ENV:
		o = new_obj(d->r, RDATA_ENV);
		add_ref(d, o);
		rd_int(d); /* locked */
		item(d);   /* enclosure */
		item(d);   /* frame */
		item(d);   /* hash table */
		item(d);   /* attributes */
		return o;
	case 2: case 3: case 5: case 6: case 17: case 239: case 240:
		return pairlist(d, flags);
	case RDATA_CHAR: {
		o = new_obj(d->r, RDATA_CHAR);
		int32_t len = rd_int(d);
		o->chars = len == -1 ? NULL : rd_chars(d, len, levs & 4);
		return o;
	}
	case RDATA_LGL: case RDATA_INT:
		o = new_obj(d->r, type);
		o->n = rd_len(d);
		if (d->failed || (size_t)o->n > (d->n - d->pos) / 4) {
			fail(d, "vector runs past the end");
			return o;
		}
		o->ints = rs_xmalloc((size_t)(o->n ? o->n : 1) * sizeof *o->ints);
		for (int64_t i = 0; i < o->n; i++)
			o->ints[i] = rd_int(d);
		break;
	case RDATA_REAL: case RDATA_CPLX: {
		o = new_obj(d->r, type);
		o->n = rd_len(d);
		int64_t k = type == RDATA_CPLX ? 2 * o->n : o->n;
		if (d->failed || (size_t)k > (d->n - d->pos) / 8) {
			fail(d, "vector runs past the end");
			return o;
		}
		o->reals = rs_xmalloc((size_t)(k ? k : 1) * sizeof *o->reals);
		for (int64_t i = 0; i < k; i++)
			o->reals[i] = rd_double(d);
		break;
	}
	case RDATA_STR: case RDATA_VEC: case RDATA_EXPR:
		o = new_obj(d->r, type);
		o->n = rd_len(d);
		if (d->failed || (size_t)o->n > (d->n - d->pos) / 4) {
			fail(d, "vector runs past the end");
			return o;
		}
		if (type == RDATA_STR)
			o->str = rs_xcalloc((size_t)(o->n ? o->n : 1), sizeof *o->str);
		else
			o->elt = rs_xcalloc((size_t)(o->n ? o->n : 1), sizeof *o->elt);
		for (int64_t i = 0; i < o->n && !d->failed; i++) {
			rdata_obj *e = item(d);
			if (type != RDATA_STR)
				o->elt[i] = e;
			else if (e->chars)
				o->str[i] = rs_xstrdup(e->chars);
		}
		break;
	case RDATA_RAW: {
		o = new_obj(d->r, RDATA_RAW);
		o->n = rd_len(d);
		if (d->failed || (size_t)o->n > d->n - d->pos) {
			fail(d, "raw vector runs past the end");
			return o;
		}
		d->pos += (size_t)o->n;
		break;
	}
	case 7: case 8: /* special, builtin: a name */
		o = new_obj(d->r, RDATA_OTHER);
		free(rd_chars(d, rd_int(d), 0));
		return o;
	case 25: /* S4 object: attributes only */
		o = new_obj(d->r, RDATA_OTHER);
		break;
	default: {
		char msg[64];
		snprintf(msg, sizeof msg, "unsupported item type %d", type);
		fail(d, msg);
		return d->r->nil;
	}
	}
	if (has_attr)
		o->attr = item(d);
	return o;
}

rdata *rdata_parse(const unsigned char *buf, size_t n, const char *name, rs_err *err)
{
	rd d = {buf, n, 0, rs_xcalloc(1, sizeof(rdata)), NULL, 0, 0, name, err, 0};
	d.r->nil = new_obj(d.r, RDATA_NIL);
	if (n >= 5 && !memcmp(buf, "RDX", 3) && buf[4] == '\n')
		d.pos = 5;
	if (d.pos + 2 > n || memcmp(buf + d.pos, "X\n", 2)) {
		rs_fail(err, "%s: not R data in XDR format (no \"X\\n\" header)", name);
		rdata_free(d.r);
		return NULL;
	}
	d.pos += 2;
	int32_t version = rd_int(&d);
	rd_int(&d); /* writer's R version */
	rd_int(&d); /* oldest R that reads it */
	if (version == 3) {
		int32_t nelen = rd_int(&d);
		if (nelen < 0 || d.pos + (size_t)nelen > n)
			fail(&d, "bad native encoding length");
		else
			d.pos += (size_t)nelen;
	} else if (version != 2) {
		fail(&d, "unsupported serialization version");
	}
	rdata_obj *root = item(&d);
	free(d.refs);
	if (d.failed) {
		rdata_free(d.r);
		return NULL;
	}
	d.r->root = root;
	return d.r;
}

const rdata_obj *rdata_root(const rdata *r)
{
	return r->root;
}

void rdata_free(rdata *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		rdata_obj *o = r->all[i];
		if (o->str)
			for (int64_t k = 0; k < o->n; k++)
				free(o->str[k]);
		if (o->tags)
			for (int64_t k = 0; k < o->n; k++)
				free(o->tags[k]);
		free(o->str);
		free(o->tags);
		free(o->ints);
		free(o->reals);
		free(o->elt);
		free(o->chars);
		free(o);
	}
	free(r->all);
	free(r);
}

const rdata_obj *rdata_attr(const rdata_obj *o, const char *name)
{
	if (!o || !o->attr || o->attr->type != RDATA_LIST)
		return NULL;
	for (int64_t i = 0; i < o->attr->n; i++)
		if (o->attr->tags[i] && !strcmp(o->attr->tags[i], name))
			return o->attr->elt[i];
	return NULL;
}

const rdata_obj *rdata_get(const rdata_obj *o, const char *name)
{
	if (!o)
		return NULL;
	if (o->type == RDATA_LIST) {
		for (int64_t i = 0; i < o->n; i++)
			if (o->tags[i] && !strcmp(o->tags[i], name))
				return o->elt[i];
		return NULL;
	}
	const rdata_obj *names = rdata_attr(o, "names");
	if (o->type != RDATA_VEC || !names || names->type != RDATA_STR)
		return NULL;
	for (int64_t i = 0; i < o->n && i < names->n; i++)
		if (names->str[i] && !strcmp(names->str[i], name))
			return o->elt[i];
	return NULL;
}
