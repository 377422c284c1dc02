/* Unit tests of the preload's channel plugins, fd classification inputs, env merging and record completion. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "preload.h"
#include "record_end.h"
#include "sys.h"

/* The plugins report through this; here a failure to warn is what a test would see. */
void ipcprof_warn_once(unsigned key, const char *fmt, ...)
{
	(void)key;
	(void)fmt;
}

static int claim_fd(const struct ipcprof_plugin *p, int fd, struct ipcprof_channel *ch)
{
	struct ipcprof_fd_info info;
	char link[IPCPROF_PATH_BYTES];
	assert_int_equal(ipcprof_fd_info_fill(fd, &info, link, sizeof(link)), 0);
	memset(ch, 0, sizeof(*ch));
	return p->claim(&info, ch);
}

static uint64_t ino_of(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void test_hist_bucket(void **state)
{
	(void)state;
	assert_int_equal(ipcprof_hist_bucket(0), 0);
	assert_int_equal(ipcprof_hist_bucket(1), 1);
	assert_int_equal(ipcprof_hist_bucket(2), 2);
	assert_int_equal(ipcprof_hist_bucket(3), 2);
	assert_int_equal(ipcprof_hist_bucket(4), 3);
	assert_int_equal(ipcprof_hist_bucket(65535), 16);
	assert_int_equal(ipcprof_hist_bucket(65536), 17);
	assert_int_equal(ipcprof_hist_bucket(UINT64_MAX), IPCPROF_HIST_BUCKETS - 1);
}

static void test_pipe_both_ends_pair(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct ipcprof_channel a, b;
	assert_int_equal(claim_fd(&ipcprof_channel_pipe, p[0], &a), 1);
	assert_int_equal(claim_fd(&ipcprof_channel_pipe, p[1], &b), 1);
	assert_int_equal(a.kind, IPCPROF_KIND_PIPE);
	assert_int_equal(b.kind, IPCPROF_KIND_PIPE);
	assert_true(a.ino == b.ino && a.dev == b.dev);
	assert_int_equal(a.flags & IPCPROF_CH_LOCAL, IPCPROF_CH_LOCAL);
	/* Not a socket: the unix and inet plugins must leave it alone. */
	assert_int_equal(claim_fd(&ipcprof_channel_unix, p[0], &a), 0);
	assert_int_equal(claim_fd(&ipcprof_channel_inet, p[0], &a), 0);
	close(p[0]);
	close(p[1]);
}

/* A named FIFO in a new temporary folder (dir, a template), opened read-write; path is its name. */
static int fifo_open(char *dir, char *path, size_t pathlen)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

static void test_fifo_named(void **state)
{
	(void)state;
	char dir[] = "/tmp/ipcprof-unit-XXXXXX", path[128];
	int fd = fifo_open(dir, path, sizeof(path));
	struct ipcprof_channel c;
	assert_int_equal(claim_fd(&ipcprof_channel_pipe, fd, &c), 1);
	assert_int_equal(c.kind, IPCPROF_KIND_FIFO);
	assert_string_equal(c.name, path);
	close(fd);
	unlink(path);
	rmdir(dir);
}

/* The link an fd's info carries is what /proc/self/fd says of it, for anonymous pipes (made up
 * from the inode) as for named FIFOs, before and after the pipes' device is known. */
static void test_fd_link_as_proc_says(void **state)
{
	(void)state;
	char dir[] = "/tmp/ipcprof-unit-XXXXXX", path[128];
	int fifo = fifo_open(dir, path, sizeof(path));
	int p[2], q[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	int fds[] = {fifo, p[0], p[1], q[1], fifo};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		char proc[64], want[IPCPROF_PATH_BYTES], link[IPCPROF_PATH_BYTES];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fds[i]);
		ssize_t n = readlink(proc, want, sizeof(want) - 1);
		assert_true(n > 0);
		want[n] = 0;
		struct ipcprof_fd_info info;
		assert_int_equal(ipcprof_fd_info_fill(fds[i], &info, link, sizeof(link)), 0);
		assert_string_equal(info.link, want);
	}
	close(p[0]), close(p[1]), close(q[0]), close(q[1]), close(fifo);
	unlink(path);
	rmdir(dir);
}

