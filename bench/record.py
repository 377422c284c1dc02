#!/usr/bin/python3
"""`ipcprof record` (probes on, start-up included) against no tool, side by side: the wall-time
ratio of every workload (medians of alternated rounds), the time each attached BPF program takes
a run (the kernel's BPF_ENABLE_STATS figures, from runs of their own), the start-up on `true`, and
the seed's worker phases (receive, unpickle, sum) as the workers time them. Needs root."""
import argparse
import json
import os
import resource
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import machine  # noqa: E402  (the machine's description, as bench-peers gives it)

VARIANTS = ["none", "record", "no-probes"]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--demo-copy", required=True, help="the C copy demo (demos/demo-copy)")
    ap.add_argument("--pingpong", required=True, help="bench/peers_pingpong")
    ap.add_argument("--source", required=True, help="ipcprof's source folder")
    ap.add_argument("--python", default="/usr/bin/python3", help="a python3 with numpy")
    ap.add_argument("--hackbench", default=shutil.which("hackbench"))
    ap.add_argument("-n", "--rounds", type=int, default=5, help="alternated rounds (default 5)")
    ap.add_argument("--only", help="comma-separated workload keys (seed, seed-builtin, c-copy, "
                    "py-copy, hb-pipe, hb-sock, pingpong; all but seed-builtin by default)")
    ap.add_argument("--markdown", help="also write the table as Markdown into this file")
    return ap.parse_args()


def clean_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("IPCPROF_") or k == "LD_PRELOAD":
            del env[k]
    return env


class Runner:
    def __init__(self, a, tmp):
        self.a = a
        self.tmp = tmp
        self.seq = 0

    def run(self, variant, argv, env_extra=None):
        """(seconds, stderr, session folder) of one run; a failing workload stops the bench."""
        self.seq += 1
        env = clean_env()
        env.update(env_extra or {})
        sess = os.path.join(self.tmp, "s%d" % self.seq)
        if variant == "none":
            cmd = argv
        else:
            # The report is written after the program has ended: timed apart (report_s).
            cmd = [self.a.ipcprof, "record", "--no-report", "-q", "-o", sess]
            cmd += ["--no-probes"] if variant == "no-probes" else []
            cmd += ["--"] + argv
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        dt = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU time of the whole tree (ipcprof's own included): less at the mercy of the
        # machine's other work than wall time.
        self.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        if p.returncode != 0:
            sys.exit("bench/record: %s under %s failed (%d):\n%s" % (
                " ".join(argv), variant, p.returncode, p.stderr[-2000:]))
        return dt, p.stderr, (sess if variant != "none" else None)

    def report_s(self, sess):
        t0 = time.monotonic()
        subprocess.run([self.a.ipcprof, "report", "-q", sess], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=clean_env())
        return time.monotonic() - t0


def calibrate(r, make, first, floor=1.0):
    """The smallest count (first, doubled) for which make(count) runs at least floor seconds."""
    n = first
    while True:
        dt, _, _ = r.run("none", make(n))
        if dt >= floor or n > first * 1024:
            return n, dt
        n *= 2 if dt > floor / 4 else 4


def workloads(a, r):
    seed = os.path.join(a.source, "bench", "seed_phases.py")
    demos = os.path.join(a.source, "demos", "python")
    w = [
        ("seed", "seed: Pool(4).map(np.sum, 4 x 20,000,000 doubles)",
         lambda out: [a.python, seed, out, "20000000", "numpy"]),
        ("seed-builtin", "seed: Pool(4).map(sum, 4 x 20,000,000 doubles)",
         lambda out: [a.python, seed, out, "20000000", "builtin"]),
        ("c-copy", "C copy demo, default size", lambda out: [a.demo_copy]),
        ("py-copy", "Python Pool copy demo (seed_pool.py), default size",
         lambda out: [a.python, os.path.join(demos, "seed_pool.py")]),
    ]
    keep = a.only.split(",") if a.only else None
    # The seed's own builtin sum spends seconds summing, which hides the rest: only on request.
    w = [x for x in w if (x[0] in keep if keep else x[0] != "seed-builtin")]
    if a.hackbench:
        for key, mode in (("hb-pipe", ["-p"]), ("hb-sock", [])):
            if keep and key not in keep:
                continue
            make = lambda n, mode=mode: [a.hackbench] + mode + ["-g", "2", "-f", "5", "-l",
                                                               str(n), "-s", "100"]
            n, dt = calibrate(r, make, 1000)
            w.append((key, "hackbench %s-g 2 -f 5 -l %d -s 100" % ("-p " if mode else "", n),
                      lambda out, make=make, n=n: make(n)))
    else:
        print("bench/record: no hackbench (rt-tests): its rows are left out", file=sys.stderr)
    if not keep or "pingpong" in keep:
        make = lambda n: [a.pingpong, str(n), "64"]
        n, dt = calibrate(r, make, 20000)
        w.append(("pingpong", "pipe ping-pong, %d x 64 B each way" % n, lambda out, n=n: make(n)))
    return w


PROBE_LINE = re.compile(r"^ipcprof: probe (\S+): (\d+) runs, (\d+) ns in all")


def probe_stats(stderr):
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in map(PROBE_LINE.match, stderr.splitlines()) if m}


