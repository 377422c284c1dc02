#!/usr/bin/python3
"""The report of a run recorded with the eBPF probes alone (ipcprof record --no-preload).

Usage: test_kernel_only.py IPCPROF SCHEMA PROGRAM [ARGS...]
PROGRAM is one of the probe tests' programs: it prints one JSON line per channel and process with
the calls, bytes, errors and EAGAINs it made ($IPCTEST_REPORT). The session folder then holds
kernel.ipckrn and no record, and `ipcprof report` must give one process per process of the
program, with the program's own figures exactly per fd kind and direction, on unpaired channels,
and say that they come from the probes alone. Exits 77 (skip) when the probes cannot load here.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

IPCPROF, SCHEMA = sys.argv[1:3]
PROGRAM = sys.argv[3:]
SKIP = 77
DIRS = ("out", "in")
FIELDS = ("calls", "bytes", "errors", "eagain")
failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what)
    return cond


def eq(got, want, what):
    return check(got == want, f"{what}: got {got!r}, want {want!r}")


def main(work):
    if os.geteuid() != 0:
        print("SKIP: the eBPF probes need root")
        sys.exit(SKIP)
    session = os.path.join(work, "session")
    lines_path = os.path.join(work, "program.jsonl")
    env = dict(os.environ, IPCTEST_REPORT=lines_path)
    rec = subprocess.run([IPCPROF, "record", "--no-preload", "--no-report", "-o", session, "--",
                          *PROGRAM], env=env, capture_output=True, text=True, timeout=90)
    if rec.returncode == 125 and ("eBPF probes off" in rec.stderr or
                                  "no eBPF probes" in rec.stderr):
        print("SKIP: the eBPF probes cannot load here:")
        print(rec.stderr.strip())
        sys.exit(SKIP)
    if not eq(rec.returncode, 0, f"ipcprof record --no-preload (stderr: {rec.stderr[-2000:]})"):
        return
    eq(sorted(os.listdir(session)), ["kernel.ipckrn"], "the session holds the probes' file alone")

    rep_run = subprocess.run([IPCPROF, "report", session], capture_output=True, text=True,
                             timeout=60)
    if not eq(rep_run.returncode, 0, f"ipcprof report (stderr: {rep_run.stderr[-2000:]})"):
        return
    summary = rep_run.stderr
    sys.stdout.write(summary)
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is missing: cannot validate the schema")
        sys.exit(SKIP)
    with open(SCHEMA) as f:
        jsonschema.validate(rep, json.load(f))
    check(True, "the report is valid against the schema")

    with open(lines_path) as f:
        chans = [json.loads(x) for x in f if x.strip()]
    chans = [c for c in chans if c["type"] == "chan"]
    want = {}
    for c in chans:
        for d in DIRS:
            for field in FIELDS:
                key = (c["pid"], c["kind"], d, field)
                want[key] = want.get(key, 0) + c[d][field]
    pids = sorted({c["pid"] for c in chans})
    kinds = sorted({c["kind"] for c in chans})
    check(len(pids) >= 2, f"the program reported two processes or more ({pids})")

    # Where the figures come from is said in every output.
    eq(rep.get("source"), "probes", "report source")
    eq(rep["kernel"], True, "kernel figures")
    check(rep["run"]["verdict"].startswith("eBPF probes alone: "),
          f"the verdict says the figures are the probes' alone: {rep['run']['verdict']!r}")
    check("eBPF probes alone" in summary, "the summary says so")
    first = rep["findings"][0] if rep["findings"] else {}
    check(first.get("kind") == "incomplete" and "no channel pairing" in first.get("title", "")
          and "no call sites" in first.get("title", ""),
          f"the first finding says what is missing: {first!r}")
    check(any("--no-preload" in s for s in rep["figures"]["not_measured"]),
          "figures.not_measured names what the probes alone cannot give")
    with open(os.path.join(session, "ipcprof-report.html")) as f:
        check("eBPF probes alone" in f.read(), "the HTML report holds the same words")

    # One process per process of the program: the launcher's own image before exec is left out.
    procs = rep["processes"]
    eq(sorted(p["pid"] for p in procs), pids, "one process per pid of the program")
    name = os.path.basename(PROGRAM[0])
    roots = [p for p in procs if p["parent"] is None]
    eq(len(roots), 1, "one root")
    for p in procs:
        who = f"PID {p['pid']}"
        eq(p.get("source"), "probes", f"{who}: source")
        eq(p.get("comm"), name[:15], f"{who}: comm")
        eq(p["exe"], PROGRAM[0], f"{who}: exe (the path exec'd)")
        eq(p["argv"], [p["exe"]], f"{who}: argv is the executable's path")
        eq((p["end"], p["exit_status"], p["signal"]), ("exit", 0, 0), f"{who}: exit status")
        eq(p["file"], os.path.join(session, "kernel.ipckrn"), f"{who}: file")
        check(not p["wall_lower_bound"] and p["wall_ns"] > 0, f"{who}: wall time from its end")
        check(p["time"]["cpu_ns"] > 0, f"{who}: CPU time from the scheduler")
        if p is roots[0]:
            eq((p["origin"], p["seq"], p["parent_pid"]), ("root", 1, 0), f"{who}: root, after exec")
        else:
            eq(p["origin"], "fork", f"{who}: origin")
            eq(procs[p["parent"]]["pid"], p["parent_pid"], f"{who}: parent link")
            eq(p["parent_pid"], roots[0]["pid"], f"{who}: forked by the root")

    # Per process, kind and direction: the program's own figures, exactly.
    chan_of = {}
    for ci, c in enumerate(rep["channels"]):
        eq((c["paired"], len(c["endpoints"])), (False, 1), f"channel {c['label']}: unpaired")
        e = c["endpoints"][0]
        pid = procs[e["process"]]["pid"]
        check((pid, c["kind"]) not in chan_of, f"one channel per process and kind ({pid}, {c['kind']})")
        chan_of[(pid, c["kind"])] = (c, e)
    for pid in pids:
        p = next(x for x in procs if x["pid"] == pid)
        sent = received = 0
        for kind in kinds:
            c, e = chan_of.get((pid, kind), (None, None))
            if not check(e is not None, f"PID {pid}: a {kind} channel"):
                continue
            for d in DIRS:
                for field in FIELDS:
                    eq(e[d][field], want.get((pid, kind, d, field), 0), f"PID {pid} {kind} {d} {field}")
            sent += e["out"]["bytes"]
            received += e["in"]["bytes"]
            print(f"PID {pid} {kind}: out {e['out']['calls']} calls {e['out']['bytes']} bytes, "
                  f"in {e['in']['calls']} calls {e['in']['bytes']} bytes")
        eq((p["bytes_sent"], p["bytes_received"]),
           (sum(want.get((pid, k, "out", "bytes"), 0) for k in kinds),
            sum(want.get((pid, k, "in", "bytes"), 0) for k in kinds)), f"PID {pid}: bytes sent, received")
        eq(p["kernel"]["ipc_bytes"], sent + received, f"PID {pid}: kernel bytes")
        eq(p["kernel"]["ipc_calls"],
           sum(want.get((pid, k, d, "calls"), 0) for k in kinds for d in DIRS), f"PID {pid}: kernel calls")
        t, k = p["time"], p["kernel"]
        eq(t["split"], "kernel", f"PID {pid}: the kernel's split")
        eq(t["ipc_ns"], k["ipc_oncpu_ns"] + k["ipc_offcpu_ns"], f"PID {pid}: IPC time is the kernel's")
        check(abs(t["ipc_transfer_ns"] - k["ipc_oncpu_ns"]) <= 1,
              f"PID {pid}: transfer is the kernel's on-CPU time ({t['ipc_transfer_ns']}, {k['ipc_oncpu_ns']})")
    eq(len(chan_of), len(pids) * len(kinds), "no channel of a kind the program did not use")
    for kind in kinds:
        b = next((x for x in rep["run"]["bytes_by_kind"] if x["kind"] == kind), None)
        if check(b is not None, f"bytes_by_kind has {kind}"):
            eq((b["sent"], b["received"]),
               (sum(want.get((pid, kind, "out", "bytes"), 0) for pid in pids),
                sum(want.get((pid, kind, "in", "bytes"), 0) for pid in pids)), f"{kind}: run totals")
    eq((rep["matrix"], rep["run"]["paired_channels"], rep["timeline"], rep["call_sites"]),
       ([], 0, [], []), "no matrix, pairing, timeline or call sites")


work = tempfile.mkdtemp(prefix="ipcprof-konly-")
try:
    main(work)
finally:
    shutil.rmtree(work, ignore_errors=True)
print(f"{passed} checks passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
