/*
 * The CPU sampler: which code each thread's CPU time goes to, without changing the program.
 *
 * Every thread gets a POSIX timer on its own CPU clock (user + system time) that sends SIGPROF to
 * that thread alone every period. The handler unwinds the interrupted stack with libunwind and
 * adds it to the sample area of the record (see struct ipcprof_sample_stack): raw addresses only,
 * named offline by the reporter. Nothing in the handler allocates or locks: the area is taken
 * with atomic adds and backed with blocks ahead of use by madvise(MADV_POPULATE_WRITE), which
 * reports a full disk as an error where a plain store would raise SIGBUS.
 *
 * The program keeps SIGPROF: a SIGPROF that is not one of our timers' is given the default
 * action, sigaction() and signal() show the program the disposition it set, and a program that
 * sets its own SIGPROF disposition stops the sampler for good (said once on stderr). A thread that
 * blocks SIGPROF has its timer paused meanwhile (hooks_signal.c), so that no signal of ours waits,
 * pending, where the program would see it.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "ipcprof/env.h"
#include "preload.h"
#include "sys.h"

#define SAMPLE_SIGNAL SIGPROF
#define SAMPLE_COOKIE 0x69706370 /* "ipcp": si_value of our timers' signals */
#define AREA_CHUNK    (4u << 10)
#define INDEX_CAP     (1u << 16) /* distinct (thread, stack) pairs found without a scan */
#define INDEX_PROBES  32
#define TIMER_SLOTS   4096        /* live threads with a timer */
#define DELAY_READ_NS 50000000ull /* how often a thread's CPU wait is read, at most */
#define PEND_MAX      16          /* samples a read wait is shared among, at most */
#define FAST_AFTER    16          /* a thread's samples before it gets the fast tracer */

