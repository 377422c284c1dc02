#!/usr/bin/python3
"""The CPU sampler's cost: the same CPU-bound programs with no preload, the preload with sampling
off (IPCPROF_SAMPLE_HZ=0), at the default rate and at ten times it, run side by side in
alternating order. Prints the median wall and CPU times and the ratios against sampling off."""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = [("none", None), ("off", "0"), ("default", ""), ("x10", None)]


def run(cmd, env):
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return time.monotonic() - t0, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--work", required=True, help="the sampler_work program")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("-n", "--rounds", type=int, default=7)
    ap.add_argument("--default-hz", type=int, default=100)
    args = ap.parse_args()
    # Pickling many small objects (CPython's _pickle, deep C stacks under the interpreter) and
    # Python recursion; no large buffers, whose page faults vary from run to run.
    pickle_code = ("import pickle\n"
                   "data = [{'id': i, 'name': str(i), 'v': [i, i * 0.5]} for i in range(20_000)]\n"
                   "for _ in range(60): pickle.loads(pickle.dumps(data))\n"
                   "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                   "fib(25)\n")
    # Python 300 frames deep, busy in its innermost one: every sample walks the Python frames
    # (the walker reads 128 of them, the most a stack keeps).
    deep_code = ("import sys\n"
                 "sys.setrecursionlimit(10_000)\n"
                 "def deep(n):\n"
                 "    if n == 0:\n"
                 "        s = 0\n"
                 "        for i in range(4_000_000): s += i\n"
                 "        return s\n"
                 "    return deep(n - 1)\n"
                 "for _ in range(3): deep(300)\n")
    workloads = [
        ("C, 40 frames deep", [args.work, "40", "150"]),
        ("C, 200 frames deep", [args.work, "200", "150"]),
        ("Python pickle + recursion", [args.python, "-c", pickle_code]),
        ("Python 300 frames deep", [args.python, "-c", deep_code]),
    ]
    base = {k: v for k, v in os.environ.items() if not k.startswith("IPCPROF_") and k != "LD_PRELOAD"}
    with tempfile.TemporaryDirectory(prefix="ipcprof-bench-") as tmp:
        envs = {}
        for name, hz in CONFIGS:
            e = dict(base)
            if name != "none":
                e.update(LD_PRELOAD=args.preload, IPCPROF_DIR=os.path.join(tmp, name),
                         IPCPROF_REPORT="0")
                if name == "off":
                    e["IPCPROF_SAMPLE_HZ"] = "0"
                elif name == "x10":
                    e["IPCPROF_SAMPLE_HZ"] = str(10 * args.default_hz)
            envs[name] = e
        print(f"CPU sampler cost, {args.rounds} rounds each, configurations alternating; "
              f"default rate {args.default_hz} Hz, x10 = {10 * args.default_hz} Hz")
        print(f"{'workload':28} {'config':8} {'wall s':>8} {'cpu s':>8} {'wall/off':>9} {'cpu/off':>8}")
        for title, cmd in workloads:
            res = {name: [] for name, _ in CONFIGS}
            for _ in range(args.rounds):
                for name, _ in CONFIGS:
                    res[name].append(run(cmd, envs[name]))
            med = {n: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
                   for n, r in res.items()}
            for name, _ in CONFIGS:
                w, c = med[name]
                print(f"{title:28} {name:8} {w:8.3f} {c:8.3f} {w / med['off'][0]:9.3f} "
                      f"{c / med['off'][1]:8.3f}")
                title = ""
    return 0


if __name__ == "__main__":
    sys.exit(main())