static void test_regular_file_not_ipc(void **state)
{
	(void)state;
	int fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	struct ipcprof_channel c;
	assert_int_equal(claim_fd(&ipcprof_channel_pipe, fd, &c), 0);
	assert_int_equal(claim_fd(&ipcprof_channel_unix, fd, &c), 0);
	assert_int_equal(claim_fd(&ipcprof_channel_inet, fd, &c), 0);
	assert_int_equal(claim_fd(&ipcprof_channel_shm, fd, &c), 0);
	close(fd);
}

static void check_socketpair(int type, uint32_t kind)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
	struct ipcprof_channel a, b;
	assert_int_equal(claim_fd(&ipcprof_channel_unix, sv[0], &a), 1);
	assert_int_equal(claim_fd(&ipcprof_channel_unix, sv[1], &b), 1);
	assert_int_equal(a.kind, kind);
	assert_int_equal(a.ino, ino_of(sv[0]));
	assert_int_equal(a.peer_ino, ino_of(sv[1]));
	assert_int_equal(b.peer_ino, ino_of(sv[0]));
	assert_int_equal(a.family, AF_UNIX);
	assert_string_equal(a.name, "");
	if (type != SOCK_DGRAM) /* an unnamed dgram pair has no peer name to ask for */
		assert_int_equal(a.flags & IPCPROF_CH_SOCKETPAIR, IPCPROF_CH_SOCKETPAIR);
	close(sv[0]);
	close(sv[1]);
}

/* A socketpair made here is paired from what the wrapper saw, without asking the kernel. */
static void test_socketpair_hint(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ipcprof_socketpair_made(sv);
	struct ipcprof_fd_info info;
	char link[IPCPROF_PATH_BYTES];
	assert_int_equal(ipcprof_fd_info_fill(sv[0], &info, link, sizeof(link)), 0);
	assert_int_equal(info.peer_hint, (uint32_t)ino_of(sv[1]));
	struct ipcprof_channel c;
	assert_int_equal(claim_fd(&ipcprof_channel_unix, sv[1], &c), 1);
	assert_int_equal(c.peer_ino, ino_of(sv[0]));
	/* The number reused for another socket: the stale hint is not believed. */
	close(sv[1]);
	int other[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, other), 0);
	int moved = dup2(other[0], sv[1]);
	assert_int_equal(moved, sv[1]);
	assert_int_equal(ipcprof_fd_info_fill(sv[1], &info, link, sizeof(link)), 0);
	assert_int_equal(info.peer_hint, 0);
	close(sv[0]);
	close(sv[1]);
	close(other[0]);
	close(other[1]);
}

static void test_unix_socketpairs(void **state)
{
	(void)state;
	check_socketpair(SOCK_STREAM, IPCPROF_KIND_UNIX_STREAM);
	check_socketpair(SOCK_DGRAM, IPCPROF_KIND_UNIX_DGRAM);
	check_socketpair(SOCK_SEQPACKET, IPCPROF_KIND_UNIX_SEQPACKET);
}

static void test_unix_abstract_named(void **state)
{
	(void)state;
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64];
	snprintf(name, sizeof(name), "ipcprof-unit-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(listen(srv, 1), 0);
	int cli = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&sa, len), 0);
	int acc = accept(srv, NULL, NULL);
	assert_true(acc >= 0);
	struct ipcprof_channel c, s;
	assert_int_equal(claim_fd(&ipcprof_channel_unix, cli, &c), 1);
	assert_int_equal(claim_fd(&ipcprof_channel_unix, acc, &s), 1);
	char want[80];
	snprintf(want, sizeof(want), "@%s", name);
	assert_string_equal(c.name, want); /* the client is unnamed: it carries its peer's name */
	assert_string_equal(s.name, want);
	assert_int_equal(c.flags & IPCPROF_CH_ABSTRACT, IPCPROF_CH_ABSTRACT);
	assert_int_equal(c.flags & IPCPROF_CH_SOCKETPAIR, 0);
	assert_int_equal(c.peer_ino, ino_of(acc));
	assert_int_equal(s.peer_ino, ino_of(cli));
	close(acc);
	close(cli);
	close(srv);
}

