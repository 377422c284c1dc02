#!/usr/bin/python3
"""The ipcprof command's own conduct under conditions a careful user meets: Ctrl-C and kill passed
on once, report files never written through a planted link, io_uring traffic said to be unseen,
processes of two pid namespaces kept apart, terminal output escaped, and clear messages."""
import json
import os
import pty
import select
import shutil
import signal
import stat
import subprocess
import sys
import time

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402


class Case(harness.Case):
    def record(self, folder, argv, *opts, timeout=120):
        p = run_to_files([self.a.ipcprof, "record", "--no-probes", "-o", folder] + list(opts)
                         + ["--"] + argv, env=self.clean_env, text=True, timeout=timeout)
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


# A name a terminal would obey or reorder: an override that shows the rest reversed, an escape
# sequence, a title-setting one, and markup for the HTML report.
HOSTILE_NAME = "e\u202egnp.exe\x1b]0;t\x07<img src=x>\x1b[31m"


def shown_raw(text):
    """The characters of HOSTILE_NAME a terminal would act on, found raw in text."""
    return [ch for ch in ("\u202e", "\x1b", "\x07") if ch in text]


def case_terminal_escapes(c):
    """Bidi controls and escape sequences in a program's name, path and folder: escaped on the
    terminal (summary and messages), exact in the JSON, inert in the HTML."""
    d = os.path.join(c.work, "d\u202e\x1b[2J")
    os.mkdir(d)
    prog = os.path.join(d, HOSTILE_NAME)
    os.symlink(c.a.prog, prog)
    folder = os.path.join(d, "s\u202e\x1b[1m")
    # run from its folder, so that the whole command fits the summary's column wherever TMPDIR is
    p = run_to_files([c.a.ipcprof, "record", "--no-probes", "-o", folder, "--",
                      "./" + HOSTILE_NAME, "5000"], env=c.clean_env, cwd=d, timeout=120)
    err = p.stderr.decode()
    c.check(p.returncode == 3, "the program runs (exit %d)" % p.returncode)
    c.check(not shown_raw(err), "no control character reaches the terminal: %s in %r"
            % (shown_raw(err), err[-600:]))
    c.check(err.count("./e\\u202egnp.exe\\x1b]0;t\\x07<img src=x>\\x1b[31m 5000") == 2,
            "they are shown escaped in the summary: %r" % [x for x in err.splitlines()
                                                           if "gnp" in x][:1])
    c.check("ipcprof: report: %s/ipcprof-report.html" % folder.replace("\u202e", "\\u202e")
            .replace("\x1b", "\\x1b") in err, "and in the line naming the report")
    with open(os.path.join(folder, "ipcprof-report.json"), encoding="utf-8") as f:
        text = f.read()
    j = json.loads(text)
    argv0 = sorted({q["argv"][0] for q in j["processes"]})
    c.check(argv0 == ["./" + HOSTILE_NAME], "the JSON keeps the name exactly: %r" % argv0)
    c.check("\x1b" not in text and "\x07" not in text,
            "the JSON escapes the control characters (\\u001b)")
    with open(os.path.join(folder, "ipcprof-report.html"), encoding="utf-8") as f:
        html = f.read()
    c.check("<img" not in html and "\x1b" not in html,
            "the HTML holds no markup of the program's and no escape")
    start = html.index('id="ipcprof-data"')
    data = html[html.index(">", start) + 1:html.index("</script>", start)]
    c.check(json.loads(data) == j, "the HTML's data is the JSON report itself")
    # The preload's own messages, and a damaged record's name in the reporter's.
    bad = os.path.join(d, "file\u202e\x1b[5m")
    with open(bad, "w") as f:
        f.write("not a folder\n")
    env = dict(c.clean_env, LD_PRELOAD=c.a.preload, IPCPROF_DIR=bad, IPCPROF_REPORT="0")
    q = run_to_files([c.a.prog, "100"], env=env)
    msg = q.stderr.decode()
    c.check(q.returncode == 3 and "not profiling" in msg and not shown_raw(msg)
            and "file\\u202e\\x1b[5m" in msg, "the preload's message is escaped: %r" % msg)
    # The root's last line, when it has no command to report with.
    env = dict(c.clean_env, LD_PRELOAD=c.a.preload, IPCPROF_DIR=os.path.join(d, "t\u202e"),
               IPCPROF_COMMAND="/nonexistent", IPCPROF_VERBOSE="1")
    q = run_to_files([c.a.prog, "100"], env=env)
    msg = q.stderr.decode()
    c.check(q.returncode == 3 and "records are in" in msg and "recording into" in msg
            and not shown_raw(msg) and msg.count("t\\u202e") >= 3,
            "the preload's other lines are escaped: %r" % msg)
    with open(os.path.join(folder, "9\x1b[2J\u202e.0.ipcrec"), "wb") as f:
        f.write(b"#!/bin/sh\n")
    q = subprocess.run([c.a.ipcprof, "report", "-q", folder], capture_output=True, timeout=60)
    msg = q.stderr.decode()
    c.check(q.returncode == 1 and "9\\x1b[2J\\u202e.0.ipcrec" in msg and not shown_raw(msg),
            "a damaged record's name is escaped: %r" % msg)


