/* The kernel's types cut down to those the probes' CO-RE relocations use, cached once per kernel.
 *
 * Relocating against the whole vmlinux BTF (over 100,000 types) costs libbpf a scan of every type
 * per struct the probes read; against a file of the few dozen types they use it costs nothing.
 * The file depends on the running kernel, so it is made at run time, once per kernel build. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cache_dir.h"
#include "core_btf.h"
#include "why.h"

extern char **environ;

#define VMLINUX_BTF        "/sys/kernel/btf/vmlinux"
/* A cut-down BTF is a few kilobytes; anything near this is not one. */
#define MAX_CORE_BTF_BYTES (1u << 20)

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* The kernel's GNU build id from /sys/kernel/notes, in hex; 0 when found. */
static int kernel_build_id(char *hex, size_t len)
{
	unsigned char buf[4096];
	size_t off = 0;
	ssize_t n;
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && off + 12 <= (size_t)n) {
		uint32_t namesz, descsz, type;
		size_t name_at = off + 12, desc_at, i;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		desc_at = name_at + ((namesz + 3u) & ~3u);
		if (desc_at + descsz > (size_t)n)
			break;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 &&
		    !memcmp(buf + name_at, "GNU", 4) && descsz > 0 && descsz * 2 < len) {
			for (i = 0; i < descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", buf[desc_at + i]);
			return 0;
		}
		off = desc_at + ((descsz + 3u) & ~3u);
	}
	return -1;
}

/* Without a build id: the release, the build's version string and the BTF's size and time. */
static void kernel_fallback_id(char *hex, size_t len)
{
	struct utsname u;
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ull;

	if (uname(&u) == 0) {
		h = fnv1a(h, u.release, strlen(u.release));
		h = fnv1a(h, u.version, strlen(u.version));
	}
	if (stat(VMLINUX_BTF, &st) == 0) {
		h = fnv1a(h, &st.st_size, sizeof(st.st_size));
		h = fnv1a(h, &st.st_mtim, sizeof(st.st_mtim));
	}
	snprintf(hex, len, "u%016llx", (unsigned long long)h);
}