static int claim_made(int fd, int made_by, int listen_fd, struct ipcprof_channel *ch)
{
	struct ipcprof_fd_info info;
	char link[IPCPROF_PATH_BYTES];
	assert_int_equal(ipcprof_fd_info_fill(fd, &info, link, sizeof(link)), 0);
	info.made_by = made_by;
	info.listen_fd = listen_fd;
	info.made_ns = 12345;
	memset(ch, 0, sizeof(*ch));
	return ipcprof_channel_unix.claim(&info, ch);
}

/* A client that connects and exits before the accept: the kernel names no peer to the server's
 * end, which still knows who connected to which listener. */
static void test_unix_closed_before_accept(void **state)
{
	(void)state;
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "ipcprof-unit-early-%d", (int)getpid());
	socklen_t len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(listen(srv, 2), 0);
	struct ipcprof_channel c, s;
	int cli = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(claim_made(cli, IPCPROF_MADE_CONNECT, -1, &c), 1);
	assert_int_equal(c.flags & (IPCPROF_CH_CONNECTED | IPCPROF_CH_ACCEPTED),
			 IPCPROF_CH_CONNECTED);
	assert_int_equal(c.conn_pid, getpid());
	assert_int_equal(c.listen_pid, getpid());
	assert_int_equal(c.conn_ns, 12345);
	assert_int_equal(c.peer_ino, 0); /* not asked: the server's end has no inode yet */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(connect(fd, (struct sockaddr *)&sa, len) == 0 && write(fd, "x", 1) == 1 ? 0
											      : 1);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	close(cli);
	close(accept(srv, NULL, NULL));
	int acc = accept(srv, NULL, NULL);
	assert_true(acc >= 0);
	assert_int_equal(claim_made(acc, IPCPROF_MADE_ACCEPT, srv, &s), 1);
	assert_int_equal(s.flags & (IPCPROF_CH_CONNECTED | IPCPROF_CH_ACCEPTED),
			 IPCPROF_CH_ACCEPTED);
	assert_int_equal(s.conn_pid, child);
	assert_int_equal(s.listen_pid, getpid());
	assert_int_equal(s.peer_ino, 0); /* the kernel's view: the client is gone */
	assert_string_equal(s.name, c.name);
	close(acc);
	close(srv);
}

static void test_tcp_loopback_is_local(void **state)
{
	(void)state;
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t l = sizeof(sa);
	assert_int_equal(getsockname(srv, (struct sockaddr *)&sa, &l), 0);
	assert_int_equal(listen(srv, 1), 0);
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int acc = accept(srv, NULL, NULL);
	struct ipcprof_channel c, s;
	assert_int_equal(claim_fd(&ipcprof_channel_inet, cli, &c), 1);
	assert_int_equal(claim_fd(&ipcprof_channel_inet, acc, &s), 1);
	assert_int_equal(c.kind, IPCPROF_KIND_TCP);
	assert_int_equal(c.flags & (IPCPROF_CH_LOCAL | IPCPROF_CH_NETWORK), IPCPROF_CH_LOCAL);
	assert_int_equal(c.peer_port, ntohs(sa.sin_port));
	assert_int_equal(s.local_port, ntohs(sa.sin_port));
	assert_int_equal(s.peer_port, c.local_port);
	assert_memory_equal(c.peer_addr, s.local_addr, 16);
	assert_int_equal(c.peer_addr[15], 1); /* 127.0.0.1, IPv4-mapped */
	assert_int_equal(c.peer_addr[10], 0xff);
	close(acc);
	close(cli);
	close(srv);
}

