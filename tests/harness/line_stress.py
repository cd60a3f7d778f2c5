"""Stress of the lab line (run under `lvslab run`): parallel sessions, megabytes both ways, checksummed.

argv: sessions, bytes to the lab per session, bytes from the lab per session.
Each session sends random bytes to `sha256sum` in the lab kernel and compares
the digest, and reads random bytes that the lab kernel generated along with
their digest. Prints the throughput; exit status 1 on any mismatch.
"""
import hashlib
import os
import sys
import threading
import time

# (run under `lvslab run`: the lab package comes from the PYTHONPATH it sets)
from lab import client as lvslab_client


def session(i, up, down, errors):
    data = os.urandom(up)
    rc, out, err, error = lvslab_client.run(["sha256sum"], kind="kernel", input=data, timeout=240)
    if rc != 0 or out.split()[0].decode() != hashlib.sha256(data).hexdigest():
        errors.append("session %d: to the lab: rc=%s %r %r" % (i, rc, out[:80], error))
    cmd = "head -c %d /dev/urandom > /run/stress.%d; sha256sum < /run/stress.%d >&2; cat /run/stress.%d; rm /run/stress.%d" % (
        down, i, i, i, i)
    rc, out, err, error = lvslab_client.run(["sh", "-c", cmd], kind="kernel", timeout=240)
    if rc != 0 or len(out) != down or err.split()[0].decode() != hashlib.sha256(out).hexdigest():
        errors.append("session %d: from the lab: rc=%s len=%d %r" % (i, rc, len(out), error))


def main():
    n, up, down = (int(a) for a in sys.argv[1:4])
    errors = []
    t0 = time.time()
    threads = [threading.Thread(target=session, args=(i, up, down, errors)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    print("line stress: %d sessions, %.1f MiB to the lab, %.1f MiB back, in %.1f s" % (
        n, n * up / 2**20, n * down / 2**20, took))
    if errors:
        print("\n".join(errors))
        return 1
    print("line stress: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
