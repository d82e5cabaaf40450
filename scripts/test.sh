#!/usr/bin/env bash
# The project's test command: prepares the machine, then runs every test suite.
#
#   scripts/test.sh [vitest args...]     e.g. scripts/test.sh --project unit
#
# Runs scripts/setup.sh --browser (Docker engine, Debian chromium for the browser tests, npm ci,
# build, images), then `npm test -- <args>`.
set -euo pipefail
LOG_TAG="test"
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

# The suite has browser tests: Debian's chromium is part of the setup.
"$REPO_ROOT/scripts/setup.sh" --browser
cd "$REPO_ROOT"
START="$(now_ms)"
rc=0
npm test -- "$@" || rc=$?
log "npm test finished in $(fmt_ms $(($(now_ms) - START))) with exit code $rc"
exit "$rc"
