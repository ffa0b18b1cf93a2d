#!/usr/bin/env bash
# Every test suite of the project, on a fresh machine: first installs what
# is missing, then runs each suite and stops at the first that fails.
#
#   scripts/test.sh
#
# Suites so far (later parts add theirs here): formatting and lints; the
# Rust tests of every crate (unit, fixtures, corpora, snapshots, CLI,
# properties, the IR, graphs checked by Graphviz, SVG drawn in headless
# Chromium, manifests checked by kubernetes-validate --strict, the language
# server in process, over stdio and through Neovim's client); the TextMate
# and tree-sitter grammars; the VS Code extension (activation, the graph
# webview in headless chromium, the packaged .vsix, and the extension in a
# real VS Code: code-server driven by Playwright); the local runtime (snapshot engine, executor, store,
# agents over HTTP, `koaljac run` end to end, the SIGKILL crash test); the
# agent's static binary and FROM-scratch image, verified by chroot;
# the main job (check the examples, run linecount.kja on its sample data); a short fuzzing run (KOALJA_FUZZ_SECONDS,
# default 60; 0 skips it). The cluster commands run against a real control
# plane on loopback (scripts/cluster.sh), started before the Rust tests and
# stopped when this script ends.
#
# Build caches live outside the clone, so that only a machine's first run
# pays for cold builds: a clone without its own target/ directories gets
# links to ~/.cache/koalja/ (KOALJA_CACHE), and Go keeps ~/.cache/go-build.
set -euo pipefail
cd "$(dirname "$0")/.."

script_started=$SECONDS
step_started=$SECONDS
step_name=""
# Each step's header, with the time the step before it took.
step() {
  if [ -n "$step_name" ]; then
    printf '    (%s: %d s)\n' "$step_name" $((SECONDS - step_started))
  fi
  step_name="$*"
  step_started=$SECONDS
  printf '\n==> %s\n' "$*"
}

cache="${KOALJA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/koalja}"
for dir in target compiler/fuzz/target runtime/fuzz/target; do
  if [ ! -e "$dir" ]; then
    mkdir -p "$cache/$dir"
    ln -s "$cache/$dir" "$dir"
  fi
done

step "installing what the tests need"
apt_install() {
  # Debian packages, installed only when their command is missing.
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" > /dev/null
}
# podman and umoci build and unpack the agent image (no container runs).
apt_install dot:graphviz chromium:chromium podman:podman umoci:umoci file:file
# Neovim (its built-in LSP client) is the language server's second real client.
apt_install nvim:neovim
# openssl makes the local cluster's certificates, ip its pods' network namespace.
apt_install openssl:openssl ip:iproute2
if ! command -v go >/dev/null 2>&1; then
  echo "test.sh: the local Kubernetes control plane is built with Go 1.26, which is not on PATH" >&2
  exit 2
fi
# The official Kubernetes schemas, offline, for the manifests' tests. The
# virtualenv is made at target's real path (under the cache), because its
# scripts name their interpreter by absolute path: one made through a clone's
# `target` link stops working when that clone is gone. It is proved by
# running it, and made again when it does not run.
validator_env="$(cd target && pwd -P)/venv-validate"
if ! "$validator_env/bin/kubernetes-validate" --version > /dev/null 2>&1; then
  rm -rf "$validator_env"
  python3 -m venv "$validator_env"
  "$validator_env/bin/pip" install --quiet kubernetes-validate==1.37.0
fi
export KOALJA_KUBERNETES_VALIDATE="$validator_env/bin/kubernetes-validate"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
# The tree-sitter CLI from crates.io (its npm package downloads a binary).
if ! command -v tree-sitter >/dev/null 2>&1; then
  cargo install tree-sitter-cli --version 0.27.1 --locked --quiet
fi
# vscode-tmgrammar-test, pinned by grammar/package-lock.json; the extension's
# client, layout library, playwright-core (driving Debian's chromium, never a
# browser download) and vsce, pinned by editors/vscode/package-lock.json.
(cd grammar && npm ci --no-audit --no-fund --loglevel=error)
(cd editors/vscode && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
# Tests that need an outside tool fail, rather than skip, when it is missing.
export KOALJA_REQUIRE_TOOLS=1

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "local Kubernetes control plane (scripts/cluster.sh up)"
# Built from k8s.io/kubernetes and etcd on a machine's first run (minutes),
# then started in seconds; the cluster tests (cli/tests/real_cluster.rs)
# run against it inside `cargo test`.
trap 'scripts/cluster.sh down > /dev/null 2>&1 || true' EXIT
scripts/cluster.sh down > /dev/null 2>&1 || true
scripts/cluster.sh up
export KOALJA_E2E_KUBECONFIG="$PWD/target/cluster/kubeconfig"
export KOALJA_E2E_KUBECTL="$PWD/target/cluster/bin/kubectl"
export KOALJA_E2E_LOCAL_CLUSTER="$PWD/scripts/cluster.sh"

step "Rust tests (cargo test --workspace)"
# insta must not write snapshots in a test run: a changed snapshot fails.
mkdir -p target
# Written to a file and followed until cargo exits, not piped through tee:
# a process a failed test leaves behind would hold a pipe open, and the
# script would wait on it forever.
INSTA_UPDATE=no cargo test --workspace --quiet > target/cargo-test.log 2>&1 &
tests=$!
tail -n +1 -f --pid="$tests" target/cargo-test.log
wait "$tests"

step "grammars (TextMate and tree-sitter)"
scripts/grammar-test.sh

step "VS Code extension (activation, graph webview in chromium, .vsix)"
(
  cd editors/vscode
  KOALJA_LSP="$PWD/../../target/debug/koalja-lsp" npm test --silent
  npm run package --silent > /dev/null
  node test/package.test.js
)

step "the extension in a real VS Code (code-server, Playwright)"
# code-server and its Node 24 are installed once under the cache.
eval "$(scripts/code-server.sh)"
(
  cd editors/vscode
  PATH="$NODE24_BIN:$PATH" KOALJA_LSP="$PWD/../../target/debug/koalja-lsp" \
    KOALJAC="$PWD/../../target/debug/koaljac" node test/vscode.test.js
)

step "agent image (static binary, FROM scratch, verified in a chroot)"
scripts/agent-image.sh

step "main job: koaljac check examples/, then a local run of linecount.kja"
# The debug koaljac that `cargo test` built: the README's command is the same
# job with --release, and a cold release build of it would cost this run
# minutes for no test the debug build does not make (the bench scripts build
# and measure --release).
cargo run --quiet -p koaljac -- check --deny warnings examples/
rm -rf examples/.koalja
cargo run --quiet -p koaljac -- \
  run examples/linecount.kja --drop in=examples/data/linecount/
[ "$(cat examples/.koalja/out/out/* | tr -d ' \n')" = "454" ] || { echo "main job: unexpected results" >&2; exit 1; }

seconds="${KOALJA_FUZZ_SECONDS:-60}"
if [ "$seconds" -gt 0 ]; then
  step "fuzzing the front end and the agent for ${seconds}s"
  scripts/fuzz.sh "$seconds"
fi

step "all suites passed"
printf 'total: %d s\n' $((SECONDS - script_started))
# One closing line with the totals of every `test result:` line above.
python3 - target/cargo-test.log <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], errors="replace"):
    match = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if match:
        passed += int(match.group(1))
        failed += int(match.group(2))
print(f"tests: {passed} passed, {failed} failed")
PY
