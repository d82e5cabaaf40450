#!/usr/bin/env bash
# Requests every minion through Traefik and checks which container answered.
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=cookie
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_minions "$@"
