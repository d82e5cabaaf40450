#!/usr/bin/env bash
# Init round trip: deploy a mock-app with an `init` option and ?wait=true; the spawner POSTs the
# payload and generated credentials to the app's /init once it is ready, and hands back the app's
# answer (a login) in the deploy response, once. Then: the app says it is initialized (username
# only, never the password), GET /deploy/<name>/init returns the answer again, and the instance is
# deleted. Needs a spawner with SPAWNER_INIT_KEY or SPAWNER_INIT_KEY_FILE.
# Settings: NAME (init-demo), IMAGE (mock-app:dev), and those of ../cookie-routing/README.md.
set -euo pipefail
ROUTING=cookie
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cookie-routing/lib.sh"
TAG=init
NAME="${NAME:-init-demo}"

login
body="$(jq -nc --arg n "$NAME" --arg i "$IMAGE" \
  '{name: $n, image: $i, envs: {IDLE: "0"}, init: {path: "/init", payload: {plan: "demo"}, when: "once"}}')"
call POST '/deploy?wait=true' "$body"
[ "$STATUS" = 200 ] || die "deploy $NAME: HTTP $STATUS $(problem)"
jq -e '.init.status == "done"' "$BODY" >/dev/null || die "init of $NAME did not succeed: $(jq -c '.init' "$BODY")"
username="$(jq -r '.init.result.login.username' "$BODY")"
cookie="$(jq -r '.cookie.name + "=" + .cookie.value' "$BODY")"
log "deployed $NAME: init answered login username=$username password=<$(jq -r '.init.result.login.password | length' "$BODY") characters, shown once>"

curl -sS -L --max-time 90 --cookie "$cookie" -o "$TMP_DIR/app" "$SPAWNER_WEB/" || die "cannot reach $NAME at $SPAWNER_WEB"
[ "$(jq -r '.init.username' "$TMP_DIR/app")" = "$username" ] || die "the app does not know the login: $(jq -c '.init' "$TMP_DIR/app")"
log "the app says: initialized=$(jq -r '.init.initialized' "$TMP_DIR/app") username=$(jq -r '.init.username' "$TMP_DIR/app")"

call GET "/deploy/$NAME/init"
[ "$STATUS" = 200 ] && [ "$(jq -r '.result.login.username' "$BODY")" = "$username" ] || die "GET /deploy/$NAME/init: HTTP $STATUS $(problem)"
log "GET /deploy/$NAME/init: status=$(jq -r .status "$BODY"), the same answer again (for authorized callers only)"

call DELETE "/deploy/$NAME"
[ "$STATUS" = 200 ] || die "delete $NAME: HTTP $STATUS $(problem)"
log "deleted $NAME"