/* libunwind, loaded privately by core.c. */
#define STR_(x) #x
#define STR(x)  STR_(x)
static int (*p_init_local2)(unw_cursor_t *, unw_context_t *, int);
static int (*p_step)(unw_cursor_t *);
static int (*p_get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
static int (*p_backtrace)(void **, int);

static uint32_t hz;
static uint64_t period_ns;
static _Atomic bool sampling;    /* timers are (to be) armed */
static bool installed;           /* our handler is SIGPROF's */
static struct sigaction app_act; /* what the program set (or found) for SIGPROF, as it sees it */
/* Kernel timer id + 1 of each live thread's timer. Whole pages of its own, which a fork child
 * gets zeroed (MADV_WIPEONFORK): it has no timer yet, and the parent keeps its pages writable. */
static _Atomic int timers[TIMER_SLOTS] __attribute__((aligned(4096))) IPCPROF_BIG;
_Static_assert(sizeof(timers) % 4096 == 0, "timers[] shares no page with other variables");
/* Slot 0, apart from the others, with the small variables: the one a fork child's thread takes
 * (the others are free in a child), which then writes no page of timers[]. */
static _Atomic int timer0;
static bool timers_wiped;
static _Atomic int timers_hi; /* slots below this have been taken at some time */

/* Slot i of TIMER_SLOTS + 1. */
static _Atomic int *timer_slot(int i)
{
	return i == 0 ? &timer0 : &timers[i - 1];
}
static _Atomic uint64_t *sindex; /* hash tag | (entry offset / 8 + 1); process-private */
static bool sindex_wiped;        /* a fork child gets sindex zero-filled by the kernel */
static _Atomic int growing;
static _Atomic bool area_full;

struct sample_thread {
	int timer; /* kernel timer id + 1; 0 = none */
	int slot;  /* timer_slot() index */
	uint32_t tid;
	uint32_t unwinding;  /* inside libunwind for ipcprof: a handler that finds it set
			      * interrupted an unwinding outside the handler */
	uint64_t delay;      /* schedstat run_delay at the last read */
	bool delay_known;    /* false: schedstat cannot be read here */
	uint64_t delay_read; /* when it was read (ipcprof_now) */
	uint64_t ticks;      /* offset + 1 in the area of this thread's tick chunk; 0: none */
	/* The samples stored since the CPU wait was last read (the newest PEND_MAX): the wait read
	 * next is shared among them, by weight. */
	uint32_t npend;
	uint32_t pend_entry[PEND_MAX]; /* offset / 8 of each one's stack entry */
	uint32_t pend_w[PEND_MAX];
	bool warm;     /* libunwind's thread-local state is made (and kept across fork) */
	bool traced;   /* the fast tracer has its table in this thread (kept across fork) */
	bool fast;     /* the handler unwinds with the fast tracer */
	uint8_t slow;  /* samples unwound with the cursor, up to FAST_AFTER */
	bool handling; /* in on_sample: mask calls made there (libunwind's) are ours */
	bool paused;   /* the timer is disarmed while the thread blocks SIGPROF (hooks_signal.c) */
	uint64_t expiry; /* the timer's next expiry on the thread's CPU clock, while armed */
	uint64_t left;   /* while paused: the CPU time to run before the next expiry */
	uint32_t owed;   /* periods that ended before a pause, added to the next sample */
	bool owing;      /* the sample now is the one a resume asked for, inside ipcprof's code */
	/* A call's entry takes the periods that ended since the last sample or call edge: when that
	 * was a tick's sample, they were run from there on, so they go to its stack (see
	 * ipcprof_sampler_settle). */
	bool to_last;
	bool tick_last;      /* the last sample was a tick's, with no call edge since */
	uint32_t last_entry; /* offset / 8 + 1 of that sample's stack entry */
	uint64_t last_cpu;   /* and the thread's CPU clock then */
	uint64_t owing_cpu;  /* the CPU clock a call edge read, for the sample it asks for (0: none) */
	/* At the last stored sample: the thread's CPU clock, the wall clock and the wall time it
	 * had spent inside counted calls (see owed_in_calls). */
	uint64_t s_cpu, s_wall, s_call;
	uint32_t carry; /* what owed_in_calls has not given out, in 1/65536 of a period */
};
/* The handler may make a thread's fast-tracer table (see unwind()). */
static bool tracer_in_handler;
static IPCPROF_TLS struct sample_thread sthr;

/* libunwind's code, where the calls it makes itself come from; and ipcprof's own. */
static uintptr_t unwinder_lo, unwinder_hi;
static uintptr_t own_lo, own_hi;

bool ipcprof_unwinder_calls(const void *ret)
{
	return sthr.unwinding && (uintptr_t)ret - unwinder_lo < unwinder_hi - unwinder_lo;
}

/* ---- the sample area ---- */

static char *area_base(struct ipcprof_record *r)
{
	return (char *)r + r->prof.area_offset;
}

/*
 * Backs [0, need) of the area with blocks, a chunk ahead of need so that threads seldom meet
 * here; false when that cannot be done. One thread grows the area at a time: another that needs
 * the blocks waits a little for it (the grower is populating pages, not waiting on anything),
 * and drops its sample if that is not enough.
 */
static bool area_back(struct ipcprof_record *r, uint64_t need)
{
	uint64_t have = __atomic_load_n(&r->prof.area_alloc, __ATOMIC_ACQUIRE);
	if (need + AREA_CHUNK / 2 <= have || (need <= have && have == r->prof.area_cap))
		return true;
	if (atomic_load_explicit(&area_full, memory_order_relaxed))
		return need <= have;
	int expect = 0;
	for (int spin = 0; !atomic_compare_exchange_weak(&growing, &expect, 1); spin++) {
		expect = 0;
		if (need <= have)
			return true; /* growing ahead is someone else's job now */
		if (spin > 100000)
			return false;
		__builtin_ia32_pause();
		have = __atomic_load_n(&r->prof.area_alloc, __ATOMIC_ACQUIRE);
	}
	have = __atomic_load_n(&r->prof.area_alloc, __ATOMIC_ACQUIRE);
	while (have < need + AREA_CHUNK / 2 && have < r->prof.area_cap) {
		uint64_t len = AREA_CHUNK;
		if (have + len > r->prof.area_cap)
			len = r->prof.area_cap - have;
		if (sys_madvise(area_base(r) + have, len, MADV_POPULATE_WRITE) != 0) {
			atomic_store(&area_full, true);
			break;
		}
		have += len;
		__atomic_store_n(&r->prof.area_alloc, have, __ATOMIC_RELEASE);
	}
	atomic_store(&growing, 0);
	return need <= have;
}

static uint64_t stack_hash(uint32_t tid, const uint64_t *ip, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ tid;
	for (uint32_t i = 0; i < n; i++) {
		h ^= ip[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool same_stack(const struct ipcprof_sample_stack *s, uint32_t tid, uint32_t flags,
		       const uint64_t *ip, uint32_t n)
{
	return s->magic == IPCPROF_SAMPLE_MAGIC && s->tid == tid && s->depth == n &&
	       (s->flags & IPCPROF_SS_IPC) == (flags & IPCPROF_SS_IPC) &&
	       !memcmp(s->ip, ip, n * sizeof(ip[0]));
}

/* Takes size bytes of the area, backed; UINT64_MAX when the area (or the disk) is full. */
static uint64_t area_take(struct ipcprof_record *r, uint64_t size)
{
	uint64_t off = __atomic_fetch_add(&r->prof.area_used, size, __ATOMIC_RELAXED);
	if (off + size > r->prof.area_cap || off / 8 + 1 > 0xffffffffull ||
	    !area_back(r, off + size))
		return UINT64_MAX;
	return off;
}

/* Stores a sample of (tid, stack); returns its entry's offset in the area, UINT64_MAX when it
 * was dropped. */
static uint64_t sample_store(struct ipcprof_record *r, uint32_t tid, const uint64_t *ip, uint32_t n,
			     uint32_t flags, uint64_t w)
{
	uint64_t h = stack_hash(tid, ip, n);
	uint64_t tag = h & ~0xffffffffull;
	uint32_t at = (uint32_t)h & (INDEX_CAP - 1);
	char *base = area_base(r);
	_Atomic uint64_t *free_slot = NULL;
	for (uint32_t k = 0; k < INDEX_PROBES; k++) {
		_Atomic uint64_t *slot = &sindex[(at + k) & (INDEX_CAP - 1)];
		uint64_t v = atomic_load_explicit(slot, memory_order_acquire);
		if (v == 0) {
			free_slot = slot;
			break;
		}
		if ((v & ~0xffffffffull) != tag)
			continue;
		struct ipcprof_sample_stack *s = (void *)(base + ((v & 0xffffffffull) - 1) * 8);
		if (same_stack(s, tid, flags, ip, n) &&
		    __atomic_load_n(&s->weight, __ATOMIC_ACQUIRE)) {
			__atomic_fetch_add(&s->weight, w, __ATOMIC_RELAXED);
			return ((v & 0xffffffffull) - 1) * 8;
		}
	}
	uint64_t size = sizeof(struct ipcprof_sample_stack) + (uint64_t)n * sizeof(ip[0]);
	uint64_t off = area_take(r, size);
	if (off == UINT64_MAX) {
		__atomic_fetch_add(&r->prof.dropped, w, __ATOMIC_RELAXED);
		return UINT64_MAX;
	}
	struct ipcprof_sample_stack *s = (void *)(base + off);
	s->magic = IPCPROF_SAMPLE_MAGIC;
	s->depth = n;
	s->tid = tid;
	s->flags = flags;
	s->wait_ns = 0;
	memcpy(s->ip, ip, n * sizeof(ip[0]));
	__atomic_store_n(&s->weight, w, __ATOMIC_RELEASE);
	if (free_slot) {
		uint64_t zero = 0;
		atomic_compare_exchange_strong(free_slot, &zero, tag | (off / 8 + 1));
	}
	return off;
}

/* When the sample stored at entry off was taken: a tick in this thread's chunk. A tick that finds
 * no room is lost (the sample itself is counted). */
static void tick_add(struct ipcprof_record *r, uint64_t off, uint64_t w, uint64_t now)
{
	char *base = area_base(r);
	struct ipcprof_sample_ticks *c =
	    sthr.ticks ? (struct ipcprof_sample_ticks *)(void *)(base + sthr.ticks - 1) : NULL;
	if (!c || c->used >= c->cap) {
		uint64_t at = area_take(r, sizeof(*c) + IPCPROF_TICKS_CAP * sizeof(c->tick[0]));
		if (at == UINT64_MAX) {
			sthr.ticks = 0;
			return;
		}
		c = (struct ipcprof_sample_ticks *)(void *)(base + at);
		c->cap = IPCPROF_TICKS_CAP;
		c->tid = sthr.tid;
		c->used = 0;
		__atomic_store_n(&c->magic, IPCPROF_TICKS_MAGIC, __ATOMIC_RELEASE);
		sthr.ticks = at + 1;
	}
	struct ipcprof_sample_tick *t = &c->tick[c->used];
	t->t_ns = now;
	t->entry = (uint32_t)(off / 8);
	t->weight = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
	__atomic_store_n(&c->used, c->used + 1, __ATOMIC_RELEASE);
}

/* wait * w / total (w <= total), without a 128-bit division: libgcc's would be one more page of
 * code for each process to fault in. Exact while total fits 32 bits (wait % total * w < 2^64). */
static uint64_t share_of(uint64_t wait, uint32_t w, uint64_t total)
{
	if (total <= UINT32_MAX)
		return wait / total * w + wait % total * w / total;
	return (uint64_t)((double)wait * w / (double)total);
}

/*
 * The CPU wait gathered since the last read, shared among the samples taken meanwhile by their
 * weights: the thread waited between those CPU periods, not only before the last one. Without a
 * sample to give it to, it is not counted.
 */
static void wait_share(struct ipcprof_record *r, uint64_t wait)
{
	uint32_t n = sthr.npend < PEND_MAX ? sthr.npend : PEND_MAX;
	sthr.npend = 0;
	uint64_t total = 0;
	for (uint32_t k = 0; k < n; k++)
		total += sthr.pend_w[k];
	if (!wait || !total)
		return;
	char *base = area_base(r);
	uint64_t given = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t part = k + 1 == n ? wait - given : share_of(wait, sthr.pend_w[k], total);
		given += part;
		struct ipcprof_sample_stack *s =
		    (struct ipcprof_sample_stack *)(void *)(base +
							    (uint64_t)sthr.pend_entry[k] * 8);
		__atomic_fetch_add(&s->wait_ns, part, __ATOMIC_RELAXED);
	}
}

static void module_range(struct ipcprof_record *r, uint64_t ip, uint64_t *lo, uint64_t *hi)
{
	uint32_t used = __atomic_load_n(&r->modules_used, __ATOMIC_ACQUIRE);
	if (used > IPCPROF_MAX_MODULES)
		used = IPCPROF_MAX_MODULES;
	for (uint32_t i = 0; i < used; i++) {
		if (ip >= r->modules[i].start && ip < r->modules[i].end) {
			*lo = r->modules[i].start;
			*hi = r->modules[i].end;
			return;
		}
	}
	*lo = *hi = 0;
}

/*
 * The thread's time runnable but waiting for a CPU so far (schedstat's run_delay), read with raw
 * system calls, which are safe in a signal handler; 0 where the kernel does not keep it.
 */
static uint64_t run_delay(void)
{
	int fd = sys_open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return UINT64_MAX;
	char buf[96];
	ssize_t n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return UINT64_MAX;
	buf[n] = '\0';
	const char *p = buf;
	while (*p && *p != ' ') /* on-CPU time, then run_delay */
		p++;
	uint64_t v = 0;
	while (*p == ' ')
		p++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

/* ---- unwinding in the handler ---- */

/*
 * Two ways to unwind. libunwind's cursor steps frame by frame, each code address's frame layout
 * cached per thread (see ipcprof_unwind_resolve): a few microseconds a frame here (at 1000 Hz,
 * 9% of the CPU of a program 200 frames deep, against 1% with the tracer). Its fast tracer
 * (unw_backtrace) is that much quicker, but fills a 256 KiB table per thread on first use: 64
 * pages, each a page fault, and after a fork every page of it that is written is copied. A
 * process that lives a few milliseconds would pay that whether it is ever sampled or not.
 *
 * So a thread starts with the cursor and takes the fast tracer at its FAST_AFTER-th sample, when
 * the table is made in the handler. That is safe in libunwind 1.6 because everything else its
 * first use does has been done outside the handler by thread_warm_up: the once-only set-up (a
 * thread key, a memory pool), the thread's libunwind TLS block (allocated by malloc on first
 * access). What is left is a pool allocation under libunwind's own lock, which it holds with
 * every signal blocked, an anonymous mmap, and pthread_setspecific of a key below 32, which
 * writes into the thread descriptor (where the key is 32 or more, the thread keeps the cursor).
 * A fork child inherits its parent's table, and takes the fast tracer at its own FAST_AFTER-th
 * sample, so that a short child does not copy the table's pages.
 */
#define OWN_FRAMES 8
static uint32_t unwind_fast(const ucontext_t *uc, uint64_t *ip, uint32_t *flags)
{
	void *raw[IPCPROF_SAMPLE_DEPTH + OWN_FRAMES + 1];
	int k = p_backtrace(raw, (int)(sizeof(raw) / sizeof(raw[0])));
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	int at = -1;
	for (int i = 0; i < k && i <= OWN_FRAMES; i++) {
		if ((uint64_t)(uintptr_t)raw[i] == pc) {
			at = i;
			break;
		}
	}
	if (at < 0)
		return 0;
	uint32_t n = 0;
	for (int i = at; i < k && n < IPCPROF_SAMPLE_DEPTH; i++)
		ip[n++] = (uint64_t)(uintptr_t)raw[i];
	if (k == (int)(sizeof(raw) / sizeof(raw[0])) || k - at > IPCPROF_SAMPLE_DEPTH)
		*flags |= IPCPROF_SS_TRUNCATED; /* or exactly full: deeper is likely */
	return n;
}

static uint32_t unwind_slow(ucontext_t *uc, uint64_t *ip, uint32_t *flags)
{
	uint32_t n = 0;
	unw_cursor_t c;
	int st = p_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME);
	if (st < 0) {
		ip[n++] = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
		*flags |= IPCPROF_SS_UNWIND;
	}
	while (st >= 0) {
		unw_word_t pc;
		if (p_get_reg(&c, UNW_REG_IP, &pc) < 0 || pc == 0)
			break;
		if (n == IPCPROF_SAMPLE_DEPTH) {
			*flags |= IPCPROF_SS_TRUNCATED;
			break;
		}
		ip[n++] = pc;
		st = p_step(&c);
		if (st < 0)
			*flags |= IPCPROF_SS_UNWIND;
		if (st <= 0)
			break;
	}
	return n;
}

static uint32_t unwind(ucontext_t *uc, uint64_t *ip, uint32_t *flags)
{
	if (!sthr.fast && sthr.slow < FAST_AFTER && ++sthr.slow == FAST_AFTER)
		sthr.fast = sthr.traced || tracer_in_handler;
	if (sthr.fast) {
		uint32_t n = unwind_fast(uc, ip, flags);
		sthr.traced = true;
		if (n)
			return n;
	}
	return unwind_slow(uc, ip, flags);
}

/* ---- the signal handler ---- */

/* A SIGPROF that is not ours gets what the program asked for: by default, the end. */
static void foreign_signal(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sys_call(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	raise(sig);
}

static uint64_t thread_cpu_ns(void);

/*
 * A sample that a call's entry or a resume asks for stands for periods that no tick met since the
 * last sample: a thread that blocks between short calls (a 64-byte ping-pong) runs in bursts
 * shorter than a tick, most of them inside its calls, and all of that would go to the stack at
 * the call's entry, outside it. What ran outside the calls took at most the wall time spent
 * outside them; the rest of the CPU time since the last sample was run inside them: that share of
 * the periods is IPC time. A thread that computes between its calls keeps its periods.
 */
static uint64_t owed_in_calls(uint64_t w, uint64_t cpu, uint64_t now)
{
	if (cpu <= sthr.s_cpu || now <= sthr.s_wall)
		return 0;
	uint64_t dcpu = cpu - sthr.s_cpu, dwall = now - sthr.s_wall;
	uint64_t din = ipcprof_thr.call_ns - sthr.s_call;
	uint64_t out = dwall > din ? dwall - din : 0;
	if (dcpu <= out)
		return 0;
	uint64_t part = ((dcpu - out) << 16) / dcpu; /* of 65536 */
	uint64_t sum = sthr.carry + w * part;
	sthr.carry = (uint32_t)(sum & 0xffff);
	uint64_t k = sum >> 16;
	return k < w ? k : w;
}

static void on_sample(int sig, siginfo_t *si, void *ucv)
{
	int saved = IPCPROF_ERRNO;
	if (si->si_code != SI_TIMER || si->si_value.sival_int != SAMPLE_COOKIE) {
		foreign_signal(sig);
		IPCPROF_ERRNO = saved;
		return;
	}
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !atomic_load_explicit(&sampling, memory_order_relaxed) || !sthr.timer) {
		IPCPROF_ERRNO = saved;
		return;
	}
	sthr.handling = true;
	uint64_t w = 1 + (uint64_t)(si->si_overrun > 0 ? si->si_overrun : 0);
	uint64_t first = sthr.expiry;
	sthr.expiry += w * period_ns; /* where the kernel moved it: past now, by whole periods */
	/*
	 * A tick's sample after a tick's sample, with no call edge between: the kernel checked the
	 * timer at the last tick and now only, so the periods that ended between were run from the
	 * last stack to this one. Each gets the stack nearer to it in CPU time; all of them to this
	 * one would move the end of every phase into the next (a copy's last milliseconds into the
	 * compute after it).
	 */
	uint64_t cpu = sthr.owing && sthr.owing_cpu ? sthr.owing_cpu : thread_cpu_ns(), to_last = 0;
	if (!sthr.owing && sthr.tick_last && sthr.last_entry && cpu > sthr.last_cpu) {
		uint64_t mid = sthr.last_cpu + (cpu - sthr.last_cpu) / 2;
		if (mid >= first)
			to_last = (mid - first) / period_ns + 1;
		if (to_last >= w)
			to_last = w - 1; /* this stack keeps the period whose end sent the signal */
	}
	w -= to_last;
	w += sthr.owed;
	sthr.owed = 0;
	__atomic_fetch_add(&r->prof.samples, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->prof.weight, w + to_last, __ATOMIC_RELAXED);
	ucontext_t *uc = ucv;
	uint64_t ip[IPCPROF_SAMPLE_DEPTH];
	uint32_t n = 0, flags = 0;
	const struct ipcprof_sample_stack *last =
	    sthr.owing && sthr.to_last && sthr.tick_last && sthr.last_entry
		? (const void *)(area_base(r) + (uint64_t)(sthr.last_entry - 1) * 8)
		: NULL;
	if (last) {
		n = last->depth;
		flags = last->flags;
		memcpy(ip, last->ip, n * sizeof(ip[0]));
	} else if (sthr.unwinding) {
		ip[n++] = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
		flags |= IPCPROF_SS_SELF;
	} else {
		sthr.unwinding++;
		n = unwind(uc, ip, &flags);
		sthr.unwinding--;
	}
	if (sthr.owing && !last) { /* taken in a wrapper: the stack starts at its caller */
		uint32_t k = 0;
		while (k < n && ip[k] - own_lo < own_hi - own_lo)
			k++;
		if (k < n) {
			memmove(ip, ip + k, (n - k) * sizeof(ip[0]));
			n -= k;
		}
	}
	if (ipcprof_thr.in_call)
		flags |= IPCPROF_SS_IPC;
	uint64_t lo = 0, hi = 0; /* consecutive frames are mostly in one module */
	for (uint32_t i = 0; i < n && !last; i++) {
		if (ip[i] >= lo && ip[i] < hi)
			continue;
		ipcprof_module_note(ip[i]);
		module_range(r, ip[i], &lo, &hi);
	}
	if (n && !last && !(flags & IPCPROF_SS_SELF)) {
		bool cut = false;
		n = ipcprof_py_merge(ip, n, IPCPROF_SAMPLE_DEPTH, &cut);
		flags |= cut ? IPCPROF_SS_TRUNCATED : 0;
	}
	/*
	 * Reading schedstat costs an open of a /proc path (tens of microseconds here): at most every
	 * DELAY_READ_NS of a thread's clock time. The wait gathered since the last read is shared
	 * among the samples taken meanwhile (wait_share).
	 */
	uint64_t now = ipcprof_now();
	bool stored = false;
	if (to_last) {
		uint64_t off = (uint64_t)(sthr.last_entry - 1) * 8;
		struct ipcprof_sample_stack *s = (void *)(area_base(r) + off);
		__atomic_fetch_add(&s->weight, to_last, __ATOMIC_RELAXED);
		tick_add(r, off, to_last, now);
		uint32_t k = sthr.npend++ % PEND_MAX;
		sthr.pend_entry[k] = (uint32_t)(off / 8);
		sthr.pend_w[k] = (uint32_t)to_last;
	}
	uint64_t w_ipc = sthr.owing && !(flags & IPCPROF_SS_IPC) ? owed_in_calls(w, cpu, now) : 0;
	for (int part = 0; part < 2; part++) {
		uint64_t pw = part ? w - w_ipc : w_ipc;
		if (!pw)
			continue;
		uint64_t off = n ? sample_store(r, sthr.tid, ip, n,
						flags | (part ? 0 : IPCPROF_SS_IPC), pw)
				 : UINT64_MAX;
		if (!n)
			__atomic_fetch_add(&r->prof.dropped, pw, __ATOMIC_RELAXED);
		if (off == UINT64_MAX)
			continue;
		tick_add(r, off, pw, now);
		uint32_t k = sthr.npend++ % PEND_MAX;
		sthr.pend_entry[k] = (uint32_t)(off / 8);
		sthr.pend_w[k] = pw > UINT32_MAX ? UINT32_MAX : (uint32_t)pw;
		stored = true;
		sthr.last_entry = (uint32_t)(off / 8 + 1);
		sthr.last_cpu = cpu;
	}
	sthr.s_cpu = cpu;
	sthr.s_wall = now;
	sthr.s_call = ipcprof_thr.call_ns;
	if (sthr.delay_known && now - sthr.delay_read >= DELAY_READ_NS) {
		uint64_t d = run_delay();
		sthr.delay_read = now;
		if (d == UINT64_MAX) {
			sthr.delay_known = false;
		} else if (d >= sthr.delay) {
			wait_share(r, d - sthr.delay);
			sthr.delay = d;
		}
	}
	sthr.tick_last = stored && !sthr.owing;
	sthr.handling = false;
	IPCPROF_ERRNO = saved;
}

/* ---- timers ---- */

/*
 * libunwind's first use in a thread allocates (its TLS block, and once per process a thread key
 * and a pool): it must happen here, not in the handler. It runs without the fast tracer's table
 * (libunwind's own mmap of it fails: see ipcprof_thread.refuse_map), which the handler makes if
 * the thread lives. The TLS block comes from the program's malloc, called by the dynamic loader:
 * an allocator that maps memory for it then (jemalloc gives a new thread an arena) is served,
 * since only mmaps called from libunwind's code are refused.
 */
static void thread_warm_up(void)
{
	void *b[4];
	ipcprof_thr.refuse_map = 1;
	sthr.unwinding++;
	p_backtrace(b, 4);
	sthr.unwinding--;
	bool refused = ipcprof_thr.refuse_map == 2;
	ipcprof_thr.refuse_map = 0;
	sthr.traced = sthr.fast = !refused;
	sthr.warm = true;
	if (!refused)
		return; /* a libunwind that makes its table otherwise: it is made now */
	static bool key_checked;
	if (!key_checked) {
		/* libunwind's key was made before this one: below 31 here, below 32 there. */
		pthread_key_t k;
		key_checked = true;
		if (pthread_key_create(&k, NULL) == 0) {
			tracer_in_handler = k < 31;
			pthread_key_delete(k);
		}
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;
	if (sys_call(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &t) != 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Sets this thread's timer to expire at the expiry the sampler keeps, then every period. */
static bool timer_set_expiry(void)
{
	struct itimerspec its;
	its.it_interval.tv_sec = (time_t)(period_ns / 1000000000u);
	its.it_interval.tv_nsec = (long)(period_ns % 1000000000u);
	its.it_value.tv_sec = (time_t)(sthr.expiry / 1000000000u);
	its.it_value.tv_nsec = (long)(sthr.expiry % 1000000000u);
	return sys_call(SYS_timer_settime, sthr.timer - 1, TIMER_ABSTIME, &its, NULL) == 0;
}

/*
 * Arms this thread's timer to expire after `left` more of its CPU time, then every period; on
 * an absolute expiry, which the sampler keeps (see ipcprof_sampler_pause). now: at once as well,
 * for the expiry a period before that, which has passed (left is at most a period).
 */
static bool timer_arm(uint64_t left, bool now)
{
	int saved = IPCPROF_ERRNO;
	uint64_t at = thread_cpu_ns() + left;
	sthr.expiry = !now ? at : at > period_ns ? at - period_ns : 1; /* 0 would disarm it */
	bool ok = timer_set_expiry();
	IPCPROF_ERRNO = saved;
	return ok;
}

/* fresh: the thread is new (created, or a fork child's), so its run delay is 0 so far. */
static void thread_timer_start(bool fresh)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !atomic_load(&sampling) || sthr.timer)
		return;
	if (!sthr.warm)
		thread_warm_up();
	sthr.tid = (uint32_t)sys_call(SYS_gettid);
	/* A new task's schedstat starts at 0 (a fork child, a new thread): no need to read it. */
	sthr.delay = fresh ? 0 : run_delay();
	sthr.delay_known = sthr.delay != UINT64_MAX;
	sthr.delay_read = ipcprof_now();
	/* owed_in_calls counts from here: a fork child's clocks are its own, not its parent's. */
	sthr.s_cpu = thread_cpu_ns();
	sthr.s_wall = sthr.delay_read;
	sthr.s_call = ipcprof_thr.call_ns;
	sthr.carry = 0x8000; /* half a period: the split rounds, rather than drops, the first */
	int slot = -1;
	for (int i = 0; i <= TIMER_SLOTS; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(timer_slot(i), &expect, -1)) {
			slot = i;
			int hi = atomic_load(&timers_hi);
			while (hi < i + 1 && !atomic_compare_exchange_weak(&timers_hi, &hi, i + 1))
				;
			break;
		}
	}
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SAMPLE_SIGNAL;
	sev.sigev_value.sival_int = SAMPLE_COOKIE;
	sev._sigev_un._tid = (pid_t)sthr.tid;
	int kid = -1;
	if (slot < 0 || sys_call(SYS_timer_create, CLOCK_THREAD_CPUTIME_ID, &sev, &kid) != 0) {
		if (slot >= 0)
			atomic_store(timer_slot(slot), 0);
		__atomic_fetch_add(&r->prof.timer_errors, 1, __ATOMIC_RELAXED);
		return;
	}
	sthr.timer = kid + 1;
	sthr.slot = slot;
	atomic_store(timer_slot(slot), kid + 1);
	/* A thread that starts with SIGPROF blocked (its creator's mask, or the one kept across
	 * fork and exec) has its timer armed when it unblocks it: what fired meanwhile would wait,
	 * pending, where the program sees it. */
	sigset_t mask;
	sthr.paused = sys_call(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8) == 0 &&
		      sigismember(&mask, SAMPLE_SIGNAL) == 1;
	sthr.left = period_ns;
	sthr.owed = 0;
	if (!sthr.paused && !timer_arm(period_ns, false))
		__atomic_fetch_add(&r->prof.timer_errors, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&r->prof.threads, 1, __ATOMIC_RELAXED);
}

static void thread_timer_stop(void)
{
	if (!sthr.timer)
		return;
	int kid = sthr.timer - 1;
	sthr.timer = 0;
	sthr.paused = false;
	/* Whoever clears the slot deletes the timer: this thread, or a sampler stop. */
	int expect = kid + 1;
	if (atomic_compare_exchange_strong(timer_slot(sthr.slot), &expect, 0))
		sys_call(SYS_timer_delete, kid);
}

static bool signal_ours(const siginfo_t *si)
{
	return si->si_signo == SAMPLE_SIGNAL && si->si_code == SI_TIMER &&
	       si->si_value.sival_int == SAMPLE_COOKIE;
}

/*
 * Takes the SIGPROFs of ours pending on this thread, so that the program never sees them. A
 * SIGPROF that is the program's (sent with kill, say) is put back where the program finds it as
 * before: in the queue it was sent to, told by how it was sent. A standard signal is pending
 * once per queue (the thread's and the process's): a few takes empty both.
 */
static void drain_pending(void)
{
	int saved = IPCPROF_ERRNO;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SAMPLE_SIGNAL);
	struct timespec zero = {0, 0};
	siginfo_t si, keep[2];
	int nkeep = 0;
	for (int i = 0;
	     i < 4 && sys_call(SYS_rt_sigtimedwait, &set, &si, &zero, 8) == SAMPLE_SIGNAL; i++)
		if (!signal_ours(&si) && nkeep < 2)
			keep[nkeep++] = si;
	for (int i = 0; i < nkeep; i++) {
		if (keep[i].si_code == SI_TKILL) /* sent to this thread (raise, pthread_kill) */
			sys_call(SYS_rt_tgsigqueueinfo, sys_getpid(), sys_call(SYS_gettid),
				 SAMPLE_SIGNAL, &keep[i]);
		else /* to the process, as kill, sigqueue and the kernel's timers send it */
			sys_call(SYS_rt_sigqueueinfo, sys_getpid(), SAMPLE_SIGNAL, &keep[i]);
	}
	IPCPROF_ERRNO = saved;
}

/* Every timer goes: the program took SIGPROF, or sampling failed. */
static void sampler_stop(uint32_t state)
{
	if (!atomic_exchange(&sampling, false))
		return;
	for (int i = 0, hi = atomic_load(&timers_hi); i < hi && i <= TIMER_SLOTS; i++) {
		int v = atomic_exchange(timer_slot(i), 0);
		if (v > 0)
			sys_call(SYS_timer_delete, v - 1);
	}
	sthr.timer = 0;
	struct ipcprof_record *r = ipcprof_rec;
	if (r) {
		r->prof.state = state;
		r->prof.stopped_ns = ipcprof_now();
	}
}

/* ---- threads ---- */

struct thread_start {
	void *(*fn)(void *);
	void *arg;
};

static void thread_end(void *unused)
{
	(void)unused;
	thread_timer_stop();
}

static void *thread_tramp(void *p)
{
	struct thread_start t = *(struct thread_start *)p;
	free(p);
	thread_timer_start(true);
	void *ret;
	pthread_cleanup_push(thread_end, NULL);
	ret = t.fn(t.arg);
	pthread_cleanup_pop(1);
	return ret;
}

IPCPROF_API int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			       void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!real)
		real = ipcprof_resolve("pthread_create");
	struct thread_start *t;
	if (!atomic_load_explicit(&sampling, memory_order_relaxed) || !(t = malloc(sizeof(*t))))
		return real(th, attr, fn, arg);
	t->fn = fn;
	t->arg = arg;
	int rc = real(th, attr, thread_tramp, t);
	if (rc != 0)
		free(t);
	return rc;
}

