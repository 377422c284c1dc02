"""A test's checks that go on after a failure: each one failed is printed and counted."""
import sys

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


def finish():
    """Exits 1 when a check failed, else prints ok."""
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print("ok")
