/* The program's signal masks and waits: the sampler's SIGPROF never waits where the program can see it. */
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>

#include "preload.h"
#include "sys.h"

/*
 * A SIGPROF of the sampler's timer that fires while the thread blocks SIGPROF waits, pending,
 * where the program sees it: in sigpending(), sigwait*() and a signalfd that asks for every
 * signal. So a thread's timer is paused while the thread blocks SIGPROF, and goes on with what was
 * left of its period when the thread unblocks it: its samples stay one per period of the CPU time
 * it runs with SIGPROF unblocked, and a mask held for microseconds costs no sample.
 *
 * The timer is paused before the call that blocks the signal, so that what it sends meanwhile is
 * delivered while it still can be; and again after it (a handler of the program's that ran in
 * between may have resumed it), with whatever fired meanwhile taken. A mask set without these
 * calls (a signal handler's sa_mask, glibc's own short masks) leaves the timer running, and
 * sigpending and the sigwait calls take what is ours before the program sees it; the waits of
 * sigsuspend, ppoll, pselect and epoll_pwait pass as they are: the thread does not run there.
 *
 * Only in the process that owns the timer: in a vfork child these wrappers run on the parent's
 * memory and must change none of its state.
 */
static bool blocks(int how, const sigset_t *set, const sigset_t *prev)
{
	bool in = sigismember(set, SIGPROF) == 1, was = sigismember(prev, SIGPROF) == 1;
	return how == SIG_SETMASK ? in : how == SIG_BLOCK ? in || was : was && !in;
}

static bool blocked_now(void)
{
	sigset_t cur;
	return sys_call(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8) == 0 &&
	       sigismember(&cur, SIGPROF) == 1;
}

static int mask_call(int (*real)(int, const sigset_t *, sigset_t *), int how, const sigset_t *set,
		     sigset_t *old)
{
	if (!set || !ipcprof_sampler_timed() || !ipcprof_is_self())
		return real(how, set, old);
	bool asks = how != SIG_UNBLOCK && sigismember(set, SIGPROF) == 1;
	bool was_paused = ipcprof_sampler_paused();
	if (asks)
		ipcprof_sampler_pause();
	sigset_t prev;
	sigemptyset(&prev);
	int rc = real(how, set, &prev);
	int err = IPCPROF_ERRNO;
	bool now, had;
	if (rc != 0) {
		now = had = blocked_now(); /* the mask is unchanged */
	} else {
		now = blocks(how, set, &prev);
		had = sigismember(&prev, SIGPROF) == 1;
		if (old)
			*old = prev;
	}
	if (now) {
		bool fired = asks && ipcprof_sampler_pause();
		if (fired || (had && !was_paused))
			ipcprof_sampler_drain();
	} else {
		ipcprof_sampler_resume();
	}
	IPCPROF_ERRNO = err;
	return rc;
}

IPCPROF_API int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	static int (*real)(int, const sigset_t *, sigset_t *);
	return mask_call(ipcprof_real_get((void **)&real, "sigprocmask"), how, set, old);
}

IPCPROF_API int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	static int (*real)(int, const sigset_t *, sigset_t *);
	return mask_call(ipcprof_real_get((void **)&real, "pthread_sigmask"), how, set, old);
}

/* The waits and sigpending look at SIGPROF only where this thread's timer may have left one. */
static bool may_hold_ours(const sigset_t *set)
{
	return set && sigismember(set, SIGPROF) == 1 && ipcprof_sampler_timed() &&
	       ipcprof_is_self();
}

IPCPROF_API int sigpending(sigset_t *set)
{
	static int (*real)(sigset_t *);
	int (*fn)(sigset_t *) = ipcprof_real_get((void **)&real, "sigpending");
	int rc = fn(set);
	if (rc == 0 && may_hold_ours(set)) {
		ipcprof_sampler_drain();
		rc = fn(set);
	}
	return rc;
}

static long long mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A wait that returns one of ours waits on, for what is left of its timeout. */
static int wait_call(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	static int (*real)(const sigset_t *, siginfo_t *, const struct timespec *);
	int (*fn)(const sigset_t *, siginfo_t *, const struct timespec *) =
	    ipcprof_real_get((void **)&real, "sigtimedwait");
	if (!may_hold_ours(set))
		return fn(set, info, timeout);
	siginfo_t si;
	long long end = 0;
	struct timespec left;
	if (timeout && timeout->tv_sec >= 0 && timeout->tv_nsec >= 0 &&
	    timeout->tv_nsec < 1000000000) {
		end = mono_ns() + (long long)timeout->tv_sec * 1000000000 + timeout->tv_nsec;
		left = *timeout;
	}
	for (;;) {
		int saved = IPCPROF_ERRNO;
		int s = fn(set, &si, timeout && end ? &left : timeout);
		if (s != SIGPROF || !ipcprof_sampler_signal_ours(&si)) {
			if (s > 0 && info)
				*info = si;
			return s;
		}
		IPCPROF_ERRNO = saved;
		if (timeout && end) {
			long long rest = end - mono_ns();
			if (rest < 0)
				rest = 0;
			left.tv_sec = (time_t)(rest / 1000000000);
			left.tv_nsec = (long)(rest % 1000000000);
		}
	}
}

IPCPROF_API int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	return wait_call(set, info, timeout);
}

IPCPROF_API int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return wait_call(set, info, NULL);
}

/* glibc's sigwait: sigwaitinfo again after a handler ran; the signal or the error number. */
IPCPROF_API int sigwait(const sigset_t *set, int *sig)
{
	int s;
	do
		s = wait_call(set, NULL, NULL);
	while (s < 0 && IPCPROF_ERRNO == EINTR);
	if (s < 0)
		return IPCPROF_ERRNO;
	*sig = s;
	return 0;
}

/* A signalfd made where SIGPROF was blocked without these wrappers: the timer pauses from now. */
IPCPROF_API int signalfd(int fd, const sigset_t *mask, int flags)
{
	static int (*real)(int, const sigset_t *, int);
	int (*fn)(int, const sigset_t *, int) = ipcprof_real_get((void **)&real, "signalfd");
	if (may_hold_ours(mask) && blocked_now()) {
		ipcprof_sampler_pause();
		ipcprof_sampler_drain();
	}
	return fn(fd, mask, flags);
}
