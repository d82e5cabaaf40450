#!/usr/bin/env bash
# Prepares this machine to run the tests and examples; quick when nothing changed.
#
#   scripts/setup.sh [--browser]
#
# 1. scripts/ensure-docker.sh: a Docker engine that answers, jq, curl (+ chromium with --browser)
# 2. npm ci, when node_modules is missing or older than package-lock.json
# 3. npm run build, when a package has no dist/ or its sources changed since the last build
# 4. scripts/images.sh: Traefik, Node and the app images (spawner, mock-app, mock-home)
set -euo pipefail
LOG_TAG=setup
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

ENSURE_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --browser) ENSURE_ARGS+=(--browser) ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --browser, --help)" ;;
  esac
done

check_node() {
  command -v node >/dev/null 2>&1 || die "node not found: install Node.js $NODE_MAJOR (>= 20.18)"
  command -v npm >/dev/null 2>&1 || die "npm not found next to node $(node -v)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge "$NODE_MAJOR" ] || die "node $(node -v) is too old: the project needs Node.js $NODE_MAJOR (>= 20.18)"
  log "node $(node -v), npm $(npm -v 2>/dev/null)"
}

START="$(now_ms)"
timed "node present" check_node
timed "docker engine + tools" "$REPO_ROOT/scripts/ensure-docker.sh" ${ENSURE_ARGS[@]+"${ENSURE_ARGS[@]}"}
take_build_lock # after ensure-docker: a dockerd started there must not inherit the lock
timed "npm ci (when needed)" npm_ci_if_needed
timed "build (when needed)" build_if_needed
timed "images" "$REPO_ROOT/scripts/images.sh"
print_timings
log "setup done in $(fmt_ms $(($(now_ms) - START))): images $TRAEFIK_IMAGE $NODE_IMAGE $SPAWNER_IMAGE $MOCK_APP_IMAGE $MOCK_HOME_IMAGE"
