"""Holds ipcprof's time shares against programs that time their own phases (the oracles).

Usage: check_truth.py --ipcprof CMD --preload LIB --truth-c EXE [--truth-py FILE]
                      [--scenario NAME]... [--mode preload|record|no-probes|no-samples]...

Each scenario runs under the preload alone (LD_PRELOAD, then `ipcprof report`), under
`ipcprof record` (the eBPF probes on, when root), under `ipcprof record --no-probes`, and under
the preload with the sampler off (no-samples: the shares docs/shares.md says cannot be told must
be "unknown" in the report, the others hold as in the other modes). Every
process of it writes its own spans (truth_c.c says what they are); from them this checker
derives each process's compute, data-movement and waiting-for-work shares of its time, by the
definitions of docs/shares.md applied to the programs' own clocks, and compares them with the
same shares of that process in ipcprof-report.json. A share within TOLERANCE holds; KNOWN_GAPS
lists the scenarios' shares that do not yet, printed as gaps, not failed; every other share is
asserted.
"""
import argparse
import bisect
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOLERANCE = 0.05
STEP_NS = 100_000  # blocked spans are classified at this spacing (at least once each)
DEPTH = 4          # steps through processes that were themselves blocked

C_SCENARIOS = ["one-worker", "pool4", "slow-consumer", "fast-consumer", "ping-pong", "shm",
               "sibling", "pipeline"]
PY_SCENARIOS = ["py-pool"]
MODES = ["preload", "record", "no-probes", "no-samples"]
SHARES = ["compute", "movement", "waiting"]

# scenario: the shares that ipcprof does not yet hold within TOLERANCE in every run under load, in
# any mode (measured 2026-12-03 on a 2-core AMD EPYC virtual machine at load averages of 11 to
# 21): the compute share of processes with a handful of CPU samples whose clock time is mostly
# waiting for a CPU (the sampler reads that wait now and then and shares it among whatever samples
# were taken meanwhile: 0.05-0.15 off); the waits of four workers behind a lock, of the sibling
# and the pipeline when their few samples say little (0.05-0.13 off); the Python Pool's pickling
# and lock waits (0.05-0.2 off). Every other share is asserted; the no-samples mode is asserted
# everywhere (its shares must be unknown).
KNOWN_GAPS = {
    "one-worker": {"compute"},
    "pool4": {"compute", "movement", "waiting"},
    "shm": {"compute"},
    "sibling": {"compute", "movement", "waiting"},
    "pipeline": {"compute", "movement", "waiting"},
    "py-pool": {"compute", "movement", "waiting"},
}


def known_gap(scenario, mode, share):
    return mode != "no-samples" and share in KNOWN_GAPS.get(scenario, ())


class Proc:
    """One process's own spans [start, end, kind, peers, channel], sorted, and what it was doing
    at a time."""

    def __init__(self, d):
        self.pid, self.role = d["pid"], d["role"]
        self.start, self.end = d["start_ns"], d["end_ns"]
        spans = [list(s) + [""] * (5 - len(s)) for s in d["spans"]]
        self.spans = sorted((s for s in spans if s[2] != "h"), key=lambda s: s[0])
        self.starts = [s[0] for s in self.spans]
        self.holds = [s for s in spans if s[2] == "h"]

    def at(self, t):
        i = bisect.bisect_right(self.starts, t) - 1
        if i >= 0 and self.spans[i][1] > t:
            return self.spans[i]
        return None

    def holds_at(self, t):
        return any(a <= t < b for a, b, _, _, _ in self.holds)


def state(procs, role, t, chan, chain, depth):
    """'move' or 'work' (computing, or anything it did not time): what role was doing at t for
    one that waits for it on channel chan, a role blocked on another channel standing for what its
    own peers were doing."""
    p = procs.get(role)
    if p is None:
        return "work"
    s = p.at(t)
    if s is None or s[2] == "c":
        return "work"
    if s[2] == "m" or (s[4] and s[4] == chan):
        return "move"  # moving data, or in a call on the same channel: both ends in, data flows
    if role in chain:
        return "work"  # a circle of waits on different channels: nobody moves data
    return blocked(procs, p, s, t, chain + [role], depth)


def blocked(procs, p, s, t, chain, depth):
    """A blocked span is data movement while one of its peers moves data, or is in a call on the
    same channel (both ends in their calls: the data flows), and waiting otherwise."""
    peers = [r for r in s[3].split(",") if r]
    if s[2] == "l":  # a lock: the holders at t are the ones waited for
        peers = [r for r in peers if r in procs and procs[r].holds_at(t)]
        if not peers:
            return "move"  # handed over between two holders: no one's work
    if depth <= 0:
        return "work"
    for r in peers:
        if state(procs, r, t, s[4], chain, depth - 1) == "move":
            return "move"
    return "work"


