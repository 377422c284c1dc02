#!/usr/bin/python3
"""What parallelism bought, against the seed's own control run (the seed's "Control Experiment").

seed_control.py runs the seed example, Pool(4).map(worker, [a] * 4), and the same four calls in its
main process alone, timing both with its own clocks in the same run. The report's serial estimate
(the processes' compute CPU, summed) must be within 25% of what the program's clocks say the same
computing took in one process: the main process's CPU before the Pool (start-up, imports, the
array, the control run) plus the control run once more (the workers' share).

The array is 200,000 doubles (1.6 MB, in cache), summed 2,500 times a task: about a second of
computing in all, far above the clocks' and the 1000 Hz sampler's grain. At the seed's 20,000,000
doubles each sum streams 160 MB from memory, and four at once on two CPUs take 1.4-1.6 times the
CPU time one takes alone (measured without ipcprof, the workers timing themselves): the estimate
is CPU time as the run spent it, which such contention inflates (docs/report.md says so).

Also checks the profiler's cost in the report: the calls intercepted equal the channels' calls,
the samples the processes' CPU samples, the total the sum of its parts."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402

IPCPROF = sys.argv[1]
PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_control.py")
PY = "/usr/bin/python3"
TOLERANCE = 0.25
failures = []


def check(cond, what):
    print("ok:  " if cond else "FAIL:", what)
    if not cond:
        failures.append(what)


if run_to_files([PY, "-c", "import numpy"]).returncode:
    print("Debian's python3 has no numpy (apt-get install python3-numpy)")
    sys.exit(77)

work = tempfile.mkdtemp(prefix="ipcprof-serial-")
try:
    session, own_path = os.path.join(work, "session"), os.path.join(work, "own.json")
    r = run_to_files([IPCPROF, "record", "--sample-hz", "1000", "-o", session, "--",
                      PY, PROGRAM, own_path, "200000", "2500"], text=True, timeout=600)
    check(r.returncode == 0, f"record exit status {r.returncode}: {r.stderr[-2000:]}")
    with open(own_path) as f:
        own = json.load(f)
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    se = rep["run"]["serial_estimate"]
    expected = own["main_before_pool_cpu_s"] + own["control_cpu_s"]
    est = se["serial_ns"] / 1e9
    print(f"serial estimate {est:.3f} s, the program's clocks {expected:.3f} s "
          f"(main before the Pool {own['main_before_pool_cpu_s']:.3f} s + control "
          f"{own['control_cpu_s']:.3f} s), ratio {est / expected:.3f}")
    check(abs(est / expected - 1) <= TOLERANCE,
          f"serial estimate within {TOLERANCE:.0%} of the program's own clocks")
    workers = sum(p["time"]["compute_ns"] - p["time"]["compute_wait_ns"]
                  for p in rep["processes"] if p["parent"] is not None) / 1e9
    print(f"(for information: the workers' compute {workers:.3f} s against the control run's "
          f"{own['control_cpu_s']:.3f} s, ratio {workers / own['control_cpu_s']:.3f})")
    check(se["wall_ns"] == rep["run"]["wall_ns"], "the estimate stands next to the run's wall time")
    check(se["sampled"], "every process had CPU samples")
    check(se["sentence"].startswith("A serial run would take about ") and "this run took" in se["sentence"],
          "the sentence: " + se["sentence"])
    check(se["sentence"] in r.stderr, "the sentence in the terminal summary")
    check("profiler's own time, estimated:" in r.stderr, "the profiler's cost in the terminal summary")

    # The profiler's cost: its counts are the report's own counts.
    ov = rep["run"]["overhead"]
    calls = sum(e[d]["calls"] for c in rep["channels"] for e in c["endpoints"] for d in ("out", "in"))
    check(ov["calls"] == calls and calls > 0, f"calls intercepted {ov['calls']} = the channels' {calls}")
    samples = sum((p["cpu"] or {}).get("samples", 0) for p in rep["processes"])
    check(ov["samples"] == samples and samples > 0, f"CPU samples {ov['samples']} = the processes' {samples}")
    check(sum(p["overhead"]["total_ns"] for p in rep["processes"]) == ov["total_ns"],
          "the run's cost is the processes' summed")
    check(ov["total_ns"] == ov["preload_ns"] + ov["sampler_ns"] + ov["start_ns"] + ov["probes_ns"],
          "the cost is the sum of its parts")
    check(ov["warning"] == (ov["processes_warned"] > 0 or (ov["share_of_cpu"] >= ov["warning_share"]
                                                           and ov["total_ns"] >= ov["warning_min_ns"])),
          "the warning follows its stated threshold")
    check("5%" in ov["method"] and "estimated" in ov["method"], "the method says how and the threshold")
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