/* ---- libunwind's address test ---- */

/*
 * libunwind tests that an address is readable by writing one byte of it to its pipe with
 * syscall(SYS_write, ...); its pipe is no pipe here (hooks_fd.c), so the test is answered with
 * process_vm_readv on this process, which fails with EFAULT where a read would fault. Every
 * other call passes through with its six argument registers as they came.
 */
IPCPROF_API long syscall(long n, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (IPCPROF_UNLIKELY(n == SYS_write && a == IPCPROF_UNWIND_FD_W) &&
	    ipcprof_unwinder_calls(__builtin_return_address(0))) {
		char byte;
		struct iovec local = {&byte, 1}, remote = {(void *)b, 1};
		if (c < 1)
			return 0;
		return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 ? 1 : -1;
	}
	if (IPCPROF_UNLIKELY(!real))
		real = ipcprof_resolve("syscall");
	return real(n, a, b, c, d, e, f);
}

/* ---- SIGPROF belongs to the program ---- */

static void program_takes_signal(void)
{
	if (!installed)
		return;
	installed = false;
	/* Said in the record (state, stopped_ns) and by the report, not on the program's stderr. */
	sampler_stop(IPCPROF_PROF_YIELDED);
	drain_pending();
}

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

IPCPROF_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction)
		real_sigaction = ipcprof_resolve("sigaction");
	if (sig != SAMPLE_SIGNAL || !installed)
		return real_sigaction(sig, act, old);
	if (!act) {
		if (old)
			*old = app_act;
		return 0;
	}
	struct sigaction prev = app_act;
	program_takes_signal();
	int rc = real_sigaction(sig, act, NULL);
	if (rc == 0 && old)
		*old = prev;
	return rc;
}

