#!/usr/bin/python3
"""CI gates (--fail-if) on real sessions of the C copy and shared-memory demos: exit 3 when a gate
is crossed and 0 when it holds, at the exact boundary of the report's own figure and of the demo's
own byte count; the report still written; bad expressions refused with exit 2, nothing run or
lost."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402
from checks import check, eq, finish  # noqa: E402

IPCPROF, DEMO_COPY, DEMO_SHM, SCHEMA = sys.argv[1:5]


def record(tmp, name, demo, *opts, sample_hz="100"):
    """ipcprof record of a small demo run (its output in files: a pipe would be a channel)."""
    out = os.path.join(tmp, name)
    own = os.path.join(tmp, name + ".json")
    p = run_to_files([IPCPROF, "record", "-q", "--no-probes", "--sample-hz", sample_hz, "-o", out,
                      *opts, "--", demo, "-n", "500000", "-w", "2", "-r", "3", "-j", own],
                     text=True, timeout=120)
    with open(os.path.join(out, "ipcprof-report.json")) as f:
        rep = json.load(f)
    return p, out, rep


def demo_bytes(stdout):
    """The demo's own count of the payload bytes it moved through pipes, both ways."""
    kv = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line and " " not in line)
    return int(kv["bytes_sent"]) + int(kv["bytes_received"])


def report(session, *gates, out=None):
    args = [IPCPROF, "report", "-q"]
    for g in gates:
        args += ["--fail-if", g]
    if out:
        args += ["-o", out]
    return subprocess.run(args + [session], capture_output=True, text=True, timeout=120)


def crossed_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("ipcprof: gate crossed: ")]


