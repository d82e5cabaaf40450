#!/usr/bin/env bash
# Starts the Spawner demo stack and shows it working. Safe to run again.
#
#   scripts/demo.sh              setup, credentials, `compose up -d`, cookie-routing example
#   scripts/demo.sh --no-setup   skip scripts/setup.sh (images already built)
#   scripts/demo.sh --down       delete every instance of the stack, then `compose down -v`
#
# 1. scripts/setup.sh: Docker engine, npm ci/build when needed, local images
# 2. compose/users.txt (user "demo", random password, printed once) and
#    compose/secrets/service-token, when missing
# 3. scripts/compose.sh up -d, then wait for the deploy API and for Traefik's routes
# 4. examples/cookie-routing: create COUNT (2) minions, test them, list them
# Ports: SPAWNER_HTTP_PORT (8080, Traefik, 127.0.0.1), SPAWNER_API_PORT (8008, deploy API).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE="$ROOT/scripts/compose.sh"
EXAMPLE="$ROOT/examples/cookie-routing"

log() { printf '[demo] %s\n' "$*" >&2; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { local ns; ns="$(date +%s%N)"; echo "$((ns / 1000000))"; }
fmt_ms() { printf '%d.%01ds' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }
TIMINGS=()
timed() {
  local label="$1" start rc=0
  shift
  start="$(now_ms)"
  "$@" || rc=$?
  TIMINGS+=("$(printf '%-30s %8s%s' "$label" "$(fmt_ms $(($(now_ms) - start)))" "$([ "$rc" = 0 ] || echo "  FAILED rc=$rc")")")
  return "$rc"
}

SETUP=1
MODE=up
for arg in "$@"; do
  case "$arg" in
    --no-setup) SETUP=0 ;;
    --down) MODE=down ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --no-setup, --down, --help)" ;;
  esac
done

# Image tags: the pinned defaults of scripts/versions.env, unless set in the environment.
# shellcheck source=scripts/versions.env
. "$ROOT/scripts/versions.env"
export TRAEFIK_IMAGE="${TRAEFIK_IMAGE:-traefik:v$TRAEFIK_VERSION}"
export SPAWNER_IMAGE="${SPAWNER_IMAGE:-$DEFAULT_SPAWNER_IMAGE}"
export MOCK_APP_IMAGE="${MOCK_APP_IMAGE:-$DEFAULT_MOCK_APP_IMAGE}"
export MOCK_HOME_IMAGE="${MOCK_HOME_IMAGE:-$DEFAULT_MOCK_HOME_IMAGE}"

API="http://127.0.0.1:${SPAWNER_API_PORT:-8008}"
WEB="http://127.0.0.1:${SPAWNER_HTTP_PORT:-8080}"
export SPAWNER_API="${SPAWNER_API:-$API}" SPAWNER_WEB="${SPAWNER_WEB:-$WEB}"
DEFAULT_USERS="$ROOT/compose/users.txt"
DEFAULT_TOKEN="$ROOT/compose/secrets/service-token"
# compose resolves relative paths against compose/; so do we.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$ROOT/compose/$1" ;; esac; }
USERS_FILE="$(abs "${SPAWNER_USERS_FILE:-$DEFAULT_USERS}")"
TOKEN_FILE="$(abs "${SPAWNER_SERVICE_TOKEN_FILE:-$DEFAULT_TOKEN}")"
DEMO_USER="${SPAWNER_USER:-demo}"

if ! command -v curl >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
  die "curl and jq are needed (scripts/setup.sh installs them on Debian)"
