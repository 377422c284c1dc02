"""Prints two or more ipcprof reports side by side: wall time, bytes moved, bytes shared, data movement.

Usage: compare_reports.py LABEL SESSION_DIR [DEMO_OUTPUT [DEMO_JSON]] -- LABEL SESSION_DIR ...

SESSION_DIR holds ipcprof-report.json and ipcprof-report.html (from `ipcprof record -o`);
DEMO_OUTPUT, when given, is the demo's own printout, whose bytes_sent/bytes_received are shown
next to the profiler's count of the same bytes. DEMO_JSON is what the demo wrote with --json: its
own measure, per process, of the time it spent pickling and unpickling (Python) or copying task
data in user space (C). When the report has CPU samples, each process's measure is shown next to
ipcprof's serialize, deserialize or copy time for it, with their ratio.
Exit status 1 when a report is missing or unreadable.
"""
import json
import os
import sys

# Channel kinds that carry bytes by copying them (everything but shared memory and plugins).
COPY_KINDS = {"pipe", "fifo", "unix_stream", "unix_dgram", "unix_seqpacket", "tcp", "udp"}


def demo_figures(path):
    out = {}
    if path:
        with open(path) as f:
            for line in f:
                for tok in line.split():
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        out[k] = v
    return out


# Processes that serve the run rather than do its work.
HELPER_ROLES = {"resource tracker", "forkserver"}


def is_worker(proc):
    return proc.get("parent") is not None and proc.get("role") not in HELPER_ROLES


def time_split(t, key):
    """A "time" field of the report's attribution, 0 when the report has no CPU samples."""
    return t.get(key) or 0


# The CPU sampler's categories that move data without an IPC call.
SPLIT_KEYS = ("serialize_ns", "deserialize_ns", "copy_ns")


def column(label, session, demo_out, demo_json=None):
    path = os.path.join(session, "ipcprof-report.json")
    with open(path) as f:
        rep = json.load(f)
    run = rep["run"]
    procs = rep.get("processes", [])
    # The workers' own time: the processes the report names workers (not helpers such as
    # Python's resource tracker, which waits on its pipe all run long).
    moved = basis = split = idle = 0
    workers = [p for p in procs if is_worker(p)]
    sync = None
    waits_split = any(p["time"].get("wait_split") for p in workers)
    has_split = any(k in p["time"] for p in procs for k in SPLIT_KEYS)
    for p in workers:
        t = p["time"]
        moved += t["ipc_transfer_ns"] + t["ipc_wait_ns"]
        idle += t.get("ipc_idle_ns") or 0
        split += sum(time_split(t, k) for k in SPLIT_KEYS)
        basis += t["basis_ns"]
        # With the eBPF probes, time blocked on futexes and polls outside IPC calls (waits on
        # shared semaphores, such as a Pool's queue locks, are IPC calls of their own).
        if t.get("sync_wait_ns") is not None:
            sync = (sync or 0) + t["sync_wait_ns"]
    copied = sum(k["sent"] for k in run.get("bytes_by_kind", []) if k["kind"] in COPY_KINDS)
    demo = demo_figures(demo_out)
    claimed = None
    if "bytes_sent" in demo and "bytes_received" in demo:
        claimed = int(demo["bytes_sent"]) + int(demo["bytes_received"])
    # Bytes the workers moved on channels between them and the main process alone (so not what
    # they tell a helper such as the resource tracker): what the demo counts itself.
    roots = {p["index"] for p in procs if p.get("parent") is None}
    wset = {p["index"] for p in workers}
    worker_bytes = 0
    for c in rep.get("channels", []):
        ends = c.get("endpoints", [])
        if ends and all(e["process"] in roots | wset for e in ends):
            worker_bytes += sum(e["in"]["bytes"] + e["out"]["bytes"] for e in ends
                                if e["process"] in wset)
    return {
        "label": label,
        "wall": run["wall_ns"] / 1e9,
        "copied": copied,
        "worker_bytes": worker_bytes,
        "claimed": claimed,
        "shared": run.get("shared_memory_bytes", 0),
        "workers": len(workers),
        "worker_share": moved / basis if basis else None,
        "worker_share_split": (moved + split) / basis if basis and has_split else None,
        "worker_split": split / basis if basis and has_split else None,
        "measures": own_measures(rep, demo_json),
        "worker_sync": sync / basis if sync is not None and basis else None,
        "worker_idle": idle / basis if basis and waits_split else None,
        "run_share": run.get("data_movement_share"),
        "verdict": run.get("verdict", ""),
        "html": os.path.abspath(os.path.join(session, "ipcprof-report.html")),
        "demo_wall": demo.get("wall_s"),
    }


