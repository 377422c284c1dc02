/* Text from the profiled program made safe to show on a terminal (the preload's messages and the
 * ipcprof command's output share it). No allocation and no state: the preload calls it anywhere. */
#include "term_text.h"

#include <stdint.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (at most n bytes) and its code point in *cpp; 0 when
 * it is not valid. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cpp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
	*cpp = c;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return len;
}

size_t ipcprof_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	return decode(s, n, &cp);
}

/* A character a terminal shows as text that changes the order or the lines of what follows: a
 * name holding U+202E shows its end reversed, and so can pass for another name. */
static int reorders(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

void ipcprof_term_str(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, n = strlen(s);
	const unsigned char *u = (const unsigned char *)s;
	if (!outlen)
		return;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = decode(u + i, n - i, &cp);
		/* Control characters (C0, DEL, C1) could drive the terminal: shown as hex. */
		int control = k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f)) ||
			      (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0);
		if (k > 1 && reorders(cp)) {
			if (o + 6 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'u';
			for (int sh = 12; sh >= 0; sh -= 4)
				out[o++] = hex[(cp >> sh) & 15];
			i += k;
			continue;
		}
		if (!control) {
			if (o + k >= outlen)
				break;
			memcpy(out + o, u + i, k);
			o += k;
			i += k;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
		i++;
	}
	out[o] = '\0';
}
