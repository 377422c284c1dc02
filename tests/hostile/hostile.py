#!/usr/bin/python3
"""Bad input and hostile conditions: damaged session folders, unusable output folders, symlinks,
garbage settings, setuid programs and file modes. Each case: a clear message, and nothing else lost
(the program's output and exit status unchanged, the intact records reported exactly), and
session folders on filesystems that fill up."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402
import harness  # noqa: E402

BYTES = 123456  # what hostile_prog sends through its pipe


class Case(harness.Case):
    def __init__(self, a, work):
        super().__init__(a, work)
        self.expected = self.run([a.prog, str(BYTES)], self.clean_env)
        if self.expected[0] != 3:
            sys.exit("hostile: hostile_prog fails without the preload: %r" % (self.expected,))

    def run(self, argv, env, timeout=60):
        p = run_to_files(argv, env=env, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def preload_env(self, session, **extra):
        env = dict(self.clean_env, LD_PRELOAD=self.a.preload, IPCPROF_REPORT="0")
        if session is not None:
            env["IPCPROF_DIR"] = session
        env.update(extra)
        return env

    def same_program(self, got, what):
        """The program's stdout and exit status are those of the run without the preload."""
        self.check(got[0] == self.expected[0] and got[1] == self.expected[1],
                   "%s: output and exit status unchanged (exit %d, %r)" % (what, got[0], got[1]))

    def report(self, *args):
        p = subprocess.run([self.a.ipcprof, "report"] + list(args), capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stderr

    def pipe_bytes(self, folder):
        with open(os.path.join(folder, "ipcprof-report.json")) as f:
            d = json.load(f)
        k = {x["kind"]: x for x in d["run"]["bytes_by_kind"]}
        return k.get("pipe", {}).get("sent"), k.get("pipe", {}).get("received"), len(d["processes"])

    def session(self, name, **extra):
        """A real session of hostile_prog under the preload."""
        folder = os.path.join(self.work, name)
        got = self.run([self.a.prog, str(BYTES)], self.preload_env(folder, **extra))
        self.same_program(got, "preloaded run")
        return folder, got


def case_damaged_files(c):
    """Corrupt, truncated and foreign files among good records: each named, the good ones reported."""
    folder, _ = c.session("s")
    recs = sorted(n for n in os.listdir(folder) if n.endswith(".ipcrec"))
    c.check(len(recs) == 2, "two records (parent and child): %s" % recs)
    good = open(os.path.join(folder, recs[0]), "rb").read()
    bad = {
        "1.0.ipcrec": good[:5000],                           # cut inside the tables
        "2.0.ipcrec": b"XXXXXXXX" + good[8:],                # wrong magic
        "3.0.ipcrec": b"#!/bin/sh\necho not a record\n",      # foreign
        "4.0.ipcrec": b"",                                    # empty
        "5.0.ipcrec": good[:12] + b"\xff\xff\xff\x7f" + good[16:],  # layout from "another build"
    }
    for n, data in bad.items():
        with open(os.path.join(folder, n), "wb") as f:
            f.write(data)
    os.mkdir(os.path.join(folder, "6.0.ipcrec"))
    os.symlink(os.path.join(folder, recs[0]), os.path.join(folder, "7.0.ipcrec"))
    os.mkfifo(os.path.join(folder, "8.0.ipcrec"))  # opening it must not wait for a writer
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("a file of the user's, not a record\n")
    try:
        rc, err = c.report(folder)
    except subprocess.TimeoutExpired:
        c.check(False, "ipcprof report finishes (it waited on the FIFO named 8.0.ipcrec)")
        return
    c.check(rc == 1, "ipcprof report exits 1 (some records damaged): %d" % rc)
    for n in list(bad) + ["6.0.ipcrec", "7.0.ipcrec", "8.0.ipcrec"]:
        lines = [line for line in err.splitlines() if n in line]
        # an empty record is one its process never wrote (killed while starting)
        said = ("process 4 was killed (or ended) while starting" if n == "4.0.ipcrec"
                else "damaged record")
        c.check(len(lines) == 1 and said in lines[0], "%s named once: %s" % (n, lines))
    c.check("not an ipcprof record" in "".join(x for x in err.splitlines() if "3.0.ipcrec" in x),
            "the foreign file is called so")
    c.check("notes.txt" not in err, "files that are not records are left alone")
    sent, received, nproc = c.pipe_bytes(folder)
    c.check((sent, received, nproc) == (BYTES, BYTES, 2),
            "the good records still reported exactly: %s B sent, %s received, %s processes"
            % (sent, received, nproc))


def case_output_not_folder(c):
    """IPCPROF_DIR names a file, or a symlink to a folder: refused with a message, program unharmed."""
    target = os.path.join(c.work, "real")
    os.mkdir(target, 0o700)
    link = os.path.join(c.work, "link")
    os.symlink(target, link)
    afile = os.path.join(c.work, "afile")
    with open(afile, "w") as f:
        f.write("keep me\n")
    for what, path in (("a file", afile), ("a symlink to a folder", link),
                       ("a path under a file", os.path.join(afile, "sub"))):
        got = c.run([c.a.prog, str(BYTES)], c.preload_env(path))
        c.same_program(got, "IPCPROF_DIR is %s" % what)
        c.check(got[2].count("ipcprof") >= 1 and path in got[2],
                "IPCPROF_DIR is %s: a message naming it: %r" % (what, got[2].strip()[:200]))
    c.check(os.listdir(target) == [], "nothing written through the symlink")
    c.check(open(afile).read() == "keep me\n", "the file is unchanged")
    # ipcprof record refuses the same, with its own exit status, and runs nothing
    p = subprocess.run([c.a.ipcprof, "record", "-q", "-o", link, "--", c.a.prog, "10"],
                       capture_output=True, text=True, timeout=60)
    c.check(p.returncode == 125 and "child read" not in p.stdout,
            "ipcprof record -o SYMLINK: refused (exit %d): %s" % (p.returncode, p.stderr.strip()))
    # and the report cannot be written over a file
    folder, _ = c.session("s")
    rc, err = c.report("-o", afile, folder)
    c.check(rc == 2 and afile in err, "ipcprof report -o FILE: exit 2 and a message: %d %r"
            % (rc, err.strip()[-200:]))
    c.check(open(afile).read() == "keep me\n", "the file is still unchanged")


def mount_tmpfs(c, path, opts):
    os.mkdir(path)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], capture_output=True,
                       text=True)
    return p.returncode == 0