/* signal() and its BSD and System V spellings: the same watch, each passed to its own. */
static sighandler_t set_handler(sighandler_t (**real)(int, sighandler_t), const char *name, int sig,
				sighandler_t handler)
{
	if (!*real)
		*real = ipcprof_resolve(name);
	if (sig != SAMPLE_SIGNAL || !installed)
		return (*real)(sig, handler);
	sighandler_t prev = app_act.sa_handler;
	program_takes_signal();
	sighandler_t r = (*real)(sig, handler);
	return r == SIG_ERR ? SIG_ERR : prev;
}

IPCPROF_API sighandler_t signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real)(int, sighandler_t);
	return set_handler(&real, "signal", sig, handler);
}

sighandler_t bsd_signal(int sig, sighandler_t handler); /* declared for old X/Open only */
IPCPROF_API sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real)(int, sighandler_t);
	return set_handler(&real, "bsd_signal", sig, handler);
}

IPCPROF_API sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real)(int, sighandler_t);
	return set_handler(&real, "sysv_signal", sig, handler);
}

/* ---- life of the sampler ---- */

bool ipcprof_unwind_resolve(void *h)
{
	p_init_local2 = (__typeof__(p_init_local2))dlsym(h, STR(unw_init_local2));
	p_step = (__typeof__(p_step))dlsym(h, STR(unw_step));
	p_get_reg = (__typeof__(p_get_reg))dlsym(h, STR(unw_get_reg));
	p_backtrace = (__typeof__(p_backtrace))dlsym(h, "unw_backtrace");
	int (*set_policy)(unw_addr_space_t, unw_caching_policy_t) =
	    (__typeof__(set_policy))dlsym(h, STR(unw_set_caching_policy));
	unw_addr_space_t *as = (unw_addr_space_t *)dlsym(h, STR(unw_local_addr_space));
	if (!p_init_local2 || !p_step || !p_get_reg || !p_backtrace || !set_policy || !as ||
	    !ipcprof_text_range((void *)p_backtrace, &unwinder_lo, &unwinder_hi))
		return false;
	/* Per-thread caches need no lock: the global one blocks signals around each use. Its
	 * first call initializes libunwind, which is when it would make its pipe. */
	sthr.unwinding++;
	set_policy(*as, UNW_CACHE_PER_THREAD);
	sthr.unwinding--;
	return true;
}