def case_long_dir(c):
    """IPCPROF_DIR too long for the records' names, and a long one that cannot be made: one whole
    message each, saying what is wrong, the limit, and that the program runs unprofiled."""
    env = dict(c.clean_env, LD_PRELOAD=c.a.preload, IPCPROF_REPORT="0")
    too_long = os.path.join(c.work, *["a" * 200] * 22)
    q = run_to_files([c.a.prog, "100"], env=dict(env, IPCPROF_DIR=too_long))
    msg = q.stderr.decode()
    lines = msg.splitlines()
    c.check(q.returncode == 3 and len(lines) == 1, "the program runs, one line said: %r" % msg)
    limit = os.pathconf("/", "PC_PATH_MAX") - 65
    c.check(lines[:1] and "%d bytes long" % len(too_long) in lines[0]
            and "the %d" % limit in lines[0] and lines[0].endswith("; not profiling")
            and len(lines[0]) < 1000,
            "it says how long, the limit and what ipcprof does: %r" % lines[:1])
    # Short enough, but under a file: the reason (at the end of a long line) is kept.
    afile = os.path.join(c.work, "afile")
    open(afile, "w").close()
    under = os.path.join(afile, *["b" * 200] * 18)
    q = run_to_files([c.a.prog, "100"], env=dict(env, IPCPROF_DIR=under))
    lines = q.stderr.decode().splitlines()
    c.check(q.returncode == 3 and len(lines) == 1 and lines[0].endswith(
        ": Not a directory; not profiling") and "cannot create the session folder" in lines[0],
        "a long path's message keeps its reason: %r" % lines[-1:])


def case_killed_at_start(c):
    """Processes killed while making their record: said to be so, not called foreign files; a
    foreign file still is."""
    if not shutil.which("strace"):
        print("SKIP: strace (Debian package strace) kills the process at a chosen system call")
        sys.exit(77)
    t = subprocess.run(["strace", "-o", "/dev/null", "true"], capture_output=True, text=True)
    if t.returncode != 0:
        print("SKIP: strace cannot trace here: %s" % t.stderr.strip()[-200:])
        sys.exit(77)
    # The subshell forks (record 0) then execs the program (record 1): its second fallocate or
    # ftruncate is in the exec'd image's record_create, before anything is written.
    for call, state in (("fallocate", "the file is empty"),
                        ("ftruncate", "the file holds no header yet")):
        folder = os.path.join(c.work, call)
        env = dict(c.clean_env, IPCPROF_DIR=folder, IPCPROF_REPORT="0")
        q = run_to_files(["strace", "-f", "-o", "/dev/null", "-E", "LD_PRELOAD=" + c.a.preload,
                          "-e", "trace=" + call, "-e",
                          "inject=%s:signal=SIGKILL:when=2" % call,
                          "/bin/sh", "-c", "(%s 1000); echo $?" % c.a.prog], env=env, text=True,
                         timeout=60)
        c.check(q.stdout == "137\n", "%s: the program was killed there: %r" % (call, q.stdout))
        with open(os.path.join(folder, "77.0.ipcrec"), "w") as f:
            f.write("#!/bin/sh\necho a foreign file\n")
        r = subprocess.run([c.a.ipcprof, "report", "-q", folder], capture_output=True,
                           text=True, timeout=60)
        lines = r.stderr.splitlines()
        killed = [x for x in lines if "killed" in x]
        c.check(r.returncode == 1 and len(killed) == 1 and "before its record was written" in
                killed[0] and state in killed[0] and "not an ipcprof record" not in killed[0],
                "%s: said killed while starting: %s" % (call, lines))
        pid = killed[0].split("process ")[1].split(" ")[0] if killed else "?"
        c.check(killed and os.path.basename(killed[0].split(": ")[1].split(" ")[-1]).startswith(pid + ".1."),
                "%s: the process named is the record's" % call)
        foreign = [x for x in lines if "77.0.ipcrec" in x]
        c.check(len(foreign) == 1 and "not an ipcprof record" in foreign[0],
                "%s: the foreign file is still called so: %s" % (call, foreign))