with tempfile.TemporaryDirectory(prefix="ipcprof-gates-") as tmp:
    # The headline use: a job that sends the same array every round, and one that shares it.
    gates = ["finding repeated_payload", "bytes > 1M"]
    args = [a for g in gates for a in ("--fail-if", g)]
    p, copy, crep = record(tmp, "copy", DEMO_COPY, *args)
    eq(p.returncode, 3, "record --fail-if on the copy demo: exit 3 (" + p.stderr.strip() + ")")
    lines = crossed_lines(p.stderr)
    eq(len(lines), 2, f"both gates named on stderr: {lines}")
    check(any("'finding repeated_payload'" in line and "sent" in line for line in lines),
          f"the finding's title is the reason: {lines}")
    moved = demo_bytes(p.stdout)
    check(any(f"{moved} bytes" in line for line in lines),
          f"the bytes gate gives the count ({moved}): {lines}")
    eq(os.path.exists(os.path.join(copy, "ipcprof-report.html")), True,
       "the report is written when a gate is crossed")
    p, shm, srep = record(tmp, "shm", DEMO_SHM, *args)
    eq(p.returncode, 0, "record --fail-if on the shared-memory demo: exit 0 (" + p.stderr + ")")
    eq(crossed_lines(p.stderr), [], "no gate crossed on the shared-memory demo")
    shm_moved = demo_bytes(p.stdout)

    # bytes at the demo's own count: every byte through its pipes is the demo's payload.
    run = crep["run"]
    eq(sum(k["sent"] for k in run["bytes_by_kind"]), moved, "the report's bytes are the demo's")
    for sess, n in ((copy, moved), (shm, shm_moved)):
        eq(report(sess, f"bytes >= {n}").returncode, 3, f"bytes >= {n} on {sess}: crossed")
        eq(report(sess, f"bytes > {n}").returncode, 0, f"bytes > {n} on {sess}: held")
        eq(report(sess, f"bytes.pipe == {n}").returncode, 3, f"bytes.pipe == {n}: crossed")
        eq(report(sess, f"bytes.tcp > 0").returncode, 0, f"no tcp bytes on {sess}: held")
        eq(report(sess, f"bytes < {n}").returncode, 0, f"bytes < {n} on {sess}: held")
    k = moved / 1000
    eq(report(copy, f"bytes > {k - 0.0005}K").returncode, 3, "K is 1000: crossed half a byte below")
    eq(report(copy, f"bytes > {k + 0.0005}k").returncode, 0, "K is 1000: held half a byte above")
    eq(report(copy, f"bytes > {moved / 1048576}Mi").returncode, 0, "Mi is 1024 * 1024")

    # Shares, wall time and counts at the report's own figures (JSON numbers round-trip exactly).
    for sess, rep in ((copy, crep), (shm, srep)):
        shares = rep["run"]["worker_time"]["shares"]
        dm = shares["data_movement"]
        eq(dm, rep["run"]["data_movement_share"], "data_movement is the run's share")
        r = report(sess, f"data_movement >= {dm!r}")
        eq(r.returncode, 3, f"data_movement >= {dm!r} on {sess}: crossed")
        check(any(f"is {dm:.3f} ({100 * dm:.1f}%)" in line for line in crossed_lines(r.stderr)),
              f"the share given: {r.stderr}")
        eq(report(sess, f"data_movement > {dm!r}").returncode, 0, f"data_movement > {dm!r}: held")
        c = shares["compute"]
        eq(report(sess, f"compute <= {c!r}").returncode, 3, f"compute <= {c!r}: crossed")
        eq(report(sess, f"compute < {c!r}").returncode, 0, f"compute < {c!r}: held")
        wall = rep["run"]["wall_ns"] / 1e9
        eq(report(sess, f"wall >= {wall!r}").returncode, 3, f"wall >= {wall!r}: crossed")
        eq(report(sess, f"wall > {wall!r}").returncode, 0, f"wall > {wall!r}: held")
        # 1e-3 is inexact in binary: a limit in ms is a microsecond either side
        ms = rep["run"]["wall_ns"] / 1e6
        eq(report(sess, f"wall > {ms - 0.001!r}ms").returncode, 3, f"wall > {ms!r}ms - 1 us")
        eq(report(sess, f"wall > {ms + 0.001!r}ms").returncode, 0, f"wall > {ms!r}ms + 1 us")
        eq(report(sess, "workers != 2").returncode, 0, "two workers: workers != 2 held")
        eq(report(sess, "workers == 2", "processes > 99").returncode, 3, "workers == 2 crossed")
    eq(report(copy, "data_movement > 1", "data_movement >= 0%").returncode, 3,
       "a share >= 0% is always crossed; one held gate does not hide it")
    eq(report(shm, "finding any").returncode, 0 if not srep["findings"] else 3,
       f"finding any follows the findings: {[f['kind'] for f in srep['findings']]}")

    # A gate whose figure is null fails: the serialization share without CPU samples.
    p, nos, nrep = record(tmp, "nosample", DEMO_SHM, sample_hz="0")
    eq(nrep["run"]["worker_time"]["shares"]["serialization"], None, "no CPU samples: null")
    r = report(nos, "serialization > 0.9")
    eq(r.returncode, 3, "a gate on a null figure fails")
    check("no figure for serialization" in r.stderr, f"and says why: {r.stderr}")

    # The program's own failure wins over a gate; a gate held leaves the program's status.
    for status, gate, want in ((5, "wall >= 0", 5), (0, "wall >= 0", 3), (0, "wall < 0", 0)):
        p = run_to_files([IPCPROF, "record", "-q", "--no-probes", "-o",
                          os.path.join(tmp, f"sh{status}{want}"), "--fail-if", gate, "--",
                          "/bin/sh", "-c", f"exit {status}"], text=True, timeout=60)
        eq(p.returncode, want, f"program exit {status}, --fail-if '{gate}': exit {want}")

    # A gate that could not be checked is no gate held: the report refused (root only: the
    # program gives its session folder away), the program's 0 becomes 125.
    if os.geteuid() == 0:
        for gate, want in ((["--fail-if", "wall > 1000"], 125), ([], 0)):
            p = run_to_files([IPCPROF, "record", "-q", "--no-probes", "-o",
                              os.path.join(tmp, f"given{want}"), *gate, "--", "/bin/sh", "-c",
                              'chown 65534 "$IPCPROF_DIR"'], text=True, timeout=60)
            eq(p.returncode, want, f"the report refused, {gate}: exit {want} ({p.stderr})")

    # Bad expressions: exit 2, one line naming the gate, nothing run, the report left as it was.
    html = os.path.join(copy, "ipcprof-report.html")
    before = (os.stat(html).st_mtime_ns, open(html, "rb").read())
    bad = ["data_movment > 0.5", "data_movement > 50", "bytes > 5X", "wall", "finding nosuch",
           "bytes.pip > 0", "workers > 1.5", "wall > -1", "", "finding a b", "wall > 5 s s"]
    for expr in bad:
        r = report(copy, "wall > 0", expr)
        err = r.stderr.strip().splitlines()
        eq((r.returncode, len(err)), (2, 1), f"report --fail-if {expr!r} refused on one line")
        check(err and err[0].startswith(f"ipcprof: --fail-if '{expr}': ") and
              "try 'ipcprof report --help'" in err[0], f"the message names it: {err}")
        marker = os.path.join(tmp, "ran")
        r = run_to_files([IPCPROF, "record", "-q", "-o", os.path.join(tmp, "never"),
                          "--fail-if", expr, "--", "/bin/touch", marker], text=True, timeout=60)
        eq(r.returncode, 2, f"record --fail-if {expr!r}: exit 2")
        check(not os.path.exists(marker) and not os.path.exists(os.path.join(tmp, "never")),
              f"record --fail-if {expr!r}: nothing ran, no session folder")
    eq((os.stat(html).st_mtime_ns, open(html, "rb").read()), before, "the report is untouched")
    r = run_to_files([IPCPROF, "record", "--no-report", "--fail-if", "wall > 1", "--",
                      "/bin/true"], text=True, timeout=60)
    eq(r.returncode, 2, "--fail-if with --no-report is refused: " + r.stderr)

    # The finding kinds a gate accepts are the schema's.
    with open(SCHEMA) as f:
        schema = json.load(f)
    kinds = schema["properties"]["findings"]["items"]["properties"]["kind"]["enum"]
    r = report(copy, "finding nosuch")
    listed = r.stderr.split("kinds: any, ", 1)[-1].split(" (try")[0].split(", ")
    eq(listed, kinds, "--fail-if 'finding KIND' knows the schema's kinds")

finish()