uint64_t ipcprof_sampler_config(void)
{
	uint64_t v;
	ipcprof_env_u64(IPCPROF_ENV_SAMPLE_HZ, IPCPROF_DEFAULT_SAMPLE_HZ, 100000, &v);
	hz = (uint32_t)v;
	if (!hz)
		return 0;
	period_ns = 1000000000u / hz;
	ipcprof_env_u64(IPCPROF_ENV_SAMPLE_AREA, IPCPROF_DEFAULT_SAMPLE_AREA, 1ull << 32, &v);
	return v & ~(uint64_t)7;
}

void ipcprof_sampler_start(void)
{
	struct ipcprof_record *r = ipcprof_rec;
	r->prof.hz = hz;
	r->prof.period_ns = period_ns;
	if (!hz || !r->prof.area_cap)
		return;
	ipcprof_py_init(r);
	if (!p_init_local2) {
		r->prof.state = IPCPROF_PROF_NO_UNWIND;
		ipcprof_warn_once(IPCPROF_WARN_SAMPLER,
				  "cannot load libunwind: CPU time is not sampled");
		return;
	}
	if (!sindex) {
		void *m = mmap(NULL, INDEX_CAP * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			r->prof.state = IPCPROF_PROF_FAILED;
			return;
		}
		sindex = m;
		/* A fork child starts its own index: the kernel gives it zero pages, and the
		 * parent's pages stay writable for the parent at fork. */
		sindex_wiped = sys_madvise(m, INDEX_CAP * sizeof(uint64_t), MADV_WIPEONFORK) == 0;
		timers_wiped = sys_madvise(timers, sizeof(timers), MADV_WIPEONFORK) == 0;
	}
	if (!real_sigaction)
		real_sigaction = ipcprof_resolve("sigaction");
	struct sigaction now;
	if (real_sigaction(SAMPLE_SIGNAL, NULL, &now) != 0 || (now.sa_flags & SA_SIGINFO) ||
	    now.sa_handler != SIG_DFL) {
		/* Handled or ignored already (an ignored signal stays ignored across exec). */
		r->prof.state = IPCPROF_PROF_YIELDED;
		return;
	}
	app_act = now;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sample;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (real_sigaction(SAMPLE_SIGNAL, &sa, NULL) != 0) {
		r->prof.state = IPCPROF_PROF_FAILED;
		return;
	}
	installed = true;
	if (!own_hi)
		ipcprof_text_range((void *)ipcprof_sampler_resume, &own_lo, &own_hi);
	ipcprof_modules_refresh();
	r->prof.state = IPCPROF_PROF_ON;
	atomic_store(&sampling, true);
	thread_timer_start(false);
}