def load_measure(path):
    with open(path) as f:
        return json.load(f)


# What a demo measures itself, against the report's CPU-sample category of the same work:
# (demo's CPU field, demo's wall field or None, its call count field or None, the report's "cpu"
# field, what it is).
MEASURES = {
    "pickling": [("dumps_cpu_s", "dumps_s", "dumps_calls", "serialize_ns", "pickling"),
                 ("loads_cpu_s", "loads_s", "loads_calls", "deserialize_ns", "unpickling")],
    "copy": [("copy_cpu_s", None, None, "copy_ns", "memcpy of task data")],
}


def own_measures(rep, demo_json):
    """Per process of the demo's JSON: its measures next to ipcprof's, where the report has CPU
    samples ("cpu" per process). None without a JSON or without samples."""
    if not demo_json:
        return None
    demo = load_measure(demo_json)
    by_pid = {}
    for p in rep.get("processes", []):
        if "cpu" in p:
            by_pid.setdefault(p["pid"], []).append(p)
    if not by_pid:
        return None
    rows = []
    for d in demo["processes"]:
        recs = by_pid.get(d["pid"], [])
        for cpu_key, wall_key, calls_key, rep_key, what in MEASURES[demo["measure"]]:
            if calls_key and d[calls_key] == 0:
                continue  # work this process did not do (a Pool worker's pickling of results
                # happens after it measured itself)
            own_cpu = d[cpu_key]
            got = sum(r["cpu"].get(rep_key, 0) for r in recs) / 1e9 if recs else None
            # By the clock: the CPU time and the time its threads waited for a CPU meanwhile.
            cat = rep_key[:-3]
            clock = None if got is None else got + sum(
                (r["cpu"].get("wait_ns") or {}).get(cat, 0) for r in recs) / 1e9
            rows.append({"role": d["role"], "pid": d["pid"], "what": what, "cpu": own_cpu,
                         "wall": d[wall_key] if wall_key else None, "ipcprof": got,
                         "clock": clock,
                         "hz": recs[0]["cpu"].get("hz") if recs else None,
                         "state": recs[0]["cpu"].get("state") if recs else "no record"})
    return rows


def fmt_ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def print_measures(c):
    rows = c["measures"]
    if not rows:
        return
    hz = sorted({r["hz"] for r in rows if r["hz"]})
    print(f"{c['label']}: the demo's own measures against ipcprof's CPU samples"
          + (f" ({', '.join(map(str, hz))} Hz)" if hz else ""))
    table = [("process", "work", "demo: CPU", "demo: wall", "ipcprof: CPU", "+ queued",
              "ipcprof/CPU", "ipcprof/wall")]
    for r in rows:
        if r["state"] not in ("on", None) and r["ipcprof"] is not None:
            note = f" (sampling {r['state']})"
        elif r["ipcprof"] is None:
            note = " (no record)"
        else:
            note = ""
        table.append((f"{r['role']} {r['pid']}{note}", r["what"], f"{r['cpu']:.3f} s",
                      "-" if r["wall"] is None else f"{r['wall']:.3f} s",
                      "-" if r["ipcprof"] is None else f"{r['ipcprof']:.3f} s",
                      "-" if r["clock"] is None else f"{r['clock'] - r['ipcprof']:.3f} s",
                      fmt_ratio(r["ipcprof"], r["cpu"]),
                      fmt_ratio(r["clock"], r["wall"]) if r["wall"] is not None else "-"))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for t in table:
        print("  " + "  ".join(f"{v:<{widths[i]}}" if i < 2 else f"{v:>{widths[i]}}"
                               for i, v in enumerate(t)))
    print()


