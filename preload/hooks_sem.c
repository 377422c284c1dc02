/* Wrappers of POSIX semaphores: time blocked on a semaphore that processes share is IPC time. */
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "preload.h"
#include "sys.h"

/*
 * A semaphore has no fd: the program names it by its sem_t address. sem_open and sem_init tell
 * which addresses are semaphores that processes share and what they are (the file that holds
 * them); sem_close and sem_destroy forget them. The table lives in this process's memory, so a
 * fork child inherits it with the mappings that hold the semaphores, and the child's channel
 * entries are made anew on its first call (the state word carries ipcprof_gen, like the fd
 * table's entries). Thread semaphores (pshared == 0, or in private memory) are not in the table:
 * their calls cost one look-up that finds an empty slot.
 *
 * Look-ups take no lock (sem_post may be called from a signal handler): a key is written last,
 * with release order, after the rest of its entry. Keys: 0 empty, KEY_GONE a forgotten entry
 * (look-ups go on past it), KEY_BUSY an entry being written.
 *
 * Limits: an entry another thread was writing at the moment of fork stays KEY_BUSY in the child,
 * whose calls on that semaphore go uncounted; a semaphore whose memory is unmapped without
 * sem_close or sem_destroy keeps its entry until a sem_open or sem_init at that address
 * replaces it.
 */
#define SEM_TAB  1024u /* a power of two */
#define KEY_GONE ((uintptr_t)1)
#define KEY_BUSY ((uintptr_t)2)

struct sem_ent {
	_Atomic uintptr_t key;
	_Atomic uint64_t state; /* ipcprof_gen << 32 | IPCPROF_FD_CHANNEL0 + slot, or UNTRACKED */
	_Atomic uint32_t refs;  /* sem_open of a name already open returns the same address */
	uint32_t made_gen;      /* ipcprof_gen of the process that made the semaphore, or 0 */
	uint64_t dev, ino, off;
	char name[IPCPROF_NAME_BYTES];
};

static struct sem_ent sem_tab[SEM_TAB] IPCPROF_BIG;
static _Atomic uint32_t sem_live; /* entries with a key: none means every look-up misses */

static sem_t *(*real_sem_open)(const char *, int, ...);
static int (*real_sem_init)(sem_t *, int, unsigned int);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static int (*real_sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
static int (*real_sem_trywait)(sem_t *);
static int (*real_sem_post)(sem_t *);
static int (*real_sem_close)(sem_t *);
static int (*real_sem_destroy)(sem_t *);

#define SEM_REAL(fn) ((__typeof__(real_##fn))ipcprof_real_get((void **)&real_##fn, #fn))

/* Resolved before main: sem_post may first be called from a signal handler, where dlsym may
 * not run. After ipcprof's own start-up (constructor 101). sem_clockwait (glibc 2.30) is
 * resolved on its first call: only a program whose libc has it can make one. */
__attribute__((constructor(102))) static void sem_resolve(void)
{
	(void)SEM_REAL(sem_open), (void)SEM_REAL(sem_init), (void)SEM_REAL(sem_wait);
	(void)SEM_REAL(sem_timedwait), (void)SEM_REAL(sem_trywait), (void)SEM_REAL(sem_post);
	(void)SEM_REAL(sem_close), (void)SEM_REAL(sem_destroy);
}

static inline unsigned sem_hash(uintptr_t k)
{
	uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 40) & (SEM_TAB - 1);
}

static inline struct sem_ent *sem_find(const void *sem)
{
	if (IPCPROF_LIKELY(!atomic_load_explicit(&sem_live, memory_order_relaxed)))
		return NULL;
	uintptr_t k = (uintptr_t)sem;
	unsigned h = sem_hash(k);
	for (unsigned i = 0; i < SEM_TAB; i++) {
		struct sem_ent *e = &sem_tab[(h + i) & (SEM_TAB - 1)];
		uintptr_t cur = atomic_load_explicit(&e->key, memory_order_acquire);
		if (cur == k)
			return e;
		if (cur == 0)
			return NULL;
	}
	return NULL;
}

