#!/usr/bin/env bash
# Whole-process `koaljac check` on generated pipelines of 1,000, 10,000 and
# 100,000 tasks, beside `wc -l` on the same files (the floor: reading the
# bytes and nothing else), in one run. Reports medians, the ratio to the
# floor, peak memory as a multiple of the file size, and how cost grows from
# 10,000 to 100,000 tasks (linear is 10x).
#
#   bench/check.sh [RUNS]     (default 15 runs per measurement)
#
# Throughput of each phase (lex, parse, check) in MB/s comes from the divan
# benchmark: cargo bench -p koalja-compiler --bench front_end
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
out=bench/out
mkdir -p "$out"
cargo build --quiet --release -p koaljac --bin koaljac -p koalja-compiler --example generate
for tasks in 1000 10000 100000; do
  ./target/release/examples/generate "$tasks" "$out/pipeline-$tasks.kja"
done
# The generated files must check clean, or the timing means nothing.
./target/release/koaljac check "$out/pipeline-1000.kja" > /dev/null

# peak_MB is the child's max RSS, which counts the Python launcher's memory
# at fork; floor_MB is the same figure for `wc -l`, the launcher's share.
printf '%-8s %10s %12s %10s %8s %10s %8s %9s\n' tasks bytes koaljac_ms wc_ms ratio peak_MB x_file floor_MB
declare -A median
for tasks in 1000 10000 100000; do
  file="$out/pipeline-$tasks.kja"
  bytes=$(stat -c %s "$file")
  read -r ms kb < <(python3 bench/timing.py "$runs" -- ./target/release/koaljac check "$file")
  read -r floor floor_kb < <(python3 bench/timing.py "$runs" -- wc -l "$file")
  median[$tasks]=$ms
  python3 - "$tasks" "$bytes" "$ms" "$floor" "$kb" "$floor_kb" <<'PY'
import sys
tasks, size, ms, floor, kb, floor_kb = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7])
print(f"{tasks:<8} {size:>10} {ms:>12.1f} {floor:>10.1f} {ms/floor:>8.1f} {kb/1024:>10.1f} {kb*1024/size:>8.1f} {floor_kb/1024:>9.1f}")
PY
done
python3 -c "import sys; print(f'growth 100k/10k: {float(sys.argv[2])/float(sys.argv[1]):.1f}x (linear: 10x)')" "${median[10000]}" "${median[100000]}"
