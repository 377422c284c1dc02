#!/usr/bin/python3
"""The program behaves as without ipcprof under conditions of its own: shells that export their
own getenv, roots that leave through _exit, file-size limits, programs that block signals. Each case runs the
same command with and without the preload (bare LD_PRELOAD, the report at the end on) and
compares stdout and exit status byte for byte; the session gets exactly one report."""
import os
import resource
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402
import harness  # noqa: E402

REPORT_LINE = "ipcprof: report: "  # the reporter's last line on stderr


class Case(harness.Case):
    def __init__(self, a, work):
        super().__init__(a, work)
        self.n = 0

    def run(self, argv, env, timeout=120, limit=None, cwd=None):
        def pre():
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        p = run_to_files(argv, env=env, timeout=timeout, cwd=cwd or self.work,
                         preexec_fn=pre if limit is not None else None)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def folder(self):
        self.n += 1
        return os.path.join(self.work, "s%d" % self.n)

    def preload_env(self, folder, **extra):
        env = dict(self.clean_env, LD_PRELOAD=self.a.preload, IPCPROF_COMMAND=self.a.ipcprof)
        if folder is not None:
            env["IPCPROF_DIR"] = folder
        env.update(extra)
        return env

    def same(self, argv, what, env_extra=None, limit=None, reports=1, **kw):
        """Runs argv without and with the preload: same stdout and status, `reports` reports
        (none where no record could be made)."""
        plain = self.run(argv, dict(self.clean_env, **(env_extra or {})), limit=limit, **kw)
        folder = self.folder()
        got = self.run(argv, self.preload_env(folder, **(env_extra or {})), limit=limit, **kw)
        self.check(got[0] == plain[0] and got[1] == plain[1],
                   "%s: stdout and status unchanged (%d %r; without: %d %r)"
                   % (what, got[0], got[1][-200:], plain[0], plain[1][-200:]))
        n = got[2].count(REPORT_LINE)
        self.check(n == reports, "%s: %d report(s) on stderr, want %d: %r"
                   % (what, n, reports, got[2][-300:]))
        return folder, got


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def case_shells(c):
    """bash exports getenv/setenv: nested captures and a pyenv-like shim stay one session."""
    bash = shutil.which("bash")
    if not bash:
        print("SKIP: no bash")
        sys.exit(77)
    folder, _ = c.same([bash, "-c", 'x=$(bash -c "echo hi" 2>&1); echo ${#x}'], "bash -c capture")
    c.same([bash, "-c", 'a=$(bash -c "b=\\$(bash -c \\"echo in\\" 2>&1); echo \\$b-" 2>&1); '
            'echo "$a" $(echo x 2>&1)'], "bash -c nested captures")
    # A pyenv-like shim: a bash script that asks other bash scripts (command substitutions) for
    # the version and then execs the real python, whose output is the program's data.
    bin_ = os.path.join(c.work, "bin")
    os.mkdir(bin_)
    write_script(os.path.join(bin_, "version-name"),
                 "#!%s\nset -e\nv=$(cat \"$(dirname \"$0\")/version\")\necho \"$v\"\n" % bash)
    with open(os.path.join(bin_, "version"), "w") as f:
        f.write("3.11\n")
    write_script(os.path.join(bin_, "python3"),
                 "#!%s\nset -e\nprogram=\"${0##*/}\"\nversion=\"$(%s/version-name 2>&1)\"\n"
                 "prefix=$(bash -c 'echo /usr/bin' 2>&1)\n"
                 "export SHIM_VERSION=\"$version\"\n"
                 "exec \"$prefix/$program\" \"$@\"\n" % (bash, bin_))
    script = ("import os, subprocess, sys\n"
              "print(os.environ['SHIM_VERSION'], sys.argv[1:])\n"
              "out = subprocess.run(['bash', '-c', 'echo child'], capture_output=True, text=True)\n"
              "print(repr(out.stdout), repr(out.stderr))\n")
    folder, got = c.same([os.path.join(bin_, "python3"), "-c", script, "a b"], "pyenv-like shim")
    if os.path.isdir(folder):
        d = c.report_json(folder)
        cmds = [p.get("command", "") for p in d["processes"]]
        c.check(len(d["processes"]) >= 4,
                "the shim's processes are one session (%d processes)" % len(d["processes"]))
        print("note: processes: %s" % [x[:40] for x in cmds])
    # A program that clears its environment, forks then execs, spawns and vforks still joins.
    script = ("import os, subprocess\n"
              "subprocess.run(['/bin/true'], env={})\n"
              "pid = os.fork()\n"
              "if pid == 0:\n"
              "    os.execve('/bin/true', ['true'], {})\n"
              "os.waitpid(pid, 0)\n"
              "os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)\n"
              "print('done')\n")
    folder, _ = c.same(["/usr/bin/python3", "-c", script], "cleared environments")
    trues = [p for p in c.report_json(folder)["processes"]
             if p.get("command", "").split(" ")[0] in ("true", "/bin/true")]
    c.check(len(trues) == 3, "the three children run with no environment joined the session: %s"
            % [p.get("command") for p in trues])
    strays = [n for n in os.listdir(c.work) if n.startswith("ipcprof-")]
    c.check(not strays, "no session folder made elsewhere: %s" % strays)


