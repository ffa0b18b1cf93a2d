#!/usr/bin/env python3
"""Times whole commands: median wall time and median peak memory (max RSS of
the child, from wait4) over N runs. Shared by the bench/*.sh scripts.

    timing.py RUNS -- COMMAND ARGS...   prints "median_ms peak_kb"
"""
import os
import statistics
import subprocess
import sys
import time


def measure(command, runs):
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{command[0]} failed with status {status}")
    return statistics.median(times) * 1000, statistics.median(peaks)


if __name__ == "__main__":
    runs = int(sys.argv[1])
    separator = sys.argv.index("--")
    median_ms, peak_kb = measure(sys.argv[separator + 1 :], runs)
    print(f"{median_ms:.2f} {peak_kb:.0f}")
