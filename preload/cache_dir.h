/* ipcprof's cache directory, which the probes' cut-down BTF and the reporter's debug files share. */
#ifndef IPCPROF_CACHE_DIR_H
#define IPCPROF_CACHE_DIR_H

#include <stddef.h>

/* $XDG_CACHE_HOME/ipcprof, else /var/cache/ipcprof for root, else ~/.cache/ipcprof, into dir.
 * Creates it (0700) when absent; refuses one that another user owns or that others can write.
 * 0, or a negative errno with a one-line reason in why. */
int ipcprof_cache_dir(char *dir, size_t len, char *why, size_t whylen);

#endif
