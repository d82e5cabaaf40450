#!/usr/bin/env bash
# docker compose for the demo stack, whichever flavour this machine has.
#
#   scripts/compose.sh <compose args...>     e.g. up -d | ps | logs -f spawner | down -v
#
# Runs `docker compose` (v2 plugin) when it works, else `docker-compose` (v1, 1.29 tested), with
# `-f compose/docker-compose.yml -p spawner-demo`. Override: COMPOSE_CMD="docker-compose",
# SPAWNER_COMPOSE_PROJECT=name (a second stack also needs its own SPAWNER_NETWORK, SPAWNER_ID,
# SPAWNER_CONTAINER_PREFIX and ports). Delete instances before `down -v` (scripts/demo.sh --down does both): the network
# cannot be removed while instance containers are still attached to it. With SPAWNER_RUNTIME=swarm
# (the engine is a Swarm manager) it adds compose/swarm.yml: instances become Swarm services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILE="$ROOT/compose/docker-compose.yml"
# The harness: local images, host credentials as secrets (see the file).
HARNESS="$ROOT/compose/harness.yml"
FILES=(-f "$FILE" -f "$HARNESS")
case "${SPAWNER_RUNTIME:-docker}" in
  docker) ;;
  swarm) FILES+=(-f "$ROOT/compose/swarm.yml") ;;
  *) echo "[compose] ERROR: SPAWNER_RUNTIME=${SPAWNER_RUNTIME}: allowed: docker, swarm" >&2; exit 2 ;;
esac
PROJECT="${SPAWNER_COMPOSE_PROJECT:-spawner-demo}"

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi

if [ -n "${COMPOSE_CMD:-}" ]; then
  read -r -a CMD <<<"$COMPOSE_CMD"
elif docker compose version >/dev/null 2>&1; then
  CMD=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  CMD=(docker-compose)
else
  echo "[compose] ERROR: neither 'docker compose' (v2 plugin) nor 'docker-compose' works here;" \
    "install one (Debian: apt-get install docker-compose)" >&2
  exit 1
fi

# The containers get the socket of the engine compose talks to (DOCKER_HOST=unix://...), not
# always /var/run/docker.sock: that may be another engine's (see scripts/ensure-current-engine.sh).
if [ -z "${SPAWNER_DOCKER_SOCKET:-}" ] && [[ "${DOCKER_HOST:-}" == unix://* ]]; then
  export SPAWNER_DOCKER_SOCKET="${DOCKER_HOST#unix://}"
fi

exec "${CMD[@]}" "${FILES[@]}" -p "$PROJECT" "$@"
