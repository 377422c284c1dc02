/* The probes' loader's way of failing: a negative errno, and a one-line reason for the user. */
#ifndef IPCPROF_PROBES_WHY_H
#define IPCPROF_PROBES_WHY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int ipcprof_probes_why(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns err, so that a failure is one statement: return ipcprof_probes_why(...). */
static inline int ipcprof_probes_why(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

#endif