/* In a fork child: the parent's timers did not come along; this thread gets its own. */
void ipcprof_sampler_after_fork(void)
{
	/* Stores only where something is to be cleared: a page the parent wrote is shared with
	 * it until either writes, and a store here would copy it for nothing. */
	if (atomic_load_explicit(&growing, memory_order_relaxed))
		atomic_store(&growing, 0);
	if (atomic_load_explicit(&area_full, memory_order_relaxed))
		atomic_store(&area_full, false);
	/* Slots are taken only while sampling (a stop empties them): with sampling off, the
	 * child does not even read their pages. */
	if (atomic_load_explicit(&timer0, memory_order_relaxed))
		atomic_store(&timer0, 0);
	if (atomic_load(&sampling) && !timers_wiped) {
		int hi = atomic_load(&timers_hi);
		for (int i = 1; i < hi && i <= TIMER_SLOTS; i++)
			if (atomic_load_explicit(timer_slot(i), memory_order_relaxed))
				atomic_store(timer_slot(i), 0);
	}
	if (sthr.timer)
		sthr.timer = 0;
	if (sthr.ticks)
		sthr.ticks = 0; /* its chunk is in the parent's area */
	if (sthr.npend)
		sthr.npend = 0; /* and the samples waiting for a share of the CPU wait */
	if (sthr.tick_last)
		sthr.tick_last = false; /* and the last sample's stack */
	if (sthr.fast)
		sthr.fast = false; /* the table's pages are the parent's until written */
	if (sthr.slow)
		sthr.slow = 0;
	if (sthr.paused)
		sthr.paused = false; /* the child's timer looks at the mask itself */
	struct ipcprof_record *r = ipcprof_rec;
	ipcprof_py_after_fork(r);
	if (!r || !atomic_load(&sampling))
		return;
	r->prof.hz = hz;
	r->prof.period_ns = period_ns;
	if (!r->prof.area_cap) {
		atomic_store(&sampling, false);
		return;
	}
	if (!sindex_wiped)
		sys_madvise(sindex, INDEX_CAP * sizeof(uint64_t), MADV_DONTNEED);
	r->prof.state = IPCPROF_PROF_ON;
	thread_timer_start(true);
}

