/* Wrappers of the stdio calls: the bytes a FILE moves on a pipe or socket with glibc's own writes and reads. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "preload.h"

/* <bits/stdio.h> makes these macros when optimizing; here they are the functions. */
#undef fread_unlocked
#undef fwrite_unlocked

/*
 * glibc's stdio reaches the kernel through its internal write and read, which no interposer
 * sees. How many bytes a call moved is read from the stream itself: glibc keeps a FILE's file
 * offset in _offset and adds to it every byte its write (libio/fileops.c _IO_new_file_write) and
 * read (_IO_new_file_underflow, _IO_file_xsgetn) move, but only while the offset is known. On a
 * pipe or socket it never is (_IO_pos_BAD, -1). So around a call on such a stream, with the
 * stream locked, _offset is set to 0, and afterwards it holds exactly the bytes the call moved,
 * short writes and errors included; then it is made unknown again, as glibc had it. Two glibc
 * paths forget the offset mid-call: a sync (fflush, setvbuf) after a complete flush, and a read
 * that meets end-of-file or an error; for those the pending output before and after, or what the
 * call handed to the program, give the figure. Checked against glibc 2.36's libio.
 */

/* Bits of FILE._flags and _flags2 from glibc's libio/libio.h that its public header lacks. */
#define LIBIO_UNBUFFERED        0x0002
#define LIBIO_NO_READS          0x0004
#define LIBIO_NO_WRITES         0x0008
#define LIBIO_LINKED            0x0080
#define LIBIO_IN_BACKUP         0x0100
#define LIBIO_LINE_BUF          0x0200
#define LIBIO_CURRENTLY_PUTTING 0x0800
#define LIBIO_IS_FILEBUF        0x2000
#define LIBIO_FLAGS2_NOCLOSE    32
#define LIBIO_POS_BAD           ((__off64_t)-1)

/* Exported by glibc, declared by no public header. */
extern FILE *_IO_list_all; /* a struct _IO_FILE_plus *, whose first member is the FILE */
void _IO_list_lock(void);
void _IO_list_unlock(void);
int _IO_do_write(FILE *fp, const char *data, size_t n);
int __overflow(FILE *fp, int ch);
int __uflow(FILE *fp);
int __underflow(FILE *fp);
int _IO_putc(int c, FILE *fp);
int _IO_getc(FILE *fp);
int __printf_chk(int flag, const char *fmt, ...);
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp);
size_t __fread_unlocked_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp);
char *__fgets_chk(char *s, size_t size, int n, FILE *fp);
char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp);
ssize_t __getdelim(char **line, size_t *n, int delim, FILE *fp);