def case_full_or_readonly(c):
    """A full and a read-only output folder (tmpfs mounts): the program still runs unchanged."""
    if os.geteuid() != 0:
        print("SKIP: mounting a small tmpfs needs root")
        sys.exit(77)
    full = os.path.join(c.work, "full")
    ro = os.path.join(c.work, "ro")
    # 8 pages, 5 of them taken by a file of its own: 3 left, fewer than two records need
    if not mount_tmpfs(c, full, "size=32k,mode=0700"):
        print("SKIP: cannot mount tmpfs here")
        sys.exit(77)
    try:
        with open(os.path.join(full, "pad"), "wb") as f:
            f.write(b"\0" * 20480)
        # Records take disk blocks as they are used: the first fits in part, then the
        # filesystem fills; the program must run on unchanged, and ipcprof says so.
        sess = os.path.join(full, "s")
        got = c.run([c.a.prog, str(BYTES)], c.preload_env(sess))
        c.same_program(got, "session on a full filesystem")
        c.check("ipcprof" in got[2], "full filesystem: a message: %r" % got[2].strip()[:300])
        # The report of a good session cannot be written into the full filesystem either.
        folder, _ = c.session("s")
        with open(os.path.join(full, "filler"), "wb") as f:
            try:
                f.write(b"\0" * 65536)
            except OSError:
                pass
        rc, err = c.report("-o", full, folder)
        c.check(rc == 2 and ("No space" in err or "cannot write" in err),
                "report into a full folder: exit 2 with a message: %d %r" % (rc, err.strip()[-200:]))
        c.check(sorted(n for n in os.listdir(folder) if n.endswith(".ipcrec")) != [],
                "the records are still there")
        if mount_tmpfs(c, ro, "size=1m,mode=0755,ro"):
            got = c.run([c.a.prog, str(BYTES)], c.preload_env(ro))
            c.same_program(got, "session folder on a read-only filesystem")
            c.check("ipcprof" in got[2], "read-only folder: a message: %r" % got[2].strip()[:300])
            got = c.run([c.a.prog, str(BYTES)], c.preload_env(os.path.join(ro, "new")))
            c.same_program(got, "new session folder inside a read-only filesystem")
            c.check("ipcprof" in got[2], "cannot create the folder: a message: %r"
                    % got[2].strip()[:300])
    finally:
        subprocess.run(["umount", full], capture_output=True)
        subprocess.run(["umount", ro], capture_output=True)


