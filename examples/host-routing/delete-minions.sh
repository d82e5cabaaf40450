#!/usr/bin/env bash
# Deletes the minions recorded in the state file.
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=host
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cookie-routing/lib.sh"
delete_minions "$@"
