/* The channel plugin interface: how a kind of IPC channel is recognised and counted. */
#ifndef IPCPROF_PLUGIN_H
#define IPCPROF_PLUGIN_H

/*
 * Every kind of channel the preload counts (pipes, unix sockets, TCP/UDP, shared memory) is a
 * plugin behind this interface; the built-in ones live in preload/channel_*.c. A third-party
 * plugin is a shared object named in IPCPROF_PLUGINS=a.so:b.so that exports
 *
 *     const struct ipcprof_plugin *ipcprof_plugin_entry(void);
 *
 * Third-party plugins are asked before the built-in ones. preload/plugin_eventfd.c is a small
 * complete example, built as a separate .so, to copy from.
 *
 * The core does the counting common to every channel (calls, bytes, time, sizes, timeline,
 * fingerprints, stacks). A plugin only says which fds are its own and how to pair their ends:
 *
 * - claim() runs once per fd, on the fd's first counted call after it was created, inherited,
 *   received with SCM_RIGHTS or dup'd. It is never on the hot path. It may make system calls;
 *   calls it makes through libc are not counted (the core holds its re-entry guard).
 * - account() and after_fork() run on the hot path or in a fork child: they must be
 *   async-signal-safe, and must neither allocate nor take locks.
 *
 * Return values follow one rule: 0 or a positive value on success, a negative errno on failure.
 * A plugin that fails is reported once on stderr and the fd is left uncounted; the profiled
 * program's call goes through unchanged.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "record.h"

#define IPCPROF_PLUGIN_VERSION 1

/* What the core already knows of an fd when it asks plugins to claim it. */
struct ipcprof_fd_info {
	int fd;
	int sock_domain; /* SO_DOMAIN, or -1 when the fd is not a socket */
	int sock_type;   /* SO_TYPE, or -1 */
	/* For an end of a socketpair() made in this process or an ancestor: the other end's inode,
	 * known without asking the kernel; 0 otherwise. */
	uint32_t peer_hint;
	struct stat st; /* fstat() of the fd */
	const char
	    *link; /* readlink of /proc/self/fd/<fd> for anonymous inodes ("anon_inode:[eventfd]"),
			     memfds and tmpfs files; "" otherwise */
	/* Set when the fd is claimed inside the AF_UNIX connect() or accept() that made it. */
	int made_by;      /* IPCPROF_MADE_CONNECT, IPCPROF_MADE_ACCEPT, or 0 */
	int listen_fd;    /* accept: the listening socket */
	uint64_t made_ns; /* connect: just before the call; accept: just after it */
};

enum { IPCPROF_MADE_CONNECT = 1, IPCPROF_MADE_ACCEPT = 2 };

/* Which call is being counted. */
enum ipcprof_op {
	IPCPROF_OP_READ = 1,
	IPCPROF_OP_WRITE,
	IPCPROF_OP_READV,
	IPCPROF_OP_WRITEV,
	IPCPROF_OP_PREAD,
	IPCPROF_OP_PWRITE,
	IPCPROF_OP_SEND,
	IPCPROF_OP_RECV,
	IPCPROF_OP_SENDTO,
	IPCPROF_OP_RECVFROM,
	IPCPROF_OP_SENDMSG,
	IPCPROF_OP_RECVMSG,
	IPCPROF_OP_SENDMMSG,
	IPCPROF_OP_RECVMMSG,
	IPCPROF_OP_SPLICE,
	IPCPROF_OP_VMSPLICE,
	IPCPROF_OP_TEE,
	IPCPROF_OP_SENDFILE,
};

/* One counted call, as account() sees it after the call returned. */
struct ipcprof_call {
	int fd;
	int op;  /* enum ipcprof_op */
	int dir; /* enum ipcprof_dir */
	int err; /* errno when ret < 0, else 0 */
	long ret;
	const struct sockaddr
	    *addr; /* destination (sendto/sendmsg) or source (recvfrom), or NULL */
	socklen_t addrlen;
	uint64_t start_ns;
	uint64_t end_ns;
};

struct ipcprof_plugin {
	uint32_t version; /* IPCPROF_PLUGIN_VERSION: the core refuses a plugin of another version */
	uint32_t reserved;
	const char *name; /* at most 15 characters; stored in ipcprof_channel.plugin */

	/*
	 * Is fd an endpoint this plugin counts? If so, fill ch->kind (IPCPROF_KIND_PLUGIN for a
	 * kind the record does not name), ch->flags and what pairs the ends across processes
	 * (dev/ino, peer_ino, addresses and ports, name) and return 1. Return 0 when the fd is
	 * not this plugin's, a negative errno when it cannot tell.
	 */
	int (*claim)(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch);

	/*
	 * Optional. Is this MAP_SHARED mapping of fd shared memory this plugin knows (POSIX shm,
	 * memfd, ...)? If so fill m->kind, m->name, m->dev/ino and return 1; else 0.
	 */
	int (*claim_mapping)(const struct ipcprof_fd_info *info, struct ipcprof_mapping *m);

	/* Optional. After each counted call on a channel this plugin claimed. */
	int (*account)(struct ipcprof_channel *ch, const struct ipcprof_call *call);

	/*
	 * Optional. fd, on a channel this plugin claimed, is about to be closed: the last moment
	 * to ask the kernel about it (e.g. a peer that was not yet known at claim time).
	 */
	int (*closing)(struct ipcprof_channel *ch, int fd);

	/* Optional. In the child of a fork, before the child's code runs again. */
	int (*after_fork)(void);

	/* Optional. Once at the end of the process image (exit, _exit, exec). */
	int (*finish)(struct ipcprof_record *rec);
};

/* The symbol a plugin shared object exports. */
const struct ipcprof_plugin *ipcprof_plugin_entry(void);
typedef const struct ipcprof_plugin *(*ipcprof_plugin_entry_fn)(void);
#define IPCPROF_PLUGIN_ENTRY "ipcprof_plugin_entry"

#endif
