#!/usr/bin/python3
"""The report of a run recorded with the eBPF probes alone (ipcprof record --no-preload).

Usage: test_kernel_only.py IPCPROF SCHEMA PROGRAM [ARGS...]
PROGRAM is one of the probe tests' programs: it prints one JSON line per channel and process with
the calls, bytes, errors and EAGAINs it made ($IPCTEST_REPORT). The session folder then holds
kernel.ipckrn and no record, and `ipcprof report` must give one process per process of the
program, with the program's own figures exactly per fd kind and direction, on unpaired channels,
and say that they come from the probes alone. Exits 77 (skip) when the probes cannot load here.

Usage: test_kernel_only.py --synthetic IPCPROF SCHEMA REPORT_SYNTH
writes a kernel.ipckrn by hand (no probes needed): exec chains, a fork, exits by status and by
signal, a process still running, every figure known; and checks that records, alone or next to
a kernel.ipckrn, are reported as before, and beside a folder of the probes alone as "mixed".
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, eq, finish  # noqa: E402

SYNTHETIC = sys.argv[1] == "--synthetic"
if SYNTHETIC:
    IPCPROF, SCHEMA, REPORT_SYNTH = sys.argv[2:5]
else:
    IPCPROF, SCHEMA = sys.argv[1:3]
    PROGRAM = sys.argv[3:]
SKIP = 77
DIRS = ("out", "in")
FIELDS = ("calls", "bytes", "errors", "eagain")


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
        check((pid, c["kind"]) not in chan_of,
              f"one channel per process and kind ({pid}, {c['kind']})")
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
                    eq(e[d][field], want.get((pid, kind, d, field), 0),
                       f"PID {pid} {kind} {d} {field}")
            sent += e["out"]["bytes"]
            received += e["in"]["bytes"]
            print(f"PID {pid} {kind}: out {e['out']['calls']} calls {e['out']['bytes']} bytes, "
                  f"in {e['in']['calls']} calls {e['in']['bytes']} bytes")
        eq((p["bytes_sent"], p["bytes_received"]),
           (sum(want.get((pid, k, "out", "bytes"), 0) for k in kinds),
            sum(want.get((pid, k, "in", "bytes"), 0) for k in kinds)),
           f"PID {pid}: bytes sent, received")
        eq(p["kernel"]["ipc_bytes"], sent + received, f"PID {pid}: kernel bytes")
        eq(p["kernel"]["ipc_calls"],
           sum(want.get((pid, k, d, "calls"), 0) for k in kinds for d in DIRS),
           f"PID {pid}: kernel calls")
        t, k = p["time"], p["kernel"]
        eq(t["split"], "kernel", f"PID {pid}: the kernel's split")
        eq(t["ipc_ns"], k["ipc_oncpu_ns"] + k["ipc_offcpu_ns"],
           f"PID {pid}: IPC time is the kernel's")
        check(abs(t["ipc_transfer_ns"] - k["ipc_oncpu_ns"]) <= 1,
              f"PID {pid}: transfer is the kernel's on-CPU time "
              f"({t['ipc_transfer_ns']}, {k['ipc_oncpu_ns']})")
    eq(len(chan_of), len(pids) * len(kinds), "no channel of a kind the program did not use")
    for kind in kinds:
        b = next((x for x in rep["run"]["bytes_by_kind"] if x["kind"] == kind), None)
        if check(b is not None, f"bytes_by_kind has {kind}"):
            eq((b["sent"], b["received"]),
               (sum(want.get((pid, kind, "out", "bytes"), 0) for pid in pids),
                sum(want.get((pid, kind, "in", "bytes"), 0) for pid in pids)),
               f"{kind}: run totals")
    eq((rep["matrix"], rep["run"]["paired_channels"], rep["timeline"], rep["call_sites"]),
       ([], 0, [], []), "no matrix, pairing, timeline or call sites")


# include/ipcprof/kernel.h, version 2 (syscalls mode): every field is a naturally aligned little-endian integer.
S = 1_000_000_000
KFD = ("pipe", "fifo", "unix_stream", "unix_dgram", "unix_seqpacket", "tcp", "udp",
       "socket_other", "other")
KFAM = ("rw", "vec", "msg", "mmsg", "splice", "sendfile")
CALL_FIELDS = ("calls", "bytes", "errors", "eagain", "time_ns", "blocked_ns", "runq_ns", "blocks")
HEADER_SIZE, IMAGE_SIZE, THREAD_SIZE = 136, 7520, 7248


def calls_blob(c):
    return struct.pack("<8Q", *(c.get(f, 0) for f in CALL_FIELDS))


def image_blob(im):
    head = struct.pack("<iiIIiIIIQQ16s256s", im["pid"], im["parent_pid"], im["seq"],
                       im["end_how"], im.get("exit_code", 0), 1, 0, 0, im["start_ns"],
                       im.get("end_ns", 0), im["comm"], im["exe"])
    io = b"".join(calls_blob(im.get("io", {}).get((k, d, f), {}))
                  for k in KFD for d in DIRS for f in KFAM)
    wait = calls_blob({"time_ns": im.get("poll", 0)}) + calls_blob({"time_ns": im.get("futex", 0)})
    faults = struct.pack("<4Q", im.get("shm_faults", 0), im.get("shm_faults", 0),
                         4096 * im.get("shm_faults", 0), 0) + bytes(2 * 32)
    sched = struct.pack("<8Q", im.get("run_ns", 0), 0, 0, im.get("nvcsw", 0), im.get("nivcsw", 0),
                        0, 0, 0)
    blob = head + io + wait + faults + sched
    assert len(blob) == IMAGE_SIZE, len(blob)
    return blob


def kernel_file(path, root_pid, images, end_ns):
    head = struct.pack("<8s6IiI3Q8Q2I", b"IPCPKRN\0", 2, HEADER_SIZE, IMAGE_SIZE, THREAD_SIZE,
                       len(images), 0, root_pid, 4096, S, S, end_ns, *([0] * 8), 0, 0)
    assert len(head) == HEADER_SIZE
    with open(path, "wb") as f:
        f.write(head + b"".join(image_blob(im) for im in images))


EXIT, EXEC, RUNNING = 1, 2, 0
IMAGES = [
    # the launcher's child before its exec of the program: left out
    {"pid": 500, "parent_pid": 499, "seq": 0, "end_how": EXEC, "start_ns": S, "end_ns": 2 * S,
     "comm": b"ipcprof", "exe": b"/usr/bin/ipcprof", "io": {("pipe", "in", "rw"): {"calls": 1}}},
    {"pid": 500, "parent_pid": 499, "seq": 1, "end_how": EXIT, "exit_code": 3 << 8,
     "start_ns": 2 * S, "end_ns": 12 * S, "comm": b"app", "exe": b"/opt/app",
     "io": {("pipe", "out", "rw"): {"calls": 10, "bytes": 1_000_000, "time_ns": 2 * S,
                                    "blocked_ns": S, "runq_ns": S // 2},
            ("pipe", "out", "vec"): {"calls": 2, "bytes": 24_000, "time_ns": S // 10},
            ("pipe", "in", "rw"): {"calls": 5, "bytes": 5000, "time_ns": 4 * S // 10,
                                   "blocked_ns": 4 * S // 10},
            ("tcp", "out", "msg"): {"calls": 3, "bytes": 300, "errors": 1},
            ("other", "in", "rw"): {"calls": 7, "bytes": 70_000, "time_ns": S}},
     "futex": S, "poll": S // 2, "shm_faults": 10, "run_ns": 4 * S, "nvcsw": 20, "nivcsw": 5},
    {"pid": 501, "parent_pid": 500, "seq": 0, "end_how": EXEC, "start_ns": 3 * S,
     "end_ns": 4 * S, "comm": b"app", "exe": b"/opt/app",
     "io": {("pipe", "in", "rw"): {"calls": 12, "bytes": 1_024_000, "time_ns": S // 2,
                                   "blocked_ns": S // 4}},
     "run_ns": S // 2},
    {"pid": 501, "parent_pid": 500, "seq": 1, "end_how": EXIT, "exit_code": 9,
     "start_ns": 4 * S, "end_ns": 10 * S, "comm": b"worker", "exe": b"/opt/worker",
     "io": {("unix_stream", "out", "msg"): {"calls": 4, "bytes": 4096},
            ("unix_stream", "in", "mmsg"): {"calls": 3, "bytes": 2048, "errors": 1,
                                            "eagain": 1}},
     "run_ns": S},
    {"pid": 502, "parent_pid": 500, "seq": 0, "end_how": RUNNING, "start_ns": 5 * S,
     "comm": b"app", "exe": b"/opt/app",
     "io": {("udp", "out", "msg"): {"calls": 1, "bytes": 512}}, "run_ns": S // 5},
]


def report(*dirs, expect=0):
    p = subprocess.run([IPCPROF, "report", "-q", "-o", dirs[0], *dirs], capture_output=True,
                       text=True, timeout=60)
    eq(p.returncode, expect, f"ipcprof report {' '.join(dirs)} (stderr: {p.stderr[-2000:]})")
    with open(os.path.join(dirs[0], "ipcprof-report.json")) as f:
        rep = json.load(f)
    import jsonschema
    with open(SCHEMA) as f:
        jsonschema.validate(rep, json.load(f))
    return rep


def synthetic(work):
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        print("SKIP: python3-jsonschema is missing: cannot validate the schema")
        sys.exit(SKIP)
    kdir = os.path.join(work, "kernel-only")
    os.mkdir(kdir, 0o700)
    kernel_file(os.path.join(kdir, "kernel.ipckrn"), 500, IMAGES, 20 * S)
    rep = report(kdir)
    eq(rep.get("source"), "probes", "source")
    eq(rep["sessions"], [{"path": kdir, "records": 4}], "sessions")
    procs = {(p["pid"], p["seq"]): p for p in rep["processes"]}
    eq(sorted(procs), [(500, 1), (501, 0), (501, 1), (502, 0)], "images, launcher's left out")
    idx = {k: p["index"] for k, p in procs.items()}
    want = {
        (500, 1): ("root", None, 0, "exit", 3, 0, "main", "app", 10 * S, False, 4 * S),
        (501, 0): ("fork", idx[(500, 1)], 500, "exec", 0, 0, "forked worker", "app", S, False,
                   S // 2),
        (501, 1): ("exec", idx[(501, 0)], 501, "signal", 0, 9, "exec worker", "worker", 6 * S,
                   False, S),
        (502, 0): ("fork", idx[(500, 1)], 500, "unseen", 0, 0, "forked worker", "app", 15 * S,
                   True, S // 5),
    }
    for k, w in want.items():
        p = procs[k]
        eq((p["origin"], p["parent"], p["parent_pid"], p["end"], p["exit_status"], p["signal"],
            p["role"], p["comm"], p["wall_ns"], p["wall_lower_bound"], p["time"]["cpu_ns"]), w,
           f"{k}: origin, parent, end, role, comm, wall, cpu")
        eq((p["source"], p["argv"], p["file"]),
           ("probes", [p["exe"]], os.path.join(kdir, "kernel.ipckrn")), f"{k}: source, argv")
    root = procs[(500, 1)]
    eq(root["rusage"], {"user_ns": 0, "sys_ns": 0, "minflt": 0, "majflt": 0, "nvcsw": 20,
                        "nivcsw": 5, "maxrss_kb": 0}, "root rusage: the switches alone")
    eq(root["kernel"], {"ipc_oncpu_ns": 6 * S // 10, "ipc_offcpu_ns": 19 * S // 10,
                        "ipc_bytes": 1_029_300, "ipc_calls": 20, "futex_wait_ns": S,
                        "poll_wait_ns": S // 2, "shm_faults": 10, "shm_fault_bytes": 40960,
                        "gaps": []},
       "root kernel figures (files left out)")
    t = root["time"]
    eq((t["split"], t["ipc_ns"], t["ipc_transfer_ns"], t["ipc_wait_ns"], t["compute_ns"],
        t["sync_wait_ns"]),
       ("kernel", 25 * S // 10, 6 * S // 10, 19 * S // 10, 34 * S // 10, 3 * S // 2),
       "root time")
    eq((root["bytes_sent"], root["bytes_received"]), (1_024_300, 5000), "root bytes")
    ends = {}
    for c in rep["channels"]:
        eq((c["paired"], len(c["endpoints"])), (False, 1), f"{c['label']}: unpaired")
        e = c["endpoints"][0]
        p = rep["processes"][e["process"]]
        ends[(p["pid"], p["seq"], c["kind"])] = tuple(
            (e[d]["calls"], e[d]["bytes"], e[d]["errors"], e[d]["eagain"], e[d]["time_ns"])
            for d in DIRS)
    eq(ends, {
        (500, 1, "pipe"): ((12, 1_024_000, 0, 0, 21 * S // 10), (5, 5000, 0, 0, 4 * S // 10)),
        (500, 1, "tcp"): ((3, 300, 1, 0, 0), (0, 0, 0, 0, 0)),
        (501, 0, "pipe"): ((0, 0, 0, 0, 0), (12, 1_024_000, 0, 0, S // 2)),
        (501, 1, "unix_stream"): ((4, 4096, 0, 0, 0), (3, 2048, 1, 1, 0)),
        (502, 0, "udp"): ((1, 512, 0, 0, 0), (0, 0, 0, 0, 0)),
    }, "one channel per image and fd kind, with the kernel's figures")
    eq({b["kind"]: (b["sent"], b["received"], b["calls"], b["channels"])
        for b in rep["run"]["bytes_by_kind"]},
       {"pipe": (1_024_000, 1_029_000, 29, 2), "unix_stream": (4096, 2048, 7, 1),
        "tcp": (300, 0, 3, 1), "udp": (512, 0, 1, 1)}, "bytes by kind")
    eq((rep["matrix"], rep["shared_memory"], rep["timeline"], rep["call_sites"]),
       ([], [], [], []), "nothing the probes cannot give")
    check(rep["run"]["verdict"].startswith("eBPF probes alone: "), "verdict")
    eq((rep["findings"][0]["kind"], rep["findings"][0]["title"]),
       ("incomplete", "4 of 4 processes have the eBPF probes' figures alone: no channel pairing, "
        "no fingerprints, no call sites"), "first finding")

    # A record that cannot be read leaves the probes' figures: the damage is named.
    ddir = os.path.join(work, "damaged")
    shutil.copytree(kdir, ddir)
    with open(os.path.join(ddir, "500.1.ipcrec"), "wb") as f:
        f.write(b"not a record")
    rep = report(ddir, expect=1)
    eq((rep.get("source"), len(rep["processes"]), [d["error"] for d in rep["damaged"]]),
       ("probes", 4, ["not an ipcprof record (no IPCPREC magic)"]), "damaged record")

    # Records, alone or with the probes' file, are reported as before; beside a folder of the
    # probes alone, the report is "mixed".
    rdir, bdir = os.path.join(work, "records-kernel"), os.path.join(work, "records")
    subprocess.run([REPORT_SYNTH, "kernel", rdir], check=True)
    subprocess.run([REPORT_SYNTH, "basic", bdir], check=True)
    for d in (rdir, bdir):
        rep = report(d)
        check("source" not in rep and not any("source" in p or "comm" in p
                                              for p in rep["processes"]),
              f"{os.path.basename(d)}: no source field")
        check(not rep["run"]["verdict"].startswith("eBPF"), f"{os.path.basename(d)}: verdict")
        check(not any("--no-preload" in x for x in rep["figures"]["not_measured"]),
              f"{os.path.basename(d)}: figures")
    rep = report(bdir, kdir)
    eq(rep.get("source"), "mixed", "records and probes alone")
    eq(sum(p.get("source") == "probes" for p in rep["processes"]), 4, "probes-only processes")
    check(rep["run"]["verdict"].startswith("eBPF probes alone for some processes: "),
          "mixed verdict")


work = tempfile.mkdtemp(prefix="ipcprof-konly-")
try:
    synthetic(work) if SYNTHETIC else main(work)
finally:
    shutil.rmtree(work, ignore_errors=True)
finish(counts=True)