/* What a semaphore is, for its channel: the file behind it and where in it. */
struct sem_id {
	uint64_t dev, ino, off;
	bool shared; /* in a MAP_SHARED mapping */
	char path[IPCPROF_NAME_BYTES];
};

static uint64_t parse_hex(const char **p)
{
	uint64_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return v;
	}
}

static uint64_t parse_dec(const char **p)
{
	uint64_t v = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v * 10 + (uint64_t)(**p - '0');
	return v;
}

/* One line of /proc/self/maps: true, with id filled, when it holds addr. */
static bool maps_line(const char *s, const char *end, uint64_t addr, struct sem_id *id)
{
	uint64_t lo = parse_hex(&s);
	if (*s++ != '-')
		return false;
	uint64_t hi = parse_hex(&s);
	if (addr < lo || addr >= hi || end - s < 6)
		return false;
	s++;                      /* ' ' */
	id->shared = s[3] == 's'; /* "rw-s" */
	s += 5;
	uint64_t pgoff = parse_hex(&s);
	s++;
	uint64_t major = parse_hex(&s);
	s++; /* ':' */
	uint64_t minor = parse_hex(&s);
	s++;
	id->ino = parse_dec(&s);
	id->dev = makedev((unsigned)major, (unsigned)minor);
	id->off = pgoff + (addr - lo);
	while (s < end && *s == ' ')
		s++;
	size_t n = (size_t)(end - s);
	if (n >= sizeof(id->path))
		n = sizeof(id->path) - 1;
	memcpy(id->path, s, n);
	id->path[n] = 0;
	return true;
}

/* Finds the mapping that holds addr in /proc/self/maps (raw system calls: no wrapper runs). */
static bool map_ident(const void *addr, struct sem_id *id)
{
	int fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	char buf[8192];
	size_t have = 0;
	bool found = false, skip = false;
	for (;;) {
		ssize_t n = sys_read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
			if (!skip && maps_line(line, nl, (uint64_t)(uintptr_t)addr, id)) {
				found = true;
				goto out;
			}
			skip = false;
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf)) { /* a line longer than the buffer: its start is enough */
			buf[have - 1] = 0;
			if (maps_line(buf, buf + have - 1, (uint64_t)(uintptr_t)addr, id)) {
				found = true;
				goto out;
			}
			have = 0;
			skip = true;
		}
	}
out:
	sys_close(fd);
	return found;
}

/* Adds (or renews) the entry of sem. */
static void sem_note(const void *sem, const struct sem_id *id, const char *name, bool made)
{
	uintptr_t k = (uintptr_t)sem;
	struct sem_ent *e = sem_find(sem);
	if (e) {
		uintptr_t expect = k;
		if (!atomic_compare_exchange_strong(&e->key, &expect, KEY_BUSY))
			return;
		if (e->dev == id->dev && e->ino == id->ino && e->off == id->off) {
			atomic_fetch_add(&e->refs, 1); /* the same semaphore opened again */
			atomic_store_explicit(&e->key, k, memory_order_release);
			return;
		}
		/* Another semaphore at an address that was not closed: the new one. */
	} else {
		unsigned h = sem_hash(k);
		for (unsigned i = 0; i < SEM_TAB && !e; i++) {
			struct sem_ent *c = &sem_tab[(h + i) & (SEM_TAB - 1)];
			uintptr_t cur = atomic_load_explicit(&c->key, memory_order_relaxed);
			while ((cur == 0 || cur == KEY_GONE) &&
			       !atomic_compare_exchange_weak(&c->key, &cur, KEY_BUSY))
				;
			if (cur == 0 || cur == KEY_GONE)
				e = c;
		}
		if (!e) {
			__atomic_fetch_add(&ipcprof_rec->dropped.channels, 1, __ATOMIC_RELAXED);
			return;
		}
		atomic_fetch_add(&sem_live, 1);
	}
	e->dev = id->dev;
	e->ino = id->ino;
	e->off = id->off;
	e->made_gen = made ? ipcprof_gen : 0;
	ipcprof_strlcpy(e->name, name, sizeof(e->name));
	atomic_store_explicit(&e->refs, 1, memory_order_relaxed);
	atomic_store_explicit(&e->state, 0, memory_order_relaxed);
	atomic_store_explicit(&e->key, k, memory_order_release);
}

