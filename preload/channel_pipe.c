/* Channel plugin for pipes and FIFOs: both ends share one inode, which pairs them across processes. */
#include <string.h>
#include <sys/stat.h>

#include "preload.h"

static int pipe_claim(const struct ipcprof_fd_info *info, struct ipcprof_channel *ch)
{
	if (!S_ISFIFO(info->st.st_mode))
		return 0;
	ch->dev = info->st.st_dev;
	ch->ino = info->st.st_ino;
	ch->flags = IPCPROF_CH_LOCAL;
	const char *l = info->link; /* "pipe:[": compared inline, no page of strncmp in a child */
	if (l[0] == 'p' && l[1] == 'i' && l[2] == 'p' && l[3] == 'e' && l[4] == ':' &&
	    l[5] == '[') {
		ch->kind = IPCPROF_KIND_PIPE;
	} else {
		ch->kind = IPCPROF_KIND_FIFO;
		ipcprof_strlcpy(ch->name, info->link, sizeof(ch->name));
	}
	return 1;
}

const struct ipcprof_plugin ipcprof_channel_pipe = {
    .version = IPCPROF_PLUGIN_VERSION,
    .name = "pipe",
    .claim = pipe_claim,
};