fi

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# ------------------------------------------------------------------ teardown
# The token reaches curl through a pipe, not argv (`ps` shows argv to every user).
auth_header() { printf 'authorization: Bearer %s\n' "$1"; }
down() {
  local token="" names=() name
  [ -r "$TOKEN_FILE" ] && token="$(tr -d '[:space:]' <"$TOKEN_FILE")"
  if [ -n "$token" ] && curl -fsS --max-time 5 "$SPAWNER_API/healthz" >/dev/null 2>&1; then
    mapfile -t names < <(curl -fsS --max-time 30 -H @<(auth_header "$token") "$SPAWNER_API/deploy" | jq -r '.instances[].name')
    for name in ${names[@]+"${names[@]}"}; do
      if curl -fsS --max-time 60 -o /dev/null -X DELETE -H @<(auth_header "$token") "$SPAWNER_API/deploy/$name"; then
        log "deleted instance $name"
      else
        log "could not delete instance $name through the API"
      fi
    done
  else
    log "deploy API not reachable at $SPAWNER_API: skipping API deletes"
  fi
  # Leftovers (API down, or deletes that failed): the instance containers of THIS stack only,
  # recognised by the labels the spawner writes (origin=spawner, spawner.id=<our id>).
  local left
  left="$(docker ps -aq --filter label=origin=spawner --filter "label=spawner.id=${SPAWNER_ID:-demo}")"
  if [ -n "$left" ]; then
    log "removing leftover instance containers: $(echo "$left" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    docker rm -f $left >/dev/null
  fi
  "$COMPOSE" down -v --remove-orphans
  # Instance networks left by instances that were not deleted through the API (same labels).
  left="$(docker network ls -q --filter label=origin=spawner --filter "label=spawner.id=${SPAWNER_ID:-demo}")"
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    docker network rm $left >/dev/null || log "could not remove every instance network"
  fi
  # The examples' state files now name deleted instances. A custom STATE_FILE (a second stack)
  # is the only one of this stack: leave the default ones to the default stack.
  if [ -n "${STATE_FILE:-}" ]; then rm -f "$STATE_FILE"; else rm -f "$ROOT"/examples/.state/*-routing.tsv; fi
  log "stack removed (containers, network ${SPAWNER_NETWORK:-spawner}, volume). Kept: $USERS_FILE and $TOKEN_FILE"
}

if [ "$MODE" = down ]; then
  START="$(now_ms)"
  down
  log "done in $(fmt_ms $(($(now_ms) - START)))"
  exit 0
fi

# ------------------------------------------------------------------ credentials
PASSWORD=""
CREDS_CHANGED=0

make_users_file() {
  [ -f "$USERS_FILE" ] && { log "users file $USERS_FILE exists: kept"; return 0; }
  [ "$USERS_FILE" = "$DEFAULT_USERS" ] || die "SPAWNER_USERS_FILE=$USERS_FILE does not exist"
  PASSWORD="$(random_hex 12)"
  local line
  # A salted scrypt hash from the spawner image itself (no Node needed on the host); sha256 hex
  # (the original spawner's format, also accepted) when that image cannot run.
  if ! line="$(printf '%s' "$PASSWORD" | docker run --rm -i --network none "$SPAWNER_IMAGE" hash-password --username "$DEMO_USER" 2>/dev/null)"; then
    log "could not run $SPAWNER_IMAGE hash-password: writing a sha256 hash instead"
    line="$DEMO_USER,$(printf '%s' "$PASSWORD" | sha256sum | cut -d' ' -f1)"
  fi
  (umask 077 && printf '# written by scripts/demo.sh; format: users.txt.example\n%s\n' "$line" >"$USERS_FILE")
  CREDS_CHANGED=1
  log "created $USERS_FILE: user '$DEMO_USER', password '$PASSWORD' (shown only now; it is not stored in clear)"
}

make_token_file() {
  [ -f "$TOKEN_FILE" ] && { log "service token $TOKEN_FILE exists: kept"; return 0; }
  [ "$TOKEN_FILE" = "$DEFAULT_TOKEN" ] || die "SPAWNER_SERVICE_TOKEN_FILE=$TOKEN_FILE does not exist"
  # The directory keeps other users of this machine out; the file is 0644 because mock-home
  # reads it as uid 1000 inside its container.
  mkdir -p "$(dirname "$TOKEN_FILE")"
  chmod 700 "$(dirname "$TOKEN_FILE")"
  (umask 022 && random_hex 32 >"$TOKEN_FILE")
  CREDS_CHANGED=1
  log "created $TOKEN_FILE (service token of the home app; scripts may use it as SPAWNER_TOKEN_FILE)"
}

# ------------------------------------------------------------------ stack
wait_for() { # wait_for LABEL SECONDS URL
  local label="$1" deadline=$(($(date +%s) + $2)) url="$3"
  until curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      "$COMPOSE" ps >&2 || true
      "$COMPOSE" logs --tail=30 >&2 || true
      die "$label not ready after $2 s ($url)"
    fi
    sleep 0.5
  done
  log "$label ready ($url)"
}

stack_up() {
  local running
  running="$("$COMPOSE" ps -q spawner 2>/dev/null || true)"
  "$COMPOSE" up -d || return # (`set -e` is off here too: see run_example)
  # Secrets are read at start-up: new ones need fresh containers.
  if [ "$CREDS_CHANGED" = 1 ] && [ -n "$running" ]; then
    log "credentials changed: recreating spawner and home"
    "$COMPOSE" up -d --force-recreate --no-deps spawner home || return
  fi
}

run_example() {
  local vars=(COUNT="${COUNT:-2}")
  # First run: log in with the password just generated (the usual client flow). Later runs do
  # not know it and use the service token file (lib.sh's default).
  if [ -n "$PASSWORD" ]; then vars+=(SPAWNER_USER="$DEMO_USER" SPAWNER_PASSWORD="$PASSWORD"); fi
  if [ "$TOKEN_FILE" != "$DEFAULT_TOKEN" ]; then vars+=(SPAWNER_TOKEN_FILE="$TOKEN_FILE"); fi
  log "examples/cookie-routing: create"
  # `|| return` on each step: timed() runs us on the left of `||`, where `set -e` is off.
  env "${vars[@]}" "$EXAMPLE/create-minions.sh" || return
  log "examples/cookie-routing: test"
  env "${vars[@]}" "$EXAMPLE/test-minions.sh" || return
  log "examples/cookie-routing: list"
  env "${vars[@]}" "$EXAMPLE/list-minions.sh" || return
}

START="$(now_ms)"
if [ "$SETUP" = 1 ]; then
  timed "scripts/setup.sh" "$ROOT/scripts/setup.sh" || die "scripts/setup.sh failed (see above)"
fi
for img in "$TRAEFIK_IMAGE" "$SPAWNER_IMAGE" "$MOCK_APP_IMAGE" "$MOCK_HOME_IMAGE"; do
  docker image inspect "$img" >/dev/null 2>&1 || die "image $img is missing: run scripts/images.sh"
done
timed "credentials" make_users_file
timed "service token" make_token_file
timed "compose up -d" stack_up || die "compose up failed (scripts/compose.sh logs)"
timed "deploy API healthy" wait_for "deploy API" 60 "$SPAWNER_API/healthz"
timed "Traefik routes live" wait_for "home through Traefik" 30 "$SPAWNER_WEB/home/healthz"
timed "cookie-routing example" run_example || die "the cookie-routing example failed (see above; scripts/compose.sh logs spawner)"

EXAMPLE_STATE="${STATE_FILE:-$ROOT/examples/.state/cookie-routing.tsv}"
COOKIE_HINT="instance=<value from $EXAMPLE_STATE>"
if [ -s "$EXAMPLE_STATE" ]; then
  IFS=$'\t' read -r m_name _ m_cookie m_value <"$EXAMPLE_STATE"
  COOKIE_HINT="$m_cookie=$m_value (that is $m_name)"
fi
cat >&2 <<EOF

[demo] timings:
$(printf '    %s\n' "${TIMINGS[@]}")
[demo] ready in $(fmt_ms $(($(now_ms) - START))).

  Home app (sign up, get an instance):  $SPAWNER_WEB/home
  Your apps (with the cookie):          $SPAWNER_WEB/
  Deploy API (this machine only):       $SPAWNER_API   (openapi: $SPAWNER_API/openapi.json)
  Login:                                user '$DEMO_USER', $([ -n "$PASSWORD" ] && echo "password '$PASSWORD' (shown once)" || echo "password as printed by the first run (lost it? rm compose/users.txt; scripts/demo.sh)")

  In a browser: open $SPAWNER_WEB/home, pick a name, and you land on your own container.
  Or reuse a minion: in the dev tools, set for 127.0.0.1 the cookie
    $COOKIE_HINT
  then open $SPAWNER_WEB/.
  Minions stop after IDLE (default 1m) without requests; the next request wakes them:
    examples/cookie-routing/test-minions.sh      examples/cookie-routing/list-minions.sh
  Other routing modes: examples/host-routing/, examples/path-routing/ (README.md in each).

  Tear down:  examples/cookie-routing/delete-minions.sh && scripts/compose.sh down -v
         or:  scripts/demo.sh --down     (deletes every instance of the stack, then down -v)
EOF
