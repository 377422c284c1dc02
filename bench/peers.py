#!/usr/bin/python3
"""ipcprof's overhead against its peers: the same workloads with no tool, the preload, `ipcprof
record` (probes + preload), strace -f -c, perf trace -s and ltrace -f -c, measured side by side in
alternating order; prints the median wall-time ratios and the bytes each tool reported."""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = ["none", "preload", "record", "strace", "perf", "ltrace"]
TOOL_TITLES = {
    "none": "no tool (s)",
    "preload": "preload",
    "record": "ipcprof record",
    "record_net": "  start-up excluded",
    "strace": "strace -f -c",
    "perf": "perf trace -s",
    "ltrace": "ltrace -f -c",
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True, help="meson build folder of ipcprof")
    ap.add_argument("--pingpong", required=True, help="the peers_pingpong program")
    ap.add_argument("--source", required=True, help="ipcprof's source folder")
    ap.add_argument("-n", "--rounds", type=int, default=7,
                    help="rounds of the fast tools (none, preload, record); default 7")
    ap.add_argument("--slow-rounds", type=int, default=3,
                    help="rounds of strace and perf trace; default 3")
    ap.add_argument("--slow-cap", type=float, default=60.0,
                    help="seconds after which a strace or perf run is stopped; default 60")
    ap.add_argument("--ltrace-cap", type=float, default=20.0,
                    help="seconds after which the single ltrace run is stopped; default 20")
    ap.add_argument("--only", help="comma-separated workload keys (pingpong,hb-pipe,hb-sock,bulk,seed)")
    ap.add_argument("--markdown", help="also write the table as Markdown into this file")
    return ap.parse_args()


def workloads(a):
    hb = ["-g", "2", "-f", "5", "-l", "1000", "-s", "100"]
    seed = os.path.join(a.source, "demos", "python", "seed_pool.py")
    w = [
        ("pingpong", "pipe ping-pong, 20,000 x 64 B each way", [a.pingpong, "20000", "64"]),
        ("hb-pipe", "hackbench -p -g 2 -f 5 -l 1000 -s 100", ["hackbench", "-p"] + hb),
        ("hb-sock", "hackbench -g 2 -f 5 -l 1000 -s 100 (sockets)", ["hackbench"] + hb),
        ("bulk", "demo-copy -n 1000000 -w 2 -r 4 (64 MB of arrays)",
         [os.path.join(a.build, "demos", "demo-copy"), "-n", "1000000", "-w", "2", "-r", "4"]),
        ("seed", "seed_pool.py -n 1000000 -w 2 (Python Pool, 16 MB)",
         ["/usr/bin/python3", seed, "-n", "1000000", "-w", "2"]),
    ]
    if a.only:
        keep = a.only.split(",")
        w = [x for x in w if x[0] in keep]
    return w


def own_bytes(key, out):
    """The payload the workload itself says (or, for hackbench, its formula says) it moved."""
    if key.startswith("hb-"):
        # groups x fds x fds x loops x size (hackbench's senders each write to every receiver)
        return 2 * 5 * 5 * 1000 * 100
    m = re.search(r"^bytes_sent=(\d+)", out, re.M)
    return int(m.group(1)) if m else None


class Runner:
    def __init__(self, a, tmp):
        self.a = a
        self.tmp = tmp
        self.lib = os.path.join(a.build, "preload", "libipcprof.so")
        self.ipcprof = os.path.join(a.build, "report", "ipcprof")
        self.seq = 0

    def command(self, tool, argv):
        """argv and env for one run of the workload under the tool, and its session folder."""
        self.seq += 1
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("IPCPROF_") or k == "LD_PRELOAD":
                del env[k]
        out = os.path.join(self.tmp, "%s-%d" % (tool, self.seq))
        if tool == "none":
            return argv, env, None
        if tool == "preload":
            env.update(LD_PRELOAD=self.lib, IPCPROF_DIR=out, IPCPROF_REPORT="0")
            return argv, env, out
        if tool == "record":
            return [self.ipcprof, "record", "--no-report", "-q", "-o", out, "--"] + argv, env, out
        if tool == "strace":
            return ["strace", "-f", "-c", "-o", out + ".txt"] + argv, env, out + ".txt"
        if tool == "perf":
            return ["perf", "trace", "-s", "-o", out + ".txt", "--"] + argv, env, out + ".txt"
        if tool == "ltrace":
            return ["ltrace", "-f", "-c", "-o", out + ".txt"] + argv, env, out + ".txt"
        raise ValueError(tool)

    def run(self, tool, argv, cap):
        """(seconds or None when capped, stdout, output path); a failing workload stops the bench."""
        cmd, env, out = self.command(tool, argv)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        try:
            so, se = p.communicate(timeout=cap)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.communicate()
            return None, "", out
        dt = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("bench/peers: %s under %s failed (%d):\n%s" % (" ".join(argv), tool,
                                                                   p.returncode, se[-2000:]))
        return dt, so, out


