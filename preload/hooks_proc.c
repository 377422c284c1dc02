/* Wrappers of process life: fork, the exec family, posix_spawn, exit and the wait family. */
#include <dlfcn.h>
#include <sched.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipcprof/env.h"
#include "preload.h"
#include "sys.h"
#include "term_text.h"

extern char **environ;

int ipcprof_exit_status = -1;

/* Environments larger than this are passed on unchanged (children might then not be profiled). */
#define ENV_CAP 1024
#define ARG_CAP 4096

/* The child's record is made by the pthread_atfork handler in core.c, before any other code of
 * the child runs; this wrapper exists so that fork is seen even where libc calls it directly. */
IPCPROF_API pid_t fork(void)
{
	return REAL(fork)();
}

/*
 * clone() that makes a process (no CLONE_VM) runs fn in the child: a trampoline gives the child
 * its record first. The trampoline's arguments live on this frame's stack, which the child gets a
 * copy of; with CLONE_VM (threads, vfork-like uses) the call goes through untouched.
 */
struct clone_tramp {
	int (*fn)(void *);
	void *arg;
};

static int clone_child(void *p)
{
	struct clone_tramp t = *(struct clone_tramp *)p;
	ipcprof_after_fork_child();
	return t.fn(t.arg);
}

IPCPROF_API int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if ((flags & CLONE_VM) || !ipcprof_rec)
		return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	struct clone_tramp t = {fn, arg};
	return REAL(clone)(clone_child, stack, flags, &t, ptid, tls, ctid);
}

/* An exec in this process ends this image's record; in a vfork child it must change nothing. */
static bool exec_begin(void)
{
	if (!ipcprof_is_self())
		return false;
	ipcprof_sampler_exec_begin();
	ipcprof_finish(IPCPROF_END_EXEC, 0);
	return true;
}

static void exec_failed(bool self)
{
	if (self) {
		ipcprof_exec_failed();
		ipcprof_sampler_exec_failed();
	}
}

/* The shape of every exec wrapper: the session's variables restored in envp where the program
 * dropped them, this image's record ended, and reopened if the exec fails. */
#define EXEC_IN_SESSION(envp, call_with_env)                                                       \
	do {                                                                                       \
		char *fixed_[ENV_CAP];                                                             \
		char *const *env = ipcprof_fix_env(envp, fixed_, ENV_CAP);                         \
		bool self_ = exec_begin();                                                         \
		int r_ = call_with_env;                                                            \
		int e_ = IPCPROF_ERRNO;                                                            \
		exec_failed(self_);                                                                \
		IPCPROF_ERRNO = e_;                                                                \
		return r_;                                                                         \
	} while (0)

IPCPROF_API int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_IN_SESSION(envp, REAL(execve)(path, argv, env));
}

IPCPROF_API int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

IPCPROF_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_IN_SESSION(envp, REAL(execvpe)(file, argv, env));
}

IPCPROF_API int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

IPCPROF_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_IN_SESSION(envp, REAL(fexecve)(fd, argv, env));
}

IPCPROF_API int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	EXEC_IN_SESSION(envp, REAL(execveat)(dirfd, path, argv, env, flags));
}

/* Collects execl-style arguments into argv[] on the stack; returns the envp after the NULL
 * when want_env, or environ. */
static char *const *collect_args(const char *arg0, va_list ap, char **argv, bool want_env, bool *ok)
{
	size_t n = 0;
	argv[n++] = (char *)arg0;
	*ok = true;
	while (arg0) {
		char *a = va_arg(ap, char *);
		if (n == ARG_CAP) {
			*ok = false;
			argv[ARG_CAP - 1] = NULL;
			break;
		}
		argv[n++] = a;
		if (!a)
			break;
	}
	return want_env && *ok ? va_arg(ap, char *const *) : environ;
}

/* The execl family: the list becomes an argv on this stack, then the v-form wrapper runs. */
typedef int (*exec_fn)(const char *, char *const[], char *const[]);

