#!/usr/bin/env bash
# Makes a Docker 29 with the nftables firewall backend answer beside the other engines, as root on
# Linux: the engine of the 1,000-isolated-instances figures (README "Fleet throughput and the cost
# of isolation"). Not used by the tests.
#
#   scripts/ensure-nftables-engine.sh [--stop | --restart | --env]
#
# 1. dockerd from the binaries scripts/ensure-current-engine.sh caches, with
#    `--firewall-backend nftables`, in its own network namespace spawner-nft (veth 10.79.253.1
#    host / .2 inside; nothing forwarded out of it), data root /var/lib/spawner-nft, socket
#    /run/spawner-nft/docker.sock, log /var/log/spawner-nft-dockerd.log.
# 2. the bench's images (spawner, mock-app, mock-home, traefik; the bench builds mock-app:nohc) from the
#    default engine when missing or different.
#
# Use it:
#   nsenter --net=/run/netns/spawner-nft env DOCKER_HOST=unix:///run/spawner-nft/docker.sock \
#     npm run bench -- --only scale --scale-levels 10,100,1000
set -euo pipefail
LOG_TAG=nft-engine
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

MODE=ensure
for arg in "$@"; do
  case "$arg" in
    --stop) MODE=stop ;;
    --restart) MODE=restart ;;
    --env) MODE=env ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --stop, --restart, --env, --help)" ;;
  esac
done

export SPAWNER_CURRENT_NETNS=spawner-nft SPAWNER_CURRENT_RUN_DIR=/run/spawner-nft
export SPAWNER_CURRENT_DATA_ROOT=/var/lib/spawner-nft SPAWNER_CURRENT_DOCKERD_LOG=/var/log/spawner-nft-dockerd.log
export SPAWNER_CURRENT_VETH=spwnft SPAWNER_CURRENT_LINK=10.79.253
export SPAWNER_CURRENT_BIP=10.79.2.1/24 SPAWNER_CURRENT_POOL=10.128.0.0/12
export SPAWNER_CURRENT_UPLINK=0 SPAWNER_CURRENT_FIREWALL_BACKEND=nftables
export SPAWNER_ENGINE_LOG_TAG=nft-engine
SOCKET="$SPAWNER_CURRENT_RUN_DIR/docker.sock"

engine_dockerd "$MODE" "$SOCKET" "nftables engine"
timed "images" copy_image "$SOCKET" "$SPAWNER_IMAGE" "$MOCK_APP_IMAGE" "$MOCK_HOME_IMAGE" "$TRAEFIK_IMAGE"
log "nftables engine: $(DOCKER_HOST="unix://$SOCKET" docker info --format 'server {{.ServerVersion}}, firewall {{.FirewallBackend.Driver}}') on unix://$SOCKET (netns $SPAWNER_CURRENT_NETNS)"