/* Forgets sem (sem_close, sem_destroy, or sem_init of a thread semaphore at its address). */
static void sem_forget(const void *sem, bool all)
{
	struct sem_ent *e = sem_find(sem);
	if (!e)
		return;
	uintptr_t expect = (uintptr_t)sem;
	if (!atomic_compare_exchange_strong(&e->key, &expect, KEY_BUSY))
		return;
	if (!all && atomic_fetch_sub(&e->refs, 1) > 1) {
		atomic_store_explicit(&e->key, (uintptr_t)sem, memory_order_release);
		return;
	}
	atomic_fetch_sub(&sem_live, 1);
	atomic_store_explicit(&e->key, KEY_GONE, memory_order_release);
}

/* The channel of a semaphore entry in this process: made on its first call here. */
static __attribute__((noinline)) struct ipcprof_channel *sem_channel_slow(struct sem_ent *e)
{
	if (ipcprof_thr.guard)
		return NULL;
	struct ipcprof_channel c;
	memset(&c, 0, sizeof(c));
	c.kind = IPCPROF_KIND_SEM;
	c.flags = IPCPROF_CH_LOCAL;
	if (e->made_gen && e->made_gen == ipcprof_gen)
		c.flags |= IPCPROF_CH_CREATED;
	c.dev = e->dev;
	c.ino = e->ino ^ (e->off << 32);
	c.peer_ino = e->off;
	c.first_fd = -1;
	memcpy(c.name, e->name, sizeof(c.name));
	struct ipcprof_channel *ch = ipcprof_channel_add(&c);
	uint32_t v =
	    ch ? IPCPROF_FD_CHANNEL0 + (uint32_t)(ch - ipcprof_chan) : IPCPROF_FD_UNTRACKED;
	atomic_store_explicit(&e->state, ((uint64_t)ipcprof_gen << 32) | v, memory_order_relaxed);
	return ch;
}

static inline struct ipcprof_channel *sem_channel_of(const sem_t *sem)
{
	if (!ipcprof_ready)
		return NULL;
	struct sem_ent *e = sem_find(sem);
	if (IPCPROF_LIKELY(!e))
		return NULL;
	uint64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
	if (IPCPROF_LIKELY((uint32_t)(s >> 32) == ipcprof_gen)) {
		uint32_t v = (uint32_t)s;
		return v < IPCPROF_FD_CHANNEL0 ? NULL : &ipcprof_chan[v - IPCPROF_FD_CHANNEL0];
	}
	return sem_channel_slow(e);
}

IPCPROF_API sem_t *sem_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	unsigned value = 0;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = (mode_t)va_arg(ap, unsigned);
		value = va_arg(ap, unsigned);
		va_end(ap);
	}
	sem_t *s = SEM_REAL(sem_open)(name, oflag, mode, value);
	if (s == SEM_FAILED || !ipcprof_ready || ipcprof_thr.guard || !ipcprof_is_self())
		return s;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	struct sem_id id;
	memset(&id, 0, sizeof(id));
	if (!map_ident(s, &id)) {
		id.dev = 0;
		id.ino = (uint64_t)(uintptr_t)s;
		id.off = 0;
	}
	/* glibc drops leading slashes: "/a" and "a" are one semaphore, named "/a" here. */
	char nm[IPCPROF_NAME_BYTES];
	while (*name == '/')
		name++;
	nm[0] = '/';
	ipcprof_strlcpy(nm + 1, name, sizeof(nm) - 1);
	sem_note(s, &id, nm, (oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL));
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
	return s;
}

