#!/usr/bin/env bash
# Lists every instance the deploy API knows (name, status, health, routing, id).
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=cookie
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
list_minions "$@"
