"""Runs a program with its stdout and stderr in files, not pipes, and returns what it printed."""
import subprocess
import tempfile


def run_to_files(argv, **kw):
    """subprocess.run(argv, **kw) with both outputs captured through temporary files.

    A pipe to the (unprofiled) test would be a channel of the profiled program like any other,
    so what the program prints would count as bytes it sent; a file is no channel."""
    text = kw.pop("text", False)
    mode = "w+" if text else "w+b"
    with tempfile.TemporaryFile(mode) as out, tempfile.TemporaryFile(mode) as err:
        rc = subprocess.run(argv, stdout=out, stderr=err, text=text, **kw).returncode
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, rc, out.read(), err.read())
