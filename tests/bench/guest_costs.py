"""What work costs inside a lab host (run there with the host's /usr/bin/python3; prints JSON).

User-mode Linux runs a guest's instructions at the machine's speed but turns each
system call and page fault into context switches between machine processes, so
these three figures describe a lab kernel's speed: a pure-Python loop, a system
call (getppid), a page fault (first touch of fresh anonymous memory).
"""
import json
import os
import resource
import time

LOOP = 2000000
CALLS = 5000
MIB = 20


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main():
    t0 = time.perf_counter()
    total = 0
    for i in range(LOOP):
        total += i
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(CALLS):
        os.getppid()
    syscall = (time.perf_counter() - t0) / CALLS
    f0, t0 = minor_faults(), time.perf_counter()
    block = bytearray(MIB << 20)  # zero-filled: every page touched once
    fault_s, faults = time.perf_counter() - t0, minor_faults() - f0
    del block
    print(json.dumps({"loop_s": loop, "syscall_us": syscall * 1e6, "fault_us": fault_s / max(faults, 1) * 1e6,
                      "faults": faults}))


if __name__ == "__main__":
    main()
