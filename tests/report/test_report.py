#!/usr/bin/python3
"""The reporter on synthetic sessions: exact figures, schema, damaged files, hosts, options."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

IPCPROF, SYNTH, SCHEMA, CASE = sys.argv[1:5]
S = 1_000_000_000
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


def near(got, want, what, tol=1e-9):
    check(abs(got - want) <= tol, f"{what}: got {got!r}, want {want!r}")


def run(*args, expect=0):
    p = subprocess.run([IPCPROF, "report", *args], capture_output=True, text=True)
    eq(p.returncode, expect, f"exit status of ipcprof report {' '.join(args)} (stderr: {p.stderr[-2000:]})")
    return p


def synth(*args):
    subprocess.run([SYNTH, *args], check=True)


def load(d):
    with open(os.path.join(d, "ipcprof-report.json")) as f:
        return json.load(f)


def validate(rep):
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is missing: cannot validate the schema")
        sys.exit(77)
    with open(SCHEMA) as f:
        jsonschema.validate(rep, json.load(f))


def by_pid(rep, pid, seq=0):
    return next(p for p in rep["processes"] if p["pid"] == pid and p["seq"] == seq)


def channel(rep, label):
    return next(c for c in rep["channels"] if c["label"] == label)


def cell(rep, a, b):
    ia, ib = a["index"], b["index"]
    return next((c for c in rep["matrix"] if c["from"] == ia and c["to"] == ib), None)


def case_basic(tmp):
    d = os.path.join(tmp, "s")
    synth("basic", d)
    p = run(d)
    rep = load(d)
    validate(rep)
    eq(rep["format"], "ipcprof-report", "format")
    eq(len(rep["processes"]), 6, "processes")
    eq(rep["damaged"], [], "damaged")
    main, w1, w2 = by_pid(rep, 1000), by_pid(rep, 1001), by_pid(rep, 1002)
    tracker, pre, hostile = by_pid(rep, 1003), by_pid(rep, 1004, 0), by_pid(rep, 1004, 1)

    # Lineage and roles.
    eq(main["parent"], None, "root has no parent")
    eq(main["role"], "main", "root role")
    for c in (w1, w2, tracker, pre):
        eq(c["parent"], main["index"], f"parent of {c['pid']}.{c['seq']}")
    eq(hostile["parent"], pre["index"], "exec chain 1004.0 -> 1004.1")
    eq(w1["role"], "forked worker", "fork role")
    eq(tracker["role"], "resource tracker", "resource tracker role")
    eq(hostile["argv"][0], "<script>alert(1)</script>", "hostile argv kept as text")
    eq(hostile["argv"][2], "bad\ufffd\ufffdutf8", "invalid UTF-8 replaced")

    # Attribution of the root: 10 s wall, 3 s CPU, IPC 3.1 s of which 2 s on-CPU (sampled).
    t = main["time"]
    eq((t["basis_ns"], t["basis"], t["cpu_ns"], t["ipc_ns"]), (10 * S, "wall", 3 * S, 31 * S // 10), "root basis")
    eq((t["compute_ns"], t["ipc_transfer_ns"], t["ipc_wait_ns"], t["other_ns"]),
       (1 * S, 2 * S, 11 * S // 10, 59 * S // 10), "root categories")
    eq(t["split"], "sampled", "root split")
    eq(t["serialization_ns"], None, "serialization is not measured")
    eq((t["sync_wait_ns"], t["shares"]["sync_wait"]), (None, None), "sync wait needs the probes")
    sh = t["shares"]
    for k, v in (("compute", 0.1), ("ipc_transfer", 0.2), ("ipc_wait", 0.11), ("other", 0.59), ("data_movement", 0.31)):
        near(sh[k], v, f"root share {k}")

    # Worker 1001: channels without a sample take the process's average (all sampled here).
    t = w1["time"]
    eq((t["ipc_ns"], t["ipc_transfer_ns"], t["ipc_wait_ns"], t["compute_ns"], t["other_ns"]),
       (1_060_000_000, 310_000_000, 750_000_000, 3_190_000_000, 4_650_000_000), "worker 1001 categories")
    # Killed unseen: the wall is a lower bound ending at the last interval (6.1 s).
    eq((w2["end"], w2["wall_lower_bound"], w2["wall_ns"]), ("unseen", True, 49 * S // 10), "1002 lower bound")
    eq((w2["time"]["split"], w2["time"]["ipc_wait_ns"], w2["time"]["ipc_transfer_ns"]), ("none", 2 * S, 0),
       "no sample: IPC time counts as wait")
    # rusage is cumulative across exec: the image after it counts its own share.
    eq(hostile["rusage"]["user_ns"], 2 * S // 10, "user time after exec")

    # Channels and their pairing.
    eq(len(rep["channels"]), 7, "channels")
    pa = channel(rep, "pipe ino 100")
    eq((pa["bytes_sent"], pa["bytes_received"], pa["calls"], pa["paired"]), (4_000_000, 4_000_000, 68, True), "pipe A")
    us = channel(rep, "unix_stream ino 200")
    eq((us["bytes_sent"], us["bytes_received"], us["paired"]), (3_000_500, 3_000_500, True), "socketpair by peer_ino")
    eq(channel(rep, "unix_stream <img src=x onerror=alert(2)>")["paired"], False, "peer_ino 0: unpaired")
    eq(channel(rep, "pipe ino 103")["paired"], False, "pipe to an unprofiled reader")
    tcp = channel(rep, "tcp 127.0.0.1:5000 - 127.0.0.1:40000")
    eq((tcp["paired"], sorted(e["process"] for e in tcp["endpoints"])), (True, sorted([w1["index"], hostile["index"]])),
       "loopback TCP paired by 4-tuple")
    eq(sum(tcp["hist"]), 2, "histogram counts the calls")
    eq(rep["run"]["paired_channels"], 5, "paired channels")
    kinds = {k["kind"]: k for k in rep["run"]["bytes_by_kind"]}
    eq((kinds["pipe"]["sent"], kinds["pipe"]["received"], kinds["pipe"]["channels"]), (4_507_000, 4_007_000, 4), "pipe totals")
    eq(kinds["tcp"]["sent"], 777, "tcp total")
    eq(rep["run"]["shared_memory_bytes"], 8_000_000, "shared memory bytes")
    eq(rep["shared_memory"][0]["processes"], [main["index"], w1["index"]], "shm object mapped by two")

    # The matrix: the shared task pipe (1 writer, 2 readers) splits 6000 bytes 2000/4000.
    eq(cell(rep, main, w1)["bytes"], 4_002_000, "1000 -> 1001")
    eq(cell(rep, main, w1)["estimated"], True, "a split cell says it is estimated")
    eq(cell(rep, main, w2)["bytes"], 3_004_000, "1000 -> 1002")
    eq(cell(rep, w1, main)["bytes"], 1000, "1001 -> 1000")
    eq(cell(rep, w2, main)["bytes"], 500, "1002 -> 1000")
    eq(cell(rep, w1, hostile)["bytes"], 777, "1001 -> 1004.1")
    eq(cell(rep, w1, hostile)["estimated"], False, "a one-to-one cell is measured")
    eq(len(rep["matrix"]), 5, "matrix cells")

    # Findings with their numbers.
    kinds = {f["kind"]: f for f in rep["findings"]}
    check("4 times (4.00 MB)" in kinds["repeated_payload"]["title"], "repeated payload finding")
    check("5000 write calls averaging 100 bytes" in kinds["small_messages"]["title"], "small messages finding")
    check("waited 1.00 s blocked writing to pipe ino 100" in kinds["slow_reader"]["title"], "slow reader finding")
    check("(PID 1001)" in kinds["slow_reader"]["detail"], "slow reader names the reader")
    check("low_compute_ratio" in kinds, "low compute ratio finding")

    # Run figures over the workers: the resource tracker waits for the whole run by design and
    # is not one of them.
    wt = rep["run"]["worker_time"]
    eq(rep["run"]["workers"], 4, "workers")
    eq(wt["basis_ns"], sum(p["time"]["basis_ns"] for p in rep["processes"]
                           if p["parent"] is not None and p["role"] != "resource tracker"),
       "worker basis sum")
    near(rep["run"]["data_movement_share"], (wt["ipc_transfer_ns"] + wt["ipc_wait_ns"]) / wt["basis_ns"], "run share")
    check(rep["run"]["verdict"].startswith("19% of worker time was data movement"), "verdict: " + rep["run"]["verdict"])

    # Timeline: times relative to the run's start.
    row = next(r for r in rep["timeline"] if r["process"] == main["index"] and r["tid"] == 1000)
    eq(row["intervals"], [[1 * S, 3 * S, pa["index"], 0, 4_000_000, 4]], "root's timeline row")

    # Call site symbolized offline from the record's module table.
    site = rep["call_sites"][0]
    eq((site["bytes"], site["calls"], site["kind"]), (4_000_000, 4, "pipe"), "call site figures")
    if rep["symbolizer"] == "libdw":
        eq(site["frames"][0]["symbol"], "synth_marker_write", "innermost frame symbol")
        eq(site["frames"][1]["symbol"], "basic", "caller frame symbol")

    # Terminal summary: per process and per channel, hostile strings defused.
    err = p.stderr
    check("19% of worker time was data movement" in err, "summary verdict")
    check("\x1b" not in err, "no escape character reaches the terminal")
    check("<script>alert(1)</script>" in err, "hostile name shown as text")
    check(">=4.90 s" in err, "lower bound marked")
    html = open(os.path.join(d, "ipcprof-report.html")).read()
    check("<script>alert(1)</script>" not in html, "hostile argv not raw in the HTML")
    check("</script><b>" not in html, "hostile argv cannot close the data element")
    check("http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html, "no network address in the HTML")


def case_kernel(tmp):
    d = os.path.join(tmp, "s")
    synth("kernel", d)
    run(d)
    rep = load(d)
    validate(rep)
    eq(rep["kernel"], True, "kernel figures merged")
    w1, w2 = by_pid(rep, 1001), by_pid(rep, 1002)
    # 1002: the kernel saw a quarter of its 2 s inside calls on-CPU.
    eq((w2["time"]["split"], w2["time"]["ipc_transfer_ns"], w2["time"]["ipc_wait_ns"]), ("kernel", S // 2, 3 * S // 2), "1002 kernel split")
    eq((w2["kernel"]["shm_faults"], w2["kernel"]["shm_fault_bytes"]), (10, 40960), "shm faults")
    # 1001: a tenth on-CPU, applied to its 1.06 s in calls.
    eq((w1["time"]["split"], w1["time"]["ipc_transfer_ns"]), ("kernel", 106_000_000), "1001 kernel split")
    eq(w1["kernel"]["futex_wait_ns"], 3 * S, "futex wait")
    # The synthetic kernel saw 4,000,000 of the 4,002,000 bytes 1001's records read from pipes,
    # and none of what it wrote: both shown where they differ, nothing where they agree.
    eq([g for g in w1["kernel"]["gaps"] if g["kind"] == "pipe"],
       [{"kind": "pipe", "direction": "out", "kernel_bytes": 0, "preload_bytes": 501000,
         "difference": -501000},
        {"kind": "pipe", "direction": "in", "kernel_bytes": 4000000, "preload_bytes": 4002000,
         "difference": -2000}], "1001's pipe gaps")
    eq([g for g in w2["kernel"]["gaps"] if g["kind"] == "unix_stream" and g["direction"] == "in"],
       [], "1002's unix reads agree with the kernel's: no gap")
    eq(rep["findings"][0]["kind"], "kernel_gap", "the kernel gap comes first")
    # Its 3 s in futexes come out of its 4.446 s off-CPU outside IPC calls.
    eq((w1["time"]["sync_wait_ns"], w1["time"]["other_ns"]), (3 * S, 1_446_000_000), "sync wait carved from other")
    near(w1["time"]["shares"]["sync_wait"], 3 / 8.9, "sync wait share")
    eq(by_pid(rep, 1003)["time"]["sync_wait_ns"], None, "no sync figure without the kernel's")
    # 1000.0 is the kernel's 1000 seq 1 (followed from before its exec): half on-CPU of 3.1 s.
    main = by_pid(rep, 1000)
    eq((main["kernel"]["ipc_oncpu_ns"], main["kernel"]["ipc_offcpu_ns"]), (S, S), "root matched by overlap")
    eq(main["time"]["ipc_transfer_ns"], 31 * S // 20, "root kernel split")
    eq(by_pid(rep, 1003)["kernel"], None, "no kernel figures for 1003")


def case_damaged(tmp):
    d = os.path.join(tmp, "s")
    synth("damaged", d)
    p = run(d, expect=1)
    rep = load(d)
    validate(rep)
    bad = {os.path.basename(x["file"]): x["error"] for x in rep["damaged"]}
    eq(sorted(bad), ["2000.0.ipcrec", "2001.0.ipcrec", "2002.0.ipcrec", "2003.0.ipcrec", "2004.0.ipcrec"], "damaged files named")
    check("magic" in bad["2000.0.ipcrec"], "foreign file: " + bad["2000.0.ipcrec"])
    check("truncated" in bad["2001.0.ipcrec"], "cut header: " + bad["2001.0.ipcrec"])
    check("version 99" in bad["2002.0.ipcrec"], "other version: " + bad["2002.0.ipcrec"])
    check("channel table: 10 of 100" in bad["2003.0.ipcrec"], "cut channel table: " + bad["2003.0.ipcrec"])
    check("empty" in bad["2004.0.ipcrec"], "empty file: " + bad["2004.0.ipcrec"])
    for f in bad:
        check(f in p.stderr, f"{f} named on stderr")
    # The good records are all there, and the one with a cut channel table keeps what it has.
    eq(sorted(p_["pid"] for p_ in rep["processes"]), [1000, 1001, 1002, 1003, 1004, 1004, 2003], "records kept")
    cut = by_pid(rep, 2003)
    eq((cut["damaged"], sum(len(r["intervals"]) for r in rep["timeline"] if r["process"] == cut["index"])), (True, 10), "cut channel table kept")
    eq(cell(rep, by_pid(rep, 1000), by_pid(rep, 1001))["bytes"], 4_002_000, "figures unchanged by the damage")


def case_hosts(tmp):
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    synth("hosts", a, b)
    out = os.path.join(tmp, "out")
    run("-q", "--format", "perfetto", "-o", out, a, b)
    rep = load(out)
    with open(os.path.join(out, "ipcprof-trace.json")) as f:
        ev = json.load(f)["traceEvents"]
    eq(sorted(e["pid"] for e in ev if e["name"] == "process_name"), [500, 10_000_500], "one trace process per host")
    validate(rep)
    eq(len(rep["sessions"]), 2, "two sessions")
    eq(len(rep["processes"]), 2, "same pid on two hosts: two processes")
    eq(len(rep["channels"]), 1, "one TCP connection")
    c = rep["channels"][0]
    eq((c["paired"], c["bytes_sent"], c["bytes_received"]), (True, 123456, 123456), "paired across hosts")
    eq(len(rep["matrix"]), 1, "one cell")
    eq([(h["name"], h["processes"]) for h in rep["hosts"]], [("host-a", [0]), ("host-b", [1])],
       "one host per boot, named by its hostname")
    eq([p["host"] for p in rep["processes"]], [0, 1], "each process's host")
    m = rep["matrix"][0]
    eq([(c["from"], c["to"], c["bytes"]) for c in rep["host_matrix"]],
       [(rep["processes"][m["from"]]["host"], rep["processes"][m["to"]]["host"], 123456)],
       "the host matrix: the connection's bytes from host to host")
    # Different monotonic clocks, one realtime: both start at 0.
    eq([p["start_ns"] for p in rep["processes"]], [0, 0], "clocks aligned by realtime")
    eq(rep["run"]["wall_ns"], 2 * S, "run wall across hosts")


def case_options(tmp):
    d = os.path.join(tmp, "s")
    synth("basic", d)
    p = subprocess.run([IPCPROF, "report", "--help"], capture_output=True, text=True)
    eq(p.returncode, 0, "--help status")
    check("SESSION_DIR" in p.stdout and "--format perfetto" in p.stdout, "--help text")
    run(expect=2)
    run(os.path.join(tmp, "missing"), expect=2)
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    p = run(empty, expect=2)
    check("no readable" in p.stderr, "empty folder message")
    run("--format", "nonsense", d, expect=2)
    out = os.path.join(tmp, "out")
    p = run("-q", "--format", "perfetto", "-o", out, d)
    check("worker time" not in p.stderr, "-q: no summary")
    with open(os.path.join(out, "ipcprof-trace.json")) as f:
        tr = json.load(f)
    ev = tr["traceEvents"]
    ipc = [e for e in ev if e.get("cat") == "ipc"]
    eq(len(ipc), 4, "one trace event per interval")
    first = next(e for e in ipc if e["pid"] == 1000 and e["tid"] == 1000)
    eq((first["ph"], first["ts"], first["dur"], first["args"]["bytes"]), ("X", 1e6, 2e6, 4_000_000), "trace event in microseconds")
    # a process is named by its role, pid and argv[0]'s file name ("script>" of "<script>alert(1)</script>")
    names = [e["args"]["name"] for e in ev if e["name"] == "process_name"]
    check(any(n.endswith(": script>") for n in names), "trace names kept as data: " + repr(names))
    check(os.path.exists(os.path.join(out, "ipcprof-report.html")), "-o writes the HTML there")
    check(not os.path.exists(os.path.join(d, "ipcprof-report.json")), "-o leaves the session alone")


def python_debug_addresses():
    """Addresses of _pickle functions in Debian's python3.11, from python3.11-dbg's symbols."""
    exe = "/usr/bin/python3.11"
    if not os.path.exists(exe):
        return None
    note = subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout
    bid = next((l.split()[-1] for l in note.splitlines() if "Build ID" in l), None)
    dbg = bid and f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
    if not dbg or not os.path.exists(dbg):
        return None
    syms = {}
    for line in subprocess.run(["nm", dbg], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            syms.setdefault(f[2], f[0])
    names = ["_pickle_Pickler_dump.lto_priv.0", "_Pickler_Write.lto_priv.0", "_pickle_loads.lto_priv.0",
             "load_counted_binbytes.lto_priv.0"]
    if not all(n in syms for n in names):
        return None
    return [syms[n] for n in names]


def case_profile(tmp):
    MS = 10_000_000  # one sample at 100 Hz
    d = os.path.join(tmp, "s")
    py = python_debug_addresses()
    synth("profile", d, *(py or []))
    run("-q", "--format", "folded", d)
    rep = load(d)
    validate(rep)
    main, child = by_pid(rep, 3000), by_pid(rep, 3002)
    cpu = main["cpu"]
    eq((cpu["state"], cpu["hz"], cpu["period_ns"], cpu["dropped"], cpu["threads"]), ("on", 100, MS, 0, 2), "cpu header")
    want = {"serialize": 11 if py else 0, "deserialize": 13 if py else 0, "copy": 7, "ipc": 6, "compute": 7}
    for k, v in want.items():
        eq(cpu[k + "_ns"], v * MS, f"cpu {k}_ns")
    eq(cpu["weight"], sum(want.values()), "weight: every expiration (the unfinished entry has none)")
    eq(child["cpu"]["state"], "off", "sampling off")
    eq(child["time"]["cpu_sampled"], False, "no samples")
    eq(child["time"]["serialization_ns"], None, "no samples: serialization unknown")
    W = 1_000_000  # the synthetic waits are in ms
    waits = {"serialize": 40 * W if py else 0, "deserialize": 0, "copy": 30 * W, "ipc": 0, "compute": 50 * W}
    eq(cpu["wait_ns"], waits, "cpu.wait_ns: each category's waits for a CPU")
    t = main["time"]
    ser, des, cpy = want["serialize"] * MS, want["deserialize"] * MS, want["copy"] * MS
    eq((t["serialize_wait_ns"], t["deserialize_wait_ns"], t["copy_wait_ns"]), (waits["serialize"], 0, waits["copy"]),
       "waits of the moving categories, out of other")
    sw, cw = waits["serialize"], waits["copy"]
    eq((t["serialize_ns"], t["deserialize_ns"], t["copy_ns"], t["serialization_ns"]),
       (ser + sw, des, cpy + cw, ser + sw + des), "attribution takes the samples' categories, CPU and queued")
    # Computing's waits for a CPU are computing's by the clock too (docs/shares.md).
    kw = waits["compute"]
    eq(t["compute_wait_ns"], kw, "the compute samples' waits, out of other")
    eq(t["compute_ns"], 2 * S - ser - des - cpy + kw, "compute: its CPU part, and its waits")
    eq(t["other_ns"], 4 * S - 2 * S - sw - cw - kw, "the waits come out of other")
    near(t["shares"]["data_movement"], (ser + des + cpy + sw + cw) / (4 * S), "data movement counts them")

    pr = rep["profile"]
    eq(pr["categories"], ["serialize", "deserialize", "copy", "ipc", "compute"], "categories")
    eq(pr["rules"][0], "ipc leaf libipcprof.so* *", "ipc rule first")
    F = pr["frames"]

    def name(i):
        f = F[i]
        return f["symbol"] or os.path.basename(f["module"] or "[unknown]") + "+0x%x" % f["offset"]

    stacks = {(s["tid"], ";".join(name(i) for i in s["frames"]), s["category"]): s for s in pr["stacks"]}
    memmove = next(n for (_, n, _) in stacks if n.startswith("synth_work_top;synth_work_a;")).split(";")[-1]
    check("mem" in memmove and "move" in memmove or "cpy" in memmove, "libc's memmove named: " + memmove)
    expect = {
        (3000, f"synth_work_top;synth_work_a;{memmove}", "copy"): 7,
        (3000, "synth_work_a;libipcprof.so+0x100", "ipc"): 3,
        (3001, "synth_work_top;synth_work_b", "compute"): 7,
        (3001, "synth_work_top;synth_work_b", "ipc"): 2,  # marked as inside an IPC call
        (3001, "synth_work_b;libipcprof.so+0x200", "ipc"): 1,
    }
    if py:
        expect[(3000, f"_pickle_Pickler_dump.lto_priv.0;_Pickler_Write.lto_priv.0;{memmove}", "serialize")] = 11
        expect[(3000, "_pickle_loads.lto_priv.0;load_counted_binbytes.lto_priv.0", "deserialize")] = 13
    eq(sorted(stacks), sorted(expect), "merged stacks")
    for k, w in expect.items():
        if k in stacks:
            eq((stacks[k]["weight"], stacks[k]["ns"], stacks[k]["process"]), (w, w * MS, main["index"]), f"stack {k}")
    if py:
        f = next(f for f in F if f["symbol"] == "_pickle_Pickler_dump.lto_priv.0")
        eq((f["module"], os.path.basename(f["file"] or "")), ("/usr/bin/python3.11", "_pickle.c"),
           "python3.11-dbg: _pickle frame with its source")

    # Folded stacks: one line a merged stack, outermost frame first, sorted.
    with open(os.path.join(d, "ipcprof-folded.txt")) as fh:
        folded = fh.read().splitlines()
    # (one line for the two stacks that differ by category alone)
    by_text = {}
    for (tid, n, _), w in expect.items():
        by_text[f"python3[3000];{tid};{n}"] = by_text.get(f"python3[3000];{tid};{n}", 0) + w
    # weighted by time: microseconds, the samples' count times the period
    want_lines = sorted(f"{t} {w * MS // 1000}" for t, w in by_text.items())
    eq(folded, want_lines, "folded lines")

    # A user's rule comes before the built-in ones, but never before ipc.
    rules = os.path.join(tmp, "my.rules")
    with open(rules, "w") as fh:
        fh.write("# mine\nserialize any report-synth synth_work_b\n\ncopy leaf * synth_work_b  # never reached\n")
    out = os.path.join(tmp, "o")
    run("-q", "--rules", rules, "-o", out, d)
    rep2 = load(out)
    validate(rep2)
    cpu2 = by_pid(rep2, 3000)["cpu"]
    eq((cpu2["serialize_ns"], cpu2["ipc_ns"], cpu2["compute_ns"]), ((want["serialize"] + 7) * MS, 6 * MS, 0),
       "user rule: synth_work_b is serialize, its ipc sample stays ipc")
    eq(rep2["profile"]["rules"][1:3], ["serialize any report-synth synth_work_b", "copy leaf * synth_work_b"],
       "user rules after ipc, before the built-in ones")
    check(any(f["kind"] == "serialization" for f in rep2["findings"]) == bool(py), "serialization finding when large")
    # Bad rules: named with their line, exit status 2.
    with open(rules, "w") as fh:
        fh.write("serialize any x\n")
    p = run("--rules", rules, d, expect=2)
    check("my.rules:1" in p.stderr, "bad rule line named: " + p.stderr)
    run("--rules", os.path.join(tmp, "missing.rules"), d, expect=2)
    if not py:
        print("python3.11-dbg is missing: _pickle symbols not checked")
        sys.exit(77 if not failures else 1)


def case_waits(tmp):
    """Time blocked in IPC calls, split by what the other end's timed samples say it did."""
    S = 1_000_000_000
    d = os.path.join(tmp, "s")
    synth("waits", d)
    run("-q", d)
    rep = load(d)
    validate(rep)

    def split(pid):
        t = by_pid(rep, pid)["time"]
        return t["ipc_ns"], t["ipc_transfer_ns"], t["ipc_wait_ns"], t["ipc_idle_ns"], t["wait_split"]

    eq(split(4001), (4 * S, 0, 2 * S, 2 * S, True),
       "reader of P: waiting while the writer moved data (wait), while it computed (idle)")
    eq(split(4004), (21 * S // 10, 0, 21 * S // 10, 0, True),
       "reader of Q: its writer waited for P's writer, which moved data (two steps); "
       "nobody sampled: stays wait")
    eq(split(4003), (4 * S + 2000, 2000, 2 * S, 2 * S, True),
       "semaphore waiter: the holder computed (idle), then moved data (wait)")
    eq(split(4002)[4], False, "no sample of the other end over its waits: not split")
    eq(split(4006), (15_000_000, 0, 10_000_000, 5_000_000, True),
       "no sample in the window: the other end's samples just around it say (within 40 ms)")
    t = by_pid(rep, 4005)["time"]
    eq((t["split"], t["ipc_transfer_ns"], t["ipc_wait_ns"], t["compute_ns"]),
       ("cpu_samples", 50_000_000, S - 50_000_000, S // 2 - 50_000_000),
       "CPU samples inside the calls give the transfer, not the calls' clocks")
    eq(split(4000)[4], False, "no wait to split")
    t = by_pid(rep, 4001)["time"]
    near(t["shares"]["ipc_idle"], 2 * S / t["basis_ns"], "idle share")
    near(t["shares"]["data_movement"], 2 * S / t["basis_ns"], "idle is not data movement")
    eq(rep["run"]["worker_time"]["ipc_idle_ns"], 4 * S + 5_000_000, "workers' idle summed")
    p = run(d)
    text = p.stdout + p.stderr
    check("IDLE%" in text and "IDLE = blocked in IPC calls while the other end computed" in text,
          "the text summary has an IDLE% column and says what it is")
    html = open(os.path.join(d, "ipcprof-report.html")).read()
    check("ipc_idle" in html, "the HTML page knows the idle category")


def case_pipe_room(tmp):
    """A write into a pipe with room never waits for its reader, however long it took."""
    d = os.path.join(tmp, "s")
    synth("pipe_room", d)
    run("-q", d)
    rep = load(d)
    validate(rep)
    t = by_pid(rep, 4010)["time"]
    eq((t["ipc_ns"], t["wait_split"]), (3 * S // 10 + 2000, True), "the writer's calls, split")
    eq(t["ipc_idle_ns"], S // 10,
       "only the write into the full pipe waited for the reader (computing)")


with tempfile.TemporaryDirectory() as tmp:
    globals()["case_" + CASE](tmp)
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("ok")
