#!/usr/bin/env bash
# A large file into the gateway, through a two-task pipeline and out again,
# with the agents as separate processes over loopback HTTP, beside curl to
# and from nginx on loopback in the same run (bench/payload.py), and each
# agent's peak memory.
#
#   bench/payload.sh [SIZE_MB] [RUNS]     (defaults: 1024, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx curl > /dev/null
fi
cargo build --quiet --release -p koaljac --bin koaljac -p koalja-agent --bin koalja-agent
python3 bench/payload.py target/release/koalja-agent target/release/koaljac "$PWD/target/bench-payload" "$@"
