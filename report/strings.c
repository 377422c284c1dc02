/* Strings from the profiled program made safe for JSON and terminals, and human-readable figures.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
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
	return len;
}

char *ipcprof_utf8_dup(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	char *out = malloc(3 * n + 1); /* each bad byte becomes the 3-byte U+FFFD */
	if (!out)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);
		if (k) {
			memcpy(out + o, u + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

void ipcprof_term_str(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, n = strlen(s);
	const unsigned char *u = (const unsigned char *)s;
	if (!outlen)
		return;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);
		/* Control characters (C0, DEL, C1) could drive the terminal: show them as hex. */
		int control = k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f)) ||
			      (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0);
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

void ipcprof_fmt_bytes(uint64_t b, char *out, size_t outlen)
{
	static const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1000.0 && u < 5) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)b);
	else
		snprintf(out, outlen,
			 v < 10    ? "%.2f %s"
			 : v < 100 ? "%.1f %s"
				   : "%.0f %s",
			 v, unit[u]);
}

void ipcprof_fmt_ns(uint64_t ns, char *out, size_t outlen)
{
	double v = (double)ns;
	if (ns < 1000)
		snprintf(out, outlen, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(out, outlen, "%.1f us", v / 1e3);
	else if (ns < 1000000000)
		snprintf(out, outlen, "%.1f ms", v / 1e6);
	else
		snprintf(out, outlen, "%.2f s", v / 1e9);
}

bool ipcprof_link_joins(const struct ipcprof_model *m, const struct ipcprof_link *l)
{
	if (l->paired || l->kind != IPCPROF_KIND_SEM)
		return l->paired;
	int first = -1;
	for (int e = 0; e < l->nend; e++) {
		const struct ipcprof_channel *ch = &m->img[l->end[e].image].chan[l->end[e].chan];
		if (!ch->dir[IPCPROF_DIR_OUT].calls && !ch->dir[IPCPROF_DIR_IN].calls)
			continue;
		if (first < 0)
			first = l->end[e].image;
		else if (l->end[e].image != first)
			return true;
	}
	return false;
}

const char *ipcprof_kind_name(uint32_t kind)
{
	static const char *names[IPCPROF_KIND_COUNT] = {
	    [IPCPROF_KIND_NONE] = "none",
	    [IPCPROF_KIND_PIPE] = "pipe",
	    [IPCPROF_KIND_FIFO] = "fifo",
	    [IPCPROF_KIND_UNIX_STREAM] = "unix_stream",
	    [IPCPROF_KIND_UNIX_DGRAM] = "unix_dgram",
	    [IPCPROF_KIND_UNIX_SEQPACKET] = "unix_seqpacket",
	    [IPCPROF_KIND_TCP] = "tcp",
	    [IPCPROF_KIND_UDP] = "udp",
	    [IPCPROF_KIND_SHM] = "shm_fd",
	    [IPCPROF_KIND_PLUGIN] = "plugin",
	    [IPCPROF_KIND_SEM] = "semaphore",
	};
	return kind < IPCPROF_KIND_COUNT ? names[kind] : "unknown";
}

char *ipcprof_argv_join(const struct ipcprof_process *p)
{
	size_t n = p->argv_len < sizeof(p->argv) ? p->argv_len : sizeof(p->argv) - 1;
	char tmp[IPCPROF_ARGV_BYTES];
	memcpy(tmp, p->argv, n);
	/* argv_len counts the last NUL: drop trailing NULs, join the rest with spaces. */
	while (n && tmp[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (tmp[i] == '\0')
			tmp[i] = ' ';
	tmp[n] = '\0';
	return ipcprof_utf8_dup(tmp, n + 1);
}

const char *ipcprof_base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}