def ipcprof_bytes(ipcprof, folder):
    """(preload bytes sent, kernel bytes moved / 2) from the report of a session folder."""
    r = subprocess.run([ipcprof, "report", "-q", folder], capture_output=True, text=True)
    path = os.path.join(folder, "ipcprof-report.json")
    if r.returncode != 0 or not os.path.exists(path):
        return None, None
    with open(path) as f:
        d = json.load(f)
    sent = sum(k["sent"] for k in d["run"]["bytes_by_kind"])
    kern = [p["kernel"]["ipc_bytes"] for p in d["processes"] if p.get("kernel")]
    return sent, (sum(kern) // 2 if kern else None)


def remove(path):
    if path and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif path and os.path.exists(path):
        os.unlink(path)


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return "%d cores (nproc), %s, kernel %s, load average %.1f at the start" % (
        os.cpu_count(), cpu, platform.release(), os.getloadavg()[0])


def fmt_ratio(x, capped=None):
    if x is None:
        return "> %.0fx" % capped if capped else "-"
    return "%.2f" % x if x < 10 else "%.1f" % x


def fmt_bytes(b):
    return "-" if b is None else "{:,}".format(b)


def main():
    a = parse_args()
    for prog in ("strace", "perf", "ltrace", "hackbench"):
        if not shutil.which(prog):
            sys.exit("bench/peers: %s is not installed (scripts/packages.txt lists its package)" % prog)
    if os.geteuid() != 0:
        print("bench/peers: not root: `ipcprof record` runs without its probes", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="ipcprof-peers.")
    started = time.time()
    print("machine: " + machine(), flush=True)
    r = Runner(a, tmp)
    # start-up of `ipcprof record` alone (loading the probes), to show the ratio without it
    startup = {"none": [], "record": []}
    for i in range(a.rounds):
        for tool in (["none", "record"] if i % 2 == 0 else ["record", "none"]):
            dt, _, out = r.run(tool, ["true"], a.slow_cap)
            startup[tool].append(dt)
            remove(out)
    record_startup = statistics.median(startup["record"]) - statistics.median(startup["none"])
    print("ipcprof record -- true: %.3f s more than true alone (probes loading)" % record_startup,
          flush=True)
    rows = []
    for key, title, argv in workloads(a):
        times = {t: [] for t in TOOLS}
        capped = {}
        kept = {}
        own = None
        for i in range(a.rounds):
            order = TOOLS[i % len(TOOLS):] + TOOLS[:i % len(TOOLS)]
            for tool in order:
                if tool in ("strace", "perf") and i >= a.slow_rounds:
                    continue
                if tool == "ltrace" and i > 0:
                    continue
                cap = a.ltrace_cap if tool == "ltrace" else a.slow_cap
                dt, so, out = r.run(tool, argv, cap)
                if dt is None:
                    capped[tool] = cap
                else:
                    times[tool].append(dt)
                if tool == "none":
                    own = own_bytes(key, so)
                if tool in kept:
                    remove(kept[tool])
                kept[tool] = out
        base = statistics.median(times["none"])
        ratio = {}
        for t in TOOLS[1:]:
            ratio[t] = statistics.median(times[t]) / base if times[t] else None
        ratio["record_net"] = ((statistics.median(times["record"]) - record_startup) / base
                               if times["record"] else None)
        pre_bytes, _ = ipcprof_bytes(r.ipcprof, kept["preload"])
        rec_bytes, kern_bytes = ipcprof_bytes(r.ipcprof, kept["record"])
        for out in kept.values():
            remove(out)
        capped = {t: c / base for t, c in capped.items()}
        rows.append(dict(key=key, title=title, base=base, ratio=ratio, capped=capped, own=own,
                         pre=pre_bytes, rec=rec_bytes, kern=kern_bytes,
                         n={t: len(v) for t, v in times.items()}))
        print("%-8s done: %.2f s without a tool (%.0f s so far)" % (key, base, time.time() - started),
              flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    table = render(rows, record_startup)
    print()
    print(table)
    print("\nwhole run: %.0f s" % (time.time() - started))
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table + "\n")


def render(rows, record_startup):
    """The wall-time ratios and bytes as a Markdown table (readable as plain text too)."""
    head = ["workload"] + [TOOL_TITLES[t] for t in
                           ["none", "preload", "record", "record_net", "strace", "perf", "ltrace"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["title"], "%.3f" % row["base"]]
        for t in ["preload", "record", "record_net", "strace", "perf", "ltrace"]:
            cells.append(fmt_ratio(row["ratio"].get(t), row["capped"].get(t)))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Bytes each tool reported (strace -c, perf trace -s and ltrace -c count calls and "
                 "time, not bytes):")
    lines.append("")
    lines.append("| workload | the workload's own count | preload: bytes sent | "
                 "ipcprof record: bytes sent | probes: kernel bytes (in+out)/2 |")
    lines.append("|---|---|---|---|---|")
    for row in rows:
        lines.append("| %s | %s | %s | %s | %s |" % (row["title"], fmt_bytes(row["own"]),
                                                    fmt_bytes(row["pre"]), fmt_bytes(row["rec"]),
                                                    fmt_bytes(row["kern"])))
    lines.append("")
    n = rows[0]["n"] if rows else {}
    lines.append("Medians of %s runs (strace, perf: %s; ltrace: 1, stopped after its cap); "
                 "\"start-up excluded\" subtracts the %.2f s that `ipcprof record -- true` takes "
                 "more than `true` (loading the probes)." % (n.get("none", 0), n.get("strace", 0),
                                                             record_startup))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
