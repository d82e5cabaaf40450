# shellcheck shell=bash
# Shared by examples/{cookie,host,path}-routing/*.sh. Sourced, never executed. bash, curl, jq only.
#
# The caller sets ROUTING (cookie | host | path) before sourcing. Settings (environment):
#   SPAWNER_API       deploy API                       default http://127.0.0.1:${SPAWNER_API_PORT:-8008}
#   SPAWNER_WEB       Traefik's public entrypoint      default http://127.0.0.1:${SPAWNER_HTTP_PORT:-8080}
#   SPAWNER_USER / SPAWNER_PASSWORD   log in with POST /login (user default: demo)
#   SPAWNER_TOKEN     a token instead (login token or the service token)
#   SPAWNER_TOKEN_FILE  file holding a token; default compose/secrets/service-token when it is
#                     readable and neither SPAWNER_PASSWORD nor SPAWNER_TOKEN is set
#   COUNT (3)  PREFIX (minion | host-minion | path-minion)  IMAGE ($MOCK_APP_IMAGE, else mock-app:dev)
#   IDLE (1m)  passed to each minion: mock-app exits after this long without requests
#   CONNSTR    passed to each minion (default postgres://db.example/<name>); echoed back by it
#   SPAWNER_APPS_DOMAIN (apps.localhost), SPAWNER_PATH_PREFIX (app): as configured in the spawner
#   STATE_FILE (examples/.state/<routing>-routing.tsv): name, container id, cookie name, value
set -euo pipefail

EXAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$EXAMPLES_DIR/.." && pwd)"
ROUTING="${ROUTING:-cookie}"
case "$ROUTING" in
  cookie) DEFAULT_PREFIX="minion" ;;
  host) DEFAULT_PREFIX="host-minion" ;;
  path) DEFAULT_PREFIX="path-minion" ;;
  *) echo "ROUTING=$ROUTING: allowed cookie, host, path" >&2; exit 2 ;;
esac

SPAWNER_API="${SPAWNER_API:-http://127.0.0.1:${SPAWNER_API_PORT:-8008}}"
SPAWNER_API="${SPAWNER_API%/}"
SPAWNER_WEB="${SPAWNER_WEB:-http://127.0.0.1:${SPAWNER_HTTP_PORT:-8080}}"
SPAWNER_WEB="${SPAWNER_WEB%/}"
SPAWNER_USER="${SPAWNER_USER:-demo}"
SPAWNER_APPS_DOMAIN="${SPAWNER_APPS_DOMAIN:-apps.localhost}"
SPAWNER_PATH_PREFIX="${SPAWNER_PATH_PREFIX:-app}"
COUNT="${COUNT:-3}"
PREFIX="${PREFIX:-$DEFAULT_PREFIX}"
# The tag the compose stack and scripts/images.sh use (MOCK_APP_IMAGE) unless IMAGE says otherwise.
IMAGE="${IMAGE:-${MOCK_APP_IMAGE:-mock-app:dev}}"
IDLE="${IDLE:-1m}"
STATE_FILE="${STATE_FILE:-$EXAMPLES_DIR/.state/$ROUTING-routing.tsv}"
TAG="$ROUTING-routing"

