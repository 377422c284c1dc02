/* ipcprof record: runs a program under the preload (and the probes, when permitted), then reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cli.h"
#include "commands.h"
#include "gates.h"
#include "report.h"
#include "ipcprof/env.h"
#include "ipcprof_config.h"
#include "record_end.h"
#if IPCPROF_HAVE_PROBES
#include "probes.h"
#include "record_attach.h"
#endif

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ipcprof record [OPTIONS] -- PROGRAM [ARGS...]\n"
	    "       ipcprof record [OPTIONS] --pid PID [--duration S]\n"
	    "Runs PROGRAM with every process it starts under ipcprof, then writes the report.\n"
	    "With --pid, follows a process that runs already instead.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output DIR   session folder for the records and reports (created, mode 0700;\n"
	    "                     default ./ipcprof-YYYYMMDD-HHMMSS-PID)\n"
	    "      --probes MODE  what the eBPF probes (root only) count: sched (the default with\n"
	    "                     the preload: time off CPU inside IPC calls; no syscall or page\n"
	    "                     fault tracepoint), syscalls (also every IPC syscall's bytes and\n"
	    "                     time, a cross-check of the preload's, and shared-memory page\n"
	    "                     faults; every syscall and fault of the machine pays for it;\n"
	    "                     the default with --no-preload and --pid), or off\n"
	    "      --no-probes    --probes off\n"
	    "      --no-preload   profile with the eBPF probes alone (static binaries, Go "
	    "programs)\n"
	    "      --no-report    keep the records, write no report (see `ipcprof report DIR`)\n"
	    "      --rules FILE   classification rules for the CPU samples, passed to the report\n"
	    "                     (see `ipcprof report --help`); may be given more than once\n"
	    "      --sample-hz N  CPU samples per second of each thread's CPU time (default 100;\n"
	    "                     0 = no CPU sampling); sets IPCPROF_SAMPLE_HZ\n"
	    "  -f, --format LIST  also write the report's trace or folded stacks (perfetto,\n"
	    "                     folded, all; see `ipcprof report --help`)\n"
	    "      --fail-if EXPR a CI gate on the report: exit 3 when EXPR holds and PROGRAM\n"
	    "                     exited 0 (see `ipcprof report --help`: data_movement > 0.5,\n"
	    "                     bytes > 1G, wall > 60, finding repeated_payload); may be\n"
	    "                     given more than once\n"
	    "      --pid PID      attach (root only) to the running process PID: the eBPF\n"
	    "                     probes alone (--no-preload: the preload cannot join a\n"
	    "                     process that runs already) follow it, its threads and its\n"
	    "                     descendants, and the children they start from then on, until\n"
	    "                     --duration elapses, SIGINT (Ctrl-C), SIGTERM or SIGHUP\n"
	    "                     reaches ipcprof, or they have all exited. They are never\n"
	    "                     signalled or traced and run on after. The report covers the\n"
	    "                     attached span only; calls in flight at the attach are not\n"
	    "                     counted. Exit status 0, 3 (a gate) or 125\n"
	    "      --duration S   with --pid: stop following after S seconds (a number > 0)\n"
	    "  -q, --quiet        no terminal summary, only the report paths\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n"
	    "\n"
	    "The exit status is PROGRAM's (128+N when signal N ended it); when that is 0, 3 if a\n"
	    "--fail-if gate was crossed. As with env(1): 126 when PROGRAM was found but could\n"
	    "not be run, 127 when it was not found, 125 when ipcprof itself failed (also when\n"
	    "no report could check the gates); 2 when the command line is wrong (PROGRAM is\n"
	    "not run). A terminal's Ctrl-C reaches PROGRAM directly (once); SIGINT, SIGTERM,\n"
	    "SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to ipcprof's pid are passed on to\n"
	    "PROGRAM. The preload's settings (IPCPROF_TIMELINE, IPCPROF_STACK_MIN, ...) are\n"
	    "passed through the environment; see docs/settings.md.\n"
	    "\n"
	    "Loading the probes delays PROGRAM's start by about 20-25 ms (a 2-core virtual\n"
	    "machine, 2026-12-04): libbpf reading the kernel's BTF about 10 ms (still needed\n"
	    "to find the tracepoints), the kernel's check of the 4 programs of sched mode\n"
	    "about 5 ms (of the 11 of syscalls mode about 14 ms), the maps 3 ms, attaching\n"
	    "under 1 ms. The programs are relocated against a cut-down copy\n"
	    "of the kernel's BTF that the first run on a kernel makes after PROGRAM ends\n"
	    "(bpftool gen min_core_btf, 40-100 ms) in $XDG_CACHE_HOME/ipcprof, else\n"
	    "/var/cache/ipcprof; that first run relocates against the whole BTF (15-25 ms\n"
	    "more). A file there that is not usable is ignored and made again.\n"
	    "IPCPROF_VERBOSE=1 prints these parts. --no-probes saves it all.\n");
}

/* The preload next to this command: in the build tree, or installed. */
static bool find_preload(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			static const char *const rel[] = {
			    "../preload/libipcprof.so",
			    "../lib/libipcprof.so",
			    "../lib/x86_64-linux-gnu/libipcprof.so",
			    "../lib64/libipcprof.so",
			};
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				char p[PATH_MAX + 64];
				snprintf(p, sizeof(p), "%s/%s", self, rel[i]);
				if (access(p, R_OK) == 0 && realpath(p, out))
					return true;
			}
		}
	}
	snprintf(out, size, "%s/libipcprof.so", IPCPROF_LIBDIR);
	return access(out, R_OK) == 0;
}