# A Pool that computes a while (so the CPU sampler fills its area too) and exits with status 3.
POOL_PY = """
import multiprocessing as mp, sys
def f(x):
    s = 0
    for i in range(20000 + x):
        s += i * i
    return s % 1000
if __name__ == "__main__":
    with mp.Pool(3) as p:
        r = p.map(f, range(3000), chunksize=1)
    print(sum(r))
    sys.exit(3)
"""


def case_full_tmpfs(c):
    """Session folders on tmpfs mounts that fill up as the records grow (channels, mappings,
    timeline, stacks, samples): the program runs as without ipcprof (same status, same stdout,
    no SIGBUS), and ipcprof says so in one line at most."""
    if os.geteuid() != 0:
        print("SKIP: mounting a small tmpfs needs root")
        sys.exit(77)
    pool = os.path.join(c.work, "pool.py")
    with open(pool, "w") as f:
        f.write(POOL_PY)
    progs = {"C fork and pipe": [c.a.prog, str(BYTES)], "Python Pool": ["/usr/bin/python3", pool]}
    plain = {name: c.run(argv, c.clean_env, timeout=120) for name, argv in progs.items()}
    for size in ("16k", "64k", "256k", "1m", "4m"):
        mnt = os.path.join(c.work, "tmpfs-" + size)
        if not mount_tmpfs(c, mnt, "size=%s,mode=0700" % size):
            print("SKIP: cannot mount tmpfs here")
            sys.exit(77)
        try:
            for name, argv in progs.items():
                what = "%s on a %s tmpfs" % (name, size)
                got = c.run(argv, c.preload_env(os.path.join(mnt, name.replace(" ", "-"))),
                            timeout=120)
                c.check(got[:2] == plain[name][:2],
                        "%s: status and stdout as without ipcprof (%r; without: %r)"
                        % (what, got[:2], plain[name][:2]))
                said = [ln for ln in got[2].splitlines() if ln.startswith("ipcprof")]
                rest = [ln for ln in got[2].splitlines() if not ln.startswith("ipcprof")]
                c.check(len(said) == 1 if size == "16k" else len(said) <= 1,
                        "%s: one line from ipcprof at most (one where nothing fits): %r"
                        % (what, said))
                c.check(rest == plain[name][2].splitlines(),
                        "%s: the program's own stderr unchanged: %r" % (what, rest[-3:]))
        finally:
            subprocess.run(["umount", mnt], capture_output=True)


# Every setting with values it must refuse (one message, then the default).
GARBAGE = {
    # (an empty value is taken as unset)
    "IPCPROF_TIMELINE": ["lots", "-1", "99999999999999999999999", "12abc"],
    "IPCPROF_CHANNELS": ["plenty", "-1", "0", "4294967296"],
    "IPCPROF_STACK_MIN": ["big", "-5", "1e6"],
    "IPCPROF_FINGERPRINT_MIN": ["x", "-1", "0x"],
    "IPCPROF_CPU_SAMPLE": ["often", "-3", "4294967296000"],
    "IPCPROF_VERBOSE": ["maybe"],
    "IPCPROF_REPORT": ["sometimes"],
    "IPCPROF_TSC_HZ": ["fast", "-1"],
    "IPCPROF_ROOT_PID": ["me", "-1"],
    "IPCPROF_PLUGINS": ["/nonexistent/plugin.so", "relative.so"],
}


def case_garbage_settings(c):
    """Garbage IPCPROF_* values: one clear message naming the variable, the default, nothing lost."""
    n = 0
    for var, values in GARBAGE.items():
        for v in values:
            n += 1
            folder = os.path.join(c.work, "g%d" % n)
            extra = {var: v}
            got = c.run([c.a.prog, str(BYTES)], c.preload_env(folder, **extra))
            c.same_program(got, "%s=%r" % (var, v))
            c.check(var in got[2] or (var == "IPCPROF_PLUGINS" and "plugin" in got[2]),
                    "%s=%r: a message names it: %r" % (var, v, got[2].strip()[:200]))
            if var in ("IPCPROF_VERBOSE", "IPCPROF_REPORT"):
                continue  # these may print more (the record path, the report)
            rc, err = c.report("-q", folder)
            if rc != 0:
                c.check(False, "%s=%r: the records are readable: %s" % (var, v, err.strip()))
                continue
            sent, received, nproc = c.pipe_bytes(folder)
            c.check((sent, received, nproc) == (BYTES, BYTES, 2),
                    "%s=%r: nothing lost: %s B sent, %s received, %s processes"
                    % (var, v, sent, received, nproc))


