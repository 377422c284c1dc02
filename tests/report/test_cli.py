#!/usr/bin/python3
"""The command line's conventions, for every command `ipcprof --help` lists: one message prefix, one
bad-option behaviour (one line, where help is, exit 2), --help and -V/--version; every exit status
a --help states, produced for real; record -f/--format passed to the report."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402
from checks import check, eq, finish  # noqa: E402

IPCPROF = sys.argv[1]


def run(*args, files=False):
    if files:  # a profiled program's stdout through a pipe would be one of its channels
        return run_to_files([IPCPROF, *args], text=True, timeout=120)
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, timeout=120)


def usage_error(p, cmd, what):
    """Exit 2 and one line: the prefix, what is wrong, where help is."""
    lines = p.stderr.strip().splitlines()
    where = f"try 'ipcprof{' ' + cmd if cmd else ''} --help'"
    eq(p.returncode, 2, f"{what}: exit status")
    check(len(lines) == 1 and lines[0].startswith("ipcprof: ") and where in lines[0],
          f"{what}: one line 'ipcprof: ... ({where})': {lines}")


def all_prefixed(p, what):
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    check(lines and all(line.startswith("ipcprof: ") for line in lines),
          f"{what}: every message starts 'ipcprof: ': {lines}")


top = run("--help")
eq(top.returncode, 0, "ipcprof --help")
block = top.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
commands = [line.split()[0] for line in block.splitlines() if line.startswith("  ")]
check({"record", "report"} <= set(commands), f"--help lists the commands: {commands}")
version = run("--version")
eq((version.returncode, bool(re.fullmatch(r"ipcprof \d+\.\d+\.\d+\n", version.stdout))), (0, True),
   f"ipcprof --version: {version.stdout!r}")
eq(run("-V").stdout, version.stdout, "ipcprof -V")
usage_error(run(), None, "ipcprof alone")
usage_error(run("--no-such-option"), None, "ipcprof --no-such-option")
usage_error(run("no-such-command"), None, "ipcprof no-such-command")

for cmd in commands:
    h = run(cmd, "--help")
    eq((h.returncode, h.stdout.startswith(f"Usage: ipcprof {cmd} "), h.stderr), (0, True, ""),
       f"ipcprof {cmd} --help: on stdout, exit 0")
    for v in ("-V", "--version"):
        p = run(cmd, v)
        eq((p.returncode, p.stdout), (0, version.stdout), f"ipcprof {cmd} {v}")
    usage_error(run(cmd, "--no-such-option"), cmd, f"ipcprof {cmd} --no-such-option")
    usage_error(run(cmd, "-Z"), cmd, f"ipcprof {cmd} -Z")
    usage_error(run(cmd, "--output"), cmd, f"ipcprof {cmd} --output (no argument)")
    usage_error(run(cmd), cmd, f"ipcprof {cmd} with nothing to do")


def stated_codes(help_text, start):
    """The exit statuses a --help's paragraph that begins with start states ("126 when")."""
    para = help_text[help_text.index(start):].split("\n\n", 1)[0]
    codes = {int(n) for n in re.findall(r"\b(\d+) (?:when|if)\b", para)}
    return codes | ({"128+N"} if "128+N" in para else set())