static struct {
	size_t (*fwrite)(const void *, size_t, size_t, FILE *);
	size_t (*fwrite_unlocked)(const void *, size_t, size_t, FILE *);
	int (*fputs)(const char *, FILE *);
	int (*fputs_unlocked)(const char *, FILE *);
	int (*puts)(const char *);
	int (*fputc)(int, FILE *);
	int (*fputc_unlocked)(int, FILE *);
	int (*putc)(int, FILE *);
	int (*putc_unlocked)(int, FILE *);
	int (*_IO_putc)(int, FILE *);
	int (*putchar)(int);
	int (*putchar_unlocked)(int);
	int (*putw)(int, FILE *);
	int (*__overflow)(FILE *, int);
	int (*vfprintf)(FILE *, const char *, va_list);
	int (*__vfprintf_chk)(FILE *, int, const char *, va_list);
	int (*vdprintf)(int, const char *, va_list);
	int (*__vdprintf_chk)(int, int, const char *, va_list);
	int (*fflush)(FILE *);
	int (*fflush_unlocked)(FILE *);
	int (*setvbuf)(FILE *, char *, int, size_t);
	void (*setbuf)(FILE *, char *);
	void (*setbuffer)(FILE *, char *, size_t);
	void (*setlinebuf)(FILE *);
	int (*fclose)(FILE *);
	int (*pclose)(FILE *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	FILE *(*freopen64)(const char *, const char *, FILE *);
	int (*_IO_do_write)(FILE *, const char *, size_t);
	size_t (*fread)(void *, size_t, size_t, FILE *);
	size_t (*fread_unlocked)(void *, size_t, size_t, FILE *);
	size_t (*__fread_chk)(void *, size_t, size_t, size_t, FILE *);
	size_t (*__fread_unlocked_chk)(void *, size_t, size_t, size_t, FILE *);
	char *(*fgets)(char *, int, FILE *);
	char *(*fgets_unlocked)(char *, int, FILE *);
	char *(*__fgets_chk)(char *, size_t, int, FILE *);
	char *(*__fgets_unlocked_chk)(char *, size_t, int, FILE *);
	ssize_t (*getline)(char **, size_t *, FILE *);
	ssize_t (*getdelim)(char **, size_t *, int, FILE *);
	ssize_t (*__getdelim)(char **, size_t *, int, FILE *);
	int (*fgetc)(FILE *);
	int (*fgetc_unlocked)(FILE *);
	int (*getc)(FILE *);
	int (*getc_unlocked)(FILE *);
	int (*_IO_getc)(FILE *);
	int (*getchar)(void);
	int (*getchar_unlocked)(void);
	int (*getw)(FILE *);
	int (*__uflow)(FILE *);
	int (*__underflow)(FILE *);
} real_stdio;
#define SREAL(fn) ((__typeof__(real_stdio.fn))ipcprof_real_get((void **)&real_stdio.fn, #fn))

/* The stream this thread is measuring: a call on it from inside that call (a printf handler's
 * fputc) is already counted by the outer one. */
static IPCPROF_TLS FILE *measuring;

static inline bool stream_kind(uint32_t kind)
{
	return kind >= IPCPROF_KIND_PIPE && kind <= IPCPROF_KIND_UDP;
}

/* The channel of fp's fd when its calls are counted here: one fd-table look-up otherwise. */
static inline struct ipcprof_channel *stdio_channel(FILE *fp)
{
	if (IPCPROF_UNLIKELY(!fp))
		return NULL;
	struct ipcprof_channel *ch = ipcprof_channel_of(fp->_fileno);
	if (IPCPROF_LIKELY(!ch))
		return NULL;
	/* (_vtable_offset is not looked at: fdopen leaves it unset, glibc reads it only where
	 * it keeps libc5's stream layout, which x86-64 never had.) */
	if (ipcprof_thr.guard || fp == measuring || !stream_kind(ch->kind))
		return NULL;
	return ch;
}

static inline size_t pending_out(const FILE *fp)
{
	return fp->_IO_write_ptr > fp->_IO_write_base
		   ? (size_t)(fp->_IO_write_ptr - fp->_IO_write_base)
		   : 0;
}

/* Bytes read from the fd that the program has not taken yet (a pushed-back area holds none). */
static inline size_t unread_in(const FILE *fp)
{
	if (fp->_flags & LIBIO_IN_BACKUP)
		return 0;
	return fp->_IO_read_end > fp->_IO_read_ptr ? (size_t)(fp->_IO_read_end - fp->_IO_read_ptr)
						   : 0;
}

struct measure {
	FILE *fp; /* NULL once closed */
	FILE *outer;
	struct ipcprof_channel *ch;
	struct ipcprof_timer t;
	size_t pending; /* output waiting in the buffer before the call */
	size_t unread;
	int flags;
	bool locked;
};

/*
 * Stdio calls are not CPU-sampled: most of them only fill a buffer, and a sample decided before
 * the call would be spent on one that never reaches the fd.
 */
static void measure_begin(struct measure *m, FILE *fp, struct ipcprof_channel *ch, bool lock)
{
	m->fp = fp;
	m->ch = ch;
	/* A stream the program locks itself (FSETLOCKING_BYCALLER), and the _unlocked calls:
	 * the program keeps other threads off it. */
	m->locked = lock && !(fp->_flags & _IO_USER_LOCK);
	if (m->locked)
		flockfile(fp);
	m->flags = fp->_flags;
	m->pending = pending_out(fp);
	m->unread = unread_in(fp);
	m->outer = measuring;
	measuring = fp;
	fp->_offset = 0;
	m->t.cpu0 = 0;
	m->t.t0 = ipcprof_now();
}

/* Leaves the stream as glibc keeps a pipe's or socket's: offset unknown. */
static void measure_close(struct measure *m)
{
	FILE *fp = m->fp;
	fp->_offset = LIBIO_POS_BAD;
	measuring = m->outer;
	m->fp = NULL;
	if (m->locked)
		funlockfile(fp);
}

/* The call did not return (a thread cancelled in it): unlock and forget, count nothing. */
static void measure_abandon(struct measure *m)
{
	if (m->fp)
		measure_close(m);
}

/* One direction's figure: bytes moved, else the error or end-of-file the call met there. */
static void count(struct measure *m, int dir, uint64_t bytes, int now_flags, int err)
{
	int op = dir == IPCPROF_DIR_OUT ? IPCPROF_OP_WRITE : IPCPROF_OP_READ;
	int fresh = now_flags & ~m->flags;
	if (bytes)
		ipcprof_account(m->ch, dir, op, (long)bytes, err, &m->t, NULL, 0, NULL, 0);
	else if (fresh & _IO_ERR_SEEN)
		ipcprof_account(m->ch, dir, op, -1, err, &m->t, NULL, 0, NULL, 0);
	else if (dir == IPCPROF_DIR_IN && (fresh & _IO_EOF_SEEN))
		ipcprof_account(m->ch, dir, op, 0, err, &m->t, NULL, 0, NULL, 0);
}

/* After a call that only writes. */
static void out_end(struct measure *m, int err)
{
	FILE *fp = m->fp;
	__off64_t moved = fp->_offset;
	int flags = fp->_flags;
	uint64_t bytes;
	if (moved != LIBIO_POS_BAD) {
		bytes = (uint64_t)moved;
	} else {
		/* A sync forgot the offset, which it does only after writing all that was pending. */
		size_t now = pending_out(fp);
		bytes = m->pending > now ? m->pending - now : 0;
	}
	measure_close(m);
	count(m, IPCPROF_DIR_OUT, bytes, flags, err);
	IPCPROF_ERRNO = err;
}

/*
 * After a call that reads. Before reading, it writes out what was pending (a stream opened for
 * both); a read starts only once that all went out. taken: what the call handed the program,
 * needed when end-of-file or an error made glibc forget the offset.
 */
static void in_end(struct measure *m, uint64_t taken, int err)
{
	FILE *fp = m->fp;
	__off64_t moved = fp->_offset;
	int flags = fp->_flags;
	uint64_t wrote, got;
	if (moved != LIBIO_POS_BAD) {
		wrote = (uint64_t)moved < m->pending ? (uint64_t)moved : m->pending;
		got = (uint64_t)moved - wrote;
	} else {
		wrote = m->pending;
		uint64_t have = taken + unread_in(fp);
		got = have > m->unread ? have - m->unread : 0;
	}
	measure_close(m);
	if (wrote < m->pending) {
		count(m, IPCPROF_DIR_OUT, wrote, flags,
		      err); /* the flush failed: nothing was read */
	} else {
		if (wrote)
			count(m, IPCPROF_DIR_OUT, wrote, m->flags, err);
		count(m, IPCPROF_DIR_IN, got, flags, err);
	}
	IPCPROF_ERRNO = err;
}

/* Writes out fp's pending output as exit and fflush(NULL) do, counted; 0 or EOF. */
static int flush_counted(FILE *fp, struct ipcprof_channel *ch)
{
	struct measure m __attribute__((cleanup(measure_abandon)));
	measure_begin(&m, fp, ch, false);
	int r = SREAL(__overflow)(fp, EOF);
	out_end(&m, IPCPROF_ERRNO);
	return r;
}

/* Flushes the pending output of every stream on a pipe or socket. at_exit: only those no other
 * thread holds, since exit's own flush takes no stream's lock either. */
static int flush_all_ipc(bool at_exit)
{
	int result = 0, err = IPCPROF_ERRNO;
	_IO_list_lock();
	for (FILE *fp = _IO_list_all; fp; fp = fp->_chain) {
		if (fp->_mode > 0 || !pending_out(fp))
			continue;
		struct ipcprof_channel *ch = stdio_channel(fp);
		if (!ch)
			continue;
		if (at_exit ? ftrylockfile(fp) != 0 : (flockfile(fp), false))
			continue;
		if (pending_out(fp) && flush_counted(fp, ch) == EOF) {
			result = EOF;
			err = IPCPROF_ERRNO;
		}
		funlockfile(fp);
	}
	_IO_list_unlock();
	IPCPROF_ERRNO = err;
	return result;
}

/* exit() flushes the streams after the last destructor, ipcprof's included: this is that flush,
 * done just before the record ends. */
void ipcprof_stdio_exit(void)
{
	if (ipcprof_ready)
		flush_all_ipc(true);
}

/*
 * A read on a line-buffered or unbuffered stream that has to refill first flushes stdout when
 * stdout is line-buffered (glibc's _IO_new_file_underflow). That flush is done here instead,
 * counted, just before: the same bytes at the same point of the program.
 */
static __attribute__((noinline)) void flush_tied_stdout(FILE *fp)
{
	FILE *out = stdout;
	if (!out || out == fp || fp->_IO_read_ptr < fp->_IO_read_end ||
	    (fp->_flags & (_IO_EOF_SEEN | LIBIO_NO_READS)) ||
	    (out->_flags & (LIBIO_LINKED | LIBIO_NO_WRITES | LIBIO_LINE_BUF)) !=
		(LIBIO_LINKED | LIBIO_LINE_BUF) ||
	    out->_mode > 0 || !pending_out(out))
		return;
	struct ipcprof_channel *ch = stdio_channel(out);
	if (!ch)
		return;
	flockfile(out);
	flush_counted(out, ch);
	funlockfile(out);
}

static inline void before_read(FILE *fp)
{
	if (IPCPROF_UNLIKELY(fp && (fp->_flags & (LIBIO_LINE_BUF | LIBIO_UNBUFFERED)) &&
			     ipcprof_ready))
		flush_tied_stdout(fp);
}

/* ---- writes ---- */

#define UNPACK(...) __VA_ARGS__
#define OUT_WRAP(rtype, name, params, args, fp_expr, lock)                                         \
	IPCPROF_API rtype name(UNPACK params)                                                      \
	{                                                                                          \
		FILE *fp_ = (fp_expr);                                                             \
		struct ipcprof_channel *ch_ = stdio_channel(fp_);                                  \
		if (IPCPROF_LIKELY(!ch_))                                                          \
			return SREAL(name)(UNPACK args);                                           \
		struct measure m_ __attribute__((cleanup(measure_abandon)));                       \
		measure_begin(&m_, fp_, ch_, lock);                                                \
		rtype r_ = SREAL(name)(UNPACK args);                                               \
		out_end(&m_, IPCPROF_ERRNO);                                                       \
		return r_;                                                                         \
	}

OUT_WRAP(size_t, fwrite, (const void *p, size_t size, size_t n, FILE *fp), (p, size, n, fp), fp,
	 true)
OUT_WRAP(size_t, fwrite_unlocked, (const void *p, size_t size, size_t n, FILE *fp),
	 (p, size, n, fp), fp, false)
OUT_WRAP(int, fputs, (const char *s, FILE *fp), (s, fp), fp, true)
OUT_WRAP(int, fputs_unlocked, (const char *s, FILE *fp), (s, fp), fp, false)
OUT_WRAP(int, puts, (const char *s), (s), stdout, true)
OUT_WRAP(int, fputc, (int c, FILE *fp), (c, fp), fp, true)
OUT_WRAP(int, fputc_unlocked, (int c, FILE *fp), (c, fp), fp, false)
OUT_WRAP(int, putc, (int c, FILE *fp), (c, fp), fp, true)
OUT_WRAP(int, putc_unlocked, (int c, FILE *fp), (c, fp), fp, false)
OUT_WRAP(int, _IO_putc, (int c, FILE *fp), (c, fp), fp, true)
OUT_WRAP(int, putchar, (int c), (c), stdout, true)
OUT_WRAP(int, putchar_unlocked, (int c), (c), stdout, false)
OUT_WRAP(int, putw, (int w, FILE *fp), (w, fp), fp, true)
/* What the inline putc_unlocked of <stdio.h> calls when the buffer is full. */
OUT_WRAP(int, __overflow, (FILE * fp, int c), (fp, c), fp, false)
OUT_WRAP(int, vfprintf, (FILE * fp, const char *fmt, va_list ap), (fp, fmt, ap), fp, true)
OUT_WRAP(int, __vfprintf_chk, (FILE * fp, int flag, const char *fmt, va_list ap),
	 (fp, flag, fmt, ap), fp, true)
OUT_WRAP(int, fflush_unlocked, (FILE * fp), (fp), fp, false)
OUT_WRAP(int, setvbuf, (FILE * fp, char *buf, int mode, size_t size), (fp, buf, mode, size), fp,
	 true)

/* The variadic ones are their va_list forms, as in glibc. */
IPCPROF_API int vprintf(const char *fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

IPCPROF_API int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return __vfprintf_chk(stdout, flag, fmt, ap);
}

IPCPROF_API int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

IPCPROF_API int fprintf(FILE *fp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(fp, fmt, ap);
	va_end(ap);
	return r;
}

IPCPROF_API int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

IPCPROF_API int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfprintf_chk(fp, flag, fmt, ap);
	va_end(ap);
	return r;
}