/* Before exec: this thread's timer stops and its pending signal goes, since the next image
 * starts with SIGPROF's default action (the end of the process). */
void ipcprof_sampler_exec_begin(void)
{
	if (!sthr.timer || sthr.paused)
		return;
	struct itimerspec off;
	memset(&off, 0, sizeof(off));
	sys_call(SYS_timer_settime, sthr.timer - 1, 0, &off, NULL);
	drain_pending();
}

void ipcprof_sampler_exec_failed(void)
{
	if (!sthr.timer || sthr.paused || !atomic_load(&sampling))
		return;
	timer_arm(period_ns, false);
}

void *ipcprof_sample_area_take(uint64_t size)
{
	struct ipcprof_record *r = ipcprof_rec;
	uint64_t off = r && r->prof.area_cap ? area_take(r, size) : UINT64_MAX;
	return off == UINT64_MAX ? NULL : area_base(r) + off;
}

/* libunwind used outside the handler (call sites of large transfers): the handler keeps off. */
int ipcprof_backtrace(void **buf, int n)
{
	if (!p_backtrace)
		return 0;
	sthr.unwinding++;
	int k = p_backtrace(buf, n);
	sthr.unwinding--;
	sthr.traced = sthr.fast = true;
	return k;
}

/* ---- threads that block SIGPROF (called by hooks_signal.c) ---- */

