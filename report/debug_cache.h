/* Debug files kept decompressed in ipcprof's cache, one per build id, for the symbolizer. */
#ifndef IPCPROF_DEBUG_CACHE_H
#define IPCPROF_DEBUG_CACHE_H

#include <elfutils/libdwfl.h>

/*
 * A libdwfl find_debuginfo callback: the module's debug file as libdwfl's standard search finds
 * it, but read from a copy with its compressed sections inflated, kept in ipcprof's cache
 * directory under the module's build id. libdw inflates every compressed debug section of a
 * file it opens, which is most of a report's time on a Python program; the copy costs that once
 * per build. A copy that is not a whole ELF file of that build id, not ours or still compressed
 * is ignored and made again; without a cache directory, the file found is used as it is.
 */
int ipcprof_debug_cache_find(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name);

#endif