IPCPROF_API int fflush(FILE *fp)
{
	if (!fp) {
		/* Every stream: those on pipes and sockets counted first, then glibc the rest. */
		int ours = ipcprof_ready ? flush_all_ipc(false) : 0;
		int err = IPCPROF_ERRNO;
		int r = SREAL(fflush)(NULL);
		if (r == 0 && ours == EOF) {
			IPCPROF_ERRNO = err;
			r = EOF;
		}
		return r;
	}
	struct ipcprof_channel *ch = stdio_channel(fp);
	if (IPCPROF_LIKELY(!ch))
		return SREAL(fflush)(fp);
	struct measure m __attribute__((cleanup(measure_abandon)));
	measure_begin(&m, fp, ch, true);
	int r = SREAL(fflush)(fp);
	out_end(&m, IPCPROF_ERRNO);
	return r;
}

/* setvbuf's other forms, each a flush of what is pending (glibc's _IO_default_setbuf syncs). */
#define SETBUF_WRAP(name, params, args)                                                            \
	IPCPROF_API void name(UNPACK params)                                                       \
	{                                                                                          \
		struct ipcprof_channel *ch_ = stdio_channel(fp);                                   \
		if (IPCPROF_LIKELY(!ch_)) {                                                        \
			SREAL(name)(UNPACK args);                                                  \
			return;                                                                    \
		}                                                                                  \
		struct measure m_ __attribute__((cleanup(measure_abandon)));                       \
		measure_begin(&m_, fp, ch_, true);                                                 \
		SREAL(name)(UNPACK args);                                                          \
		out_end(&m_, IPCPROF_ERRNO);                                                       \
	}