log() { printf '%s\n' "$*"; }
warn() { printf '[%s] %s\n' "$TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2; exit 1; }

for cmd in curl jq; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is required (Debian: apt-get install $cmd)"
done
if ! [[ "$COUNT" =~ ^[0-9]+$ ]] || [ "$COUNT" -lt 1 ] || [ "$COUNT" -gt 100 ]; then die "COUNT=$COUNT: expected 1..100"; fi
[[ "$PREFIX" =~ ^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$ ]] ||
  die "PREFIX=$PREFIX: lowercase letters, digits and inner dashes, at most 52 characters"

TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT

# ------------------------------------------------------------------ deploy API
TOKEN=""

# Sets TOKEN from SPAWNER_TOKEN, a login with SPAWNER_PASSWORD, or a token file.
login() {
  if [ -n "${SPAWNER_TOKEN:-}" ]; then
    TOKEN="$SPAWNER_TOKEN"
    return
  fi
  if [ -n "${SPAWNER_PASSWORD:-}" ]; then
    local body
    body="$(jq -nc --arg u "$SPAWNER_USER" --arg p "$SPAWNER_PASSWORD" '{username: $u, password: $p}')"
    call POST /login "$body" "no token"
    [ "$STATUS" = 200 ] || die "login as '$SPAWNER_USER' at $SPAWNER_API failed: HTTP $STATUS $(problem)"
    TOKEN="$(jq -r '.token' "$BODY")"
    return
  fi
  local file="${SPAWNER_TOKEN_FILE:-$REPO_DIR/compose/secrets/service-token}"
  if [ -r "$file" ]; then
    TOKEN="$(tr -d '[:space:]' <"$file")"
    [ -n "$TOKEN" ] || die "token file $file is empty"
    return
  fi
  die "no credentials: set SPAWNER_USER and SPAWNER_PASSWORD, or SPAWNER_TOKEN, or SPAWNER_TOKEN_FILE" \
    "(scripts/demo.sh writes compose/secrets/service-token)"
}

# call METHOD PATH [JSON_BODY] [no token]: sets STATUS and BODY (a file holding the response).
BODY="$TMP_DIR/body"
call() {
  local method="$1" path="$2" data="${3:-}"
  local args=(-sS -o "$BODY" -w '%{http_code}' --max-time 120 -X "$method")
  # Body and token go through files in our 0700 temp dir, not argv: `ps` shows argv to everyone.
  if [ -n "$data" ]; then
    printf '%s' "$data" >"$TMP_DIR/request"
    args+=(-H 'content-type: application/json' --data-binary "@$TMP_DIR/request")
  fi
  if [ -z "${4:-}" ]; then
    printf 'authorization: Bearer %s\n' "$TOKEN" >"$TMP_DIR/auth"
    args+=(-H "@$TMP_DIR/auth")
  fi
  : >"$BODY"
  if ! STATUS="$(curl "${args[@]}" "$SPAWNER_API$path" 2>"$TMP_DIR/curl.err")"; then
    die "cannot reach the deploy API at $SPAWNER_API ($(tail -n 1 "$TMP_DIR/curl.err")): is the stack up? (scripts/compose.sh ps)"
  fi
}

# The reason of a refusal: problem+json `detail (code)`, the original's `message`, or raw text.
problem() {
  jq -r 'if type == "object" then
           ((.detail // .message // .title // "") + (if .code then " (" + .code + ")" else "" end))
         else tostring end' "$BODY" 2>/dev/null || head -c 300 "$BODY"
}

# ------------------------------------------------------------------ state file
# One line per minion: name <TAB> container id <TAB> cookie name <TAB> cookie value.
state_get() { [ -f "$STATE_FILE" ] && awk -F'\t' -v n="$1" '$1 == n { print; found = 1 } END { exit !found }' "$STATE_FILE"; }
state_put() {
  mkdir -p "$(dirname "$STATE_FILE")"
  state_del "$1"
  printf '%s\t%s\t%s\t%s\n' "$@" >>"$STATE_FILE"
  chmod 600 "$STATE_FILE" # the cookie values are the minions' access secrets
}
state_del() {
  [ -f "$STATE_FILE" ] || return 0
  awk -F'\t' -v n="$1" '$1 != n' "$STATE_FILE" >"$TMP_DIR/state" && cat "$TMP_DIR/state" >"$STATE_FILE"
}
state_names() { if [ -f "$STATE_FILE" ]; then cut -f1 "$STATE_FILE"; fi; }

names() { local i; for ((i = 1; i <= COUNT; i++)); do echo "$PREFIX-$i"; done; }

# ------------------------------------------------------------------ the app's URL per routing mode
WEB_HOSTPORT="${SPAWNER_WEB#*://}"
WEB_HOSTPORT="${WEB_HOSTPORT%%/*}"
WEB_SCHEME="${SPAWNER_WEB%%://*}"
if [[ "$WEB_HOSTPORT" == *:* ]]; then WEB_PORT="${WEB_HOSTPORT##*:}"; WEB_HOST="${WEB_HOSTPORT%:*}"
else WEB_HOST="$WEB_HOSTPORT"; WEB_PORT=$([ "$WEB_SCHEME" = https ] && echo 443 || echo 80); fi

# Prints the URL a browser would open for this minion.
app_url() {
  case "$ROUTING" in
    cookie) echo "$SPAWNER_WEB/" ;;
    host) echo "$WEB_SCHEME://$1.$SPAWNER_APPS_DOMAIN:$WEB_PORT/" ;;
    path) echo "$SPAWNER_WEB/$SPAWNER_PATH_PREFIX/$1/" ;;
  esac
}

# Extra curl arguments: in host mode, send <name>.<domain> to Traefik without needing DNS
# (browsers resolve *.localhost to loopback by themselves; curl is told explicitly).
ROUTE_ARGS=()
if [ "$ROUTING" = host ]; then ROUTE_ARGS=(--connect-to "::$WEB_HOST:$WEB_PORT"); fi