def remove(path):
    if path and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def main():
    a = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/record: needs root (the probes)")
    tmp = tempfile.mkdtemp(prefix="ipcprof-bench-record.")
    out_lines = []

    def say(line=""):
        print(line, flush=True)
        out_lines.append(line)

    say("machine: " + machine())
    say("date: " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    r = Runner(a, tmp)

    # Start-up: `true` under each variant, alternated.
    st = {v: [] for v in VARIANTS}
    for i in range(max(a.rounds, 5)):
        for v in VARIANTS[i % 3:] + VARIANTS[:i % 3]:
            dt, _, sess = r.run(v, ["true"])
            st[v].append(dt)
            remove(sess)
    med = {v: statistics.median(st[v]) for v in VARIANTS}
    say("start-up, `true` (median of %d): no tool %.1f ms, ipcprof record %.1f ms (+%.1f ms), "
        "--no-probes %.1f ms" % (len(st["none"]), med["none"] * 1e3, med["record"] * 1e3,
                                 (med["record"] - med["none"]) * 1e3, med["no-probes"] * 1e3))

    rows, stats, phases = [], {}, {}
    for key, title, make in workloads(a, r):
        times = {v: [] for v in VARIANTS}
        cpu = {v: [] for v in VARIANTS}
        rep = []
        ph = {"none": [], "record": []}
        for i in range(a.rounds):
            for v in VARIANTS[i % 3:] + VARIANTS[:i % 3]:
                pj = os.path.join(tmp, "phases.json")
                if os.path.exists(pj):
                    os.unlink(pj)
                dt, _, sess = r.run(v, make(pj))
                times[v].append(dt)
                cpu[v].append(r.cpu)
                if os.path.exists(pj) and v in ph:
                    with open(pj) as f:
                        ph[v].append(json.load(f))
                if v == "record" and i == 0:
                    rep.append(r.report_s(sess))
                remove(sess)
        # The programs' own time a run, from a run of its own: the statistics cost time too.
        _, err, sess = r.run("record", make(os.path.join(tmp, "phases.json")),
                             {"IPCPROF_PROBE_STATS": "1"})
        remove(sess)
        stats[key] = probe_stats(err)
        if ph["none"] and ph["record"]:
            phases[key] = {k: (statistics.median(x[k] for x in ph["none"]),
                               statistics.median(x[k] for x in ph["record"]))
                           for k in ph["none"][0]}
        m = {v: statistics.median(times[v]) for v in VARIANTS}
        c = {v: statistics.median(cpu[v]) for v in VARIANTS}
        rows.append((title, m["none"], m["record"] / m["none"], m["no-probes"] / m["none"],
                     rep[0] if rep else 0.0, min(times["record"]) / min(times["none"]),
                     c["record"] / c["none"] if c["none"] else 0.0,
                     c["no-probes"] / c["none"] if c["none"] else 0.0))
        print("  %s: none %s; record %s" % (key, " ".join("%.2f" % x for x in times["none"]),
                                              " ".join("%.2f" % x for x in times["record"])),
              flush=True)

    say()
    say("Wall time, medians of %d alternated rounds (the machine was loaded by other work):" %
        a.rounds)
    say()
    say("| workload | no tool | `ipcprof record` | `--no-probes` | fastest/fastest | CPU: record "
        "| CPU: `--no-probes` | report after |")
    say("|---|---|---|---|---|---|---|---|")
    for title, none, rec, nop, rep, best, cpur, cpun in rows:
        say("| %s | %.2f s | **%.2f** | %.2f | %.2f | %.2f | %.2f | %.2f s |" % (
            title, none, rec, nop, best, cpur, cpun, rep))
    say()
    say("BPF program time a run (BPF_ENABLE_STATS, one run of each workload):")
    say()
    progs = sorted({p for s in stats.values() for p in s})
    say("| program | " + " | ".join(stats) + " |")
    say("|---|" + "---|" * len(stats))
    for p in progs:
        cells = []
        for key in stats:
            runs, ns = stats[key].get(p, (0, 0))
            cells.append("%.0f ns x %d" % (ns / runs, runs) if runs else "-")
        say("| %s | %s |" % (p, " | ".join(cells)))
    for key, ph in phases.items():
        say()
        say("%s, the workers' own phases (summed over the 4 tasks, medians): " % key +
            ", ".join("%s %.3f s -> %.3f s (%+.1f%%)" % (k[:-2], n, rec, (rec / n - 1) * 100)
                      for k, (n, rec) in ph.items()))
    shutil.rmtree(tmp, ignore_errors=True)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(out_lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
