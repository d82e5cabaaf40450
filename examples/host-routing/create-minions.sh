#!/usr/bin/env bash
# Deploys COUNT minions ($PREFIX-1..N) with routing: host and saves their cookies.
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=host
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cookie-routing/lib.sh"
create_minions "$@"
