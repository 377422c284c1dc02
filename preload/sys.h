/* Raw system calls for ipcprof's own I/O: they bypass every wrapper, ours and other preloads'. */
#ifndef IPCPROF_SYS_H
#define IPCPROF_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Advice newer than some C libraries' headers. */
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * On x86-64 the instruction itself, inline: a fork child then touches no page of the C library's
 * syscall() (nor of the one interposed in sampler.c), each a page fault in a new process, and
 * errno only when a call fails, as syscall() would set it. Elsewhere, syscall().
 */
#if defined(__x86_64__)
static inline long sys_call6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (__builtin_expect((unsigned long)ret > -4096ul, 0)) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#else
static inline long sys_call6(long n, long a, long b, long c, long d, long e, long f)
{
	return syscall(n, a, b, c, d, e, f);
}
#endif
#define SYS_CALL_(n, a, b, c, d, e, f, ...)                                                        \
	sys_call6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* sys_call(SYS_x, args...): up to six arguments, as syscall() takes them. */
#define sys_call(...) SYS_CALL_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

static inline int sys_open(const char *path, int flags, int mode)
{
	return (int)sys_call(SYS_openat, AT_FDCWD, path, flags, mode);
}
static inline int sys_close(int fd)
{
	return (int)sys_call(SYS_close, fd);
}
static inline ssize_t sys_read(int fd, void *buf, size_t n)
{
	return (ssize_t)sys_call(SYS_read, fd, buf, n);
}
static inline ssize_t sys_write(int fd, const void *buf, size_t n)
{
	return (ssize_t)sys_call(SYS_write, fd, buf, n);
}
static inline ssize_t sys_pread(int fd, void *buf, size_t n, off_t off)
{
	return (ssize_t)sys_call(SYS_pread64, fd, buf, n, off);
}
static inline ssize_t sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return (ssize_t)sys_call(SYS_pwrite64, fd, buf, n, off);
}
static inline ssize_t sys_readlink(const char *path, char *buf, size_t n)
{
	return (ssize_t)sys_call(SYS_readlinkat, AT_FDCWD, path, buf, n);
}
static inline int sys_fstat(int fd, struct stat *st)
{
	return (int)sys_call(SYS_fstat, fd, st);
}
static inline int sys_fstatfs(int fd, struct statfs *st)
{
	return (int)sys_call(SYS_fstatfs, fd, st);
}
static inline int sys_ftruncate(int fd, off_t len)
{
	return (int)sys_call(SYS_ftruncate, fd, len);
}
static inline int sys_mkdir(const char *path, int mode)
{
	return (int)sys_call(SYS_mkdirat, AT_FDCWD, path, mode);
}
static inline int sys_unlink(const char *path)
{
	return (int)sys_call(SYS_unlinkat, AT_FDCWD, path, 0);
}
static inline void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)sys_call(SYS_mmap, addr, len, prot, flags, fd, off);
}
static inline int sys_madvise(void *addr, size_t len, int advice)
{
	return (int)sys_call(SYS_madvise, addr, len, advice);
}
static inline int sys_munmap(void *addr, size_t len)
{
	return (int)sys_call(SYS_munmap, addr, len);
}
static inline pid_t sys_getpid(void)
{
	return (pid_t)sys_call(SYS_getpid);
}
static inline pid_t sys_getppid(void)
{
	return (pid_t)sys_call(SYS_getppid);
}

#endif