with tempfile.TemporaryDirectory(prefix="ipcprof-cli-") as tmp:
    def session(name):
        return os.path.join(tmp, name)

    # record: every status its --help states.
    rec_codes = stated_codes(run("record", "--help").stdout, "The exit status is")
    seen = set()
    p = run("record", "-q", "--no-probes", "-o", session("ok"), "--", "/bin/sh", "-c", "exit 7",
            files=True)
    eq(p.returncode, 7, "record: PROGRAM's status")
    p = run("record", "-q", "--no-probes", "-o", session("sig"), "--", "/bin/sh", "-c",
            "kill -TERM $$", files=True)
    eq(p.returncode, 128 + 15, "record: 128+N when signal N ended PROGRAM")
    seen.add("128+N")
    p = run("record", "-q", "--no-probes", "-o", session("gate"), "--fail-if", "wall >= 0", "--",
            "/bin/true", files=True)
    eq(p.returncode, 3, "record: 3 when a gate was crossed")
    seen.add(3)
    noexec = os.path.join(tmp, "not-executable")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\n")
    p = run("record", "-q", "--no-probes", "-o", session("noexec"), "--", noexec, files=True)
    eq(p.returncode, 126, "record: 126 when PROGRAM was found but could not be run")
    all_prefixed(p, "record of a file that cannot run")
    seen.add(126)
    p = run("record", "-q", "--no-probes", "-o", session("missing"), "--",
            os.path.join(tmp, "no-such-program"), files=True)
    eq(p.returncode, 127, "record: 127 when PROGRAM was not found")
    all_prefixed(p, "record of a missing program")
    seen.add(127)
    p = run("record", "-q", "--no-probes", "-o", session("ok"), "--", "/bin/true", files=True)
    eq(p.returncode, 125, "record: 125 when ipcprof failed (the folder holds a session)")
    all_prefixed(p, "record into a used folder")
    seen.add(125)
    usage_error(run("record", "--probes", "sometimes", "--", "/bin/true"), "record",
                "record --probes sometimes")
    usage_error(run("record", "--probes", "sched", "--no-preload", "--", "/bin/true"), "record",
                "record --probes sched --no-preload")
    seen.add(2)
    eq(seen, rec_codes, "record --help states the statuses it has")

    # report: every status its --help states.
    rep_codes = stated_codes(run("report", "--help").stdout, "Exit status:")
    seen = set()
    eq(run("report", "-q", session("ok")).returncode, 0, "report: 0 when every record was read")
    seen.add(0)
    damaged = session("damaged")
    shutil.copytree(session("ok"), damaged)
    records = sorted(f for f in os.listdir(damaged) if f.endswith(".ipcrec"))
    extra = os.path.join(damaged, "99999.0.ipcrec")
    shutil.copy(os.path.join(damaged, records[0]), extra)
    with open(extra, "r+b") as f:
        f.truncate(64)
    p = run("report", "-q", damaged)
    eq(p.returncode, 1, "report: 1 when a record was damaged")
    all_prefixed(p, "report of a damaged record")
    seen.add(1)
    os.mkdir(session("empty"))
    p = run("report", session("empty"))
    eq(p.returncode, 2, "report: 2 when no report could be written")
    all_prefixed(p, "report of an empty folder")
    usage_error(run("report", "--format", "pdf", session("ok")), "report", "report --format pdf")
    seen.add(2)
    eq(run("report", "-q", "--fail-if", "finding any", "--fail-if", "wall >= 0",
           session("ok")).returncode, 3, "report: 3 when a gate was crossed")
    seen.add(3)
    eq(seen, rep_codes, "report --help states the statuses it has")

    # Options after the folders count as options (GNU order), as in `ipcprof report DIR -f folded`.
    out = session("after")
    p = run("report", session("ok"), "-q", "-f", "folded", "-o", out)
    eq(p.returncode, 0, f"report DIR -q -f folded -o OUT: {p.stderr}")
    check(all(os.path.exists(os.path.join(out, n))
              for n in ("ipcprof-folded.txt", "ipcprof-report.json")),
          "report DIR -q -f folded -o OUT: the files are in OUT")
    first = run("report", "-q", "-f", "folded", "-o", session("before"), session("ok"))
    eq(p.stderr.replace(out, "OUT"), first.stderr.replace(session("before"), "OUT"),
       "report DIR -q -f folded -o OUT says what report -q -f folded -o OUT DIR says")

    # record -f/--format: the formats reach the report; a wrong one costs no run.
    for fmt, files in (("perfetto", ["ipcprof-trace.json"]), ("folded", ["ipcprof-folded.txt"]),
                       ("perfetto,folded", ["ipcprof-trace.json", "ipcprof-folded.txt"])):
        out = session("f-" + fmt)
        # 0.2 s of CPU or more: about 20 samples, where the interpreter's start alone (15 ms)
        # may end before the sampler's first 10 ms period does, and leave no stack to fold.
        p = run("record", "-q", "--no-probes", "-o", out, "--format", fmt, "--",
                "/usr/bin/python3", "-c",
                "import os; r, w = os.pipe(); os.write(w, b'x' * 10); sum(range(8_000_000))",
                files=True)
        eq(p.returncode, 0, f"record --format {fmt}: {p.stderr}")
        for name in files:
            check(os.path.getsize(os.path.join(out, name)) > 0, f"record --format {fmt}: {name}")
        absent = {"ipcprof-trace.json", "ipcprof-folded.txt"} - set(files)
        check(not any(os.path.exists(os.path.join(out, n)) for n in absent),
              f"record --format {fmt}: only those")
    marker = os.path.join(tmp, "ran")
    p = run("record", "-f", "pdf", "-o", session("never"), "--", "/bin/touch", marker)
    usage_error(p, "record", "record -f pdf")
    check(not os.path.exists(marker) and not os.path.exists(session("never")),
          "record -f pdf: nothing ran, no folder made")

finish()
