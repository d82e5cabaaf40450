#!/usr/bin/env bash
# Makes a three-node Docker Swarm answer on this one machine, as root on Linux: one manager and
# two workers, each a dockerd in its own network namespace with its own data root.
#
#   scripts/ensure-swarm-cluster.sh [--stop | --kill-node N | --start-node N | --env]
#
# Node N (1 = the manager; SPAWNER_CLUSTER_NODES, default 3): dockerd from the current engine's
# cached binaries (scripts/ensure-current-engine.sh) in netns spawner-mnN, data root
# /var/lib/spawner-mnN, socket /run/spawner-mnN/docker.sock, log /var/log/spawner-mnN-dockerd.log,
# a veth to the host that forwards nothing (as the one-node swarm's), and a second veth into
# netns spawner-mnsw: a plain Linux bridge there (no iptables, no way out) is the cluster's
# network, 10.79.240.1N/24 on node N. Swarm's control plane (2377), gossip (7946) and the overlays'
# VXLAN (4789) run over it; nothing of it touches the host's or the other engines' namespaces.
#
# Then `docker swarm init` on node 1 (overlay subnets from 10.128.0.0/12), `docker swarm join` of
# the others, and the images copied from the default engine with `docker save | docker load`:
# spawner, mock-app and traefik on the manager, the instance image on every node (no registry
# here; a real cluster pulls from one). Every step is skipped when already done.
#
# --kill-node N   the node dies as a host would: SIGKILL to every process of its namespace
#                 (dockerd, containerd, shims) and to its containers (the cgroup dockerd put them
#                 in). Its data root stays. --start-node N starts it again (it rejoins by itself).
# --stop          stops every node's dockerd (cluster state stays in the data roots).
# --env           how to reach the manager: the e2e suite runs inside its namespace, and runs
#                 --kill-node / --start-node in the host's, which this script names spawner-host.
set -euo pipefail
LOG_TAG=swarm-cluster
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

NODES="${SPAWNER_CLUSTER_NODES:-3}"
SWITCH_NS=spawner-mnsw BRIDGE=mnbr0 CLUSTER_NET=10.79.240 OVERLAY_POOL=10.128.0.0/12
MODE=ensure NODE=""
case "${1:-}" in
  "") ;;
  --stop | --env) MODE="${1#--}" ;;
  --kill-node | --start-node) MODE="${1#--}" NODE="${2:-}"
    [[ "$NODE" =~ ^[0-9]+$ ]] && [ "$NODE" -ge 1 ] && [ "$NODE" -le "$NODES" ] || die "$1 needs a node number from 1 to $NODES" ;;
  -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
  *) die "unknown argument '$1' (allowed: --stop, --kill-node N, --start-node N, --env, --help)" ;;
esac

ns_of() { echo "spawner-mn$1"; }
sock_of() { echo "/run/spawner-mn$1/docker.sock"; }
addr_of() { echo "$CLUSTER_NET.$((10 + $1))"; }
on() { local n="$1"; shift; DOCKER_HOST="unix://$(sock_of "$n")" docker "$@"; }

if [ "$MODE" = env ]; then
  printf 'export DOCKER_HOST=unix://%s\n' "$(sock_of 1)"
  printf '# then: nsenter --net=/run/netns/%s <command>   (the manager; 127.0.0.1 is its loopback)\n' "$(ns_of 1)"
  exit 0
fi
is_root || die "the swarm cluster needs root (network namespaces, iptables, dockerd)"
here="$(dirname "${BASH_SOURCE[0]}")"

# engine N ARGS...: scripts/ensure-current-engine.sh for node N (its namespace, paths, veth).
engine() {
  local n="$1"
  shift
  SPAWNER_CURRENT_NETNS="$(ns_of "$n")" SPAWNER_CURRENT_RUN_DIR="/run/spawner-mn$n" \
    SPAWNER_CURRENT_DATA_ROOT="/var/lib/spawner-mn$n" SPAWNER_CURRENT_DOCKERD_LOG="/var/log/spawner-mn$n-dockerd.log" \
    SPAWNER_CURRENT_VETH="spwmn$n" SPAWNER_CURRENT_LINK="10.79.$((240 + n))" \
    SPAWNER_CURRENT_BIP=10.79.1.1/24 SPAWNER_CURRENT_POOL=10.96.0.0/12 SPAWNER_CURRENT_UPLINK=0 \
    SPAWNER_ENGINE_LOG_TAG="swarm-node$n" DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
    "$here/ensure-current-engine.sh" "$@"
}

