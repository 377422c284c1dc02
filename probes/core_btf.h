/* The kernel's types cut down to those the probes' CO-RE relocations use, cached once per kernel. */
#ifndef IPCPROF_CORE_BTF_H
#define IPCPROF_CORE_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcprof_bpf.h"

/* The cache file for this kernel and this probes object (obj, len: its ELF bytes):
 * $XDG_CACHE_HOME/ipcprof, else /var/cache/ipcprof for root, else ~/.cache/ipcprof. 0, or a
 * negative errno with a reason in why. Creates the directory (0700) when absent; refuses one
 * that another user owns or that others can write. */
int ipcprof_core_btf_path(char *path, size_t len, const void *obj, size_t objlen, char *why,
			  size_t whylen);

/* Whether path holds a cut-down BTF that libbpf can relocate against (ours, regular, parses, has
 * types) with the kernel's ids of IPCPROF_CORE_TYPES, which it puts in ids; if not, why says so. */
bool ipcprof_core_btf_usable(const char *path, uint32_t ids[IPCPROF_CORE_NTYPES], char *why,
			     size_t whylen);

/* The kernel's ids of IPCPROF_CORE_TYPES from its whole BTF (tens of milliseconds). 0, or a
 * negative errno with a reason in why. */
int ipcprof_core_btf_kernel_ids(uint32_t ids[IPCPROF_CORE_NTYPES], char *why, size_t whylen);

/* Writes path atomically: `bpftool gen min_core_btf` of the running kernel's BTF and the probes
 * object, plus the kernel's ids of IPCPROF_CORE_TYPES. 0, or a negative errno with a reason in
 * why. */
int ipcprof_core_btf_make(const char *path, const void *obj, size_t objlen, char *why,
			  size_t whylen);

#endif
