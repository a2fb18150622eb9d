/* tok_pretok.c - the Llama 3 pre-tokenizer regex, hand-compiled to C.
 *
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * The text is split into consecutive matches; every character matches one of
 * the alternatives, so there are no gaps. A backtracking engine tries the
 * alternatives in order and takes the first that matches; each function below
 * is one alternative and returns the match length or 0. Classes come from the
 * generated Unicode tables (letters L*, numbers N*, White_Space for \s).
 */
#include "config.h"
#include "tok_internal.h"
#include "unicode_tables.h"

const char tok_llama3_regex[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	" ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* A decoded character: code point (UINT32_MAX for an invalid byte), length, class. */
typedef struct ch {
	uint32_t cp;
	int len;
	int cls;
} ch;

static inline __attribute__((always_inline)) ch char_at(const unsigned char *s, size_t len,
							 size_t pos)
{
	ch c;
	if (s[pos] < 0x80) { /* the common case, without the decoder */
		c.cp = s[pos];
		c.len = 1;
		c.cls = uc_latin1[s[pos]];
		return c;
	}
	c.len = tok_utf8_next(s + pos, len - pos, &c.cp);
	c.cls = c.cp == UINT32_MAX ? UC_OTHER : uc_class_of(c.cp);
	return c;
}

static inline int is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/* (?i:'s|'t|'re|'ve|'m|'ll|'d). Case-insensitive matching also lets U+017F
 * LATIN SMALL LETTER LONG S stand for s: it case-folds to s. */
static size_t m_contraction(const unsigned char *s, size_t len, size_t pos)
{
	if (s[pos] != '\'' || pos + 1 >= len)
		return 0;
	unsigned a = s[pos + 1] | 0x20, b = pos + 2 < len ? s[pos + 2] | 0x20 : 0;
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return s[pos + 1] < 0x80 ? 2 : 0;
	if (s[pos + 1] == 0xC5 && pos + 2 < len && s[pos + 2] == 0xBF)
		return 3; /* 'ſ */
	if (s[pos + 1] >= 0x80 || b == 0 || s[pos + 2] >= 0x80)
		return 0;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* \p{L}+ from pos; returns the end. */
static size_t letters_end(const unsigned char *s, size_t len, size_t pos)
{
	while (pos < len) {
		if (s[pos] < 0x80) { /* ASCII runs without the decoder */
			if (uc_latin1[s[pos]] != UC_L)
				break;
			pos++;
			continue;
		}
		ch c = char_at(s, len, pos);
		if (c.cls != UC_L)
			break;
		pos += (size_t)c.len;
	}
	return pos;
}

/* [^\r\n\p{L}\p{N}]?\p{L}+ */
static size_t m_word(const unsigned char *s, size_t len, size_t pos, ch c0)
{
	if (c0.cls == UC_L)
		return letters_end(s, len, pos) - pos;
	if (c0.cls == UC_N || is_crlf(c0.cp))
		return 0;
	size_t p = pos + (size_t)c0.len;
	if (p >= len || char_at(s, len, p).cls != UC_L)
		return 0;
	return letters_end(s, len, p) - pos;
}

/* \p{N}{1,3} */
static size_t m_number(const unsigned char *s, size_t len, size_t pos, ch c0)
{
	if (c0.cls != UC_N)
		return 0;
	size_t p = pos;
	for (int k = 0; k < 3 && p < len; k++) {
		ch c = char_at(s, len, p);
		if (c.cls != UC_N)
			break;
		p += (size_t)c.len;
	}
	return p - pos;
}

/*  ?[^\s\p{L}\p{N}]+[\r\n]* */
static size_t m_punct(const unsigned char *s, size_t len, size_t pos, ch c0)
{
	size_t p = pos;
	if (c0.cp == ' ')
		p++;
	size_t start = p;
	while (p < len) {
		ch c = char_at(s, len, p);
		if (c.cls != UC_OTHER)
			break;
		p += (size_t)c.len;
	}
	if (p == start)
		return 0;
	while (p < len && (s[p] == '\r' || s[p] == '\n'))
		p++;
	return p - pos;
}

/* The three whitespace alternatives: \s*[\r\n]+ | \s+(?!\S) | \s+ */
static size_t m_space(const unsigned char *s, size_t len, size_t pos, ch c0)
{
	if (c0.cls != UC_WS)
		return 0;
	size_t p = pos, last_nl = 0, last_start = pos;
	int have_nl = 0;
	while (p < len) {
		ch c = char_at(s, len, p);
		if (c.cls != UC_WS)
			break;
		if (is_crlf(c.cp)) {
			have_nl = 1;
			last_nl = p;
		}
		last_start = p;
		p += (size_t)c.len;
	}
	/* \s*[\r\n]+: backtracking leaves the run just after its last \r or \n. */
	if (have_nl)
		return last_nl + 1 - pos;
	/* \s+(?!\S): the whole run at the end of text; else all but its last
	 * character, which then starts the next match (" world"). */
	if (p == len)
		return p - pos;
	if (last_start > pos)
		return last_start - pos;
	return p - pos; /* \s+: a single space before a non-space */
}

size_t tok_pretok_next(const char *text, size_t len, size_t pos)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n;
	if ((n = m_contraction(s, len, pos)))
		return pos + n;
	ch c0 = char_at(s, len, pos);
	if ((n = m_word(s, len, pos, c0)) || (n = m_number(s, len, pos, c0)) ||
	    (n = m_punct(s, len, pos, c0)) || (n = m_space(s, len, pos, c0)))
		return pos + n;
	/* Unreachable: every character is a letter, a number, a space or other.
	 * Consume it anyway so that callers always advance. */
	return pos + (size_t)c0.len;
}
