#!/usr/bin/env bash
# Fuzzes the front end (compiler/fuzz, target `analyze`) for SECONDS seconds
# (default 60). Needs cargo-fuzz (`cargo install cargo-fuzz --locked`);
# libFuzzer's flags are nightly-only, so the stable toolchain is told to
# accept them with RUSTC_BOOTSTRAP=1. Seeds: the examples and the corpora.
#
# A crash is saved under compiler/fuzz/artifacts/analyze/. Copy it into
# compiler/test_data/fuzz-failures/ (tests/corpus.rs replays every file
# there), fix the bug, and commit both.
set -euo pipefail
cd "$(dirname "$0")/../compiler"
seconds="${1:-60}"
mkdir -p fuzz/corpus/analyze
cp ../examples/*.kja test_data/*/*/*.kja fuzz/corpus/analyze/
RUSTC_BOOTSTRAP=1 cargo fuzz run analyze --fuzz-dir fuzz -- \
  -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 20