def case_root_exit(c):
    """A root that leaves through _exit (dash) still writes its report; its status is kept."""
    sh = "/bin/dash" if os.path.exists("/bin/dash") else shutil.which("sh")
    folder, got = c.same([sh, "-c", "dd if=/dev/zero bs=1000 count=123 2>/dev/null | cat | wc -c"],
                         "sh -c 'dd | cat | wc -c'")
    if os.path.exists(os.path.join(folder, "ipcprof-report.json")):
        d = c.report_json(folder)
        k = {x["kind"]: x for x in d["run"]["bytes_by_kind"]}
        c.check(k.get("pipe", {}).get("sent") == 2 * 123000,
                "the pipes' bytes: %s sent" % k.get("pipe", {}).get("sent"))
    else:
        c.check(False, "a report was written in %s" % folder)
    c.same([sh, "-c", "dd if=/dev/zero bs=1000 count=5 2>/dev/null | cat >/dev/null; exit 7"],
           "sh -c '...; exit 7'")
    # os._exit in a Python root, from a signal handler.
    c.same(["/usr/bin/python3", "-c",
            "import os, signal\nsignal.signal(signal.SIGUSR1, lambda *a: os._exit(5))\n"
            "print('x', flush=True)\nos.kill(os.getpid(), signal.SIGUSR1)\n"], "os._exit(5)")
    # No command to report with: one line saying where the records are and how to report them.
    folder = c.folder()
    got = c.run([sh, "-c", "true | cat"], c.preload_env(folder, IPCPROF_COMMAND="/nonexistent"))
    c.check(got[0] == 0 and got[2].count("ipcprof report %s" % folder) == 1,
            "without the command: one line naming the records: %r" % got[2])


def case_file_size_limit(c):
    """RLIMIT_FSIZE below the record's size: records cut to fit, or none; never SIGXFSZ."""
    for limit in (1024, 512000, 745472, 1024000, 2048000, 17408000, 64 << 20, 256 << 20):
        what = "ulimit -f %d bytes" % limit
        none = limit < 745472  # below the header and tables (728 KiB with 4 KiB pages)
        folder, got = c.same([c.a.prog, "100000"], what, limit=limit, reports=0 if none else 1)
        sizes = [os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
                 if n.endswith(".ipcrec")] if os.path.isdir(folder) else []
        c.check(all(x <= limit for x in sizes), "%s: records within it: %s" % (what, sizes))
        said = got[2].count("file size limit")
        if sizes:
            d = c.report_json(folder)
            k = {x["kind"]: x for x in d["run"]["bytes_by_kind"]}
            c.check(k.get("pipe", {}).get("sent") == 100000 and len(d["processes"]) == 2,
                    "%s: the pipe's 100000 bytes and 2 processes: %s"
                    % (what, k.get("pipe", {}).get("sent")))
            cut = limit < 256 << 20  # the full record (150 MB by default) is cut below it
            c.check(said == (1 if cut else 0), "%s: said %d time(s)" % (what, said))
        else:
            c.check(said == 1 and "not profiling" in got[2],
                    "%s: no record, said once: %r" % (what, got[2][:300]))
    # python3 at the limit of the report that named this bug
    c.same(["/usr/bin/python3", "-c", "print('hello')"], "python3 under ulimit -f 1000",
           limit=1024000)


