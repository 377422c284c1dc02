/* Debug files kept decompressed in ipcprof's cache, one per build id, for the symbolizer. */
#if IPCPROF_HAVE_LIBDW
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <sys/stat.h>

#include "cache_dir.h"
#include "debug_cache.h"

/* What makes a section compressed: the ELF flag, or the older GNU .zdebug name. */
static bool compressed(const char *name, const GElf_Shdr *sh)
{
	return (sh->sh_flags & SHF_COMPRESSED) || (name && !strncmp(name, ".zdebug", 7));
}

/* Whether elf has a compressed section, or (bad) something libelf cannot read. */
static bool any_compressed(Elf *elf, bool *bad)
{
	size_t shstrndx;
	*bad = elf_getshdrstrndx(elf, &shstrndx) != 0;
	for (Elf_Scn *scn = NULL; !*bad && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh)) {
			*bad = true;
			break;
		}
		if (compressed(elf_strptr(elf, shstrndx, sh.sh_name), &sh))
			return true;
	}
	return false;
}

/* Whether fd (at path) is a copy this cache made for the build id: a regular file of ours that
 * only we can write, an ELF file of that build id whose sections all lie inside it (a cut-short
 * copy fails), none compressed. */
static bool copy_usable(int fd, const unsigned char *id, int idlen)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022))
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return false;
	bool ok = false, bad = false;
	GElf_Ehdr eh;
	const void *bits = NULL;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize > (uint64_t)st.st_size ||
	    dwelf_elf_gnu_build_id(elf, &bits) != idlen || memcmp(bits, id, (size_t)idlen))
		goto out;
	if (any_compressed(elf, &bad) || bad)
		goto out;
	ok = true;
	for (Elf_Scn *scn = NULL; ok && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		ok = gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_NOBITS ||
						sh.sh_offset + sh.sh_size <= (uint64_t)st.st_size);
	}
out:
	elf_end(elf);
	return ok;
}

static int copy_file(int from, int to)
{
	char buf[1 << 16];
	off_t at = 0;
	for (;;) {
		ssize_t n = pread(from, buf, sizeof(buf), at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(to, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			w += k;
		}
		at += n;
	}
}

/* Writes the copy of the debug file src at path: a temporary file in dir, its compressed
 * sections inflated in place by libelf, renamed to path once whole. 0 when made. */
static int make_copy(int src, const char *dir, const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s/.debug-XXXXXX", dir) >= (int)sizeof(tmp))
		return -1;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = -1;
	Elf *elf = NULL;
	size_t shstrndx;
	if (copy_file(src, fd) != 0 || !(elf = elf_begin(fd, ELF_C_RDWR, NULL)) ||
	    elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0)
		goto out;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			goto out;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!compressed(name, &sh))
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) ? elf_compress(scn, 0, 0) < 0
						   : elf_compress_gnu(scn, 0, 0) < 0)
			goto out;
	}
	off_t size = elf_update(elf, ELF_C_WRITE);
	if (size < 0 || ftruncate(fd, size) != 0)
		goto out;
	rc = 0;
out:
	if (elf)
		elf_end(elf);
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int ipcprof_debug_cache_find(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int idlen = dwfl_module_build_id(mod, &id, &vaddr);
	char dir[PATH_MAX], path[PATH_MAX + 128];
	int n = 0;
	if (idlen <= 0 || idlen > 64 || ipcprof_cache_dir(dir, sizeof(dir), NULL, 0) != 0)
		goto standard;
	n = snprintf(path, sizeof(path), "%s/debug-", dir);
	for (int i = 0; i < idlen && n < (int)sizeof(path) - 16; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", id[i]);
	snprintf(path + n, sizeof(path) - (size_t)n, ".debug");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && copy_usable(fd, id, idlen))
		goto cached;
	if (fd >= 0)
		close(fd);
	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					  debuglink_crc, debuginfo_file_name);
	if (fd < 0)
		return fd;
	/* The file found, unless it has something to inflate and the copy can be made. */
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	bool bad = true, worth = elf && any_compressed(elf, &bad) && !bad;
	if (elf)
		elf_end(elf);
	if (!worth || make_copy(fd, dir, path) != 0)
		return fd;
	int copy = open(path, O_RDONLY | O_CLOEXEC);
	if (copy < 0)
		return fd;
	close(fd);
	free(*debuginfo_file_name);
	fd = copy;
cached:;
	char *name = strdup(path);
	if (!name) {
		close(fd);
		goto standard;
	}
	*debuginfo_file_name = name;
	return fd;
standard:
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}
#endif
