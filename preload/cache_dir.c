/* ipcprof's cache directory, which the probes' cut-down BTF and the reporter's debug files share. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cache_dir.h"

static int why_is(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int why_is(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Makes dir (0700) if absent and checks that it is ours and that nobody else can write it. */
static int own_dir(const char *dir, char *why, size_t whylen)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return why_is(why, whylen, -errno, "cannot make %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return why_is(why, whylen, -errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return why_is(why, whylen, -EPERM,
			      "%s is not a directory of this user that only it can write", dir);
	return 0;
}

int ipcprof_cache_dir(char *dir, size_t len, char *why, size_t whylen)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(dir, len, "%s", xdg);
	else if (geteuid() == 0)
		n = snprintf(dir, len, "/var/cache");
	else if (home && home[0] == '/')
		n = snprintf(dir, len, "%s/.cache", home);
	else
		return why_is(why, whylen, -ENOENT, "no cache directory (no XDG_CACHE_HOME, HOME)");
	if (n < 0 || (size_t)n >= len - sizeof("/ipcprof"))
		return why_is(why, whylen, -ENAMETOOLONG, "the cache directory's name is too long");
	/* The parent (e.g. ~/.cache) may be absent; it gets the same mode as the XDG spec asks. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return why_is(why, whylen, -errno, "cannot make %s: %s", dir, strerror(errno));
	strcat(dir, "/ipcprof");
	return own_dir(dir, why, whylen);
}
