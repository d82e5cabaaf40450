#!/usr/bin/env bash
# Makes a one-node Docker Swarm answer beside the other engines, as root on Linux.
#
#   scripts/ensure-swarm-engine.sh [--stop | --restart | --env | --no-images]
#
# 1. dockerd from the binaries scripts/ensure-current-engine.sh caches (built there once from the
#    Go module proxy when missing), in ITS OWN network namespace spawner-swarm (veth 10.79.254.1
#    host / .2 inside; nothing forwarded out of it), data root /var/lib/spawner-swarm, socket /run/spawner-swarm/docker.sock,
#    log /var/log/spawner-swarm-dockerd.log. Neither Debian's engine nor the one in
#    spawner-current is touched: swarm mode rewrites iptables and adds docker_gwbridge/ingress,
#    which only ever happens inside this namespace.
# 2. `docker swarm init --advertise-addr 10.79.254.2` (skipped when the node is already a manager),
#    with overlay subnets from 10.112.0.0/12 so they never overlap the host's bridges.
# 3. the images the swarm e2e tests need (spawner, mock-app, mock-home, traefik; $SPAWNER_IMAGE etc.) copied
#    from the default engine with `docker save | docker load` when missing or different (no
#    registry here; a real operator pushes to one and every node pulls).
#
# Use it: `nsenter --net=/run/netns/spawner-swarm env DOCKER_HOST=unix:///run/spawner-swarm/docker.sock ...`
# (127.0.0.1 inside is the swarm engine's loopback, where its containers publish ports);
# --env prints that environment. --stop stops dockerd (swarm state stays in the data root).
set -euo pipefail
LOG_TAG=swarm-engine
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

MODE=ensure IMAGES=1
for arg in "$@"; do
  case "$arg" in
    --stop) MODE=stop ;;
    --restart) MODE=restart ;;
    --env) MODE=env ;;
    --no-images) IMAGES=0 ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --stop, --restart, --env, --no-images, --help)" ;;
  esac
done

export SPAWNER_CURRENT_NETNS="${SPAWNER_SWARM_NETNS:-spawner-swarm}"
export SPAWNER_CURRENT_RUN_DIR="${SPAWNER_SWARM_RUN_DIR:-/run/spawner-swarm}"
export SPAWNER_CURRENT_DATA_ROOT="${SPAWNER_SWARM_DATA_ROOT:-/var/lib/spawner-swarm}"
export SPAWNER_CURRENT_DOCKERD_LOG="${SPAWNER_SWARM_DOCKERD_LOG:-/var/log/spawner-swarm-dockerd.log}"
export SPAWNER_CURRENT_VETH=spwswm SPAWNER_CURRENT_LINK=10.79.254
export SPAWNER_CURRENT_BIP=10.79.1.1/24 SPAWNER_CURRENT_POOL=10.96.0.0/12
# No way out of the namespace: instances on egress overlays would otherwise send packets for
# other overlays' addresses through docker_gwbridge to the host's default route (off the machine).
export SPAWNER_CURRENT_UPLINK=0
export SPAWNER_ENGINE_LOG_TAG=swarm-engine
# Tasks use the node's image as it is instead of asking a registry first (there is none here:
# each task start would otherwise try, and wait for, a lookup of docker.io). Read by dockerd's
# swarm executor; a real cluster with a registry leaves it unset.
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
NS="$SPAWNER_CURRENT_NETNS"
SOCKET="$SPAWNER_CURRENT_RUN_DIR/docker.sock"
ADVERTISE=10.79.254.2
OVERLAY_POOL=10.112.0.0/12

engine_dockerd "$MODE" "$SOCKET" "swarm engine"

swarm() { DOCKER_HOST="unix://$SOCKET" docker "$@"; }

ensure_swarm() {
  local state
  state="$(swarm info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')"
  case "$state" in
    "active true") log "already a swarm manager" ;;
    inactive*)
      log "docker swarm init --advertise-addr $ADVERTISE"
      swarm swarm init --advertise-addr "$ADVERTISE" --listen-addr "$ADVERTISE:2377" \
        --default-addr-pool "$OVERLAY_POOL" --default-addr-pool-mask-length 24 >/dev/null
      ;;
    *) die "swarm node in state '$state' (not a manager): inspect with DOCKER_HOST=unix://$SOCKET docker info" ;;
  esac
}

copy_images() {
  # SPAWNER_SWARM_EXTRA_IMAGES: more, space-separated (e.g. mock-app:nohc for the wake figures).
  # shellcheck disable=SC2086 # a list
  # The second mock-app tag is the redeploy suite's (run here with E2E_RUNTIME=swarm).
  copy_image "$SOCKET" "$SPAWNER_IMAGE" "$MOCK_APP_IMAGE" "$MOCK_APP_ALT_IMAGE" "$MOCK_HOME_IMAGE" "$TRAEFIK_IMAGE" ${SPAWNER_SWARM_EXTRA_IMAGES:-}
}

timed "swarm init" ensure_swarm
[ "$IMAGES" = 0 ] || timed "images" copy_images
log "swarm engine: $(swarm info --format 'server {{.ServerVersion}}, swarm {{.Swarm.LocalNodeState}}, node {{.Swarm.NodeID}}') on unix://$SOCKET (netns $NS)"
