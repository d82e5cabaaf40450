# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Sourced, never executed.
# Callers set `set -euo pipefail` themselves and define LOG_TAG before sourcing.

shopt -s inherit_errexit # `set -e` also inside $(...)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$REPO_ROOT/.build"
WORKSPACES=(spawner mock-app mock-home)

# Debian's engine only has the legacy builder; the v28 CLI would otherwise ask for buildx.
# The current engine's environment (current_engine_env) sets 1: BuildKit through its buildx.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

# usage SCRIPT: prints the script's leading comment block (after the shebang).
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"; }

log() { printf '[%s] %s\n' "${LOG_TAG:-spawner}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-spawner}" "$*" >&2; exit 1; }

now_ms() { local ns; ns="$(date +%s%N)"; echo "$((ns / 1000000))"; }
fmt_ms() { printf '%d.%01ds' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }

# `timed LABEL CMD...`: runs CMD, logs how long it took, keeps a summary in TIMINGS.
# CMD runs outside any `||`/`if` so that `set -e` stays in force inside it: a failure ends
# the script there.
TIMINGS=()
timed() {
  local label="$1" start took
  shift
  start="$(now_ms)"
  "$@"
  took=$(($(now_ms) - start))
  TIMINGS+=("$(printf '%-28s %8s' "$label" "$(fmt_ms "$took")")")
  log "$label: $(fmt_ms "$took")"
}
print_timings() {
  local line
  log "timings:"
  for line in "${TIMINGS[@]}"; do printf '    %s\n' "$line" >&2; done
}

# ---------------------------------------------------------------- versions
# shellcheck source=scripts/versions.env
. "$REPO_ROOT/scripts/versions.env"
TRAEFIK_DEFAULT_IMAGE="traefik:v${TRAEFIK_VERSION}"
TRAEFIK_IMAGE="${TRAEFIK_IMAGE:-$TRAEFIK_DEFAULT_IMAGE}"
NODE_IMAGE="${NODE_IMAGE:-$DEFAULT_NODE_IMAGE}"
SPAWNER_IMAGE="${SPAWNER_IMAGE:-$DEFAULT_SPAWNER_IMAGE}"
MOCK_APP_IMAGE="${MOCK_APP_IMAGE:-$DEFAULT_MOCK_APP_IMAGE}"
MOCK_HOME_IMAGE="${MOCK_HOME_IMAGE:-$DEFAULT_MOCK_HOME_IMAGE}"
# A second mock-app tag with other OCI labels: the catalogue (GET /runtimes) then offers a choice.
MOCK_APP_ALT_IMAGE="${MOCK_APP_ALT_IMAGE:-${MOCK_APP_IMAGE}-v2}"
export TRAEFIK_IMAGE NODE_IMAGE SPAWNER_IMAGE MOCK_APP_IMAGE MOCK_HOME_IMAGE MOCK_APP_ALT_IMAGE

# ---------------------------------------------------------------- the current engine
# scripts/ensure-current-engine.sh starts it in its own network namespace; these say where it is.
CURRENT_ENGINE_NETNS="${SPAWNER_CURRENT_NETNS:-spawner-current}"
CURRENT_ENGINE_RUN="${SPAWNER_CURRENT_RUN_DIR:-/run/spawner-current}" # socket, pid file, exec-root
CURRENT_ENGINE_SOCKET="$CURRENT_ENGINE_RUN/docker.sock"
ENGINE_CACHE="${SPAWNER_ENGINE_CACHE:-/var/cache/spawner-engines}"
# The docker CLI's config for that engine: only its buildx plugin (never the user's ~/.docker, so
# `docker build` against Debian's engine keeps the legacy builder).
CURRENT_ENGINE_DOCKER_CONFIG="$ENGINE_CACHE/docker-config-buildx-$CURRENT_BUILDX_VERSION"