static int exec_list(exec_fn fn, const char *path, const char *arg, va_list ap, bool want_env)
{
	char *argv[ARG_CAP];
	bool ok;
	char *const *envp = collect_args(arg, ap, argv, want_env, &ok);
	if (!ok) {
		IPCPROF_ERRNO = E2BIG;
		return -1;
	}
	return fn(path, argv, envp);
}

IPCPROF_API int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int r = exec_list(execve, path, arg, ap, false);
	va_end(ap);
	return r;
}

IPCPROF_API int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int r = exec_list(execvpe, file, arg, ap, false);
	va_end(ap);
	return r;
}

IPCPROF_API int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int r = exec_list(execve, path, arg, ap, true);
	va_end(ap);
	return r;
}

IPCPROF_API int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char *fixed[ENV_CAP];
	return REAL(posix_spawn)(pid, path, fa, attr, argv, ipcprof_fix_env(envp, fixed, ENV_CAP));
}

IPCPROF_API int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char *fixed[ENV_CAP];
	return REAL(posix_spawnp)(pid, file, fa, attr, argv, ipcprof_fix_env(envp, fixed, ENV_CAP));
}

/*
 * A program whose main returns calls exit from inside libc, where no wrapper sees it; wrapping
 * main is how the record learns that status too.
 */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
	int r = real_main(argc, argv, envp);
	ipcprof_exit_status = r & 0xff;
	return r;
}

IPCPROF_API int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
				  void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void),
				void (*)(void), void *);
	start_fn real = (start_fn)ipcprof_resolve("__libc_start_main");
	real_main = main;
	return real(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* exit: the record is completed by the library's destructor, after the atexit handlers. */
IPCPROF_API void exit(int status)
{
	ipcprof_exit_status = status & 0xff;
	REAL(exit)(status);
}

/* _exit: no destructor runs, so the session's first process reports here. */
IPCPROF_API void _exit(int status)
{
	ipcprof_finish(IPCPROF_END_EXIT, status & 0xff);
	ipcprof_report_at_end();
	REAL(_exit)(status);
}

IPCPROF_API void _Exit(int status)
{
	ipcprof_finish(IPCPROF_END_EXIT, status & 0xff);
	ipcprof_report_at_end();
	REAL(_Exit)(status);
}

/* The wait family: a child killed by a signal cannot say so itself; its parent writes it down. */
IPCPROF_API pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	int st = 0;
	struct rusage mine;
	struct rusage *use = ru ? ru : &mine;
	pid_t r = REAL(wait4)(pid, &st, options, use);
	int e = IPCPROF_ERRNO;
	if (r > 0) {
		ipcprof_note_child_end(r, st, use);
		if (status)
			*status = st;
	}
	IPCPROF_ERRNO = e;
	return r;
}

IPCPROF_API pid_t waitpid(pid_t pid, int *status, int options)
{
	return wait4(pid, status, options, NULL);
}

IPCPROF_API pid_t wait(int *status)
{
	return wait4(-1, status, 0, NULL);
}

IPCPROF_API pid_t wait3(int *status, int options, struct rusage *ru)
{
	return wait4(-1, status, options, ru);
}

IPCPROF_API int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int r = REAL(waitid)(idtype, id, info, options);
	int e = IPCPROF_ERRNO;
	if (r == 0 && info && info->si_pid > 0) {
		if (info->si_code == CLD_EXITED)
			ipcprof_note_child_end(info->si_pid, (info->si_status & 0xff) << 8, NULL);
		else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED)
			ipcprof_note_child_end(info->si_pid, info->si_status & 0x7f, NULL);
	}
	IPCPROF_ERRNO = e;
	return r;
}

/* ---- the report at the end of a bare LD_PRELOAD run ---- */

/*
 * The session's first process runs `ipcprof report` when it ends, by exit or by _exit (dash, and
 * many daemons, leave through _exit; a signal handler may call it). So the end runs no code that
 * could take a lock the program held: the command is found when the process starts, and the
 * reporter is started with raw system calls.
 */
static char report_cmd[PATH_MAX] IPCPROF_BIG;
static const char *report_dir;
static pid_t report_pid; /* the process that reports: not its fork children */
static bool report_done;

