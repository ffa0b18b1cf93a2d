#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for the cluster tests:
#
#   scripts/cluster.sh up       # build if needed, start, wait until usable
#   scripts/cluster.sh down     # stop every process and remove the cluster's data
#   scripts/cluster.sh status   # which processes run
#   scripts/cluster.sh restart-apiserver   # kill -9 the API server and start it again on the same etcd
#   scripts/cluster.sh user NAME           # a client certificate and kube config for user NAME (no groups)
#
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl are
# the upstream programs of k8s.io/kubernetes v1.37.2 and go.etcd.io/etcd v3.7,
# and the nodes are kwok's (sigs.k8s.io/kwok v0.8.0), all linked into one
# binary by tests/cluster (see its main.go for why one). Four nodes: one in
# each of the regions af-east, af-west and eu-north
# (topology.kubernetes.io/region) and one without a region. kwok reports every
# pod bound to them Running and Ready and binds every claim of the default
# StorageClass `kwok-volume`. No container runs, except in namespaces
# labelled `koalja.dev/pods=run`: there koalja-pods (tests/cluster/pods.go)
# runs each pod's containers as a kubelet would, each pod in a network
# namespace of its own at the address kwok gave it (routed from here, a /32
# per pod), names answered by its DNS server on 10.245.0.1, the agent image
# standing for KOALJA_POD_AGENT (default target/debug/koalja-agent).
#
# Everything lives in target/cluster/: bin/ (a link per program), pki/,
# etcd/, logs/, pids/ and the admin kube config `kubeconfig`. The binary is
# built once per version of tests/cluster into ~/.cache/koalja/cluster/ (Go's
# own build cache is ~/.cache/go-build), so a fresh clone starts in seconds
# on a machine that built it before. Ports are on 127.0.0.1 only:
# KOALJA_CLUSTER_PORT (default 16443) for the API server, the two above it
# for etcd.
#
# Pod IPs are in 10.244.0.0/16, and every one of them not run by
# koalja-pods is an address of the network namespace `koalja-pods` that
# `up` makes (a veth pair, 10.245.0.1 on
# this side, 10.245.0.2 on the other): what the API server's service proxy
# sends to a pod (`koaljac status` asks the gateway that way) reaches a
# process listening in that namespace, or is refused there, and never leaves
# the machine. Kubernetes refuses loopback pod IPs, hence the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD/target/cluster"
bin="$root/bin"
pki="$root/pki"
logs="$root/logs"
pids="$root/pids"
port="${KOALJA_CLUSTER_PORT:-16443}"
etcd_port=$((port + 1))
etcd_peer_port=$((port + 2))
server="https://127.0.0.1:$port"
programs=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok koalja-pods)
daemons=(koalja-pods kwok kube-scheduler kube-controller-manager kube-apiserver etcd)
netns=koalja-pods
pod_cidr=10.244.0.0/16

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
say() { printf 'cluster: %s\n' "$*" >&2; }