# in_current_engine CMD...: runs CMD inside the current engine's network namespace (127.0.0.1 is
# that engine's loopback, where its containers publish ports) with the CLI pointed at it. nsenter,
# not `ip netns exec`: CMD keeps the host's mounts (the latter's fresh /sys hides the cgroup
# mounts, which a dockerd restarted from CMD, the e2e restart test, needs).
in_current_engine() {
  nsenter --net="/run/netns/$CURRENT_ENGINE_NETNS" env DOCKER_HOST="unix://$CURRENT_ENGINE_SOCKET" \
    DOCKER_CONFIG="$CURRENT_ENGINE_DOCKER_CONFIG" DOCKER_BUILDKIT=1 SPAWNER_ENGINE=current "$@"
}

# image tag for a workspace package
app_image() {
  case "$1" in
    spawner) echo "$SPAWNER_IMAGE" ;;
    mock-app) echo "$MOCK_APP_IMAGE" ;;
    mock-home) echo "$MOCK_HOME_IMAGE" ;;
    *) die "unknown package '$1' (allowed: ${WORKSPACES[*]})" ;;
  esac
}

# ---------------------------------------------------------------- system packages
is_debian() { [ -r /etc/debian_version ]; }
is_root() { [ "$(id -u)" -eq 0 ]; }
# engine_dockerd MODE SOCKET WHAT: the dockerd part of a second engine made from the current
# engine's binaries (ensure-swarm-engine.sh, ensure-nftables-engine.sh), after the caller exported
# its SPAWNER_CURRENT_* settings. env: prints how to reach it and exits; stop: stops it and exits;
# restart or ensure: (re)starts it through ensure-current-engine.sh.
engine_dockerd() {
  local mode="$1" socket="$2" what="$3" here
  if [ "$mode" = env ]; then
    printf 'export DOCKER_HOST=unix://%s\n' "$socket"
    printf '# then: nsenter --net=/run/netns/%s <command>   (127.0.0.1 is that engine'"'"'s loopback)\n' "$SPAWNER_CURRENT_NETNS"
    exit 0
  fi
  is_root || die "the $what needs root (network namespace, firewall rules, dockerd)"
  here="$(dirname "${BASH_SOURCE[0]}")"
  if [ "$mode" = stop ]; then exec "$here/ensure-current-engine.sh" --stop; fi
  if [ "$mode" = restart ]; then timed "dockerd" "$here/ensure-current-engine.sh" --restart
  else timed "dockerd" "$here/ensure-current-engine.sh"; fi
}

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=0
# apt_install PKG...: installs the packages that are missing (Debian + root only).
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  is_debian || die "need ${missing[*]} but this is not Debian: install them yourself"
  is_root || die "need ${missing[*]}: run as root or 'sudo apt-get install -y ${missing[*]}'"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  local out
  out="$(mktemp)"
  if ! apt-get install -y -qq "${missing[@]}" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$out"
}

# need_cmd CMD [DEBIAN_PACKAGE]: makes CMD available, installing the package when allowed.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_install "${2:-$1}"
  command -v "$1" >/dev/null 2>&1 || die "'$1' still missing after installing ${2:-$1}"
}

# ---------------------------------------------------------------- lock
# Serialises the scripts that write .build/, node_modules and dist/ (two setups at once would
# race on the staging directories). Held on fd 9 until the script exits; children inherit it.
take_build_lock() {
  [ -z "${SPAWNER_BUILD_LOCK_HELD:-}" ] || return 0
  command -v flock >/dev/null 2>&1 || { log "warning: no flock: concurrent runs are not serialised"; return 0; }
  mkdir -p "$BUILD_DIR"
  exec 9>"$BUILD_DIR/.lock"
  if ! flock -n 9; then
    log "another setup/images run holds $BUILD_DIR/.lock: waiting (up to 15 min)"
    flock -w 900 9 || die "timed out waiting for $BUILD_DIR/.lock"
  fi
  export SPAWNER_BUILD_LOCK_HELD=1
}

# ---------------------------------------------------------------- npm
npm_q() { npm --no-audit --no-fund --loglevel=error "$@"; }

