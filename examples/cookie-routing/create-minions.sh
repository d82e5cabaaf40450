#!/usr/bin/env bash
# Deploys COUNT minions ($PREFIX-1..N) with routing: cookie and saves their cookies.
# Settings (SPAWNER_API, SPAWNER_WEB, credentials, COUNT, PREFIX, IMAGE, IDLE): see README.md.
set -euo pipefail
ROUTING=cookie
# shellcheck source=examples/cookie-routing/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
create_minions "$@"
