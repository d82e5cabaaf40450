#!/usr/bin/env bash
# Requests every minion through Traefik and checks which container answered.
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=path
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cookie-routing/lib.sh"
test_minions "$@"