# Python programs that block every signal: what is pending, and what sigtimedwait takes.
PY_BLOCKED = """import os, signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
os.kill(os.getpid(), signal.SIGUSR1)
end = time.thread_time() + 0.3
while time.thread_time() < end:
    pass
print("pending", sorted(int(s) for s in signal.sigpending()))
if sys.argv[1] == "wait":
    os.kill(os.getpid(), signal.SIGPROF)  # its own SIGPROF, which it must get
    while (si := signal.sigtimedwait(signal.valid_signals(), 0)) is not None:
        print("took", si.si_signo)
"""

# CPU time in threads and Pool workers that mask every signal often, as code guarding a
# critical section does.
PY_MASKS = """import multiprocessing as mp, signal, threading, time
def burn(seconds):
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
        if n % 50 == 0:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return 1
if __name__ == "__main__":
    ts = [threading.Thread(target=burn, args=(0.3,)) for _ in range(2)]
    for t in ts:
        t.start()
    burn(0.3)
    for t in ts:
        t.join()
    with mp.Pool(2) as pool:
        print(sum(pool.map(burn, [0.3] * 4)))
"""


def sampled_share(c, folder, what):
    """Each sampled process's samples (weight * period) against its own CPU time: within 10%
    (a thread loses less than a period at its end; these run 300 periods and more)."""
    procs = [p for p in c.report_json(folder)["processes"] if p.get("cpu")]
    c.check(procs, "%s: processes sampled" % what)
    for p in procs:
        cpu = p["cpu"]
        share = cpu["weight"] * cpu["period_ns"] / max(1, p["time"]["cpu_ns"])
        c.check(cpu["state"] == "on" and 0.9 <= share <= 1.1,
                "%s: process %d sampled %.3f of its CPU time (%d samples, %s)"
                % (what, p["pid"], share, cpu["weight"], cpu["state"]))


def case_blocked_signals(c):
    """Programs that block every signal and take them themselves never see the sampler's
    SIGPROF; a program profiling itself with SIGPROF gets its own; threads that mask often keep
    their samples."""
    for mode in ("signalfd", "sigtimedwait", "sigwait", "thread", "fork", "exec", "raw-signalfd",
                 "raw-sigtimedwait", "raw-sigwait", "own-profiler"):
        c.same([c.a.sigprog, mode], "blocks every signal: " + mode,
               env_extra={"IPCPROF_SAMPLE_HZ": "1000"})
    py = "/usr/bin/python3"
    for how in ("pending", "wait"):
        c.same([py, "-c", PY_BLOCKED, how], "python blocks every signal: " + how,
               env_extra={"IPCPROF_SAMPLE_HZ": "1000"})
    folder, _ = c.same([c.a.sigprog, "masks", "400"], "C masks often",
                       env_extra={"IPCPROF_SAMPLE_HZ": "1000"})
    sampled_share(c, folder, "C masks often")
    folder, _ = c.same([py, "-c", PY_MASKS], "python threads and Pool workers mask often",
                       env_extra={"IPCPROF_SAMPLE_HZ": "1000"})
    sampled_share(c, folder, "python masks often")


if __name__ == "__main__":
    sys.exit(harness.main(__doc__, globals(), Case, "ipcprof-unchanged."))
