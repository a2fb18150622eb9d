/* rdata_file.c - files around R's serialization: compressed streams, whole
 * files, and the lazy-load databases that installed data packages use. */
#include "config.h"
#include "rdata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int rdata_inflate(const unsigned char *in, size_t n, size_t hint, unsigned char **out,
		  size_t *outn, const char *name, rs_err *err)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 32) != Z_OK) /* +32: zlib or gzip header */
		return rs_fail(err, "%s: inflateInit failed", name);
	size_t cap = hint ? hint + 1 : n * 4 + 64, len = 0;
	unsigned char *buf = rs_xmalloc(cap);
	z.next_in = (unsigned char *)in;
	int rc = Z_OK;
	while (rc != Z_STREAM_END) {
		if (len == cap) {
			cap *= 2;
			buf = rs_xrealloc(buf, cap);
		}
		/* Feed at most UINT_MAX at a time: z_stream counts in uInt. */
		size_t left_in = n - (size_t)(z.next_in - in);
		z.avail_in = left_in > 1u << 30 ? 1u << 30 : (uInt)left_in;
		z.next_out = buf + len;
		z.avail_out = cap - len > 1u << 30 ? 1u << 30 : (uInt)(cap - len);
		uInt before = z.avail_out;
		rc = inflate(&z, Z_NO_FLUSH);
		len += before - z.avail_out;
		if (rc == Z_BUF_ERROR && z.avail_out > 0 && !z.avail_in)
			break; /* input ended before the stream did */
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			break;
	}
	size_t consumed = (size_t)(z.next_in - in);
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return rs_fail(err, "%s: corrupt or truncated compressed data near input offset %zu",
			       name, consumed);
	}
	*out = buf;
	*outn = len;
	return 0;
}

static int slurp(const char *path, unsigned char **out, size_t *n, rs_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = rs_xmalloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = rs_xrealloc(buf, cap);
		}
		size_t k = fread(buf + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return rs_fail(err, "%s: read error", path);
	}
	*out = buf;
	*n = len;
	return 0;
}

int rdata_read_file(const char *path, unsigned char **out, size_t *n, rs_err *err)
{
	unsigned char *raw = NULL;
	size_t rn = 0;
	if (slurp(path, &raw, &rn, err))
		return -1;
	int gz = rn >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
	int zl = rn >= 2 && raw[0] == 0x78 && ((raw[0] << 8 | raw[1]) % 31) == 0;
	if (!gz && !zl) {
		*out = raw;
		*n = rn;
		return 0;
	}
	int rc = rdata_inflate(raw, rn, 0, out, n, path, err);
	free(raw);
	return rc;
}

static int64_t num_at(const rdata_obj *o, int64_t i)
{
	if (o->type == RDATA_INT && i < o->n)
		return o->ints[i];
	if (o->type == RDATA_REAL && i < o->n)
		return (int64_t)o->reals[i];
	return -1;
}

int rdata_lazyload(const char *base, rdata_var_fn fn, void *ctx, rs_err *err)
{
	char path[4096];
	unsigned char *idx = NULL, *db = NULL;
	size_t nidx, ndb;
	rdata *index = NULL;
	int rc = -1;
	snprintf(path, sizeof path, "%s.rdx", base);
	if (rdata_read_file(path, &idx, &nidx, err))
		goto out;
	if (!(index = rdata_parse(idx, nidx, path, err)))
		goto out;
	const rdata_obj *vars = rdata_get(rdata_root(index), "variables");
	const rdata_obj *names = rdata_attr(vars, "names");
	const rdata_obj *comp = rdata_get(rdata_root(index), "compressed");
	int ctype = comp && (comp->type == RDATA_LGL || comp->type == RDATA_INT) && comp->n
			    ? comp->ints[0] : 1;
	if (!vars || vars->type != RDATA_VEC || !names || names->type != RDATA_STR) {
		rs_fail(err, "%s: no \"variables\" list in the index", path);
		goto out;
	}
	snprintf(path, sizeof path, "%s.rdb", base);
	FILE *f = fopen(path, "rb");
	if (!f) {
		rs_fail(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	fclose(f);
	{
		/* Read the database raw: its records are compressed one by one. */
		FILE *g = fopen(path, "rb");
		fseek(g, 0, SEEK_END);
		long sz = ftell(g);
		fseek(g, 0, SEEK_SET);
		db = rs_xmalloc(sz > 0 ? (size_t)sz : 1);
		ndb = sz > 0 ? fread(db, 1, (size_t)sz, g) : 0;
		fclose(g);
	}
	for (int64_t i = 0; i < vars->n && i < names->n; i++) {
		const rdata_obj *v = vars->elt[i];
		int64_t off = num_at(v, 0), len = num_at(v, 1);
		if (off < 0 || len < 5 || (size_t)(off + len) > ndb) {
			rs_fail(err, "%s: record %s at offset %lld runs past the end", path,
				names->str[i] ? names->str[i] : "?", (long long)off);
			goto out;
		}
		const unsigned char *rec = db + off;
		size_t ulen = (size_t)rec[0] << 24 | (size_t)rec[1] << 16 | (size_t)rec[2] << 8 | rec[3];
		const unsigned char *body = rec + 4;
		size_t blen = (size_t)len - 4;
		if (ctype >= 2) { /* one byte says how this record is stored */
			if (body[0] != 'Z' && body[0] != '0') {
				rs_fail(err, "%s: record at offset %lld uses compression '%c' "
					"(only zlib is supported)", path, (long long)off, body[0]);
				goto out;
			}
			body++;
			blen--;
		}
		unsigned char *plain;
		size_t pn;
		if (ctype >= 2 && body[-1] == '0') {
			plain = rs_xmalloc(blen ? blen : 1);
			memcpy(plain, body, blen);
			pn = blen;
		} else if (rdata_inflate(body, blen, ulen, &plain, &pn, path, err)) {
			goto out;
		}
		rdata *obj = rdata_parse(plain, pn, path, err);
		free(plain);
		if (!obj)
			goto out;
		int stop = fn(names->str[i] ? names->str[i] : "", rdata_root(obj), ctx);
		rdata_free(obj);
		if (stop)
			goto out;
	}
	rc = 0;
out:
	rdata_free(index);
	free(idx);
	free(db);
	return rc;
}