# ------------------------------------------------------------------ the four commands
create_minions() {
  login
  local name body env failed=0
  while read -r name; do
    env="$(jq -nc --arg idle "$IDLE" --arg c "${CONNSTR:-postgres://db.example/$name}" '{IDLE: $idle, CONNSTR: $c}')"
    body="$(jq -nc --arg n "$name" --arg i "$IMAGE" --arg r "$ROUTING" --argjson e "$env" \
      '{name: $n, image: $i, routing: $r, envs: $e}')"
    call POST /deploy "$body"
    if [ "$STATUS" = 200 ]; then
      local id cname cvalue status
      id="$(jq -r '.id' "$BODY")"
      status="$(jq -r '.status' "$BODY")"
      cname="$(jq -r '.cookie.name' "$BODY")"
      cvalue="$(jq -r '.cookie.value' "$BODY")"
      state_put "$name" "$id" "$cname" "$cvalue"
      log "created $name  id=${id:0:12} status=$status routing=$ROUTING url=$(app_url "$name")"
    elif [ "$STATUS" = 409 ] && state_get "$name" >/dev/null; then
      log "exists  $name  (kept; its cookie is in $STATE_FILE)"
    elif [ "$STATUS" = 409 ]; then
      warn "$name already exists but its cookie is not in $STATE_FILE (made elsewhere?):" \
        "delete it (DELETE $SPAWNER_API/deploy/$name) or use another PREFIX"
      failed=1
    else
      warn "deploying $name failed: HTTP $STATUS $(problem)"
      failed=1
    fi
  done < <(names)
  [ "$failed" = 0 ] || die "some minions were not created"
}

test_minions() {
  [ -s "$STATE_FILE" ] || die "no minions in $STATE_FILE: run create-minions.sh first"
  local name id cname cvalue url failed=0 n=0 out
  while IFS=$'\t' read -r name id cname cvalue; do
    n=$((n + 1))
    url="$(app_url "$name")"
    # -L: a stopped minion's request reaches the wake listener, which starts it and answers 307
    # back to the same URL once the route is live. The cookie is sent on every hop.
    if ! out="$(curl -sS -L --max-time 90 -o "$BODY" -w '%{http_code} %{num_redirects} %{time_total}' \
      ${ROUTE_ARGS[@]+"${ROUTE_ARGS[@]}"} --cookie "$cname=$cvalue" "$url" 2>"$TMP_DIR/curl.err")"; then
      warn "$name FAILED: $url: $(tail -n 1 "$TMP_DIR/curl.err")"
      failed=1
      continue
    fi
    local code redirects took hostname connstr
    read -r code redirects took <<<"$out"
    hostname="$(jq -r '.hostname // empty' "$BODY" 2>/dev/null || true)"
    connstr="$(jq -r '.connstr // empty' "$BODY" 2>/dev/null || true)"
    # The spawner sets the container's hostname to the instance name (as the original did).
    if [ "$code" != 200 ] || [ "$hostname" != "$name" ]; then
      warn "$name FAILED: $url answered HTTP $code, hostname='${hostname}' (expected $name): $(problem)"
      failed=1
      continue
    fi
    local woken=""
    [ "$redirects" -gt 0 ] && woken=" (via the wake listener: $redirects redirect(s))"
    log "$name ok hostname=$hostname connstr=$connstr time=${took}s$woken"
  done <"$STATE_FILE"
  [ "$failed" = 0 ] || die "some minions did not answer correctly (docker logs of the spawner: scripts/compose.sh logs spawner)"
  log "all $n minions answered via $SPAWNER_WEB"
}

list_minions() {
  login
  call GET /deploy
  [ "$STATUS" = 200 ] || die "GET /deploy failed: HTTP $STATUS $(problem)"
  jq -r '["NAME", "STATUS", "HEALTH", "ROUTING", "ID"],
         (.instances[] | [.name, .status, .health, .routing, ((.id // "-")[0:12])]) | @tsv' "$BODY" |
    while IFS=$'\t' read -r a b c d e; do printf '%-24s %-10s %-10s %-8s %s\n' "$a" "$b" "$c" "$d" "$e"; done
}

delete_minions() {
  login
  local name failed=0 any=0 all
  mapfile -t all < <(state_names)
  for name in ${all[@]+"${all[@]}"}; do
    [ -n "$name" ] || continue
    any=1
    call DELETE "/deploy/$name"
    case "$STATUS" in
      200) state_del "$name"; log "deleted $name" ;;
      404) state_del "$name"; log "gone    $name (already deleted)" ;;
      *) warn "deleting $name failed: HTTP $STATUS $(problem)"; failed=1 ;;
    esac
  done
  [ "$any" = 1 ] || log "nothing to delete ($STATE_FILE is empty)"
  [ "$failed" = 0 ] || die "some minions were not deleted"
  [ -s "$STATE_FILE" ] || rm -f "$STATE_FILE"
}
