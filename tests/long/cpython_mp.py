#!/usr/bin/python3
"""CPython's own multiprocessing test suites give the same outcome, test by test, with and without
the preload. Both runs go side by side (same machine load for both); a test whose outcome differs
is run again in both modes, and only a difference that repeats fails."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

PY = "/usr/bin/python3"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preload", required=True, help="libipcprof.so")
    ap.add_argument("--modules", default="test_multiprocessing_fork,test_multiprocessing_spawn,"
                    "test_multiprocessing_forkserver")
    ap.add_argument("-j", type=int, default=0,
                    help="regrtest workers per run (0: the modules one after another)")
    ap.add_argument("--retries", type=int, default=2,
                    help="reruns of a test whose outcome differs (default 2)")
    return ap.parse_args()


def outcomes(xml_path):
    """{test id: 'pass' | 'skip' | 'fail' | 'error'} from regrtest's JUnit XML."""
    res = {}
    for tc in ET.parse(xml_path).getroot().iter("testcase"):
        kinds = {c.tag for c in tc}
        res[tc.get("name")] = ("error" if "error" in kinds else "fail" if "failure" in kinds
                               else "skip" if "skipped" in kinds else "pass")
    return res


def start(modules, xml_path, log_path, env, jobs, matchfile=None):
    cmd = [PY, "-m", "test"] + modules + ["--junit-xml", xml_path]
    if jobs:
        cmd += ["-j", str(jobs)]
    if matchfile:
        cmd += ["--matchfile", matchfile]
    log = open(log_path, "w")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log


def run_pair(a, modules, work, tag, matchfile=None):
    """Runs the modules without and with the preload at the same time; returns both outcome maps
    and the number of records the preloaded run left."""
    plain_env = {k: v for k, v in os.environ.items()
                 if not k.startswith("IPCPROF_") and k != "LD_PRELOAD"}
    session = os.path.join(work, tag + "-session")
    pre_env = dict(plain_env, LD_PRELOAD=a.preload, IPCPROF_DIR=session, IPCPROF_REPORT="0")
    runs = {}
    for mode, env in (("plain", plain_env), ("preload", pre_env)):
        xml = os.path.join(work, "%s-%s.xml" % (tag, mode))
        log = os.path.join(work, "%s-%s.log" % (tag, mode))
        runs[mode] = (xml, log) + start(modules, xml, log, env, a.j, matchfile)
    res = {}
    for mode, (xml, log, proc, fh) in runs.items():
        proc.wait()
        fh.close()
        if not os.path.exists(xml):
            with open(log) as f:
                sys.exit("cpython_mp: the %s run wrote no results (exit %d):\n%s" %
                         (mode, proc.returncode, f.read()[-3000:]))
        res[mode] = outcomes(xml)
    records = len([n for n in os.listdir(session) if n.endswith(".ipcrec")]) \
        if os.path.isdir(session) else 0
    shutil.rmtree(session, ignore_errors=True)
    return res["plain"], res["preload"], records


def main():
    a = parse_args()
    modules = a.modules.split(",")
    probe = subprocess.run([PY, "-c", "import test._test_multiprocessing"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: CPython's test suite is not installed (Debian package "
              "libpython3.11-testsuite)")
        return 77
    a.preload = os.path.abspath(a.preload)
    if not os.path.exists(a.preload):
        sys.exit("cpython_mp: no preload at " + a.preload)
    work = tempfile.mkdtemp(prefix="ipcprof-cpython-mp.")
    t0 = time.monotonic()
    plain, pre, records = run_pair(a, modules, work, "full")
    print("modules: %s; both runs side by side, %s: %.0f s" %
          (" ".join(modules), "-j%d each" % a.j if a.j else "one module at a time",
           time.monotonic() - t0))
    for mode, res in (("without the preload", plain), ("with the preload", pre)):
        counts = {}
        for o in res.values():
            counts[o] = counts.get(o, 0) + 1
        print("  %-20s %d tests: %s" % (mode, len(res), ", ".join(
            "%d %s" % (counts[k], k) for k in sorted(counts))))
    print("  the preloaded run left %d records (every process it started)" % records)
    ok = True
    if records < 100:
        print("FAIL: the preload recorded only %d processes: it did not follow the tests" % records)
        ok = False
    only = sorted(set(plain) ^ set(pre))
    if only:
        print("FAIL: tests run in one mode only: " + ", ".join(only[:20]))
        ok = False
    differ = sorted(t for t in set(plain) & set(pre) if plain[t] != pre[t])
    for t in sorted(t for t in plain if plain[t] in ("fail", "error")):
        print("  fails without the preload too: %s (%s)" % (t, plain[t]))
    # A difference must repeat to count: some of these tests depend on timing under load.
    seen = {t: ({plain[t]}, {pre[t]}) for t in differ}
    for attempt in range(a.retries):
        if not differ:
            break
        print("  outcome differs for %d tests; running them again in both modes (%d/%d)" %
              (len(differ), attempt + 1, a.retries))
        matchfile = os.path.join(work, "match-%d.txt" % attempt)
        with open(matchfile, "w") as f:
            f.write("\n".join(differ) + "\n")
        mods = sorted({t.split(".")[1] for t in differ})
        p2, q2, _ = run_pair(a, mods, work, "retry%d" % attempt, matchfile)
        still = []
        for t in differ:
            if t in p2 and t in q2:
                seen[t][0].add(p2[t])
                seen[t][1].add(q2[t])
            if not (seen[t][0] & seen[t][1]):
                still.append(t)
        differ = still
    for t, (po, qo) in sorted(seen.items()):
        verdict = "DIFFERS" if t in differ else "flaky (outcomes overlap)"
        print("  %s: without %s, with %s: %s" % (t, "/".join(sorted(po)), "/".join(sorted(qo)),
                                                  verdict))
    if differ:
        print("FAIL: %d tests have another outcome under the preload every time" % len(differ))
        ok = False
    print("total: %.0f s" % (time.monotonic() - t0))
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("logs and results kept in " + work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
