/* Strings from the profiled program made safe for JSON and terminals, and human-readable figures.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "term_text.h"

char *ipcprof_utf8_dup(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	char *out = malloc(3 * n + 1); /* each bad byte becomes the 3-byte U+FFFD */
	if (!out)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = ipcprof_utf8_len(u + i, n - i);
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

void ipcprof_say(const char *fmt, ...)
{
	va_list ap;
	char *raw = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	/* Each byte shows as at most 4 (\xNN; 3-byte characters as the 6 of \uNNNN). */
	char *shown = n >= 0 ? malloc(4 * (size_t)n + 1) : NULL;
	if (shown) {
		ipcprof_term_str(raw, shown, 4 * (size_t)n + 1);
		fprintf(stderr, "%s\n", shown);
	} else {
		fputs("ipcprof: out of memory (a message is lost)\n", stderr);
	}
	free(shown);
	if (n >= 0)
		free(raw);
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
#define KIND_NAME(id, value, name) [IPCPROF_KIND_##id] = name,
	    IPCPROF_KINDS(KIND_NAME)
#undef KIND_NAME
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