IPCPROF_API int sem_init(sem_t *sem, int pshared, unsigned int value)
{
	int r = SEM_REAL(sem_init)(sem, pshared, value);
	if (r != 0 || !ipcprof_ready || ipcprof_thr.guard || !ipcprof_is_self())
		return r;
	int saved = IPCPROF_ERRNO;
	ipcprof_thr.guard++;
	struct sem_id id;
	memset(&id, 0, sizeof(id));
	if (!pshared) {
		sem_forget(sem, true); /* a thread semaphore where a shared one was */
	} else if (!map_ident(sem, &id)) {
		/* pshared says it is shared; with no mapping to name it, its address names it */
		id.ino = (uint64_t)(uintptr_t)sem;
		ipcprof_strlcpy(id.path, "sem_init", sizeof(id.path));
		sem_note(sem, &id, id.path, true);
	} else if (!id.shared) {
		sem_forget(sem, true); /* private memory: no other process can reach it */
	} else {
		char nm[IPCPROF_NAME_BYTES];
		const char *p = id.path[0] ? id.path : "[anonymous]";
		size_t n = strlen(p);
		if (n > sizeof(nm) - 24)
			n = sizeof(nm) - 24;
		memcpy(nm, p, n);
		memcpy(nm + n, "+0x", 3);
		*ipcprof_put_uint(nm + n + 3, id.off, 16) = 0; /* 16 digits at most: room left */
		sem_note(sem, &id, nm, true);
	}
	ipcprof_thr.guard--;
	IPCPROF_ERRNO = saved;
	return r;
}

IPCPROF_API int sem_close(sem_t *sem)
{
	if (ipcprof_ready && !ipcprof_thr.guard && ipcprof_is_self())
		sem_forget(sem, false);
	return SEM_REAL(sem_close)(sem);
}

IPCPROF_API int sem_destroy(sem_t *sem)
{
	if (ipcprof_ready && !ipcprof_thr.guard && ipcprof_is_self())
		sem_forget(sem, true);
	return SEM_REAL(sem_destroy)(sem);
}

/* A wait or a post on a shared semaphore: one call, 0 bytes, timed like a read or a write. */
#define SEM_CALL(dir, call)                                                                        \
	do {                                                                                       \
		struct ipcprof_channel *ch_ = sem_channel_of(sem);                                 \
		if (IPCPROF_LIKELY(!ch_))                                                          \
			return call;                                                               \
		struct ipcprof_timer t_;                                                           \
		ipcprof_timer_start(&t_, 0);                                                       \
		int r_ = call;                                                                     \
		int e_ = IPCPROF_ERRNO;                                                            \
		ipcprof_account(ch_, dir, 0, r_, e_, &t_, NULL, 0, NULL, 0);                       \
		return r_;                                                                         \
	} while (0)

IPCPROF_API int sem_wait(sem_t *sem)
{
	SEM_CALL(IPCPROF_DIR_IN, SEM_REAL(sem_wait)(sem));
}

IPCPROF_API int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
	SEM_CALL(IPCPROF_DIR_IN, SEM_REAL(sem_timedwait)(sem, abstime));
}

IPCPROF_API int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
	SEM_CALL(IPCPROF_DIR_IN, SEM_REAL(sem_clockwait)(sem, clock, abstime));
}

IPCPROF_API int sem_post(sem_t *sem)
{
	SEM_CALL(IPCPROF_DIR_OUT, SEM_REAL(sem_post)(sem));
}

/* A sem_trywait that took the semaphore is a call; one that found it taken (EAGAIN) waited for
 * nothing and is not counted. */
IPCPROF_API int sem_trywait(sem_t *sem)
{
	struct ipcprof_channel *ch = sem_channel_of(sem);
	if (IPCPROF_LIKELY(!ch))
		return SEM_REAL(sem_trywait)(sem);
	struct ipcprof_timer t;
	ipcprof_timer_start(&t, 0);
	int r = SEM_REAL(sem_trywait)(sem);
	int e = IPCPROF_ERRNO;
	if (r != 0 && e == EAGAIN) {
		ipcprof_thr.in_call = 0;
		IPCPROF_ERRNO = e;
		return r;
	}
	ipcprof_account(ch, IPCPROF_DIR_IN, 0, r, e, &t, NULL, 0, NULL, 0);
	return r;
}
