/* Channel plugin for AF_UNIX sockets: the kernel's sock_diag tells each socket's peer inode. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "preload.h"
#include "sys.h"

/* The peer's inode of unix socket ino, or 0 when unconnected or sock_diag is missing. */
static uint64_t unix_peer_ino(uint64_t ino)
{
	int nl =
	    (int)sys_call(SYS_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return 0;
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.nh.nlmsg_len = sizeof(msg);
	msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = ~0u;
	msg.req.udiag_ino = (uint32_t)ino;
	msg.req.udiag_show = UDIAG_SHOW_PEER;
	msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;
	uint64_t peer = 0;
	union {
		char buf[1024];
		struct nlmsghdr align;
	} u;
	if (sys_call(SYS_sendto, nl, &msg, sizeof(msg), 0, NULL, 0) != (long)sizeof(msg))
		goto out;
	long n = sys_call(SYS_recvfrom, nl, u.buf, sizeof(u.buf), 0, NULL, NULL);
	if (n < (long)NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		goto out;
	struct nlmsghdr *h = &u.align;
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len > (unsigned long)n)
		goto out;
	struct unix_diag_msg *d = NLMSG_DATA(h);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*d)));
	for (struct rtattr *a = (struct rtattr *)(d + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			uint32_t p;
			memcpy(&p, RTA_DATA(a), sizeof(p));
			peer = p;
		}
	}
out:
	sys_close(nl);
	return peer;
}

/* "path", "@abstract", or "" for an unnamed socket. */
static void unix_name(const struct sockaddr_un *sa, socklen_t len, char *out, size_t size)
{
	out[0] = 0;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (len <= off || sa->sun_family != AF_UNIX)
		return;
	size_t n = len - off;
	if (sa->sun_path[0] == 0) {
		if (n < 2 || size < 2)
			return;
		out[0] = '@';
		size_t c = n - 1 < size - 2 ? n - 1 : size - 2;
		memcpy(out + 1, sa->sun_path + 1, c);
		out[c + 1] = 0;
		return;
	}
	size_t c = strnlen(sa->sun_path, n);
	if (c > size - 1)
		c = size - 1;
	memcpy(out, sa->sun_path, c);
	out[c] = 0;
}

/* The pid SO_PEERCRED gives for fd, or 0. */
static uint32_t peercred_pid(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0 || cr.pid <= 0)
		return 0;
	return (uint32_t)cr.pid;
}

/*
 * Who connected to which listener, and when: what pairs the ends of a connection whose client
 * closed before the server accepted it, when the kernel names no peer to either end (an embryo
 * has no inode yet, and an orphaned client none any more). A connected socket's SO_PEERCRED is
 * the listener's, taken at listen(); an accepted one's is the client's, taken at connect().
 */
static void unix_connection(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	ch->conn_ns = info->made_ns;
	if (info->made_by == IPCPROF_MADE_CONNECT) {
		ch->flags |= IPCPROF_CH_CONNECTED;
		ch->conn_pid = (uint32_t)sys_getpid();
		ch->listen_pid = peercred_pid(info->fd);
	} else {
		ch->flags |= IPCPROF_CH_ACCEPTED;
		ch->conn_pid = peercred_pid(info->fd);
		ch->listen_pid = peercred_pid(info->listen_fd);
	}
}

static int unix_claim(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	if (!S_ISSOCK(info->st.st_mode) || info->sock_domain != AF_UNIX)
		return 0;
	switch (info->sock_type) {
	case SOCK_STREAM:
		ch->kind = IPCPROF_KIND_UNIX_STREAM;
		break;
	case SOCK_DGRAM:
		ch->kind = IPCPROF_KIND_UNIX_DGRAM;
		break;
	case SOCK_SEQPACKET:
		ch->kind = IPCPROF_KIND_UNIX_SEQPACKET;
		break;
	default:
		return 0;
	}
	ch->family = AF_UNIX;
	ch->dev = info->st.st_dev;
	ch->ino = info->st.st_ino;
	ch->flags = IPCPROF_CH_LOCAL;
	/* Inside connect() the server has not accepted yet: its end has no inode to name. */
	if (info->peer_hint)
		ch->peer_ino = info->peer_hint;
	else if (info->made_by != IPCPROF_MADE_CONNECT)
		ch->peer_ino = unix_peer_ino(info->st.st_ino);
	if (info->made_by && ch->kind != IPCPROF_KIND_UNIX_DGRAM)
		unix_connection(info, ch);
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	if (sys_call(SYS_getsockname, info->fd, &sa, &len) == 0)
		unix_name(&sa, len, ch->name, sizeof(ch->name));
	if (!ch->name[0]) {
		len = sizeof(sa);
		if (sys_call(SYS_getpeername, info->fd, &sa, &len) == 0) {
			unix_name(&sa, len, ch->name, sizeof(ch->name));
			/* Connected with no name at either end: only socketpair() makes that. This
			 * also tells a process that received its end across exec. */
			if (!ch->name[0])
				ch->flags |= IPCPROF_CH_SOCKETPAIR;
		}
	}
	if (ch->name[0] == '@')
		ch->flags |= IPCPROF_CH_ABSTRACT;
	return 1;
}

/*
 * A client that writes at once after connect() asks before the server has accepted: the peer is
 * then still an embryo without an inode, and once the server has closed it is gone again. Ask
 * again after 1, 2, 4, 8... calls, and at close (a query walks every unix socket on the machine,
 * tens of microseconds, so not after every call). A client whose server accepted, answered and
 * closed between two of those keeps peer 0: the server's end, which saw the client's inode,
 * still pairs the two.
 */
static void unix_retry_peer(struct ipcprof_channel *ch)
{
	if (ch->peer_ino || ch->kind == IPCPROF_KIND_UNIX_DGRAM)
		return;
	ch->peer_ino = unix_peer_ino(ch->ino);
}

static int unix_account(struct ipcprof_channel *ch, const struct ipcprof_call *call)
{
	(void)call;
	if (ch->peer_ino)
		return 0;
	uint64_t n = ch->dir[IPCPROF_DIR_OUT].calls + ch->dir[IPCPROF_DIR_IN].calls;
	if ((n & (n - 1)) == 0)
		unix_retry_peer(ch);
	return 0;
}

static int unix_closing(struct ipcprof_channel *ch, int fd)
{
	(void)fd;
	unix_retry_peer(ch);
	return 0;
}

/* Sockets still open at the end are closed by the kernel after this: a last chance to ask. */
static int unix_finish(struct ipcprof_record *rec)
{
	struct ipcprof_channel *ch = ipcprof_record_channels(rec);
	uint32_t n = __atomic_load_n(&rec->channels_used, __ATOMIC_ACQUIRE);
	if (n > rec->channels_cap)
		n = rec->channels_cap;
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(ch[i].plugin, "unix"))
			unix_retry_peer(&ch[i]);
	return 0;
}

const struct ipcprof_plugin ipcprof_channel_unix = {
    .version = IPCPROF_PLUGIN_VERSION,
    .name = "unix",
    .claim = unix_claim,
    .account = unix_account,
    .closing = unix_closing,
    .finish = unix_finish,
};
