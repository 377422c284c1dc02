/* Every environment variable ipcprof reads or sets, in one place (documented in docs/settings.md). */
#ifndef IPCPROF_ENV_H
#define IPCPROF_ENV_H

/* Session folder. Set by `ipcprof record -o`, or by the first process, which makes
 * ./ipcprof-YYYYMMDD-HHMMSS-PID; every descendant writes its record there. */
#define IPCPROF_ENV_DIR             "IPCPROF_DIR"
/* pid of the session's first process: it writes the report when it exits. Set by ipcprof. */
#define IPCPROF_ENV_ROOT            "IPCPROF_ROOT_PID"
/* "0" turns the report at the end off (records stay). Default: on, unless under `ipcprof record`,
 * which reports itself. */
#define IPCPROF_ENV_REPORT          "IPCPROF_REPORT"
/* Colon-separated list of channel plugins (.so) to load. */
#define IPCPROF_ENV_PLUGINS         "IPCPROF_PLUGINS"
/* Timeline capacity in intervals per process (default 16384, 0 = no timeline). */
#define IPCPROF_ENV_TIMELINE        "IPCPROF_TIMELINE"
/* Channel table entries per process (default 131072): every channel the process ever used, closed
 * ones included, keeps one (about 1 KB on disk each, taken as used). */
#define IPCPROF_ENV_CHANNELS        "IPCPROF_CHANNELS"
/* Calls moving at least this many bytes record their call stack (default 1048576, 0 = never). */
#define IPCPROF_ENV_STACK_MIN       "IPCPROF_STACK_MIN"
/* Writes of at least this many bytes get a content fingerprint (default 65536, 0 = never). */
#define IPCPROF_ENV_FINGERPRINT_MIN "IPCPROF_FINGERPRINT_MIN"
/* One call in this many also reads the thread CPU clock (default 256; 1 = every call). */
#define IPCPROF_ENV_CPU_SAMPLE      "IPCPROF_CPU_SAMPLE"
/* CPU samples per second of each thread's CPU time (default 100, 0 = no sampling). */
#define IPCPROF_ENV_SAMPLE_HZ       "IPCPROF_SAMPLE_HZ"
/* Bytes of the record kept for distinct sampled stacks (default 16 MiB; disk is used as it fills). */
#define IPCPROF_ENV_SAMPLE_AREA     "IPCPROF_SAMPLE_AREA"
/* "1" prints what the preload does to stderr. */
#define IPCPROF_ENV_VERBOSE         "IPCPROF_VERBOSE"
/* "1": `ipcprof record` turns the kernel's BPF run-time statistics on (BPF_ENABLE_STATS) while
 * its probes run and prints each program's runs and time a run on stderr at the end. */
#define IPCPROF_ENV_PROBE_STATS     "IPCPROF_PROBE_STATS"
/* Set by the root process: TSC ticks per second, so that children need not calibrate again. */
#define IPCPROF_ENV_TSC_HZ          "IPCPROF_TSC_HZ"
/* Path of the ipcprof command, for the report at the end of a bare LD_PRELOAD run. */
#define IPCPROF_ENV_COMMAND         "IPCPROF_COMMAND"

#endif
