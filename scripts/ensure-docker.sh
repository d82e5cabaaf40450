#!/usr/bin/env bash
# Makes a Docker Engine answer, plus the small tools the examples and tests use.
#
#   scripts/ensure-docker.sh [--browser]
#
# - Uses the engine that already answers (DOCKER_HOST, else the default socket).
# - Only when none answers, on Debian, as root, with the default socket: installs Debian's
#   docker.io + docker-compose if needed and starts `dockerd` in the background
#   (log: $DOCKERD_LOG, default /var/log/spawner-dockerd.log), then waits until it answers
#   (deadline: $DOCKER_WAIT_SECONDS, default 60).
# - Installs jq and curl when missing; with --browser also Debian's chromium.
# Idempotent: a second run only checks and returns.
set -euo pipefail
LOG_TAG=ensure-docker
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

# dockerd, runc and iptables live in sbin directories, which a non-login root shell may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/spawner-dockerd.log}"
DOCKERD_PID=""
DOCKER_WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"
WANT_BROWSER=0

for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --browser, --help)" ;;
  esac
done

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 15 docker info >/dev/null 2>&1; }

# true when a process named dockerd runs in this network namespace (no procps needed). Engines
# in other namespaces (scripts/ensure-current-engine.sh) are not the default engine.
dockerd_running() {
  local c d here
  here="$(readlink /proc/self/ns/net)"
  for c in /proc/[0-9]*/comm; do
    d="${c%/comm}"
    [ "$(cat "$c" 2>/dev/null)" = dockerd ] && [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$here" ] && return 0
  done
  return 1
}

default_socket() { [ -z "${DOCKER_HOST:-}" ] || [ "$DOCKER_HOST" = unix:///var/run/docker.sock ]; }

start_dockerd() {
  # A pid file left by a killed daemon makes dockerd refuse to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    log "removing stale /var/run/docker.pid"
    rm -f /var/run/docker.pid
  fi
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  # setsid: own session, so the daemon outlives this script and its caller's process group.
  # 9>&-: never hand a caller's build lock (scripts/_common.sh) to the daemon.
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  DOCKERD_PID=$!
  disown || true
}

wait_for_engine() {
  local deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
  until engine_answers; do
    if [ -n "$DOCKERD_PID" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      log "last lines of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "dockerd exited during start-up (see $DOCKERD_LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "last lines of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "Docker engine did not answer within ${DOCKER_WAIT_SECONDS}s (see $DOCKERD_LOG)"
    fi
    sleep 0.5
  done
}

ensure_engine() {
  if engine_answers; then
    log "Docker engine answers ($(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo '?'))"
    return 0
  fi
  default_socket || die "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info' (an engine is only started here for the default socket /var/run/docker.sock)"
  if [ -S /var/run/docker.sock ] && ! is_root && ! [ -w /var/run/docker.sock ]; then
    die "no permission on /var/run/docker.sock: add this user to the docker group (then log in again) or run as root"
  fi
  if ! is_debian || ! is_root; then
    die "no Docker engine answers on /var/run/docker.sock. Start one (or set DOCKER_HOST); this script only installs/starts Debian's docker.io when run as root on Debian"
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
    apt_install docker.io docker-compose
  fi
  # On a systemd host the package's postinst may already have started docker.service.
  if dockerd_running; then
    log "dockerd is running but not answering yet: waiting"
  else
    start_dockerd
  fi
  wait_for_engine
  log "Docker engine answers ($(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo '?'))"
}

ensure_tools() {
  need_cmd jq
  need_cmd curl
  if [ "$WANT_BROWSER" -eq 1 ]; then
    if [ -x /usr/bin/chromium ]; then
      log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
    else
      apt_install chromium
      [ -x /usr/bin/chromium ] || die "chromium installed but /usr/bin/chromium is missing"
    fi
  fi
}

ensure_engine
ensure_tools
