/* Channel plugin for TCP and UDP: loopback (or this host's own address) is IPC, the rest network. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "preload.h"
#include "sys.h"

/* Stores an AF_INET or AF_INET6 address as IPv6 (IPv4-mapped); false for other families. */
static bool inet_store(const struct sockaddr *sa, socklen_t len, uint8_t addr[16], uint16_t *port)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)sa;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(addr, &s->sin6_addr, 16);
		*port = ntohs(s->sin6_port);
		return true;
	}
	return false;
}

static bool is_zero(const uint8_t a[16])
{
	static const uint8_t z[16];
	static const uint8_t z4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
	return !memcmp(a, z, 16) || !memcmp(a, z4, 16);
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return !memcmp(a, v6, 16) || (!memcmp(a, v4, 12) && a[12] == 127);
}

static void inet_locality(struct ipcprof_channel *ch)
{
	if (is_zero(ch->peer_addr))
		return;
	ch->flags &= ~(IPCPROF_CH_LOCAL | IPCPROF_CH_NETWORK);
	if (is_loopback(ch->peer_addr) || !memcmp(ch->peer_addr, ch->local_addr, 16))
		ch->flags |= IPCPROF_CH_LOCAL;
	else
		ch->flags |= IPCPROF_CH_NETWORK;
}

static int inet_claim(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	if (!S_ISSOCK(info->st.st_mode) ||
	    (info->sock_domain != AF_INET && info->sock_domain != AF_INET6))
		return 0;
	if (info->sock_type == SOCK_STREAM)
		ch->kind = IPCPROF_KIND_TCP;
	else if (info->sock_type == SOCK_DGRAM)
		ch->kind = IPCPROF_KIND_UDP;
	else
		return 0;
	ch->family = (uint16_t)info->sock_domain;
	ch->dev = info->st.st_dev;
	ch->ino = info->st.st_ino;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (sys_call(SYS_getsockname, info->fd, &ss, &len) == 0)
		inet_store((struct sockaddr *)&ss, len, ch->local_addr, &ch->local_port);
	len = sizeof(ss);
	if (sys_call(SYS_getpeername, info->fd, &ss, &len) == 0)
		inet_store((struct sockaddr *)&ss, len, ch->peer_addr, &ch->peer_port);
	inet_locality(ch);
	return 1;
}

/* An unconnected UDP socket learns its peer from the first address it sends to or hears from. */
static int inet_account(struct ipcprof_channel *ch, const struct ipcprof_call *call)
{
	if (ch->peer_port || !call->addr || call->ret < 0)
		return 0;
	uint8_t a[16];
	uint16_t port = 0;
	if (!inet_store(call->addr, call->addrlen, a, &port))
		return 0;
	memcpy(ch->peer_addr, a, 16);
	ch->peer_port = port;
	inet_locality(ch);
	return 0;
}

const struct ipcprof_plugin ipcprof_channel_inet = {
    .version = IPCPROF_PLUGIN_VERSION,
    .name = "inet",
    .claim = inet_claim,
    .account = inet_account,
};