SETBUF_WRAP(setbuf, (FILE * fp, char *buf), (fp, buf))
SETBUF_WRAP(setbuffer, (FILE * fp, char *buf, size_t size), (fp, buf, size))
SETBUF_WRAP(setlinebuf, (FILE * fp), (fp))

/* dprintf formats into a stream of its own on the stack, which no wrapper sees: its result is
 * what reached the fd (on a failed write, how much went out before it is not known). */
static int vdprintf_any(int fd, bool chk, int flag, const char *fmt, va_list ap)
{
	return chk ? SREAL(__vdprintf_chk)(fd, flag, fmt, ap) : SREAL(vdprintf)(fd, fmt, ap);
}

static int vdprintf_counted(int fd, bool chk, int flag, const char *fmt, va_list ap)
{
	struct ipcprof_channel *ch = ipcprof_channel_of(fd);
	if (IPCPROF_LIKELY(!ch) || ipcprof_thr.guard || !stream_kind(ch->kind))
		return vdprintf_any(fd, chk, flag, fmt, ap);
	struct ipcprof_timer t = {.t0 = ipcprof_now(), .cpu0 = 0};
	int r = vdprintf_any(fd, chk, flag, fmt, ap);
	int err = IPCPROF_ERRNO;
	if (r != 0)
		ipcprof_account(ch, IPCPROF_DIR_OUT, IPCPROF_OP_WRITE, r < 0 ? -1 : (long)r, err,
				&t, NULL, 0, NULL, 0);
	return r;
}