static void test_udp_learns_peer_from_sendto(void **state)
{
	(void)state;
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct ipcprof_channel c;
	assert_int_equal(claim_fd(&ipcprof_channel_inet, u, &c), 1);
	assert_int_equal(c.kind, IPCPROF_KIND_UDP);
	assert_int_equal(c.peer_port, 0);
	assert_int_equal(c.flags & (IPCPROF_CH_LOCAL | IPCPROF_CH_NETWORK), 0);
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000001)};
	struct ipcprof_call call = {.fd = u,
				    .op = IPCPROF_OP_SENDTO,
				    .dir = IPCPROF_DIR_OUT,
				    .ret = 5,
				    .addr = (struct sockaddr *)&to,
				    .addrlen = sizeof(to)};
	assert_int_equal(ipcprof_channel_inet.account(&c, &call), 0);
	assert_int_equal(c.peer_port, 9);
	assert_int_equal(c.flags & IPCPROF_CH_LOCAL, IPCPROF_CH_LOCAL);
	/* A later address does not move it: the first peer names the channel. */
	to.sin_port = htons(10);
	to.sin_addr.s_addr = htonl(0x08080808);
	assert_int_equal(ipcprof_channel_inet.account(&c, &call), 0);
	assert_int_equal(c.peer_port, 9);
	close(u);
}