def fmt_bytes(n):
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n:,} ({n / size:.1f} {unit})"
    return f"{n:,}"


def fmt_claim(c):
    if c["claimed"] is None:
        return "-"
    same = "equal" if c["claimed"] == c["worker_bytes"] else "DIFFERENT"
    return f"{c['claimed']:,} ({same})"


def fmt_share(x):
    return "-" if x is None else f"{100 * x:.1f}%"


def main(argv):
    groups, cur = [], []
    for a in argv[1:]:
        if a == "--":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    if len(groups) < 2 or any(len(g) not in (2, 3, 4) for g in groups):
        print(__doc__, file=sys.stderr)
        return 2
    cols = []
    for g in groups:
        try:
            cols.append(column(g[0], g[1], g[2] if len(g) > 2 else None,
                               g[3] if len(g) > 3 else None))
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"compare_reports: {g[1]}: cannot read the report: {e}", file=sys.stderr)
            return 1

    rows = [
        ("", [c["label"] for c in cols]),
        ("wall time (profiled run)", [f"{c['wall']:.2f} s" for c in cols]),
        ("  the demo's own timing", [f"{float(c['demo_wall']):.2f} s" if c["demo_wall"] else "-"
                                     for c in cols]),
        ("bytes through pipes/sockets", [fmt_bytes(c["copied"]) for c in cols]),
        ("  main <-> workers", [fmt_bytes(c["worker_bytes"]) for c in cols]),
        ("  the demo's own count", [fmt_claim(c) for c in cols]),
        ("bytes shared (memory)", [fmt_bytes(c["shared"]) for c in cols]),
        ("workers", [str(c["workers"]) for c in cols]),
        ("data movement, worker time", [fmt_share(c["worker_share"]) for c in cols]),
    ]
    if any(c["worker_share_split"] is not None for c in cols):
        rows += [
            ("  with (de)serialization, copies", [fmt_share(c["worker_share_split"])
                                                  for c in cols]),
            ("  (de)serialization, copies alone", [fmt_share(c["worker_split"]) for c in cols]),
        ]
    rows += [
        ("data movement (report's run)", [fmt_share(c["run_share"]) for c in cols]),
    ]
    if any(c["worker_idle"] is not None for c in cols):
        rows.append(("waiting for work in IPC calls", [fmt_share(c["worker_idle"])
                                                       for c in cols]))
    rows.append(("blocked outside IPC calls", [fmt_share(c["worker_sync"]) for c in cols]))
    w0 = max(len(r[0]) for r in rows)
    widths = [max(len(r[1][i]) for r in rows) for i in range(len(cols))]
    for name, vals in rows:
        print(f"{name:<{w0}}  " + "  ".join(f"{v:>{widths[i]}}" for i, v in enumerate(vals)))
    print("(data movement: time inside pipe, socket and shared-semaphore calls, copying or waiting")
    print(" for the other end while it moved data, of the workers' wall time; waiting for work:")
    print(" blocked in those calls while the other end computed, by its timed CPU samples; blocked")
    print(" outside IPC calls: other futex and poll waits, seen by the eBPF probes)")
    if any(c["worker_share_split"] is not None for c in cols):
        print("(with (de)serialization, copies: the CPU time the sampler found pickling, unpickling")
        print(" or in memcpy outside IPC calls, added to the data movement)")
    print()
    for c in cols:
        print_measures(c)
    for c in cols:
        print(f"{c['label']}: {c['verdict']}")
        print(f"  HTML report: {c['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