static bool find_command(char *out, size_t size)
{
	const char *c = ipcprof_setting(IPCPROF_ENV_COMMAND);
	if (c && *c) {
		ipcprof_strlcpy(out, c, size);
		return access(out, X_OK) == 0;
	}
	Dl_info di;
	if (!dladdr((void *)&find_command, &di) || !di.dli_fname)
		return false;
	char dir[PATH_MAX];
	if (!realpath(di.dli_fname, dir))
		return false;
	char *slash = strrchr(dir, '/');
	if (!slash)
		return false;
	*slash = 0;
	static const char *const rel[] = {"../report/ipcprof", "../bin/ipcprof",
					  "../../bin/ipcprof"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(out, size, "%s/%s", dir, rel[i]);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

void ipcprof_report_prepare(const char *dir, bool root)
{
	const char *want = ipcprof_setting(IPCPROF_ENV_REPORT);
	if (!root || (want && !strcmp(want, "0")))
		return;
	report_dir = dir;
	report_pid = (pid_t)sys_getpid();
	if (!find_command(report_cmd, sizeof(report_cmd)))
		report_cmd[0] = 0;
}

/* Appends s at *p, within end. */
static void put_str(char **p, char *end, const char *s)
{
	while (*s && *p < end)
		*(*p)++ = *s++;
}

/* One line on stderr: where the records are, why there is no report, and how to make it. */
static void say_records(const char *why)
{
	/* The folder as a terminal may show it (control characters escaped); said once, at the
	 * root's exit: no stack of the program's holds it. */
	static char dir[4 * PATH_MAX] IPCPROF_BIG, msg[9 * PATH_MAX] IPCPROF_BIG;
	char *p = msg, *end = msg + sizeof(msg) - 1;
	ipcprof_term_str(report_dir, dir, sizeof(dir));
	put_str(&p, end, "ipcprof: records are in ");
	put_str(&p, end, dir);
	put_str(&p, end, " (");
	put_str(&p, end, why);
	put_str(&p, end, " `ipcprof report ");
	put_str(&p, end, dir);
	put_str(&p, end, "`)");
	*p++ = '\n';
	sys_write(2, msg, (size_t)(p - msg));
}

/* Apart from its caller: its frame is large, and stack-clash probes would touch its pages in
 * every process that exits, most of which (all but the root) report nothing. */
static __attribute__((noinline)) void report_now(void)
{
	if (!report_cmd[0]) {
		say_records("the ipcprof command was not found: set " IPCPROF_ENV_COMMAND
			    ", or run");
		return;
	}
	/* The reporter itself must not be profiled. */
	char *env[ENV_CAP + 1];
	size_t k = 0;
	for (size_t i = 0; environ && environ[i] && k < ENV_CAP; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	env[k] = NULL;
	char *argv[] = {report_cmd, "report", (char *)report_dir, NULL};
	/* A fork by the system call: no atfork handler (the C library's take malloc's locks). */
	pid_t pid = (pid_t)sys_call(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sys_call(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(long));
		/* The program's file-size limit is not the report's (it may allow no report). */
		struct rlimit lim;
		if (sys_call(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &lim) == 0) {
			lim.rlim_cur = lim.rlim_max;
			sys_call(SYS_prlimit64, 0, RLIMIT_FSIZE, &lim, NULL);
		}
		sys_call(SYS_execve, report_cmd, argv, env);
		sys_call(SYS_exit_group, 127);
	}
	int st = 0;
	if (pid > 0)
		while (sys_call(SYS_wait4, pid, &st, 0, NULL) < 0 && IPCPROF_ERRNO == EINTR)
			;
	if (pid < 0 || WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 127))
		say_records("the report could not be written: run");
}

void ipcprof_report_at_end(void)
{
	if (!report_dir || !ipcprof_rec || report_done || (pid_t)sys_getpid() != report_pid)
		return;
	report_done = true;
	int saved = IPCPROF_ERRNO;
	report_now();
	IPCPROF_ERRNO = saved;
}