static bool folder_has_records(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while ((e = readdir(d)) && !found) {
		size_t l = strlen(e->d_name);
		found = l > 7 && !strcmp(e->d_name + l - 7, ".ipcrec");
	}
	closedir(d);
	return found;
}

/* Makes the session folder: new, or an existing empty folder of ours (never a symlink). */
static int make_session(const char *want, char *out, size_t size)
{
	if (!want) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		snprintf(out, size, "ipcprof-%04d%02d%02d-%02d%02d%02d-%d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)getpid());
	} else if (snprintf(out, size, "%s", want) >= (int)size) {
		fprintf(stderr, IPCPROF_SAY "output folder name too long\n");
		return -1;
	}
	if (mkdir(out, 0700) != 0 && errno != EEXIST) {
		ipcprof_say(IPCPROF_SAY "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	struct stat st;
	if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ipcprof_say(IPCPROF_SAY "%s is not a folder (symlinks are refused)", out);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		ipcprof_say(IPCPROF_SAY "%s belongs to another user", out);
		return -1;
	}
	if (folder_has_records(out)) {
		ipcprof_say(
		    IPCPROF_SAY "%s already holds a session's records; choose another folder", out);
		return -1;
	}
	char abs[PATH_MAX];
	if (!realpath(out, abs)) {
		ipcprof_say(IPCPROF_SAY "%s: %s", out, strerror(errno));
		return -1;
	}
	snprintf(out, size, "%s", abs);
	return 0;
}

static int set_preload_env(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t n = strlen(lib) + strlen(old) + 2;
		char *v = malloc(n);
		if (!v)
			return -1;
		snprintf(v, n, "%s:%s", lib, old);
		int r = setenv("LD_PRELOAD", v, 1);
		free(v);
		return r;
	}
	return setenv("LD_PRELOAD", lib, 1);
}

static volatile sig_atomic_t child_pid;

/*
 * Passes a signal meant for the program on to it, unless the program got it already: a
 * terminal's Ctrl-C (SI_KERNEL) goes to the whole foreground group, which holds the child
 * while it stays in ours, and so does a kill(0, ...) by the child itself. A kill() by another
 * process (even one of our group: a script's `kill $!`) may have been aimed at ipcprof's pid
 * alone, and is passed on.
 */
static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	pid_t child = child_pid;
	if (child <= 0)
		return;
	int saved = errno;
	bool shared = getpgid(child) == getpgrp();
	bool had =
	    si && (si->si_code == SI_KERNEL || (si->si_code == SI_USER && si->si_pid == child));
	if (!(shared && had))
		kill(child, sig);
	errno = saved;
}

