/* Example third-party channel plugin: counts eventfd reads and writes (load with IPCPROF_PLUGINS). */
/*
 * Copy this file to write a plugin of your own. It is built as its own shared object and talks
 * to ipcprof only through <ipcprof/plugin.h>. An eventfd is an anonymous inode that every eventfd
 * shares, so the plugin pairs ends by the kernel's eventfd-id from /proc/self/fdinfo instead.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcprof/plugin.h"

/* The eventfd-id of fd, or 0 when the kernel does not say. Raw syscalls: no wrapper runs. */
static unsigned long eventfd_id(int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int f = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	long n = syscall(SYS_read, f, buf, sizeof(buf) - 1);
	syscall(SYS_close, f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strstr(buf, "eventfd-id:");
	return p ? strtoul(p + 11, NULL, 10) : 0;
}

static int eventfd_claim(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	if ((info->st.st_mode & S_IFMT) != 0 || strcmp(info->link, "anon_inode:[eventfd]") != 0)
		return 0;
	ch->kind = IPCPROF_KIND_PLUGIN;
	ch->flags = IPCPROF_CH_LOCAL;
	ch->dev = info->st.st_dev;
	ch->ino = eventfd_id(info->fd);
	if (!ch->ino)
		ch->ino = info->st.st_ino;
	snprintf(ch->name, sizeof(ch->name), "eventfd:%llu", (unsigned long long)ch->ino);
	return 1;
}

static const struct ipcprof_plugin eventfd_plugin = {
    .version = IPCPROF_PLUGIN_VERSION,
    .name = "eventfd",
    .claim = eventfd_claim,
};

__attribute__((visibility("default"))) const struct ipcprof_plugin *ipcprof_plugin_entry(void)
{
	return &eventfd_plugin;
}
