# The program the fuzzers' base records (fuzz/base) are a run of: a pipe between two processes, pickling.
# IPCPROF_CHANNELS=512 IPCPROF_TIMELINE=64 IPCPROF_SAMPLE_AREA=131072 ipcprof record -o S -- /usr/bin/python3 fuzz/base_app.py
import os, pickle

def make(n):
    return [{"id": i, "name": "item%d" % i, "vals": list(range(i % 50)), "f": i * 0.5} for i in range(n)]

def send(fd, blob):
    os.write(fd, len(blob).to_bytes(4, "little"))
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view):]

def recv_exact(fd, n):
    out = bytearray()
    while len(out) < n:
        b = os.read(fd, n - len(out))
        if not b:
            return None
        out += b
    return bytes(out)

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    for _ in range(40):
        send(w, pickle.dumps(make(4000)))
    os.close(w)
    os._exit(0)
os.close(w)
got = 0
while True:
    h = recv_exact(r, 4)
    if h is None:
        break
    got += len(pickle.loads(recv_exact(r, int.from_bytes(h, "little"))))
os.close(r)
os.waitpid(pid, 0)
print(got)
