#!/usr/bin/python3
"""The ipcprof command's own conduct under conditions a careful user meets: Ctrl-C and kill passed
on once, report files never written through a planted link, io_uring traffic said to be unseen,
processes of two pid namespaces kept apart, terminal output escaped, and clear messages."""
import os
import pty
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import harness


class Case(harness.Case):
    def record(self, folder, argv, *opts, timeout=120):
        p = subprocess.run([self.a.ipcprof, "record", "--no-probes", "-o", folder] + list(opts)
                           + ["--"] + argv, env=self.clean_env, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr


def read_until(fd, want, timeout):
    """What the terminal showed, up to `want` or the timeout."""
    out = b""
    end = time.monotonic() + timeout
    while want not in out and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def case_ctrl_c(c):
    """A terminal's Ctrl-C, a kill of ipcprof's pid, and the program's own kill(0): each arrives once."""
    # Ctrl-C typed on a terminal: the kernel signals the whole foreground process group.
    folder = os.path.join(c.work, "tty")
    pid, master = pty.fork()
    if pid == 0:
        os.execve(c.a.ipcprof, [c.a.ipcprof, "record", "-q", "--no-probes", "--no-report",
                                "-o", folder, "--", c.a.sig_counter], c.clean_env)
    out = read_until(master, b"ready", 30)
    time.sleep(0.2)
    os.write(master, b"\x03")
    out += read_until(master, b"SIGTERM", 30)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    text = out.decode(errors="replace")
    c.check("SIGINT 1 SIGTERM 0" in text,
            "Ctrl-C on the terminal reaches the program once: %r" % text.strip()[-120:])
    c.check(os.waitstatus_to_exitcode(status) == 0, "and ipcprof passes its exit status 0 on")

    # kill(ipcprof's pid, SIGTERM) from another process reaches ipcprof alone: passed on, once.
    p = subprocess.Popen([c.a.ipcprof, "record", "-q", "--no-probes", "--no-report", "-o",
                          os.path.join(c.work, "term"), "--", c.a.sig_counter],
                         env=c.clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    c.check(p.stdout.readline() == b"ready\n", "the program runs")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    c.check(out.decode().strip() == "SIGINT 0 SIGTERM 1" and p.returncode == 0,
            "SIGTERM to ipcprof's pid is passed on once: %r, exit %d" % (out, p.returncode))

    # The program's kill(0, SIGINT) reaches itself and ipcprof: not passed back a second time.
    p = subprocess.run([c.a.ipcprof, "record", "-q", "--no-probes", "--no-report", "-o",
                        os.path.join(c.work, "self"), "--", c.a.sig_counter, "self"],
                       env=c.clean_env, capture_output=True, text=True, timeout=60,
                       start_new_session=True)
    c.check("SIGINT 1 SIGTERM 0" in p.stdout and p.returncode == 0,
            "the program's kill(0, SIGINT) arrives once: %r, exit %d" % (p.stdout, p.returncode))


def case_foreign_folder(c):
    """Root reporting another user's session that holds planted links: nothing written through them."""
    if os.geteuid() != 0:
        print("SKIP: needs root to report a folder of another user")
        sys.exit(77)
    folder = os.path.join(c.work, "s")
    rc, _, err = c.record(folder, [c.a.prog, "5000"], "--no-report")
    c.check(rc == 3, "a session recorded (exit %d): %s" % (rc, err.strip()[-200:]))
    victim = os.path.join(c.work, "root-file")
    with open(victim, "w") as f:
        f.write("root's data\n")
    os.chmod(victim, 0o600)
    names = ["ipcprof-report.json", "ipcprof-report.html", "ipcprof-trace.json",
             "ipcprof-folded.txt"]
    for n in names:
        os.symlink(victim, os.path.join(folder, n + ".tmp"))
    os.symlink(victim, os.path.join(folder, "ipcprof-report.html"))
    os.chown(folder, 65534, 65534)  # the session now belongs to nobody, who planted the links
    for n in os.listdir(folder):
        os.lchown(os.path.join(folder, n), 65534, 65534)
    p = subprocess.run([c.a.ipcprof, "report", "-q", "-f", "perfetto,folded", folder],
                       capture_output=True, text=True, timeout=60)
    c.check(p.returncode == 2 and "belongs to another user" in p.stderr and "-o" in p.stderr,
            "a foreign folder is refused with a message saying why and what to do: %d %r"
            % (p.returncode, p.stderr.strip()))
    c.check(open(victim).read() == "root's data\n", "the linked file is unchanged")
    # Named with -o, the folder is written into, and still never through a link.
    p = subprocess.run([c.a.ipcprof, "report", "-q", "-f", "perfetto,folded", "-o", folder,
                        folder], capture_output=True, text=True, timeout=60)
    c.check(p.returncode == 0, "with -o the report is written: %d %r" % (p.returncode,
                                                                          p.stderr.strip()))
    c.check(open(victim).read() == "root's data\n", "the linked file is still unchanged")
    for n in names:
        path = os.path.join(folder, n)
        st = os.lstat(path)
        c.check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
                "%s is a new regular file, mode 0600: %o" % (n, st.st_mode))
    left = sorted(n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp"))
    c.check(left == [], "no temporary file left behind: %s" % left)
    # The report of one's own session is written there as before, 0600 under any umask.
    own = os.path.join(c.work, "own")
    old = os.umask(0)
    try:
        rc, _, err = c.record(own, [c.a.prog, "5000"], "-q")
    finally:
        os.umask(old)
    modes = {n: stat.S_IMODE(os.stat(os.path.join(own, n)).st_mode)
             for n in os.listdir(own) if n.startswith("ipcprof-")}
    c.check(rc == 3 and sorted(modes) == ["ipcprof-report.html", "ipcprof-report.json"]
            and set(modes.values()) == {0o600}, "own session: report files 0600: %s" % modes)


def case_io_uring(c):
    """A writer through io_uring: the report says its traffic is not counted, and claims no idle run."""
    folder = os.path.join(c.work, "pipe")
    rc, out, err = c.record(folder, [c.a.uring_writer, "10000000"], "-q")
    c.check(rc == 0 and "child read 10000000" in out, "the io_uring writer runs: %d %r" % (rc, out))
    d = c.report_json(folder)
    procs = sorted(d["processes"], key=lambda p: p["index"])
    writer = [p for p in procs if p["io_uring"]["rings"] > 0]
    c.check(len(writer) == 1 and writer[0]["role"] == "main"
            and writer[0]["io_uring"] == {"rings": 1, "bytes_known": False},
            "the writer is said to use io_uring: %s" % [(p["role"], p["io_uring"]) for p in procs])
    c.check([p["bytes_received"] for p in procs if p["role"] != "main"] == [10000000],
            "the child's reads are counted: %s" % [p["bytes_received"] for p in procs])
    kinds = [f["kind"] for f in d["findings"]]
    c.check(kinds[:1] == ["io_uring"] and "not counted" in d["findings"][0]["title"],
            "the first finding says so: %s" % d["findings"][:1])
    c.check("io_uring" in d["run"]["verdict"],
            "the verdict names it: %r" % d["run"].get("verdict"))
    # Alone, to its stdout: nothing else moves, and the headline must not say nothing moved.
    folder = os.path.join(c.work, "stdout")
    p = subprocess.run([c.a.ipcprof, "record", "--no-probes", "-o", folder, "--", c.a.uring_writer,
                        "stdout", "10000000"], env=c.clean_env, capture_output=True,
                       timeout=120)
    headline = p.stderr.decode(errors="replace").splitlines()[:1]
    c.check(p.returncode == 0 and len(p.stdout) == 10000000,
            "10 MB written through io_uring: %d, %d B" % (p.returncode, len(p.stdout)))
    c.check(headline and "No time was spent moving data" not in headline[0]
            and "io_uring" in headline[0], "the headline does not claim an idle run: %s" % headline)
    d = c.report_json(folder)
    c.check([f["kind"] for f in d["findings"]][:1] == ["io_uring"],
            "the finding is there too: %s" % [f["title"] for f in d["findings"]])


CASES = {
    "ctrl_c": case_ctrl_c,
    "foreign_folder": case_foreign_folder,
    "io_uring": case_io_uring,
}


if __name__ == "__main__":
    sys.exit(harness.main(__doc__, CASES, Case, "ipcprof-cli.", ["sig-counter", "uring-writer"]))
