#!/usr/bin/env bash
# Language-server latency (lsp/benches/latency.rs): didChange → diagnostics,
# hover and koalja/graph on generated documents of 100 and 10,000 tasks,
# medians and p95 over RUNS requests, beside the compiler's whole analysis
# on the same text as the baseline (what a change costs without the
# incremental re-parse).
#
#   bench/lsp.sh [RUNS]     (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --quiet -p koalja-lsp --bench latency -- "${1:-100}"
