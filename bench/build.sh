#!/usr/bin/env bash
# Whole-process `koaljac build` on generated chains of 100, 1,000 and 10,000
# tasks (compiler/benches/generate.rs: each task a wiring statement and a
# task block), medians over RUNS runs, with `wc -l` on the same files as the
# floor. A build that is refused (exit 1, e.g. K0044 when the IR outgrows a
# ConfigMap) is reported as such, not timed as a success.
#
#   bench/build.sh [RUNS]     (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-9}"
out=bench/out
mkdir -p "$out"
cargo build --quiet --release -p koaljac --bin koaljac -p koalja-compiler --example generate
# peak_MB is the child's max RSS, which counts the Python launcher's memory
# at fork; floor_MB is the same figure for `wc -l`, the launcher's share.
printf '%-8s %10s %12s %10s %10s %9s %s\n' tasks bytes build_ms wc_ms peak_MB floor_MB note
for tasks in 100 1000 10000; do
  file="$out/build-$tasks.kja"
  ./target/release/examples/generate "$tasks" "$file"
  note=""
  if ! ./target/release/koaljac build "$file" > "$out/build-$tasks.yaml" 2> "$out/build-$tasks.err"; then
    note="refused: $(grep -o 'K00[0-9][0-9]' "$out/build-$tasks.err" | head -n 1)"
  fi
  read -r ms kb < <(python3 bench/timing.py "$runs" -- ./target/release/koaljac build "$file")
  read -r floor floor_kb < <(python3 bench/timing.py "$runs" -- wc -l "$file")
  printf '%-8s %10s %12.1f %10.1f %10.1f %9.1f %s\n' "$tasks" "$(stat -c %s "$file")" "$ms" "$floor" \
    "$(python3 -c "print($kb/1024)")" "$(python3 -c "print($floor_kb/1024)")" "$note"
done