# npm ci when node_modules is missing or older than package-lock.json. npm (ci and install)
# writes node_modules/.package-lock.json last, so its mtime marks the last complete install.
npm_ci_if_needed() {
  local hidden="$REPO_ROOT/node_modules/.package-lock.json"
  if [ -f "$hidden" ] && [ ! "$REPO_ROOT/package-lock.json" -nt "$hidden" ]; then
    log "node_modules up to date with package-lock.json: skipping npm ci"
    return 0
  fi
  need_cmd npm
  log "npm ci (node_modules missing or older than package-lock.json)"
  (cd "$REPO_ROOT" && npm_q ci) || die "npm ci failed"
}

# npm run build when a package has no dist/ or a build input changed since the last build.
build_if_needed() {
  local stamp="$BUILD_DIR/build.stamp" p reason=""
  for p in "${WORKSPACES[@]}"; do
    [ -d "$REPO_ROOT/$p/dist" ] || { reason="$p/dist missing"; break; }
  done
  if [ -z "$reason" ]; then
    if [ ! -f "$stamp" ]; then
      reason="no previous build stamp"
    elif [ "$REPO_ROOT/node_modules/.package-lock.json" -nt "$stamp" ]; then
      reason="dependencies reinstalled"
    else
      local changed
      changed="$(cd "$REPO_ROOT" && { find tsconfig.base.json package.json \
        "${WORKSPACES[@]/%//src}" "${WORKSPACES[@]/%//tsconfig.json}" "${WORKSPACES[@]/%//package.json}" \
        -newer "$stamp" -print -quit 2>/dev/null || true; })"
      [ -n "$changed" ] && reason="$changed changed"
    fi
  fi
  if [ -z "$reason" ]; then
    log "dist/ up to date: skipping npm run build"
    return 0
  fi
  log "npm run build ($reason)"
  mkdir -p "$BUILD_DIR"
  local marker="$BUILD_DIR/build.stamp.new"
  touch "$marker" # taken before compiling so edits made during the build trigger the next one
  (cd "$REPO_ROOT" && npm run --silent build) || { rm -f "$marker"; die "npm run build failed"; }
  mv -f "$marker" "$stamp"
}

# ---------------------------------------------------------------- images between engines
# copy_image SOCKET REF...: the default engine's images into the engine at SOCKET (docker save |
# docker load; no registry here), those it does not have already. Compared by layers and creation
# time: image ids differ between a classic image store and containerd's (Docker 29).
# SPAWNER_IMAGE_TAR_DIR: load from REF's tar there (image_tar wrote it) instead of a save per engine.
image_key() { docker image inspect --format '{{json .RootFS.Layers}} {{.Created}}' "$1" 2>/dev/null; }
image_tar_of() { echo "${SPAWNER_IMAGE_TAR_DIR:-}/$(echo "$1" | tr '/:' '__').tar"; }
copy_image() {
  local sock="$1" ref src
  shift
  for ref in "$@"; do
    src="$(image_key "$ref")" || die "image $ref is not on the default engine (scripts/images.sh builds it)"
    [ "$src" = "$(DOCKER_HOST="unix://$sock" image_key "$ref" || true)" ] && continue
    log "docker load $ref ($sock)"
    if [ -n "${SPAWNER_IMAGE_TAR_DIR:-}" ]; then DOCKER_HOST="unix://$sock" docker load -q -i "$(image_tar_of "$ref")" >/dev/null
    else docker save "$ref" | DOCKER_HOST="unix://$sock" docker load -q >/dev/null; fi
  done
}
# image_tar REF...: docker save of each into SPAWNER_IMAGE_TAR_DIR, unless there for that image.
image_tar() {
  local ref tar
  mkdir -p "$SPAWNER_IMAGE_TAR_DIR"
  for ref in "$@"; do
    tar="$(image_tar_of "$ref")"
    [ -f "$tar" ] && [ "$(cat "$tar.key" 2>/dev/null)" = "$(image_key "$ref")" ] && continue
    docker save -o "$tar.tmp" "$ref" && mv -f "$tar.tmp" "$tar" && image_key "$ref" >"$tar.key"
  done
}
