/* libFuzzer harness: damaged and foreign record files through the reporter (load, model, JSON, summary). */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/*
 * Input: byte 0 modulo 3 picks the mode.
 *   0: the rest is the whole record file (foreign, empty, short or cut files).
 *   2: the rest is the session's kernel.ipckrn (the probes' file), next to the intact record.
 *   1: a real record (the first of $IPCPROF_FUZZ_BASE) damaged by the rest: a 4-byte size to cut
 *         the file to (0 keeps it whole), then patches {4-byte offset, 1-byte length, bytes}.
 *         An 880 kB record is out of a fuzzer's reach byte by byte; patches reach any field of it.
 * The second base record (the other end of its pipes) is always in the session too, so pairing,
 * attribution and the findings run on the damaged record.
 */

static unsigned char *base, *peer;
static size_t base_size, peer_size;
static char dir[4096];
static char victim[4200];
static char kernel_file[4200];
static FILE *devnull;

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = n > 0 ? malloc((size_t)n) : NULL;
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*size = p ? (size_t)n : 0;
	return p;
}

static int put(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	return off == n ? 0 : -1;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *b = getenv("IPCPROF_FUZZ_BASE");
	if (!b) {
		fprintf(stderr, "fuzz_record: set IPCPROF_FUZZ_BASE to a folder of two records\n");
		exit(2);
	}
	DIR *d = opendir(b);
	char *names[2] = {NULL, NULL};
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < 2)
		if (strstr(e->d_name, IPCPROF_RECORD_SUFFIX))
			names[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	if (n != 2) {
		fprintf(stderr, "fuzz_record: %s must hold two records\n", b);
		exit(2);
	}
	qsort(names, 2, sizeof(names[0]), names_cmp);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", b, names[0]);
	base = slurp(path, &base_size);
	snprintf(path, sizeof(path), "%s/%s", b, names[1]);
	peer = slurp(path, &peer_size);
	const char *w = getenv("IPCPROF_FUZZ_WORK");
	snprintf(dir, sizeof(dir), "%s/ipcprof-fuzz-record.%d", w ? w : "/dev/shm", (int)getpid());
	snprintf(victim, sizeof(victim), "%s/%s", dir, names[0]);
	snprintf(kernel_file, sizeof(kernel_file), "%s/kernel.ipckrn", dir);
	if (!base || !peer || mkdir(dir, 0700) < 0) {
		fprintf(stderr, "fuzz_record: cannot read the base records or make %s\n", dir);
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, names[1]);
	if (put(path, peer, peer_size) < 0)
		exit(2);
	free(names[0]);
	free(names[1]);
	devnull = fopen("/dev/null", "w");
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unlink(kernel_file);
	if (data[0] % 3 == 0) {
		put(victim, data + 1, size - 1);
	} else if (data[0] % 3 == 2) {
		put(victim, base, base_size);
		put(kernel_file, data + 1, size - 1);
	} else {
		static unsigned char *buf;
		if (!buf)
			buf = malloc(base_size);
		memcpy(buf, base, base_size);
		size_t n = base_size, i = 1;
		if (size >= 5) {
			uint32_t cut = get32(data + 1);
			if (cut && cut < base_size)
				n = cut;
			i = 5;
		}
		while (i + 5 <= size) {
			size_t off = get32(data + i) % base_size;
			size_t len = data[i + 4];
			i += 5;
			if (len > size - i)
				len = size - i;
			if (len > base_size - off)
				len = base_size - off;
			memcpy(buf + off, data + i, len);
			i += len;
		}
		put(victim, buf, n);
	}
	struct ipcprof_model m;
	ipcprof_model_init(&m);
	char *sessions[1] = {dir};
	m.nsession = 1;
	m.session = sessions;
	ipcprof_session_load(&m, 0);
	ipcprof_kernel_merge(&m, 0);
	if (m.nimg && ipcprof_model_build(&m) == 0) {
		json_t *j = ipcprof_report_json(&m);
		size_t len = 0;
		char *text = j ? ipcprof_json_text(j, &len) : NULL;
		free(text);
		json_decref(j);
		ipcprof_write_summary(&m, devnull);
	}
	m.session = NULL;
	ipcprof_model_free(&m);
	return 0;
}
