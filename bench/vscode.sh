#!/usr/bin/env bash
# Keystroke in the browser → squiggle in the DOM through a real VS Code
# (code-server with the packaged extension; editors/vscode/bench/squiggle.js)
# on generated pipelines of 100 and 10,000 tasks, medians over RUNS
# keystrokes; beside the language server's own didChange → diagnostics
# (bench/lsp.sh's benchmark) in the same run, so the ratio says what the
# editor adds.
#
#   bench/vscode.sh [RUNS]     (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
out=bench/out/vscode
mkdir -p "$out"
cargo build --quiet --release -p koalja-lsp -p koalja-compiler --example generate
for tasks in 100 10000; do
  ./target/release/examples/generate "$tasks" "$out/pipeline-$tasks.kja"
done
eval "$(scripts/code-server.sh)"
# The extension as it is in this checkout (a package left in target/ may
# be older), with its dependencies when this clone has none yet.
if [ ! -d editors/vscode/node_modules ]; then
  (cd editors/vscode && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
(cd editors/vscode && npm run package --silent > /dev/null)
echo "-- through VS Code (code-server)"
(cd editors/vscode && PATH="$NODE24_BIN:$PATH" KOALJA_LSP="$PWD/../../target/release/koalja-lsp" \
  node bench/squiggle.js "$runs" "$PWD/../../$out/pipeline-100.kja" "$PWD/../../$out/pipeline-10000.kja")
echo "-- the server alone (bench/lsp.sh)"
cargo bench --quiet -p koalja-lsp --bench latency -- "$runs" | grep -E "didChange|baseline"