# The cluster network: a bridge in its own namespace, one veth per node. And a name for the host's
# own namespace (spawner-host), for the e2e suite that kills and starts nodes from the manager's.
ensure_switch() {
  [ -e /run/netns/spawner-host ] || [ -n "$(ip netns identify $$)" ] || ip netns attach spawner-host $$
  [ -e "/run/netns/$SWITCH_NS" ] || { log "creating network namespace $SWITCH_NS (bridge $BRIDGE)"; ip netns add "$SWITCH_NS"; }
  ip -n "$SWITCH_NS" link show "$BRIDGE" >/dev/null 2>&1 || ip -n "$SWITCH_NS" link add "$BRIDGE" type bridge
  ip -n "$SWITCH_NS" link set "$BRIDGE" up
}
ensure_cluster_link() {
  local n="$1" ns dev="mnl$1" peer="mnl$1-sw"
  ns="$(ns_of "$n")"
  if ! ip -n "$ns" link show "$dev" >/dev/null 2>&1; then
    ip -n "$SWITCH_NS" link del "$peer" 2>/dev/null || true
    ip -n "$SWITCH_NS" link add "$peer" type veth peer name "$dev" netns "$ns"
  fi
  ip -n "$SWITCH_NS" link set "$peer" master "$BRIDGE" up
  [[ "$(ip -n "$ns" -o -4 addr show dev "$dev")" == *" $(addr_of "$n")/"* ]] || ip -n "$ns" addr add "$(addr_of "$n")/24" dev "$dev"
  ip -n "$ns" link set "$dev" up
}

ensure_manager() {
  case "$(on 1 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')" in
    "active true") log "node 1 is a swarm manager already" ;;
    inactive*)
      log "node 1: docker swarm init --advertise-addr $(addr_of 1)"
      on 1 swarm init --advertise-addr "$(addr_of 1)" --listen-addr "$(addr_of 1):2377" \
        --default-addr-pool "$OVERLAY_POOL" --default-addr-pool-mask-length 24 >/dev/null ;;
    *) die "node 1 is in swarm state '$(on 1 info --format '{{.Swarm.LocalNodeState}}')': inspect with DOCKER_HOST=unix://$(sock_of 1) docker info" ;;
  esac
}
ensure_worker() {
  local n="$1" mine
  # A worker knows its managers' addresses (not the cluster id: that is for managers).
  mine="$(on "$n" info --format '{{.Swarm.LocalNodeState}} {{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' 2>/dev/null || true)"
  case "$mine" in
    "active $(addr_of 1):2377 " | "pending"*) log "node $n is in the swarm already"; return 0 ;;
    inactive*) ;;
    *) log "node $n belongs to another swarm ($mine): leaving it"; on "$n" swarm leave --force >/dev/null ;;
  esac
  # Its old entry, if the manager still lists one (the node left without telling it).
  on 1 node ls --format '{{.ID}} {{.Status}}' | awk '$2 == "Down" { print $1 }' | while read -r id; do
    [ "$(on 1 node inspect --format '{{.Status.Addr}}' "$id")" = "$(addr_of "$n")" ] && on 1 node rm --force "$id" >/dev/null
  done
  log "node $n: docker swarm join $(addr_of 1):2377 --advertise-addr $(addr_of "$n")"
  on "$n" swarm join --token "$(on 1 swarm join-token -q worker)" --advertise-addr "$(addr_of "$n")" \
    --listen-addr "$(addr_of "$n"):2377" "$(addr_of 1):2377" >/dev/null
}

# Saved once (SPAWNER_IMAGE_TAR_DIR), then loaded into every node at once.
copy_images() {
  local n pids=() node_images=("$MOCK_APP_IMAGE" ${SPAWNER_SWARM_EXTRA_IMAGES:-})
  export SPAWNER_IMAGE_TAR_DIR="$BUILD_DIR/cache/cluster-images"
  image_tar "$SPAWNER_IMAGE" "$TRAEFIK_IMAGE" "${node_images[@]}"
  for n in $(seq 1 "$NODES"); do
    if [ "$n" = 1 ]; then copy_image "$(sock_of 1)" "$SPAWNER_IMAGE" "$TRAEFIK_IMAGE" "${node_images[@]}" &
    else copy_image "$(sock_of "$n")" "${node_images[@]}" & fi
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || die "copying the images failed"; done
}

kill_node() {
  local n="$1" ns pids
  ns="$(ns_of "$n")"
  pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
  log "node $n: SIGKILL to its namespace's processes (${pids:-none}) and its containers"
  # shellcheck disable=SC2086 # a list of pids
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  # Its containers run in their own namespaces, in the cgroup dockerd put them under (--cgroup-parent).
  local tasks
  for tasks in /sys/fs/cgroup/pids/"$ns"/*/tasks /sys/fs/cgroup/"$ns"/*/cgroup.procs; do
    [ -f "$tasks" ] || continue
    xargs -r kill -KILL <"$tasks" 2>/dev/null || true
  done
  rm -f "/run/spawner-mn$n/dockerd.pid"
}

case "$MODE" in
  stop) for n in $(seq "$NODES" -1 1); do engine "$n" --stop; done; exit 0 ;;
  kill-node) kill_node "$NODE"; exit 0 ;;
  start-node) timed "node $NODE dockerd" engine "$NODE"; ensure_cluster_link "$NODE"; exit 0 ;;
esac

ensure_switch
for n in $(seq 1 "$NODES"); do
  timed "node $n dockerd" engine "$n"
  ensure_cluster_link "$n"
done
timed "swarm init" ensure_manager
for n in $(seq 2 "$NODES"); do timed "node $n join" ensure_worker "$n"; done
timed "images" copy_images
log "swarm of $NODES: $(on 1 node ls --format '{{.Hostname}}/{{.ManagerStatus}}/{{.Status}}' | tr '\n' ' ')on unix://$(sock_of 1) (netns $(ns_of 1))"