def case_pid_namespaces(c):
    """Two pid namespaces in one session, both with pids 1 to 5: each process its own, with its
    own end."""
    if os.geteuid() != 0:
        print("SKIP: unshare --pid needs root")
        sys.exit(77)
    t = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True, text=True)
    if t.returncode != 0:
        print("SKIP: unshare --pid --fork fails here: %s" % t.stderr.strip())
        sys.exit(77)
    # In each namespace: pid 1 the shell, 2 and 4 the program, 3 and 5 their children; in the
    # second, pid 4 is a shell that SIGKILLs itself and 5, 6 the program and its child.
    a = "%s 1000; %s 2000; exit 7" % (c.a.prog, c.a.prog)
    b = "%s 3000; /bin/sh -c 'kill -KILL $$'; %s 4000; exit 9" % (c.a.prog, c.a.prog)
    script = ("unshare --pid --fork /bin/sh -c \"%s\" & unshare --pid --fork /bin/sh -c \"%s\" & "
              "wait" % (a, b.replace("$$", "\\$\\$")))
    folder = os.path.join(c.work, "ns")
    rc, out, err = c.record(folder, ["/bin/sh", "-c", script], "-q")
    c.check(rc == 0, "the session runs: %d %r" % (rc, err[-300:]))
    d = c.report_json(folder)
    root_ns = [p["pidns"] for p in d["processes"] if p["role"] == "main"]
    spaces = {}
    for p in d["processes"]:
        if p["pidns"] not in root_ns and p["end"] != "exec":
            spaces.setdefault(p["pidns"], {})[p["pid"]] = (
                p["end"], p["exit_status"] if p["end"] == "exit" else p["signal"],
                p["bytes_sent"], p["bytes_received"])
    want_a = {1: ("exit", 7, 0, 0), 2: ("exit", 3, 1000, 0), 3: ("exit", 0, 0, 1000),
              4: ("exit", 3, 2000, 0), 5: ("exit", 0, 0, 2000)}
    want_b = {1: ("exit", 9, 0, 0), 2: ("exit", 3, 3000, 0), 3: ("exit", 0, 0, 3000),
              4: ("signal", 9, 0, 0), 5: ("exit", 3, 4000, 0), 6: ("exit", 0, 0, 4000)}
    got = sorted(spaces.values(), key=lambda s: s.get(1, ("", 0))[1])
    c.check(len(spaces) == 2, "two namespaces besides the session's: %d" % len(spaces))
    c.check(got[:1] == [want_a], "the first namespace's processes and ends: %s" % got[:1])
    c.check(got[1:2] == [want_b], "the second namespace's processes and ends: %s" % got[1:2])
    # Each process's parent is of its own namespace (or, for pid 1, unshare in the session's).
    procs = d["processes"]
    strays = [(p["pid"], p["pidns"]) for p in procs if p["pidns"] not in root_ns
              and p["parent"] is not None and procs[p["parent"]]["pidns"] not in
              (p["pidns"], *root_ns)]
    c.check(not strays, "every parent is of the child's namespace: %s" % strays)


def case_run_name(c):
    """A program run through a link of another name (as Debian's redis-server, a link to
    redis-check-rdb) is named by the link; its executable's file is kept beside."""
    bin_ = os.path.join(c.work, "bin")
    os.mkdir(bin_)
    link = os.path.join(bin_, "runname")
    os.symlink(c.a.prog, link)
    for how, argv in (("run directly", [link, "1000"]),
                      ("run by a shell", ["/bin/sh", "-c", "bin/runname 1000"])):
        folder = os.path.join(c.work, how.replace(" ", "_"))
        p = run_to_files([c.a.ipcprof, "record", "--no-probes", "-o", folder, "--"] + argv,
                         env=c.clean_env, cwd=c.work, text=True, timeout=120)
        c.check(p.returncode == 3, "%s: the program runs: %d" % (how, p.returncode))
        d = c.report_json(folder)
        progs = [q for q in d["processes"] if q["exe"] == os.path.realpath(c.a.prog)]
        c.check(len(progs) == 2 and all(q.get("name") == "runname" for q in progs),
                "%s: its processes are named runname: %s" % (how, [(q.get("name"), q["exe"])
                                                                    for q in progs]))
        roles = sorted(q["role"] for q in progs)
        want = ["forked child", "main"] if how == "run directly" else ["exec runname",
                                                                        "forked child"]
        c.check(roles == want, "%s: roles %s" % (how, roles))
        c.check("runname 1000" in p.stderr and "hostile_prog" not in p.stderr,
                "%s: the summary shows the name it was run as" % how)


if __name__ == "__main__":
    sys.exit(harness.main(__doc__, globals(), Case, "ipcprof-cli."))