# The binary, built when tests/cluster changed since the cached one.
build() {
  local key cache started
  key=$(cat tests/cluster/go.mod tests/cluster/go.sum tests/cluster/*.go | sha256sum | cut -c1-16)
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/koalja/cluster/$key"
  if [ ! -x "$cache/koalja-cluster" ]; then
    started=$(now)
    say "building the control plane (k8s.io/kubernetes v1.37.2, etcd, kwok); a cold build takes minutes"
    mkdir -p "$cache"
    (cd tests/cluster && GOFLAGS=-buildvcs=false go build -trimpath -ldflags='-s -w' -o "$cache/koalja-cluster.new" .)
    mv "$cache/koalja-cluster.new" "$cache/koalja-cluster"
    say "built in $(since "$started") s"
  fi
  mkdir -p "$bin"
  ln -sf "$cache/koalja-cluster" "$bin/koalja-cluster"
  for program in "${programs[@]}"; do ln -sf koalja-cluster "$bin/$program"; done
}

# A certificate signed by the cluster CA: cert NAME SUBJECT [SANs].
cert() {
  local name=$1 subject=$2 sans=${3:-}
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  local ext="$pki/$name.ext"
  if [ -n "$sans" ]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" > "$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' > "$ext"
  fi
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
}

# A kube config for the certificate NAME: kubeconfig NAME FILE.
kubeconfig() {
  local name=$1 file=$2
  "$bin/kubectl" --kubeconfig="$file" config set-cluster koalja-local --server="$server" \
    --certificate-authority="$pki/ca.crt" --embed-certs=true > /dev/null
  "$bin/kubectl" --kubeconfig="$file" config set-credentials "$name" \
    --client-certificate="$pki/$name.crt" --client-key="$pki/$name.key" --embed-certs=true > /dev/null
  "$bin/kubectl" --kubeconfig="$file" config set-context koalja-local --cluster=koalja-local --user="$name" > /dev/null
  "$bin/kubectl" --kubeconfig="$file" config use-context koalja-local > /dev/null
}

certificates() {
  [ -f "$pki/admin.crt" ] && return 0
  mkdir -p "$pki"
  openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=koalja-local-ca" -days 365 -out "$pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1"
  cert admin "/O=system:masters/CN=koalja-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok"
  openssl genrsa -out "$pki/service-account.key" 2048 2>/dev/null
  openssl rsa -in "$pki/service-account.key" -pubout -out "$pki/service-account.pub" 2>/dev/null
  kubeconfig admin "$root/kubeconfig"
  kubeconfig controller-manager "$pki/controller-manager.kubeconfig"
  kubeconfig scheduler "$pki/scheduler.kubeconfig"
  kubeconfig kwok "$pki/kwok.kubeconfig"
}

running() { [ -f "$pids/$1" ] && kill -0 "$(cat "$pids/$1")" 2>/dev/null; }

# start NAME ARGS...: a program in the background, its log in logs/NAME.log.
start() {
  local name=$1
  shift
  running "$name" && return 0
  mkdir -p "$logs" "$pids"
  setsid "$bin/$name" "$@" >> "$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$pids/$name"
}

# wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds, or fail naming WHAT and its log.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" > /dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$what did not come up within ${seconds}s; the last lines of its log:"
      tail -n 30 "$logs/$what.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

kubectl_admin() { "$bin/kubectl" --kubeconfig="$root/kubeconfig" "$@"; }

# The API server's audit log records every request of the admin user
# (the tests' and bench/deploy.sh's clients), one JSON line each with its
# user agent, so that a benchmark can count the requests a client sent.
audit_policy() {
  cat > "$root/audit-policy.yaml" <<'EOF_POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [koalja-admin]
- level: None
EOF_POLICY
}

start_apiserver() {
  audit_policy
  start kube-apiserver \
    --audit-policy-file="$root/audit-policy.yaml" --audit-log-path="$logs/audit.log" \
    --audit-log-format=json --audit-log-maxsize=200 --audit-log-maxbackup=1 \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/service-account.pub" \
    --service-account-signing-key-file="$pki/service-account.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,ResourceQuota,LimitRanger \
    --endpoint-reconciler-type=none \
    --profiling=false
  wait_for kube-apiserver 120 kubectl_admin get --raw /readyz
}

# The pods' network: see the head of this file.
pods_network() {
  # Pods that koalja-pods runs are routed to one by one (a /32 each, more
  # specific than the catch-all below), and reach each other through here.
  sysctl -qw net.ipv4.ip_forward=1
  ip netns list | grep -qx "$netns\( .*\)\?" && return 0
  ip netns add "$netns"
  ip link add kpods0 type veth peer name kpods1 netns "$netns"
  ip addr add 10.245.0.1/30 dev kpods0
  ip link set kpods0 up
  ip -n "$netns" link set lo up
  ip -n "$netns" addr add 10.245.0.2/30 dev kpods1
  ip -n "$netns" link set kpods1 up
  ip -n "$netns" route add local "$pod_cidr" dev lo
  ip route add "$pod_cidr" via 10.245.0.2 dev kpods0
}

# What koalja-pods left (a pod's network namespace kp-…, and its veth),
# after a crash or a kill.
pods_leftovers() {
  local name
  for name in $(ip netns list | awk '$1 ~ /^kp-/ {print $1}'); do
    ip netns pids "$name" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$name" 2>/dev/null || true
  done
}

up() {
  local started
  build
  started=$(now)
  certificates
  pods_network
  start etcd --name=koalja --data-dir="$root/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster="koalja=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync --log-level=warn
  start_apiserver
  start kube-controller-manager \
    --kubeconfig="$pki/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$pki/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$pki/controller-manager.kubeconfig" \
    --service-account-private-key-file="$pki/service-account.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true --leader-elect=false \
    --controllers='*,-node-ipam-controller' \
    --bind-address=127.0.0.1 --secure-port=0
  start kube-scheduler \
    --kubeconfig="$pki/scheduler.kubeconfig" \
    --authentication-kubeconfig="$pki/scheduler.kubeconfig" \
    --authorization-kubeconfig="$pki/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port=0
  kwok_config
  start kwok --kubeconfig="$pki/kwok.kubeconfig" --config="$root/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr="$pod_cidr" --node-ip=10.245.0.2 --node-lease-duration-seconds=40 --server-address=
  nodes
  # The pods of namespaces labelled koalja.dev/pods=run, run for real
  # (tests/cluster/pods.go); the agent image stands for this binary.
  start koalja-pods --kubeconfig="$pki/kwok.kubeconfig" --root="$root/pods" --logs="$logs/pods" \
    --agent-binary="${KOALJA_POD_AGENT:-$PWD/target/debug/koalja-agent}" --host-ip=10.245.0.1
  say "up in $(since "$started") s: KUBECONFIG=$root/kubeconfig"
}

# kwok's own stage definitions, from the module the binary was built from:
# nodes become Ready and keep a lease, pods Running and Ready, claims bound.
kwok_config() {
  local stages run_guard
  run_guard="    - key: '.status.conditions.[] | select( .type == \"koalja.dev/Run\" ) | .status'
      operator: 'DoesNotExist'"
  stages="$(cd tests/cluster && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  {
    for file in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/general/pod-create.yaml pod/general/pod-init-container-running.yaml \
      pod/general/pod-init-container-completed.yaml pod/general/pod-ready.yaml \
      pod/general/pod-complete.yaml pod/general/pod-delete.yaml \
      volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml volume/fast/pvc-provision.yaml volume/fast/pvc-delete.yaml; do
      case "$file" in
        # A pod koalja-pods runs reports its own status (tests/cluster/status.go):
        # its condition koalja.dev/Run keeps kwok's later pod stages off it.
        pod/general/pod-init-container-*|pod/general/pod-ready.yaml|pod/general/pod-complete.yaml)
          GUARD="$run_guard" awk '{ print } /^    matchExpressions:$/ { print ENVIRON["GUARD"] }' "$stages/$file" ;;
        *) cat "$stages/$file" ;;
      esac
      printf -- '---\n'
    done
  } > "$root/kwok.yaml"
  cp "$stages/volume/fast/storage-class.yaml" "$root/storage-class.yaml"
}

nodes() {
  local region
  for node in af-east af-west eu-north no-region; do
    region=""
    [ "$node" = no-region ] || region="    topology.kubernetes.io/region: $node"
    kubectl_admin apply --server-side --field-manager=cluster.sh -f - > /dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: node-$node
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: node-$node
    kubernetes.io/os: linux
    type: kwok
$region
EOF
  done
  # The default StorageClass, so a StatefulSet's claims are provisioned (by kwok).
  kubectl_admin apply --server-side --field-manager=cluster.sh -f "$root/storage-class.yaml" > /dev/null
  kubectl_admin annotate --overwrite storageclass kwok-volume storageclass.kubernetes.io/is-default-class=true > /dev/null
  wait_for kwok 60 nodes_ready
  # The controllers make the namespace's default ServiceAccount; pods wait for it.
  wait_for kube-controller-manager 60 kubectl_admin get serviceaccount default -n default
}

nodes_ready() {
  [ "$(kubectl_admin get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" -eq 4 ]
}

down() {
  for program in "${daemons[@]}"; do
    if running "$program"; then
      kill "$(cat "$pids/$program")" 2>/dev/null || true
    fi
  done
  for program in "${daemons[@]}"; do
    if [ -f "$pids/$program" ]; then
      local pid deadline=$((SECONDS + 20))
      pid=$(cat "$pids/$program")
      while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pids/$program"
    fi
  done
  pods_leftovers
  ip netns del "$netns" 2>/dev/null || true
  rm -rf "$root/etcd" "$pki" "$root/kubeconfig" "$logs" "$root/users" "$root/pods"
  say "down"
}

status() {
  for program in etcd kube-apiserver kube-controller-manager kube-scheduler kwok koalja-pods; do
    if running "$program"; then echo "$program: running (pid $(cat "$pids/$program"))"; else echo "$program: stopped"; fi
  done
}

# The API server killed outright (no graceful shutdown), then started again on
# the same etcd: the fault test of a deploy interrupted half-way.
restart_apiserver() {
  if running kube-apiserver; then
    kill -9 "$(cat "$pids/kube-apiserver")"
    while running kube-apiserver; do sleep 0.1; done
  fi
  rm -f "$pids/kube-apiserver"
  start_apiserver
}

# A user known by a client certificate only: no groups, so no permission
# beyond what RBAC grants the name. Prints the kube config's path.
user() {
  local name=$1
  mkdir -p "$root/users"
  if [ ! -f "$root/users/$name.kubeconfig" ]; then
    cert "$name" "/CN=$name"
    kubeconfig "$name" "$root/users/$name.kubeconfig"
  fi
  echo "$root/users/$name.kubeconfig"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  build) build ;;
  restart-apiserver) restart_apiserver ;;
  user) user "${2:?usage: scripts/cluster.sh user NAME}" ;;
  *)
    echo "usage: scripts/cluster.sh up|down|status|build|restart-apiserver|user NAME" >&2
    exit 2
    ;;
esac
