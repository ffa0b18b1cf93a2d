#!/usr/bin/env python3
"""`koaljac run` against a bare shell loop doing the same work (the floor).

N files of 50 lines go through `(in) uniq-lines (u)`, `(u) count-lines (c)`,
`(c[N]) total (sum)`: 2N+1 runs. The floor is `xargs -P2` running the same
shell commands, one process per file and step, then the total. Both are
timed whole, interleaved trial by trial (the machine is noisy), from an
empty state each time; medians of RUNS trials; both must agree on the sum.

    bench/run.py KOALJAC [RUNS] [N...]     (defaults: 5 trials, N = 200 1000)
"""
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

PIPELINE = """\
(in)     uniq-lines  (u)
(u)      count-lines (c)
(c[{n}]) total       (sum)

task uniq-lines  {{ shell: "sort {{in}} | uniq > {{u}}" }}
task count-lines {{ shell: "wc -l < {{u}} > {{c}}" }}
task total       {{ shell: "cat {{c}} | awk '{{s += $1}} END {{print s}}' > {{sum}}" }}
"""

FLOOR = """\
set -e
cd "$1"
mkdir -p u c
ls in | xargs -P2 -I{} sh -c 'sort "in/$1" | uniq > "u/$1"' _ {}
ls u | xargs -P2 -I{} sh -c 'wc -l < "u/$1" > "c/$1"' _ {}
cat c/* | awk '{s += $1} END {print s}' > sum
"""

WORDS = "koala wire breadboard pipeline snapshot window merge gateway agent run".split()


def make_inputs(root, n):
    rng = random.Random(n)
    inputs = os.path.join(root, "in")
    os.makedirs(inputs)
    for i in range(n):
        lines = [f"{rng.choice(WORDS)} {rng.randrange(30)}" for _ in range(50)]
        with open(os.path.join(inputs, f"{i:05}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    koaljac = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sizes = [int(n) for n in sys.argv[3:]] or [200, 1000]
    work = os.path.abspath("bench/out/run")
    print(f"{'N':>6} {'runs':>6} {'floor_s':>9} {'koaljac_s':>10} {'ratio':>7} {'per_run_overhead_ms':>20}")
    for n in sizes:
        root = os.path.join(work, str(n))
        shutil.rmtree(root, ignore_errors=True)
        make_inputs(root, n)
        with open(os.path.join(root, "pipeline.kja"), "w") as f:
            f.write(PIPELINE.format(n=n))
        floors, runs_ = [], []
        for _ in range(runs):
            floor_dir = os.path.join(root, "floor")
            shutil.rmtree(floor_dir, ignore_errors=True)
            os.makedirs(floor_dir)
            os.symlink(os.path.join(root, "in"), os.path.join(floor_dir, "in"))
            floors.append(timed(["bash", "-c", FLOOR, "_", floor_dir]))
            state = os.path.join(root, "state")
            shutil.rmtree(state, ignore_errors=True)
            runs_.append(timed([koaljac, "run", os.path.join(root, "pipeline.kja"), "--state", state,
                                "--drop", f"in={os.path.join(root, 'in')}", "--jobs", "2"]))
        floor_sum = open(os.path.join(root, "floor", "sum")).read().strip()
        outs = os.listdir(os.path.join(root, "state", "out", "sum"))
        run_sum = open(os.path.join(root, "state", "out", "sum", outs[0])).read().strip()
        if len(outs) != 1 or run_sum != floor_sum:
            sys.exit(f"N={n}: koaljac gave {run_sum} in {len(outs)} file(s), the floor {floor_sum}")
        floor, run = statistics.median(floors), statistics.median(runs_)
        overhead_ms = (run - floor) / (2 * n + 1) * 1000
        print(f"{n:>6} {2 * n + 1:>6} {floor:>9.2f} {run:>10.2f} {run / floor:>7.2f} {overhead_ms:>20.2f}")


if __name__ == "__main__":
    main()
