"""What the hostile tests share: their options, a case's checks and work folder, and running the
case named by --case."""
import argparse
import json
import os
import shutil
import tempfile


def parse_args(doc):
    """The options every hostile test is given: the parts of ipcprof, the test programs, the case."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--prog", required=True, help="hostile_prog")
    ap.add_argument("--sig-counter", required=True)
    ap.add_argument("--uring-writer", required=True)
    ap.add_argument("--sigprog", required=True, help="sigblock")
    ap.add_argument("--case", required=True)
    a = ap.parse_args()
    for k, v in vars(a).items():
        if k != "case":
            setattr(a, k, os.path.abspath(v))
    return a


class Case:
    """One case's run: the options, a work folder, the environment without ipcprof's settings,
    and the checks that failed."""

    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.fails = []
        self.clean_env = {k: v for k, v in os.environ.items()
                          if not k.startswith("IPCPROF_") and k != "LD_PRELOAD"}

    def check(self, ok, what):
        print(("ok:   " if ok else "FAIL: ") + what)
        if not ok:
            self.fails.append(what)

    def report_json(self, folder):
        with open(os.path.join(folder, "ipcprof-report.json")) as f:
            return json.load(f)


def main(doc, script, case_class, prefix):
    """Runs the case --case names (the function case_NAME among the script's globals) in a fresh
    work folder (readable by other users, for the cases that run programs as nobody); the exit
    status for meson."""
    cases = {k[len("case_"):]: f for k, f in script.items() if k.startswith("case_")}
    a = parse_args(doc)
    work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(work, 0o755)
    try:
        c = case_class(a, work)
        cases[a.case](c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if c.fails:
        print("%d checks failed" % len(c.fails))
        return 1
    return 0