int ipcprof_core_btf_path(char *path, size_t len, const void *obj, size_t objlen, char *why,
			  size_t whylen)
{
	char dir[PATH_MAX], kid[80];
	int n, err = ipcprof_cache_dir(dir, sizeof(dir), why, whylen);

	if (err)
		return err;
	if (kernel_build_id(kid, sizeof(kid)) != 0)
		kernel_fallback_id(kid, sizeof(kid));
	n = snprintf(path, len, "%s/core-%s-%016llx.btf", dir, kid,
		     (unsigned long long)fnv1a(0xcbf29ce484222325ull, obj, objlen));
	if (n < 0 || (size_t)n >= len)
		return ipcprof_probes_why(why, whylen, -ENAMETOOLONG,
					  "the cache file's name is too long");
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Where the file keeps the kernel's ids of IPCPROF_CORE_TYPES: an enum no probe uses. */
#define IDS_ENUM "ipcprof_kernel_type_ids"

static const char *const core_types[IPCPROF_CORE_NTYPES] = IPCPROF_CORE_TYPES;

/* The kernel's ids kept in the file's enum; 0 when all are there. */
static int read_ids(const struct btf *btf, uint32_t ids[IPCPROF_CORE_NTYPES])
{
	int e = btf__find_by_name_kind(btf, IDS_ENUM, BTF_KIND_ENUM);
	const struct btf_type *t = e > 0 ? btf__type_by_id(btf, (uint32_t)e) : NULL;
	size_t found = 0, k;
	int i;

	if (!t)
		return -1;
	for (k = 0; k < IPCPROF_CORE_NTYPES; k++) {
		ids[k] = 0;
		for (i = 0; i < btf_vlen(t); i++) {
			const struct btf_enum *v = &btf_enum(t)[i];

			if (v->val > 0 &&
			    !strcmp(btf__name_by_offset(btf, v->name_off), core_types[k])) {
				ids[k] = (uint32_t)v->val;
				found++;
				break;
			}
		}
	}
	return found == IPCPROF_CORE_NTYPES ? 0 : -1;
}

bool ipcprof_core_btf_usable(const char *path, uint32_t ids[IPCPROF_CORE_NTYPES], char *why,
			     size_t whylen)
{
	struct stat st;
	struct btf *btf;
	long err;
	bool ok;

	if (lstat(path, &st) != 0) {
		ipcprof_probes_why(why, whylen, 0, "%s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) ||
	    st.st_size > MAX_CORE_BTF_BYTES) {
		ipcprof_probes_why(why, whylen, 0,
				   "%s is not a small file of this user only it can write", path);
		return false;
	}
	btf = btf__parse_raw(path);
	err = libbpf_get_error(btf);
	if (err) {
		ipcprof_probes_why(why, whylen, 0, "%s is not BTF: %s", path, strerror((int)-err));
		return false;
	}
	ok = btf__type_cnt(btf) > IPCPROF_CORE_NTYPES && read_ids(btf, ids) == 0;
	if (!ok)
		ipcprof_probes_why(why, whylen, 0, "%s lacks the kernel's type ids", path);
	btf__free(btf);
	return ok;
}

int ipcprof_core_btf_kernel_ids(uint32_t ids[IPCPROF_CORE_NTYPES], char *why, size_t whylen)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	long err = libbpf_get_error(vmlinux);
	size_t k;

	if (err)
		return ipcprof_probes_why(why, whylen, (int)err, "cannot read the kernel's BTF: %s",
					  strerror((int)-err));
	for (k = 0; k < IPCPROF_CORE_NTYPES; k++) {
		int id = btf__find_by_name_kind(vmlinux, core_types[k], BTF_KIND_STRUCT);

		if (id <= 0) {
			btf__free(vmlinux);
			return ipcprof_probes_why(why, whylen, -ENOENT,
						  "the kernel's BTF has no struct %s",
						  core_types[k]);
		}
		ids[k] = (uint32_t)id;
	}
	btf__free(vmlinux);
	return 0;
}

/* Adds the kernel's ids to the cut-down BTF in path and writes it back. */
static int add_ids(const char *path, char *why, size_t whylen)
{
	uint32_t ids[IPCPROF_CORE_NTYPES];
	struct btf *btf;
	const void *raw;
	__u32 rawlen;
	size_t k;
	int fd, err = ipcprof_core_btf_kernel_ids(ids, why, whylen);

	if (err)
		return err;
	btf = btf__parse_raw(path);
	if (libbpf_get_error(btf))
		return ipcprof_probes_why(why, whylen, -EIO, "bpftool wrote no BTF");
	err = btf__add_enum(btf, IDS_ENUM, 4);
	for (k = 0; err > 0 && k < IPCPROF_CORE_NTYPES; k++)
		if (btf__add_enum_value(btf, core_types[k], (__s64)ids[k]) < 0)
			err = -1;
	raw = err > 0 ? btf__raw_data(btf, &rawlen) : NULL;
	if (!raw) {
		btf__free(btf);
		return ipcprof_probes_why(why, whylen, -ENOMEM, "cannot add the kernel's type ids");
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	err = fd < 0 || write_all(fd, raw, rawlen) != 0 ? -EIO : 0;
	if (fd >= 0)
		close(fd);
	btf__free(btf);
	return err ? ipcprof_probes_why(why, whylen, err, "cannot write %s", path) : 0;
}

/* Runs bpftool on the object in objpath, writing out; 0 when it succeeded. Its output goes to
 * /dev/null: a failure is said once by the caller. */
static int run_bpftool(const char *objpath, const char *out, char *why, size_t whylen)
{
	char *argv[] = {IPCPROF_BPFTOOL, "gen", "min_core_btf", VMLINUX_BTF, (char *)out,
			(char *)objpath, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, err;

	if (access(IPCPROF_BPFTOOL, X_OK) != 0)
		return ipcprof_probes_why(why, whylen, -ENOENT,
					  "no %s to cut the kernel's BTF down", IPCPROF_BPFTOOL);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&pid, IPCPROF_BPFTOOL, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return ipcprof_probes_why(why, whylen, -err, "cannot run %s: %s", IPCPROF_BPFTOOL,
					  strerror(err));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ipcprof_probes_why(why, whylen, -errno, "waitpid: %s",
						  strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return ipcprof_probes_why(why, whylen, -EIO, "%s gen min_core_btf failed",
					  IPCPROF_BPFTOOL);
	return 0;
}

int ipcprof_core_btf_make(const char *path, const void *obj, size_t objlen, char *why,
			  size_t whylen)
{
	char objpath[PATH_MAX], tmp[PATH_MAX];
	uint32_t ids[IPCPROF_CORE_NTYPES];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;
	int dirlen = slash ? (int)(slash - path) : 0;

	if (!slash)
		return ipcprof_probes_why(why, whylen, -EINVAL, "%s: not a path", path);
	snprintf(objpath, sizeof(objpath), "%.*s/.probes-XXXXXX", dirlen, path);
	snprintf(tmp, sizeof(tmp), "%.*s/.core-XXXXXX", dirlen, path);
	fd = mkostemp(objpath, O_CLOEXEC);
	if (fd < 0)
		return ipcprof_probes_why(why, whylen, -errno, "cannot write in %.*s: %s", dirlen,
					  path, strerror(errno));
	if (write_all(fd, obj, objlen) != 0)
		err = ipcprof_probes_why(why, whylen, -EIO, "cannot write %s", objpath);
	close(fd);
	if (!err) {
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0)
			err = ipcprof_probes_why(why, whylen, -errno, "cannot write in %.*s: %s",
						 dirlen, path, strerror(errno));
		else
			close(fd);
	}
	if (!err)
		err = run_bpftool(objpath, tmp, why, whylen);
	unlink(objpath);
	if (!err)
		err = add_ids(tmp, why, whylen);
	if (!err && !ipcprof_core_btf_usable(tmp, ids, why, whylen))
		err = -EIO;
	/* Rename last: a reader sees the whole file or none. */
	if (!err && rename(tmp, path) != 0)
		err = ipcprof_probes_why(why, whylen, -errno, "cannot rename to %s: %s", path,
					 strerror(errno));
	if (err && tmp[strlen(tmp) - 1] != 'X')
		unlink(tmp);
	return err;
}