static void test_shm_objects(void **state)
{
	(void)state;
	ipcprof_shm_devs_init();
	char name[64];
	snprintf(name, sizeof(name), "/ipcprof-unit-%d", (int)getpid());
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	struct ipcprof_fd_info info;
	char link[IPCPROF_PATH_BYTES];
	assert_int_equal(ipcprof_fd_info_fill(fd, &info, link, sizeof(link)), 0);
	struct ipcprof_mapping m = {0};
	assert_int_equal(ipcprof_channel_shm.claim_mapping(&info, &m), 1);
	assert_int_equal(m.kind, IPCPROF_MAP_POSIX_SHM);
	assert_string_equal(m.name, name);
	struct ipcprof_channel c;
	assert_int_equal(claim_fd(&ipcprof_channel_shm, fd, &c), 1);
	assert_int_equal(c.kind, IPCPROF_KIND_SHM);
	close(fd);
	shm_unlink(name);

	fd = memfd_create("ipcprof-unit", 0);
	assert_true(fd >= 0);
	assert_int_equal(ipcprof_fd_info_fill(fd, &info, link, sizeof(link)), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(ipcprof_channel_shm.claim_mapping(&info, &m), 1);
	assert_int_equal(m.kind, IPCPROF_MAP_MEMFD);
	assert_string_equal(m.name, "memfd:ipcprof-unit");
	close(fd);
}

static void test_env_merge(void **state)
{
	(void)state;
	char *saved[] = {"LD_PRELOAD=/x/libipcprof.so", "IPCPROF_DIR=/tmp/s"};
	char *env[] = {"PATH=/bin", "IPCPROF_DIR=/other", NULL};
	char *out[8];
	char *const *r = ipcprof_env_merge(env, saved, 2, out, 8);
	assert_ptr_equal(r, out);
	assert_string_equal(r[0], "PATH=/bin");
	assert_string_equal(r[1], "IPCPROF_DIR=/other"); /* the program's own value wins */
	assert_string_equal(r[2], "LD_PRELOAD=/x/libipcprof.so");
	assert_null(r[3]);
	/* Nothing missing: the program's own array goes through untouched. */
	char *full[] = {"IPCPROF_DIR=/a", "LD_PRELOAD=/b", NULL};
	assert_ptr_equal(ipcprof_env_merge(full, saved, 2, out, 8), full);
	/* No room: unchanged rather than truncated. */
	assert_ptr_equal(ipcprof_env_merge(env, saved, 2, out, 3), env);
	/* A prefix is not a name: IPCPROF_DIRX= does not count as IPCPROF_DIR=. */
	char *near[] = {"IPCPROF_DIRX=1", "LD_PRELOAD=/b", NULL};
	r = ipcprof_env_merge(near, saved, 2, out, 8);
	assert_string_equal(r[2], "IPCPROF_DIR=/tmp/s");
	/* No environment at all (execve with NULL, a cleared environ): the saved ones alone. */
	r = ipcprof_env_merge(NULL, saved, 2, out, 8);
	assert_ptr_equal(r, out);
	assert_string_equal(r[0], "LD_PRELOAD=/x/libipcprof.so");
	assert_string_equal(r[1], "IPCPROF_DIR=/tmp/s");
	assert_null(r[2]);
}

static void test_strlcpy(void **state)
{
	(void)state;
	char b[4];
	assert_int_equal(ipcprof_strlcpy(b, "abcdef", sizeof(b)), 6);
	assert_string_equal(b, "abc");
	assert_int_equal(ipcprof_strlcpy(b, "ab", sizeof(b)), 2);
	assert_string_equal(b, "ab");
	assert_int_equal(ipcprof_strlcpy(b, "abc", sizeof(b)), 3);
	assert_string_equal(b, "abc");
	assert_int_equal(ipcprof_strlcpy(b, "", sizeof(b)), 0);
	assert_string_equal(b, "");
	/* Room for the terminator alone, then none: nothing else written. */
	b[1] = 'x';
	assert_int_equal(ipcprof_strlcpy(b, "abcdef", 1), 6);
	assert_true(b[0] == 0 && b[1] == 'x');
	b[0] = 'y';
	assert_int_equal(ipcprof_strlcpy(b, "abcdef", 0), 6);
	assert_true(b[0] == 'y');
}

static void test_put_uint(void **state)
{
	(void)state;
	char b[32];
	*ipcprof_put_uint(b, 0, 10) = 0;
	assert_string_equal(b, "0");
	*ipcprof_put_uint(b, 1234567890, 10) = 0;
	assert_string_equal(b, "1234567890");
	*ipcprof_put_uint(b, UINT64_MAX, 10) = 0;
	assert_string_equal(b, "18446744073709551615");
	*ipcprof_put_uint(b, 0xdeadbeef0123ull, 16) = 0;
	assert_string_equal(b, "deadbeef0123");
}

/* The raw system calls: the kernel's results, errno set on failure as syscall() sets it, and left
 * alone on success. */
static void test_sys_calls(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(sys_close(-1), -1);
	assert_int_equal(errno, EBADF);
	errno = 1234;
	assert_int_equal(sys_getpid(), getpid());
	assert_int_equal(sys_getppid(), getppid());
	assert_int_equal(errno, 1234);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sys_write(p[1], "abc", 3), 3);
	char b[8];
	assert_int_equal(sys_read(p[0], b, sizeof(b)), 3);
	assert_memory_equal(b, "abc", 3);
	assert_int_equal(sys_pread(p[0], b, 1, 0), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(sys_close(p[0]), 0);
	assert_int_equal(sys_close(p[1]), 0);
	/* Six arguments: an anonymous mapping, then one the kernel refuses. */
	char *m = sys_mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	m[0] = m[8191] = 7;
	assert_int_equal(sys_madvise(m, 8192, MADV_DONTNEED), 0);
	assert_int_equal(m[0] + m[8191], 0);
	assert_int_equal(sys_munmap(m, 8192), 0);
	errno = 0;
	assert_true(sys_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sys_call(SYS_getpid), getpid());
}

/* Record seq of pid, in pid namespace ns, with the given end, as a process would have left it. */
static void write_record_ns(const char *dir, int pid, int seq, uint64_t ns, uint32_t end_how,
			    int status)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%d.%d%s", dir, pid, seq, IPCPROF_RECORD_SUFFIX);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	struct ipcprof_process p = {
	    .pid = pid, .end_how = end_how, .exit_status = status, .pidns = ns};
	assert_int_equal(ftruncate(fd, sizeof(struct ipcprof_record)), 0);
	assert_int_equal(pwrite(fd, &p, sizeof(p), offsetof(struct ipcprof_record, proc)),
			 (ssize_t)sizeof(p));
	close(fd);
}

static void write_record(const char *dir, int pid, uint32_t end_how, int status)
{
	write_record_ns(dir, pid, 0, 0, end_how, status);
}