bool ipcprof_sampler_timed(void)
{
	return sthr.timer && !sthr.handling && !sthr.unwinding &&
	       atomic_load_explicit(&sampling, memory_order_relaxed);
}

/*
 * The kernel looks at CPU timers once a scheduler tick, and a timer read or disarmed between two
 * ticks is moved past its expiries silently: re-armed from what it reads back, a thread that
 * masks more often than its period would never be sampled. So the pause works from the expiry
 * the sampler keeps (set at arming, moved by each sample): the periods that ended before the
 * pause are owed to the next sample, and the timer goes on with what is left of the current one.
 * The CPU time run while paused is not sampled.
 */
bool ipcprof_sampler_pause(void)
{
	if (!sthr.timer || sthr.paused)
		return false;
	int saved = IPCPROF_ERRNO;
	struct itimerspec off;
	memset(&off, 0, sizeof(off));
	bool ok = sys_call(SYS_timer_settime, sthr.timer - 1, 0, &off, NULL) == 0;
	uint64_t now = ok ? thread_cpu_ns() : 0;
	IPCPROF_ERRNO = saved;
	if (!ok)
		return false;
	uint64_t left = sthr.expiry > now ? sthr.expiry - now : 0;
	if (now >= sthr.expiry) {
		uint64_t k = (now - sthr.expiry) / period_ns + 1;
		sthr.owed = (uint32_t)(sthr.owed + k < UINT32_MAX ? sthr.owed + k : UINT32_MAX);
		left = sthr.expiry + k * period_ns - now;
	}
	sthr.left = left ? left : 1; /* zero would leave it disarmed */
	sthr.paused = true;
	return true;
}

void ipcprof_sampler_resume(void)
{
	if (!sthr.paused)
		return;
	sthr.paused = false;
	if (!sthr.timer || !atomic_load_explicit(&sampling, memory_order_relaxed))
		return;
	/* Periods owed: a sample now, here, where the thread ran them, rather than at some later
	 * tick that finds the timer past its expiry (a thread that masks often is seldom found so). */
	bool owed = sthr.owed > 0;
	if (owed)
		sthr.owed--; /* the expiry a period before the next stands for one */
	sthr.owing = owed;
	timer_arm(sthr.left, owed);
	sthr.owing = false;
}

/*
 * The kernel looks at CPU timers only at a tick, in the task it finds running: a call that blocks
 * (a pipe read waiting every 64 KiB) runs its CPU in bursts no tick meets, and the periods that
 * ended there, or in the code just before it, are found at the next tick in whatever runs long
 * enough after it (a worker's memcpy after its read). So a call whose wrapper reads the thread's
 * CPU clock (a large or a CPU-timed one) hands it here at entry and at exit: the periods that
 * ended before it are sampled at once, where they were run. The timer is set again on the expiry
 * the sampler keeps, which has passed: the kernel sends at once, with the overruns.
 */
void ipcprof_sampler_settle(uint64_t cpu_now, bool entry)
{
	if (sthr.handling || sthr.unwinding)
		return;
	if (cpu_now < sthr.expiry || !sthr.timer || sthr.paused ||
	    !atomic_load_explicit(&sampling, memory_order_relaxed)) {
		sthr.tick_last = false; /* nothing owed: what follows was run after this edge */
		return;
	}
	int saved = IPCPROF_ERRNO;
	sthr.owing = true;
	sthr.owing_cpu = cpu_now & ~(uint64_t)1; /* a timed call's entry marks its reading so */
	sthr.to_last = entry;
	timer_set_expiry();
	sthr.owing = sthr.to_last = false;
	sthr.owing_cpu = 0;
	sthr.tick_last = false;
	IPCPROF_ERRNO = saved;
}

bool ipcprof_sampler_paused(void)
{
	return sthr.paused;
}

/*
 * The process is ending on this thread: the CPU wait gathered since the last read (up to
 * DELAY_READ_NS of it) goes to the samples taken meanwhile, or a worker's last stretch of queueing
 * for a CPU would be lost. The sampling signal is held off so the handler cannot share it twice.
 */
void ipcprof_sampler_finish(void)
{
	struct ipcprof_record *r = ipcprof_rec;
	if (!r || !sthr.delay_known || !sthr.npend || sthr.handling)
		return;
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SAMPLE_SIGNAL);
	if (sys_call(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, 8) != 0)
		return;
	uint64_t d = run_delay();
	sthr.delay_read = ipcprof_now();
	if (d != UINT64_MAX && d >= sthr.delay) {
		wait_share(r, d - sthr.delay);
		sthr.delay = d;
	}
	sys_call(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
}

void ipcprof_sampler_drain(void)
{
	drain_pending();
}

bool ipcprof_sampler_signal_ours(const siginfo_t *si)
{
	return installed && signal_ours(si);
}
