/* libFuzzer harness: `ipcprof report` option parsing, from NUL-separated arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"

/*
 * The input is split at NUL bytes into at most 16 arguments after "report". The harness works in
 * a folder of its own holding "s" (a session: two real records from $IPCPROF_FUZZ_BASE), "e"
 * (empty) and "r" (a rules file). Arguments with a '/' or equal to ".." are refused before the
 * call: the fuzzer must not make ipcprof write reports anywhere else on the machine.
 */

static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int rc = a && b ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), a)) > 0)
		if (fwrite(buf, 1, n, b) != n)
			rc = -1;
	if (a)
		fclose(a);
	if (b && fclose(b) != 0)
		rc = -1;
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *b = getenv("IPCPROF_FUZZ_BASE");
	char dir[4096], from[4096], to[256];
	const char *w = getenv("IPCPROF_FUZZ_WORK");
	snprintf(dir, sizeof(dir), "%s/ipcprof-fuzz-options.%d", w ? w : "/dev/shm", (int)getpid());
	if (!b || mkdir(dir, 0700) < 0 || chdir(dir) < 0 || mkdir("s", 0700) < 0 ||
	    mkdir("e", 0700) < 0) {
		fprintf(stderr, "fuzz_options: set IPCPROF_FUZZ_BASE; cannot make %s\n", dir);
		exit(2);
	}
	static const char *const names[] = {"21613.0.ipcrec", "21618.0.ipcrec"};
	for (int i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/%s", b, names[i]);
		snprintf(to, sizeof(to), "s/%s", names[i]);
		if (copy_file(from, to) < 0) {
			fprintf(stderr, "fuzz_options: cannot copy %s\n", from);
			exit(2);
		}
	}
	/* "r": a rules file for --rules */
	FILE *r = fopen("r", "w");
	if (!r || fputs("serialize any *python3* save*\ncopy leaf * mem*\n", r) < 0 || fclose(r)) {
		fprintf(stderr, "fuzz_options: cannot write the rules file\n");
		exit(2);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *argv[18] = {"report"};
	int argc = 1;
	for (char *p = copy; p < copy + size + 1 && argc < 17; p += strlen(p) + 1) {
		if (strchr(p, '/') || !strcmp(p, "..")) {
			free(copy);
			return 0;
		}
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	ipcprof_cmd_report(argc, argv);
	free(copy);
	return 0;
}
