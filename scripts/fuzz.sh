#!/usr/bin/env bash
# Fuzzes for SECONDS seconds in all (default 60), half each: the front end
# (compiler/fuzz, target `analyze`, seeded with the examples and corpora) and
# the agent (runtime/fuzz, target `agent`: IR JSON, outside names, snapshot
# engine programs, seeded with the example IR). Needs cargo-fuzz (`cargo
# install cargo-fuzz --locked`); libFuzzer's flags are nightly-only, so the
# stable toolchain is told to accept them with RUSTC_BOOTSTRAP=1.
#
# A crash is saved under <crate>/fuzz/artifacts/<target>/. Copy it into
# compiler/test_data/fuzz-failures/ or runtime/test_data/fuzz-failures/ (a
# normal test replays every file there), fix the bug, and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
half=$(( (seconds + 1) / 2 ))

mkdir -p compiler/fuzz/corpus/analyze
cp examples/*.kja compiler/test_data/*/*/*.kja compiler/fuzz/corpus/analyze/
(cd compiler && RUSTC_BOOTSTRAP=1 cargo fuzz run analyze --fuzz-dir fuzz -- \
  -max_total_time="$half" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 20)

mkdir -p runtime/fuzz/corpus/agent
cp runtime/tests/data/*.json runtime/fuzz/corpus/agent/
(cd runtime && RUSTC_BOOTSTRAP=1 cargo fuzz run agent --fuzz-dir fuzz -- \
  -max_total_time="$half" -max_len=8192 -print_final_stats=1 2>&1 | tail -n 20)
