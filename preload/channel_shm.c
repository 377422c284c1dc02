/* Channel plugin for shared memory: POSIX shm (/dev/shm) and memfd objects, read, written or mapped. */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "preload.h"
#include "sys.h"

uint64_t ipcprof_dev_shm, ipcprof_dev_memfd;

void ipcprof_shm_devs_init(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) == 0)
		ipcprof_dev_shm = st.st_dev;
	int fd = (int)sys_call(SYS_memfd_create, "ipcprof-probe", MFD_CLOEXEC);
	if (fd >= 0) {
		if (sys_fstat(fd, &st) == 0)
			ipcprof_dev_memfd = st.st_dev;
		sys_close(fd);
	}
}

enum { NOT_SHM, POSIX_SHM, MEMFD };

/* Which kind of shared-memory object an fd is, and its name: "/psm_x" or "memfd:x". */
static int shm_kind(const struct ipcprof_fd_info *info, char *name, size_t size)
{
	if (!S_ISREG(info->st.st_mode))
		return NOT_SHM;
	const char *l = info->link;
	if (ipcprof_dev_shm && info->st.st_dev == ipcprof_dev_shm) {
		ipcprof_strlcpy(name, !strncmp(l, "/dev/shm/", 9) ? l + 8 : l, size);
		return POSIX_SHM;
	}
	if (ipcprof_dev_memfd && info->st.st_dev == ipcprof_dev_memfd &&
	    !strncmp(l, "/memfd:", 7)) {
		ipcprof_strlcpy(name, l + 1, size);
		char *del = strstr(name, " (deleted)");
		if (del)
			*del = 0;
		return MEMFD;
	}
	return NOT_SHM;
}

static int shm_claim(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	if (shm_kind(info, ch->name, sizeof(ch->name)) == NOT_SHM)
		return 0;
	ch->kind = IPCPROF_KIND_SHM;
	ch->flags = IPCPROF_CH_LOCAL;
	ch->dev = info->st.st_dev;
	ch->ino = info->st.st_ino;
	return 1;
}

static int shm_claim_mapping(const struct ipcprof_fd_info *info, struct ipcprof_mapping *m)
{
	int k = shm_kind(info, m->name, sizeof(m->name));
	if (k == NOT_SHM)
		return 0;
	m->kind = k == POSIX_SHM ? IPCPROF_MAP_POSIX_SHM : IPCPROF_MAP_MEMFD;
	return 1;
}

const struct ipcprof_plugin ipcprof_channel_shm = {
    .version = IPCPROF_PLUGIN_VERSION,
    .name = "shm",
    .claim = shm_claim,
    .claim_mapping = shm_claim_mapping,
};
