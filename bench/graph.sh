#!/usr/bin/env bash
# How well `koaljac graph --format svg` reads beside Graphviz `dot`, in one
# run: random pipelines of TASKS tasks (compiler/tests/support/drawing.rs
# makes them), each laid out by koaljac and by `dot -Tsvg` from koaljac's
# own DOT, both counted from their SVGs by one measure: edges through a
# node not their own, and crossings. Then the cost, as the median wall time
# of each layout (dot's includes its process start) and in instructions
# (callgrind; they repeat within 1% across machines): koaljac's layout and
# SVG writing alone, beside whole `dot -Tsvg` processes on the same graphs.
#
#   bench/graph.sh [SEEDS] [TASKS]     (default 200 pipelines of 50 tasks)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-200}"
tasks="${2:-50}"
out=bench/out/graph
rm -rf "$out"
mkdir -p "$out"
cargo build --quiet --release -p koalja-compiler --example graph_quality
quality=./target/release/examples/graph_quality

"$quality" --seeds "$seeds" --tasks "$tasks" --save "$out" | tee "$out/table.txt" | tail -n 3
echo "(the table of every pipeline: $out/table.txt; drawings and DOT beside it)"

if ! command -v valgrind > /dev/null; then
  echo "instructions: valgrind is not installed (apt install valgrind)"
  exit 0
fi
sample=10
# Only inside svg::render: the layout and writing the SVG, not the
# analysis that builds the graph nor the measure.
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.koaljac" \
  --toggle-collect='*svg::render' \
  "$quality" --seeds "$sample" --tasks "$tasks" --no-dot > /dev/null 2> "$out/callgrind.koaljac.log"
ours=$(sed -n 's/^summary: //p' "$out/callgrind.koaljac")
theirs=0
for seed in $(seq 1 "$sample"); do
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.dot" \
    dot -Tsvg "$out/random-$seed.dot" -o /dev/null 2> /dev/null
  theirs=$((theirs + $(sed -n 's/^summary: //p' "$out/callgrind.dot")))
done
python3 - "$sample" "$ours" "$theirs" <<'PY'
import sys
sample, ours, theirs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"instructions per pipeline (first {sample}): koaljac layout {ours / sample / 1e6:.1f} M, "
      f"dot process {theirs / sample / 1e6:.1f} M, ratio {ours / theirs:.2f}")
PY
