#!/usr/bin/env bash
# `koaljac deploy` against the local control plane (scripts/cluster.sh)
# beside `kubectl apply --server-side -f` of the same `koaljac build` output,
# in one run: generated chains of 10, 100 and 1,000 tasks
# (compiler/benches/generate.rs), each side into a namespace of its own.
# Wall time of the first apply (everything created) and the median of RUNS
# no-op re-applies, and the requests each client sent, counted by the API
# server itself (its audit log records every request of the admin user
# with its user agent). Neither side waits for pods: `--no-wait`.
#
#   bench/deploy.sh [RUNS]     (default 5; KOALJA_BENCH_TASKS="10 100 1000")
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
out=bench/out
mkdir -p "$out"
cargo build --quiet --release -p koaljac --bin koaljac -p koalja-compiler --example generate
scripts/cluster.sh up
kubectl="target/cluster/bin/kubectl --kubeconfig target/cluster/kubeconfig"
koaljac="./target/release/koaljac"
audit=target/cluster/logs/audit.log

# Requests in the audit log after line FROM whose user agent starts with AGENT.
requests_since() {
  tail -n "+$(($1 + 1))" "$audit" | python3 -c '
import json, sys
agent = sys.argv[1]
print(sum(1 for line in sys.stdin if json.loads(line).get("userAgent", "").startswith(agent)))' "$2"
}
lines() { wc -l < "$audit"; }
# Wall time of a command in ms.
ms() {
  local start end
  start=$(date +%s%N)
  "$@" > /dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

printf '%-6s %8s %11s %11s %7s %11s %11s %11s %7s %11s %11s\n' tasks objects koaljac_ms kubectl_ms ratio \
  koaljac_req kubectl_req noop_k_ms noop_ratio noop_k_req noop_c_req
for tasks in ${KOALJA_BENCH_TASKS:-10 100 1000}; do
  file="$out/deploy-$tasks.kja"
  ./target/release/examples/generate "$tasks" "$file"
  ns_k="bench-koaljac-$tasks"
  ns_c="bench-kubectl-$tasks"
  for ns in "$ns_k" "$ns_c"; do
    $kubectl delete namespace "$ns" --ignore-not-found --wait --timeout=600s > /dev/null
    $kubectl create namespace "$ns" > /dev/null
  done
  $koaljac build "$file" -n "$ns_c" > "$out/deploy-$tasks.yaml"
  objects=$(grep -c '^kind: ' "$out/deploy-$tasks.yaml")
  deploy=("$koaljac" deploy "$file" -n "$ns_k" --no-wait --kubeconfig target/cluster/kubeconfig)
  apply=($kubectl apply --server-side --field-manager=koaljac -f "$out/deploy-$tasks.yaml")

  mark=$(lines); k_ms=$(ms "${deploy[@]}"); sleep 1; k_req=$(requests_since "$mark" koaljac)
  mark=$(lines); c_ms=$(ms "${apply[@]}"); sleep 1; c_req=$(requests_since "$mark" kubectl)
  # Let the controllers finish both rollouts (2,000 pods at 1,000 tasks)
  # first: the no-op runs measure a re-deploy of a settled pipeline, not one
  # racing the controllers' churn for the machine's two cores.
  "$koaljac" deploy "$file" -n "$ns_k" --timeout 15m --kubeconfig target/cluster/kubeconfig > /dev/null
  $kubectl wait --for=jsonpath='{.status.readyReplicas}'=1 statefulsets --all -n "$ns_c" --timeout=900s > /dev/null
  # No-op re-applies, interleaved so both sides see the same machine.
  k_noop=(); c_noop=()
  mark=$(lines)
  for _ in $(seq "$runs"); do
    k_noop+=("$(ms "${deploy[@]}")")
    c_noop+=("$(ms "${apply[@]}")")
  done
  sleep 1
  nk_req=$(( $(requests_since "$mark" koaljac) / runs ))
  nc_req=$(( $(requests_since "$mark" kubectl) / runs ))
  nk=$(median "${k_noop[@]}"); nc=$(median "${c_noop[@]}")
  printf '%-6s %8s %11s %11s %7.2f %11s %11s %11.0f %7.2f %11s %11s\n' "$tasks" "$objects" "$k_ms" "$c_ms" \
    "$(python3 -c "print($k_ms/$c_ms)")" "$k_req" "$c_req" "$nk" "$(python3 -c "print($nk/$nc)")" "$nk_req" "$nc_req"
  for ns in "$ns_k" "$ns_c"; do $kubectl delete namespace "$ns" --wait=false > /dev/null; done
done
