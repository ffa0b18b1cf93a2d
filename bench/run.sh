#!/usr/bin/env bash
# `koaljac run` beside a bare `xargs -P2` loop doing the same work (the
# floor): N files through uniq-lines → count-lines → total, medians of RUNS
# interleaved trials (bench/run.py), then the agent binary and image sizes.
#
#   bench/run.sh [RUNS] [N...]     (defaults: 5, N = 200 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true
cargo build --quiet --release -p koaljac --bin koaljac
python3 bench/run.py target/release/koaljac "$runs" "$@"
agent=target/x86_64-unknown-linux-gnu/agent/koalja-agent
image=target/agent-image/image.oci.tar
if [ -f "$agent" ] && [ -f "$image" ]; then
  echo "agent binary: $(stat -c %s "$agent") bytes; image archive: $(stat -c %s "$image") bytes (scripts/agent-image.sh)"
fi
