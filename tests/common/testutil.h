/* What the C test programs and dumpers share: failing with errno's message, and JSON strings. */
#ifndef IPCPROF_TESTUTIL_H
#define IPCPROF_TESTUTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the message and errno's text on stderr, and exits 2 (the test program itself failed). */
static inline void test_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void test_die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(2);
}

/* s (at most max bytes, NUL-terminated or not) as a JSON string on stdout; bytes outside
 * printable ASCII as \u00XX. */
static inline void test_put_jstr(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#endif