static struct ipcprof_process read_proc_seq(const char *dir, int pid, int seq)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%d.%d%s", dir, pid, seq, IPCPROF_RECORD_SUFFIX);
	int fd = open(path, O_RDONLY);
	struct ipcprof_process p;
	assert_int_equal(pread(fd, &p, sizeof(p), offsetof(struct ipcprof_record, proc)),
			 (ssize_t)sizeof(p));
	close(fd);
	return p;
}

static struct ipcprof_process read_proc(const char *dir, int pid)
{
	return read_proc_seq(dir, pid, 0);
}

static void test_record_end(void **state)
{
	(void)state;
	char dir[] = "/tmp/ipcprof-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct rusage ru = {.ru_utime = {1, 500000}, .ru_minflt = 7};

	write_record(dir, 4242, IPCPROF_END_RUNNING, 0);
	assert_int_equal(ipcprof_record_end(dir, 4242, 0, SIGKILL, &ru, 99), 1);
	struct ipcprof_process p = read_proc(dir, 4242);
	assert_int_equal(p.end_how, IPCPROF_END_SIGNAL);
	assert_int_equal(p.term_signal, SIGKILL);
	assert_int_equal(p.end_ns, 99);
	assert_int_equal(p.user_ns, 1500000000ull);
	assert_int_equal(p.minflt, 7);
	/* Said once: the same news again changes nothing. */
	assert_int_equal(ipcprof_record_end(dir, 4242, 0, SIGKILL, &ru, 100), 0);

	/* A process that said its own status keeps it when the parent agrees. */
	write_record(dir, 4243, IPCPROF_END_EXIT, 3);
	assert_int_equal(ipcprof_record_end(dir, 4243, 0, 3 << 8, NULL, 5), 0);
	/* main returned without exit() being seen: the parent's figure is the truth. */
	write_record(dir, 4244, IPCPROF_END_EXIT, -1);
	assert_int_equal(ipcprof_record_end(dir, 4244, 0, 9 << 8, NULL, 5), 1);
	assert_int_equal(read_proc(dir, 4244).exit_status, 9);
	/* No record, or a record of another pid under that name: nothing written. */
	assert_int_equal(ipcprof_record_end(dir, 4245, 0, 0, NULL, 5), 0);
	/* Pid 4246 of two pid namespaces: the waiter's namespace says which record is its child's. */
	write_record_ns(dir, 4246, 0, 11, IPCPROF_END_RUNNING, 0);
	write_record_ns(dir, 4246, 1, 22, IPCPROF_END_RUNNING, 0);
	assert_int_equal(ipcprof_record_end(dir, 4246, 22, SIGKILL, NULL, 7), 1);
	assert_int_equal(read_proc_seq(dir, 4246, 0).end_how, IPCPROF_END_RUNNING);
	assert_int_equal(read_proc_seq(dir, 4246, 1).end_how, IPCPROF_END_SIGNAL);
	assert_int_equal(ipcprof_record_end(dir, 4246, 11, 3 << 8, NULL, 8), 1);
	assert_int_equal(read_proc_seq(dir, 4246, 0).exit_status, 3);
	assert_int_equal(read_proc_seq(dir, 4246, 1).term_signal, SIGKILL);
	assert_int_equal(ipcprof_record_end(dir, 4246, 33, SIGKILL, NULL, 9), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hist_bucket),
	    cmocka_unit_test(test_pipe_both_ends_pair),
	    cmocka_unit_test(test_fd_link_as_proc_says),
	    cmocka_unit_test(test_fifo_named),
	    cmocka_unit_test(test_regular_file_not_ipc),
	    cmocka_unit_test(test_unix_socketpairs),
	    cmocka_unit_test(test_socketpair_hint),
	    cmocka_unit_test(test_unix_abstract_named),
	    cmocka_unit_test(test_unix_closed_before_accept),
	    cmocka_unit_test(test_tcp_loopback_is_local),
	    cmocka_unit_test(test_udp_learns_peer_from_sendto),
	    cmocka_unit_test(test_shm_objects),
	    cmocka_unit_test(test_env_merge),
	    cmocka_unit_test(test_strlcpy),
	    cmocka_unit_test(test_put_uint),
	    cmocka_unit_test(test_sys_calls),
	    cmocka_unit_test(test_record_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