IPCPROF_API int vdprintf(int fd, const char *fmt, va_list ap)
{
	return vdprintf_counted(fd, false, 0, fmt, ap);
}

IPCPROF_API int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	return vdprintf_counted(fd, true, flag, fmt, ap);
}

IPCPROF_API int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vdprintf_counted(fd, false, 0, fmt, ap);
	va_end(ap);
	return r;
}

IPCPROF_API int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vdprintf_counted(fd, true, flag, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Closing a stream writes out what is pending and then frees it, so the offset cannot be read
 * after. The same write (_IO_do_write, as glibc's _IO_file_close_it makes it) is done first,
 * counted; the close then has nothing left to write, and its result is made what it would have
 * been. Returns EOF when that write failed, with its errno in *err.
 */
static int flush_before_close(FILE *fp, struct ipcprof_channel *ch, int *err)
{
	if (!(fp->_flags & LIBIO_IS_FILEBUF) || (fp->_flags & LIBIO_NO_WRITES) ||
	    !(fp->_flags & LIBIO_CURRENTLY_PUTTING) || fp->_mode > 0 || !pending_out(fp))
		return 0;
	struct measure m __attribute__((cleanup(measure_abandon)));
	measure_begin(&m, fp, ch, true);
	int r = SREAL(_IO_do_write)(fp, fp->_IO_write_base, pending_out(fp));
	*err = IPCPROF_ERRNO;
	out_end(&m, *err);
	return r;
}

/* The stream's fd is closed inside glibc, where the close wrapper does not see it. */
static void closing_fd(FILE *fp)
{
	if ((fp->_flags & LIBIO_IS_FILEBUF) && !(fp->_flags2 & LIBIO_FLAGS2_NOCLOSE))
		ipcprof_fd_closing(fp->_fileno);
}

#define CLOSE_WRAP(name)                                                                           \
	IPCPROF_API int name(FILE *fp)                                                             \
	{                                                                                          \
		struct ipcprof_channel *ch = stdio_channel(fp);                                    \
		if (IPCPROF_LIKELY(!ch))                                                           \
			return SREAL(name)(fp);                                                    \
		int err = 0;                                                                       \
		int w = flush_before_close(fp, ch, &err);                                          \
		closing_fd(fp);                                                                    \
		int r = SREAL(name)(fp);                                                           \
		if (r == 0 && w == EOF) {                                                          \
			IPCPROF_ERRNO = err;                                                       \
			r = EOF;                                                                   \
		}                                                                                  \
		return r;                                                                          \
	}
CLOSE_WRAP(fclose)
CLOSE_WRAP(pclose)

#define FREOPEN_WRAP(name)                                                                         \
	IPCPROF_API FILE *name(const char *path, const char *mode, FILE *fp)                       \
	{                                                                                          \
		struct ipcprof_channel *ch = stdio_channel(fp);                                    \
		if (IPCPROF_LIKELY(!ch))                                                           \
			return SREAL(name)(path, mode, fp);                                        \
		int err = 0;                                                                       \
		flush_before_close(fp, ch, &err);                                                  \
		closing_fd(fp);                                                                    \
		FILE *r = SREAL(name)(path, mode, fp);                                             \
		if (r) {                                                                           \
			int e = IPCPROF_ERRNO;                                                     \
			ipcprof_fd_forget(r->_fileno);                                             \
			IPCPROF_ERRNO = e;                                                         \
		}                                                                                  \
		return r;                                                                          \
	}
FREOPEN_WRAP(freopen)
FREOPEN_WRAP(freopen64)

/* ---- reads ---- */

#define IN_WRAP(rtype, name, params, args, fp_expr, lock, taken)                                   \
	IPCPROF_API rtype name(UNPACK params)                                                      \
	{                                                                                          \
		FILE *fp_ = (fp_expr);                                                             \
		before_read(fp_);                                                                  \
		struct ipcprof_channel *ch_ = stdio_channel(fp_);                                  \
		if (IPCPROF_LIKELY(!ch_))                                                          \
			return SREAL(name)(UNPACK args);                                           \
		struct measure m_ __attribute__((cleanup(measure_abandon)));                       \
		measure_begin(&m_, fp_, ch_, lock);                                                \
		rtype r_ = SREAL(name)(UNPACK args);                                               \
		int e_ = IPCPROF_ERRNO;                                                            \
		in_end(&m_, (taken), e_);                                                          \
		return r_;                                                                         \
	}

#define TAKEN_CHAR  (r_ == EOF ? 0u : 1u)
#define TAKEN_LINE  (r_ ? (uint64_t)strlen(r_) : 0u)
#define TAKEN_DELIM (r_ > 0 ? (uint64_t)r_ : 0u)

IN_WRAP(int, fgetc, (FILE * fp), (fp), fp, true, TAKEN_CHAR)
IN_WRAP(int, fgetc_unlocked, (FILE * fp), (fp), fp, false, TAKEN_CHAR)
IN_WRAP(int, getc, (FILE * fp), (fp), fp, true, TAKEN_CHAR)
IN_WRAP(int, getc_unlocked, (FILE * fp), (fp), fp, false, TAKEN_CHAR)
IN_WRAP(int, _IO_getc, (FILE * fp), (fp), fp, true, TAKEN_CHAR)
IN_WRAP(int, getchar, (void), (), stdin, true, TAKEN_CHAR)
IN_WRAP(int, getchar_unlocked, (void), (), stdin, false, TAKEN_CHAR)
IN_WRAP(int, getw, (FILE * fp), (fp), fp, true, r_ == EOF ? 0u : (uint64_t)sizeof(int))
/* What the inline getc_unlocked of <stdio.h> calls when the buffer is empty. */
IN_WRAP(int, __uflow, (FILE * fp), (fp), fp, false, TAKEN_CHAR)
IN_WRAP(int, __underflow, (FILE * fp), (fp), fp, false, 0u)
/* A line with a NUL byte in it, cut by end-of-file in the same call, counts to the NUL. */
IN_WRAP(char *, fgets, (char *s, int n, FILE *fp), (s, n, fp), fp, true, TAKEN_LINE)
IN_WRAP(char *, fgets_unlocked, (char *s, int n, FILE *fp), (s, n, fp), fp, false, TAKEN_LINE)
IN_WRAP(char *, __fgets_chk, (char *s, size_t size, int n, FILE *fp), (s, size, n, fp), fp, true,
	TAKEN_LINE)
IN_WRAP(char *, __fgets_unlocked_chk, (char *s, size_t size, int n, FILE *fp), (s, size, n, fp), fp,
	false, TAKEN_LINE)
IN_WRAP(ssize_t, getline, (char **line, size_t *n, FILE *fp), (line, n, fp), fp, true, TAKEN_DELIM)
IN_WRAP(ssize_t, getdelim, (char **line, size_t *n, int delim, FILE *fp), (line, n, delim, fp), fp,
	true, TAKEN_DELIM)
IN_WRAP(ssize_t, __getdelim, (char **line, size_t *n, int delim, FILE *fp), (line, n, delim, fp),
	fp, true, TAKEN_DELIM)

/*
 * fread of n items of size bytes is glibc's read of size*n bytes; asking for them as bytes
 * tells how many the call took (items cut short at end-of-file included), which is the figure
 * when end-of-file made glibc forget the offset.
 */
#define FREAD_WRAP(name, lock)                                                                     \
	IPCPROF_API size_t name(void *p, size_t size, size_t n, FILE *fp)                          \
	{                                                                                          \
		before_read(fp);                                                                   \
		struct ipcprof_channel *ch = stdio_channel(fp);                                    \
		size_t want = size * n;                                                            \
		if (IPCPROF_LIKELY(!ch) || want == 0)                                              \
			return SREAL(name)(p, size, n, fp);                                        \
		struct measure m __attribute__((cleanup(measure_abandon)));                        \
		measure_begin(&m, fp, ch, lock);                                                   \
		size_t got = SREAL(name)(p, 1, want, fp);                                          \
		int e = IPCPROF_ERRNO;                                                             \
		in_end(&m, got, e);                                                                \
		return got == want ? n : got / size;                                               \
	}
FREAD_WRAP(fread, true)
FREAD_WRAP(fread_unlocked, false)

/* The same for the fortified forms, whose checks of size*n (overflow, room) stay glibc's. */
#define FREAD_CHK_WRAP(name, lock)                                                                 \
	IPCPROF_API size_t name(void *p, size_t room, size_t size, size_t n, FILE *fp)             \
	{                                                                                          \
		before_read(fp);                                                                   \
		struct ipcprof_channel *ch = stdio_channel(fp);                                    \
		size_t want = size * n;                                                            \
		if (IPCPROF_LIKELY(!ch) || want == 0 || want > room || (size && want / size != n)) \
			return SREAL(name)(p, room, size, n, fp);                                  \
		struct measure m __attribute__((cleanup(measure_abandon)));                        \
		measure_begin(&m, fp, ch, lock);                                                   \
		size_t got = SREAL(name)(p, room, 1, want, fp);                                    \
		int e = IPCPROF_ERRNO;                                                             \
		in_end(&m, got, e);                                                                \
		return got == want ? n : got / size;                                               \
	}
FREAD_CHK_WRAP(__fread_chk, true)
FREAD_CHK_WRAP(__fread_unlocked_chk, false)