def truth_shares(procs):
    out = {}
    for role, p in procs.items():
        total = p.end - p.start
        got = dict(compute=0, movement=0, waiting=0)
        for sp in p.spans:
            a, b, kind = sp[:3]
            if kind == "c":
                got["compute"] += b - a
            elif kind == "m":
                got["movement"] += b - a
            else:
                n = max(1, (b - a) // STEP_NS)
                moving = sum(blocked(procs, p, sp, a + (2 * k + 1) * (b - a) // (2 * n),
                                     [role], DEPTH) == "move" for k in range(n))
                got["movement"] += (b - a) * moving / n
                got["waiting"] += (b - a) * (n - moving) / n
        out[role] = {k: v / total for k, v in got.items()}
    return out


def cannot_tell(mode, proc):
    """The shares docs/shares.md says this mode cannot tell for this process: none with the
    sampler at its default rate; without samples (no-samples: IPCPROF_SAMPLE_HZ=0) compute and
    data movement (pickling and copies are not told from computing), and waiting for work where
    the process was blocked in calls (nothing says what the other end did)."""
    if mode != "no-samples":
        return set()
    t = proc["time"]
    return {"compute", "movement"} | ({"waiting"} if t["ipc_ns"] > t["ipc_transfer_ns"] else set())


def report_shares(proc):
    """compute, data movement, waiting for work of one process, as the report says them;
    None for a share the report says it cannot know."""
    t = proc["time"]
    basis = t["basis_ns"]
    sh = t["shares"]
    unknown = set(t.get("unknown") or [])
    moving = sh["data_movement"]
    waiting = t["ipc_idle_ns"] / basis if basis else 0.0
    return {"compute": None if "compute" in unknown else sh["compute"],
            "movement": None if "data_movement" in unknown else moving,
            "waiting": None if "waiting_for_work" in unknown else waiting}


def run_one(a, scenario, mode, work):
    out = os.path.join(work, "truth")
    sess = os.path.join(work, "session")
    os.makedirs(out)
    if scenario.startswith("py-"):
        cmd = ["/usr/bin/python3", a.truth_py, scenario, out]
    else:
        cmd = [a.truth_c, scenario, out]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IPCPROF_") and k not in ("LD_PRELOAD", "MALLOC_PERTURB_")}
    if mode in ("preload", "no-samples"):
        extra = {"IPCPROF_SAMPLE_HZ": "0"} if mode == "no-samples" else {}
        p = subprocess.run(cmd, env=dict(env, LD_PRELOAD=a.preload, IPCPROF_DIR=sess,
                                         IPCPROF_REPORT="0", **extra),
                           capture_output=True, text=True, timeout=120)
        if p.returncode == 0:
            p = subprocess.run([a.ipcprof, "report", "-q", "-o", sess, sess],
                               capture_output=True, text=True, timeout=120)
    else:
        extra = ["--no-probes"] if mode == "no-probes" else []
        p = subprocess.run([a.ipcprof, "record", "-q", "-o", sess] + extra + ["--"] + cmd,
                           env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"{scenario} {mode}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    procs = {}
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as f:
            pr = Proc(json.load(f))
        procs[pr.role] = pr
    with open(os.path.join(sess, "ipcprof-report.json")) as f:
        rep = json.load(f)
    return procs, rep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--truth-c", required=True)
    ap.add_argument("--truth-py")
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--mode", action="append", choices=MODES)
    ap.add_argument("--keep", action="store_true", help="keep the sessions (printed)")
    a = ap.parse_args()
    scenarios = a.scenario or (C_SCENARIOS + (PY_SCENARIOS if a.truth_py else []))
    modes = a.mode or MODES
    if os.geteuid() != 0 and "record" in modes:
        print("note: not root: `ipcprof record` runs without the probes, as --no-probes does")
    fails, gaps, gaps_held, rows = [], [], [], 0
    print(f"{'scenario':<14} {'mode':<10} {'process':<8} " +
          " ".join(f"{s + ' ipcprof/truth':>24}" for s in SHARES))
    for scenario in scenarios:
        for mode in modes:
            work = tempfile.mkdtemp(prefix="ipcprof-truth-")
            procs, rep = run_one(a, scenario, mode, work)
            truth = truth_shares(procs)
            by_pid = {}
            for p in rep["processes"]:
                by_pid.setdefault(p["pid"], []).append(p)
            for role in sorted(procs, key=lambda r: (r != "parent", r)):
                recs = by_pid.get(procs[role].pid, [])
                if len(recs) != 1:
                    fails.append(f"{scenario} {mode} {role}: {len(recs)} report entries for "
                                 f"pid {procs[role].pid}")
                    continue
                got = report_shares(recs[0])
                untold = cannot_tell(mode, recs[0])
                cells = []
                for s in SHARES:
                    g, t = got[s], truth[role][s]
                    key = (scenario, mode)
                    gap = known_gap(scenario, mode, s)
                    rows += 1
                    if s in untold:  # said unknown, as the docs say; a figure is a guess
                        ok = g is None
                    else:
                        ok = g is not None and abs(g - t) <= TOLERANCE
                    mark = "" if ok else ("  gap" if gap else " FAIL")
                    gs = "unknown" if g is None else f"{g:.3f}"
                    cells.append(f"{gs:>8} / {t:.3f}{mark:<5}")
                    if not ok and gap:
                        gaps.append(key + (role, s))
                    elif not ok:
                        fails.append(f"{scenario} {mode} {role} {s}: ipcprof {gs}, "
                                     f"the program's clock {t:.3f}")
                    elif gap:
                        gaps_held.append(key + (role, s))
                print(f"{scenario:<14} {mode:<10} {role:<8} " + " ".join(cells), flush=True)
            if a.keep:
                print(f"  kept {work}")
            else:
                shutil.rmtree(work)
    print(f"{rows} shares compared, tolerance {TOLERANCE}: {rows - len(fails) - len(gaps)} "
          f"hold, {len(gaps)} known gaps, {len(fails)} fail")
    print(f"of the known gaps' rows, {len(gaps_held)} held this time")
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