/* What --pid cannot go with: a usage error's status, or -1 when the command line is right. */
static int attach_usage(pid_t pid, bool program, bool probes, int probes_mode, bool sample_hz)
{
	if (program)
		return ipcprof_usage_error("record", "--pid follows a process that runs already; "
						     "give it no PROGRAM as well");
	if (!probes)
		return ipcprof_usage_error("record",
					   "--pid needs the eBPF probes (they alone can follow a "
					   "process that runs already); drop --no-probes");
	if (probes_mode == 1)
		return ipcprof_usage_error("record",
					   "--probes sched needs the preload, which cannot join a "
					   "process that runs already; --pid counts the syscalls");
	if (sample_hz)
		return ipcprof_usage_error("record", "--sample-hz is the preload's CPU sampling, "
						     "which cannot join a process that runs already");
	if (pid == getpid())
		return ipcprof_usage_error("record", "--pid %d is this ipcprof", (int)pid);
	/* A thread has a /proc entry of its own too: its process is what can be followed. */
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	int tgid = 0;
	while (f && fgets(line, sizeof(line), f) && sscanf(line, "Tgid: %d", &tgid) != 1)
		;
	if (f)
		fclose(f);
	if (!tgid)
		return ipcprof_usage_error("record", "--pid %d: no such process", (int)pid);
	if (tgid != pid)
		return ipcprof_usage_error("record",
					   "--pid %d is a thread of process %d: give --pid %d",
					   (int)pid, tgid, tgid);
	return -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ipcprof_cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"no-probes", no_argument, NULL, 'P'},
	    {"probes", required_argument, NULL, 'M'},
	    {"no-preload", no_argument, NULL, 'L'},
	    {"no-report", no_argument, NULL, 'R'},
	    {"rules", required_argument, NULL, 'r'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"sample-hz", required_argument, NULL, 'z'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"format", required_argument, NULL, 'f'},
	    {"fail-if", required_argument, NULL, 'F'},
	    {"pid", required_argument, NULL, 'p'},
	    {"duration", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	bool probes = true, preload = true, report = true, quiet = false, sample_hz = false;
	/* --pid and --duration: the running process to attach to, and for how long (0: no end) */
	long attach = 0;
	double duration = 0;
	/* --probes: -1 = the default for the preload's presence, else an ipcprof_probes_mode */
	int probes_mode = -1;
	/* Options passed on to the report: --rules, --format and --fail-if pairs. */
	char **ropts = calloc((size_t)argc * 2 + 1, sizeof(char *));
	int nropts = 0;
	if (!ropts) {
		perror("ipcprof");
		return 125;
	}
	int c, usage_rc = -1;
	char msg[1024];
	optind = 0; /* a full reset: another command may have run getopt before */
	opterr = 0;
	while (usage_rc < 0 && (c = getopt_long(argc, argv, "+:o:f:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'P':
			probes = false;
			break;
		case 'M':
			if (!strcmp(optarg, "off")) {
				probes = false;
			} else if (!strcmp(optarg, "sched") || !strcmp(optarg, "syscalls")) {
				probes = true;
				probes_mode = !strcmp(optarg, "sched");
			} else {
				usage_rc = ipcprof_usage_error(
				    "record", "--probes wants sched, syscalls or off, not '%s'",
				    optarg);
			}
			break;
		case 'L':
			preload = false;
			break;
		case 'R':
			report = false;
			break;
		case 'r': {
			/* Checked now: a mistake in the rules must not cost the run's report. */
			struct ipcprof_rules rules = {0};
			char err[512];
			int bad = ipcprof_rules_load(&rules, optarg, err, sizeof(err));
			ipcprof_rules_free(&rules);
			if (bad < 0)
				usage_rc = ipcprof_usage_error("record", "rules: %s", err);
			ropts[nropts++] = "--rules";
			ropts[nropts++] = optarg;
			break;
		}
		case 'f': {
			/* Checked now too, and --fail-if below: the run is not repeated for a typo. */
			unsigned formats = 0;
			if (ipcprof_formats_parse(optarg, &formats, msg, sizeof(msg)) < 0)
				usage_rc = ipcprof_usage_error("record", "%s", msg);
			ropts[nropts++] = "--format";
			ropts[nropts++] = optarg;
			break;
		}
		case 'F': {
			struct ipcprof_gates gates = {0};
			if (ipcprof_gate_add(&gates, optarg, msg, sizeof(msg)) < 0)
				usage_rc = ipcprof_usage_error("record", "%s", msg);
			ipcprof_gates_free(&gates);
			ropts[nropts++] = "--fail-if";
			ropts[nropts++] = optarg;
			break;
		}
		case 'q':
			quiet = true;
			break;
		case 'z': {
			char *end;
			errno = 0;
			unsigned long hz = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-' || hz > 100000)
				usage_rc = ipcprof_usage_error(
				    "record",
				    "--sample-hz wants a number of samples per second from 0 to "
				    "100000, not '%s'",
				    optarg);
			else
				setenv(IPCPROF_ENV_SAMPLE_HZ, optarg, 1);
			sample_hz = true;
			break;
		}
		case 'p': {
			char *end;
			errno = 0;
			attach = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || attach <= 0 || attach > INT_MAX)
				usage_rc = ipcprof_usage_error(
				    "record", "--pid wants a process id (a number > 0), not '%s'",
				    optarg);
			break;
		}
		case 'd': {
			char *end;
			errno = 0;
			duration = strtod(optarg, &end);
			/* !(d > 0) also refuses NaN */
			if (!*optarg || *end || errno || !(duration > 0) || duration > 1e9)
				usage_rc = ipcprof_usage_error(
				    "record", "--duration wants a number of seconds > 0, not '%s'",
				    optarg);
			break;
		}
		default: /* -h, -V and what getopt refused */
			usage_rc = ipcprof_common_option("record", c, argv, optind, optopt, usage);
			break;
		}
	}
	if (usage_rc < 0 && attach)
		usage_rc = attach_usage((pid_t)attach, optind < argc, probes, probes_mode, sample_hz);
	else if (usage_rc < 0 && duration > 0)
		usage_rc = ipcprof_usage_error("record", "--duration is for --pid; a PROGRAM run "
							 "lasts as long as PROGRAM");
	if (usage_rc < 0 && attach)
		preload = false; /* the probes alone can join a process that runs already */
	if (usage_rc < 0 && !attach && optind >= argc)
		usage_rc = ipcprof_usage_error(
		    "record", "no program to run (ipcprof record [OPTIONS] -- PROGRAM ARGS...)");
	if (usage_rc < 0 && probes && probes_mode == 1 && !preload)
		usage_rc = ipcprof_usage_error("record",
					       "--probes sched needs the preload (its records hold "
					       "the calls and bytes); use --probes syscalls");
	for (int i = 0; usage_rc < 0 && !report && i < nropts; i += 2)
		if (!strcmp(ropts[i], "--fail-if"))
			usage_rc = ipcprof_usage_error(
			    "record", "--fail-if checks the report, which --no-report leaves out");
	if (usage_rc >= 0) {
		free(ropts);
		return usage_rc;
	}
	char **cmd = argv + optind;

	char lib[PATH_MAX];
	if (preload && !find_preload(lib, sizeof(lib))) {
		fprintf(stderr,
			IPCPROF_SAY "libipcprof.so not found next to this command or in %s\n",
			IPCPROF_LIBDIR);
		return 125;
	}
	char dir[PATH_MAX];
	if (make_session(output, dir, sizeof(dir)) != 0)
		return 125;

	void *kp = NULL;
#if IPCPROF_HAVE_PROBES
	struct ipcprof_probes *pr = NULL;
	if (probes) {
		char why[256] = "";
		/* Without the preload, only the syscall tracepoints see the calls and bytes. */
		enum ipcprof_probes_mode mode = probes_mode == 1 || (probes_mode < 0 && preload)
						    ? IPCPROF_PROBES_SCHED
						    : IPCPROF_PROBES_SYSCALLS;
		if (ipcprof_probes_start(&pr, mode, why, sizeof(why)) != 0) {
			fprintf(stderr, IPCPROF_SAY "eBPF probes off: %s%s\n", why,
				preload ? "; recording with the preload alone" : "");
			pr = NULL;
		}
	}
	kp = pr;
#else
	if (probes && !preload)
		fprintf(stderr, IPCPROF_SAY "this build has no eBPF probes\n");
#endif
	if (attach && !kp) {
		fprintf(stderr,
			IPCPROF_SAY "--pid needs the eBPF probes, which are off: they alone can "
				    "follow a process that runs already (the preload joins a program "
				    "only as it starts)\n");
		rmdir(dir);
		return 125;
	}
	if (!preload && !kp) {
		fprintf(stderr, IPCPROF_SAY "--no-preload needs the eBPF probes, which are off\n");
		return 125;
	}
	int status = 0;
	if (attach) {
#if IPCPROF_HAVE_PROBES
		int ar = ipcprof_record_attach(pr, (pid_t)attach, duration, dir, quiet);
		ipcprof_probes_free(pr);
		if (ar != 0) {
			free(ropts);
			return ar;
		}
#endif
		goto report;
	}

	if (preload && set_preload_env(lib) != 0) {
		fprintf(stderr, IPCPROF_SAY "cannot set LD_PRELOAD\n");
		return 125;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl > 0) {
		self[sl] = 0;
		setenv(IPCPROF_ENV_COMMAND, self, 1);
	}
	setenv(IPCPROF_ENV_DIR, dir, 1);
	setenv(IPCPROF_ENV_REPORT, "0", 1); /* this command reports once the whole run is over */
	unsetenv(IPCPROF_ENV_ROOT);         /* the program's first process is the session's root */

	/* The child waits on a pipe until the probes follow it, so that they see all it does. */
	int go[2], err[2];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		perror(IPCPROF_SAY "pipe");
		return 125;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror(IPCPROF_SAY "fork");
		return 125;
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		char b;
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		execvp(cmd[0], cmd);
		int e = errno;
		ssize_t w = write(err[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	child_pid = pid;
	struct sigaction sa = {.sa_sigaction = forward_signal};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaction(fwd[i], &sa, NULL);
#if IPCPROF_HAVE_PROBES
	if (pr && ipcprof_probes_follow(pr, pid) != 0) {
		fprintf(stderr,
			IPCPROF_SAY "eBPF probes cannot follow the program; continuing without\n");
		ipcprof_probes_free(pr);
		pr = NULL;
	}
#endif
	close(go[1]);
	int exec_errno = 0;
	ssize_t got;
	while ((got = read(err[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	close(err[0]);

	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror(IPCPROF_SAY "wait");
			return 125;
		}
	}
	child_pid = 0;
	if (got == (ssize_t)sizeof(exec_errno)) {
		ipcprof_say(IPCPROF_SAY "cannot run %s: %s", cmd[0], strerror(exec_errno));
#if IPCPROF_HAVE_PROBES
		ipcprof_probes_free(pr);
#endif
		rmdir(dir);
		return exec_errno == ENOENT ? 127 : 126;
	}
	if (preload)
		ipcprof_record_end(dir, pid, ipcprof_pidns(), status, &ru, mono_ns());
#if IPCPROF_HAVE_PROBES
	if (pr) {
		int r = ipcprof_probes_finish(pr, dir);
		if (r < 0)
			fprintf(stderr, IPCPROF_SAY "eBPF probes: cannot write their figures: %s\n",
				strerror(-r));
		ipcprof_probes_free(pr);
	}
#endif
report:;
	/* A gate that could not be checked fails the run as a crossed one does: 125, not 0. */
	bool gate_crossed = false, gates_unchecked = false;
	if (report) {
		char **rargv = calloc((size_t)nropts + 4, sizeof(char *));
		int rargc = 0;
		if (!rargv) {
			perror("ipcprof");
			free(ropts);
			return 125;
		}
		rargv[rargc++] = "report";
		if (quiet)
			rargv[rargc++] = "--quiet";
		for (int i = 0; i < nropts; i++)
			rargv[rargc++] = ropts[i];
		rargv[rargc++] = dir;
		fflush(stdout);
		int rs = ipcprof_cmd_report(rargc, rargv);
		free(rargv);
		if (rs == 2)
			ipcprof_say(IPCPROF_SAY "the report failed; the records stay in %s", dir);
		gate_crossed = rs == IPCPROF_EXIT_GATE;
		for (int i = 0; rs == 2 && i < nropts; i += 2)
			gates_unchecked |= !strcmp(ropts[i], "--fail-if");
		if (gates_unchecked)
			ipcprof_say(IPCPROF_SAY "so the --fail-if gates could not be checked");
	} else {
		ipcprof_say(IPCPROF_SAY "records in %s (report them with `ipcprof report %s`)", dir,
			    dir);
	}
	free(ropts);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WEXITSTATUS(status) == 0 && gate_crossed)
		return IPCPROF_EXIT_GATE;
	if (WEXITSTATUS(status) == 0 && gates_unchecked)
		return 125;
	return WEXITSTATUS(status);
}