def case_setuid(c):
    """A setuid program run by another user: the loader ignores LD_PRELOAD; it must run normally."""
    if os.geteuid() != 0:
        print("SKIP: needs root to run a setuid-root program as another user")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="ipcprof-setuid.", dir="/tmp")
    os.chmod(d, 0o755)
    prog = os.path.join(d, "hostile_prog")
    shutil.copy(c.a.prog, prog)
    os.chmod(prog, 0o4755)  # setuid root
    lib = os.path.join(d, "libipcprof.so")
    shutil.copy(c.a.preload, lib)
    os.chmod(lib, 0o755)
    sess = os.path.join(d, "s")
    os.mkdir(sess, 0o700)
    os.chown(sess, 65534, 65534)

    def as_nobody(env):
        # straight from this (unprofiled) process to the program: no helper runs under the preload
        p = run_to_files([prog, str(BYTES)], env=env, text=True,
                         timeout=60, user=65534, group=65534, extra_groups=[])
        return p.returncode, p.stdout, p.stderr

    try:
        want = as_nobody(c.clean_env)
        c.check(want[0] == 3 and "uid 65534 euid 0" in want[1],
                "the setuid program runs as root for nobody: %r" % (want,))
        env = dict(c.clean_env, LD_PRELOAD=lib, IPCPROF_DIR=sess, IPCPROF_REPORT="0")
        got = as_nobody(env)
        c.check(got[0] == want[0] and got[1] == want[1],
                "under LD_PRELOAD: same output and exit status: %r" % (got[:2],))
        c.check(os.listdir(sess) == [], "no records from a setuid program: %s" % os.listdir(sess))
        # The same binary without the setuid bit is profiled as usual (the check above is not vacuous).
        os.chmod(prog, 0o755)
        got = as_nobody(env)
        c.check(got[0] == 3 and len(os.listdir(sess)) == 2,
                "without the setuid bit, the same run is recorded: %s" % os.listdir(sess))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_modes(c):
    """Session folder 0700 and records 0600 whatever the umask; records opened O_EXCL|O_NOFOLLOW."""
    old = os.umask(0)
    try:
        folder, _ = c.session("s")
        rec = os.path.join(c.work, "r")
        p = subprocess.run([c.a.ipcprof, "record", "-q", "--no-probes", "-o", rec, "--",
                            c.a.prog, "1000"], capture_output=True, text=True, timeout=60)
    finally:
        os.umask(old)
    c.check(p.returncode == 3, "ipcprof record passes the exit status 3 on: %d" % p.returncode)
    for f in (folder, rec):
        mode = stat.S_IMODE(os.stat(f).st_mode)
        c.check(mode == 0o700, "%s is 0700 under umask 0: %o" % (os.path.basename(f), mode))
        for n in os.listdir(f):
            if n.endswith(".ipcrec"):
                m = stat.S_IMODE(os.stat(os.path.join(f, n)).st_mode)
                c.check(m == 0o600, "%s/%s is 0600: %o" % (os.path.basename(f), n, m))
    if shutil.which("strace"):
        log = os.path.join(c.work, "strace.log")
        env = c.preload_env(os.path.join(c.work, "t"))
        p = subprocess.run(["strace", "-f", "-e", "trace=open,openat,mkdir,mkdirat", "-o", log,
                            c.a.prog, "1000"], env=env, capture_output=True, text=True, timeout=60)
        if p.returncode != 3:
            print("note: strace cannot trace here; O_EXCL|O_NOFOLLOW not checked")
            return
        opens = [line for line in open(log) if ".ipcrec" in line and "O_CREAT" in line]
        c.check(len(opens) >= 2 and all("O_EXCL" in line and "O_NOFOLLOW" in line for line in opens),
                "records are created with O_EXCL|O_NOFOLLOW: %s" % [o.split("(", 1)[1][:120]
                                                                     for o in opens])


if __name__ == "__main__":
    sys.exit(harness.main(__doc__, globals(), Case, "ipcprof-hostile."))
