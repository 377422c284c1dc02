/* The preload's settings and the session's variables: read from the environment the process started with, handed on to the programs it runs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcprof/env.h"
#include "preload.h"

extern char **environ;

/*
 * Every variable ipcprof reads. They are read from the environment the process was started with,
 * never through getenv: a program may export its own getenv/setenv (bash does), which before its
 * main sees only a table of its own. Nor does ipcprof call the program's setenv: what the children
 * are to get differently from what this process was given goes into a copy of the environment
 * made before main (settings_publish), and into every exec's environment (ipcprof_fix_env).
 */
static const char *const names[] = {
    "LD_PRELOAD",           IPCPROF_ENV_DIR,       IPCPROF_ENV_ROOT,
    IPCPROF_ENV_REPORT,     IPCPROF_ENV_PLUGINS,   IPCPROF_ENV_TIMELINE,
    IPCPROF_ENV_CHANNELS,   IPCPROF_ENV_STACK_MIN, IPCPROF_ENV_FINGERPRINT_MIN,
    IPCPROF_ENV_CPU_SAMPLE, IPCPROF_ENV_SAMPLE_HZ, IPCPROF_ENV_SAMPLE_AREA,
    IPCPROF_ENV_VERBOSE,    IPCPROF_ENV_TSC_HZ,    IPCPROF_ENV_COMMAND,
};
#define NVARS (sizeof(names) / sizeof(names[0]))
static char *started[NVARS]; /* "NAME=value" as the process started; NULL: absent */
static char *passed[NVARS];  /* "NAME=value" the children get; NULL: none */
static bool changed[NVARS];  /* passed is not started */

static int var_index(const char *name)
{
	for (unsigned i = 0; i < NVARS; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

/* The index of the variable entry ("NAME=value") sets, or -1. */
static int entry_index(const char *entry)
{
	if (strncmp(entry, "IPCPROF_", 8) && strncmp(entry, "LD_PRELOAD=", 11))
		return -1;
	for (unsigned i = 0; i < NVARS; i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(entry, names[i], n) && entry[n] == '=')
			return (int)i;
	}
	return -1;
}

/* Copies, not pointers: a program may write over its first environment's strings (the memory
 * argv and the environment share is where setproctitle writes). */
void ipcprof_settings_read(char **envp)
{
	for (size_t k = 0; envp && envp[k]; k++) {
		int i = entry_index(envp[k]);
		if (i < 0 || started[i])
			continue; /* the first of a name is what getenv would give */
		started[i] = passed[i] = strdup(envp[k]);
	}
}

const char *ipcprof_setting(const char *name)
{
	int i = var_index(name);
	return i < 0 || !started[i] ? NULL : strchr(started[i], '=') + 1;
}

void ipcprof_setting_pass(const char *name, const char *value)
{
	int i = var_index(name);
	if (i < 0)
		return;
	char *s = NULL;
	if (value) {
		size_t n = strlen(name) + strlen(value) + 2;
		s = malloc(n);
		if (!s)
			return;
		snprintf(s, n, "%s=%s", name, value);
	}
	if (passed[i] != started[i])
		free(passed[i]);
	passed[i] = s;
	changed[i] = true;
}

/*
 * The environment the program's main gets, with what the children are to get instead of what
 * this process was given: it reaches programs started where no wrapper of ipcprof sees the exec
 * (system() and popen() spawn inside the C library). Only the entries changed differ; where
 * nothing changed (most processes of a session), the program's environment stays its own.
 */
void ipcprof_settings_publish(void)
{
	bool any = false;
	for (unsigned i = 0; i < NVARS; i++)
		any |= changed[i];
	if (!any)
		return;
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = malloc((n + NVARS + 1) * sizeof(*env));
	if (!env) {
		ipcprof_warn_once(IPCPROF_WARN_ENV, "out of memory: the programs this one runs "
						    "might not join the session");
		return;
	}
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		int i = entry_index(environ[j]);
		if (i < 0 || !changed[i])
			env[k++] = environ[j];
	}
	for (unsigned i = 0; i < NVARS; i++)
		if (changed[i] && passed[i])
			env[k++] = passed[i];
	env[k] = NULL;
	environ = env;
}

char *const *ipcprof_fix_env(char *const *envp, char **out, size_t cap)
{
	char *vars[NVARS + 1];
	unsigned n = 0;
	for (unsigned i = 0; i < NVARS; i++)
		if (passed[i])
			vars[n++] = passed[i];
	/* The TSC's rate, when this process measured it (a rate it was given is passed on). */
	char *tsc = ipcprof_tsc_env();
	if (tsc)
		vars[n++] = tsc;
	return ipcprof_env_merge(envp, vars, n, out, cap);
}

/*
 * A setting that is not valid: said on stderr, and replaced for the children by the value used
 * instead (or removed), so that they do not say it again.
 */
void ipcprof_setting_reject(const char *name, const char *value, const char *want, const char *used)
{
	if (used)
		ipcprof_warn("%s=%.40s is not valid (%s); using %s", name, value, want, used);
	else
		ipcprof_warn("%s=%.40s is not valid (%s); ignored", name, value, want);
	ipcprof_setting_pass(name, used);
}

bool ipcprof_env_flag(const char *name, bool def)
{
	const char *s = ipcprof_setting(name);
	if (!s || !*s)
		return def;
	if (!strcmp(s, "0") || !strcmp(s, "1"))
		return s[0] == '1';
	ipcprof_setting_reject(name, s, "0 or 1", def ? "1" : "0");
	return def;
}

bool ipcprof_env_u64(const char *name, uint64_t def, uint64_t max, uint64_t *out)
{
	const char *s = ipcprof_setting(name);
	*out = def;
	if (!s || !*s)
		return true;
	char *end;
	IPCPROF_ERRNO = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (IPCPROF_ERRNO || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v > max) {
		char want[48], used[24];
		snprintf(want, sizeof(want), "a number from 0 to %llu", (unsigned long long)max);
		snprintf(used, sizeof(used), "%llu", (unsigned long long)def);
		ipcprof_setting_reject(name, s, want, used);
		return false;
	}
	*out = v;
	return true;
}
