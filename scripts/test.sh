#!/usr/bin/env bash
# The project's test command: prepares the machine, then runs the unit tests once and the e2e
# suite on each Docker engine.
#
#   scripts/test.sh [--engine default|current|both|swarm|cluster|all] [--unit | --e2e] [vitest args...]
#
# --engine  which engines the e2e suite runs on (default: all; env SPAWNER_TEST_ENGINE):
#           default  the engine that answers (DOCKER_HOST, else /var/run/docker.sock; on a fresh
#                    Debian 12 machine its docker.io 20.10, started by scripts/ensure-docker.sh)
#           current  Docker 29 from scripts/ensure-current-engine.sh, in its own network
#                    namespace: the suite runs inside that namespace (nsenter --net), so the
#                    ports its containers publish on 127.0.0.1 are reachable
#           swarm    a one-node Docker Swarm (scripts/ensure-swarm-engine.sh: the current engine's
#                    binaries in netns spawner-swarm, images copied in): test/swarm.e2e.test.ts,
#                    the swarm bench smoke, and the suites parameterised by runtime (RUNTIME_SUITES,
#                    with E2E_RUNTIME=swarm), inside that namespace (the plain-engine runs leave the
#                    swarm files out)
#           cluster  a three-node Docker Swarm (scripts/ensure-swarm-cluster.sh: a manager and two
#                    workers, each in its own namespace, images copied to each):
#                    test/swarm-cluster.e2e.test.ts only, inside the manager's namespace
#           all      default, current, swarm and cluster; `both` is default and current
# --unit / --e2e   only that part. vitest args (e.g. a test file) go to every part.
#
# Runs scripts/setup.sh --browser (engine, Debian chromium, npm ci, build, images) and, for the
# current engine, its images there too (built by scripts/images.sh against it, BuildKit). A
# failure in any part fails the command, after every part ran. Prints the time of each part.
set -euo pipefail
LOG_TAG="test"
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

ENGINES="${SPAWNER_TEST_ENGINE:-all}"
PARTS=(unit e2e)
ARGS=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --engine) ENGINES="${2:-}"; shift 2 ;;
    --engine=*) ENGINES="${1#*=}"; shift ;;
    --unit) PARTS=(unit); shift ;;
    --e2e) PARTS=(e2e); shift ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
case "$ENGINES" in
  default) ENGINE_LIST=(default) ;;
  current) ENGINE_LIST=(current) ;;
  both) ENGINE_LIST=(default current) ;;
  swarm) ENGINE_LIST=(swarm) ;;
  cluster) ENGINE_LIST=(cluster) ;;
  all) ENGINE_LIST=(default current swarm cluster) ;;
  *) die "--engine $ENGINES (allowed: default, current, both, swarm, cluster, all)" ;;
esac
wants_part() { local p; for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
wants_engine() { local e; for e in "${ENGINE_LIST[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }

START="$(now_ms)"
# setup.sh also builds (npm ci, tsc) and makes the default engine answer: the current engine's
# images are made from the same build.
timed "setup (default engine)" "$REPO_ROOT/scripts/setup.sh" --browser
if wants_part e2e && wants_engine current; then
  timed "current engine start" "$REPO_ROOT/scripts/ensure-current-engine.sh"
  # Nothing can be pulled (no registry): every image is built in that engine.
  timed "images (current engine)" in_current_engine env NO_PULL=1 "$REPO_ROOT/scripts/images.sh"
fi
if wants_part e2e && wants_engine swarm; then
  # Its images come from the default engine (docker save | docker load), built by setup.sh above.
  timed "swarm engine start" "$REPO_ROOT/scripts/ensure-swarm-engine.sh"
fi
if wants_part e2e && wants_engine cluster; then
  timed "swarm cluster start" "$REPO_ROOT/scripts/ensure-swarm-cluster.sh"
fi
cd "$REPO_ROOT"

FAILED=()
# part LABEL CMD...: runs one suite, records its time and exit code, never stops the script.
part() {
  local label="$1" start rc=0
  shift
  log "== $label"
  start="$(now_ms)"
  "$@" || rc=$?
  TIMINGS+=("$(printf '%-28s %8s  exit %s' "$label" "$(fmt_ms $(($(now_ms) - start)))" "$rc")")
  log "$label finished in $(fmt_ms $(($(now_ms) - start))) with exit code $rc"
  [ "$rc" -eq 0 ] || FAILED+=("$label")
}
vitest() { npx vitest run --passWithNoTests "$@" ${ARGS[@]+"${ARGS[@]}"}; }
# Run only on a swarm manager (they would report themselves skipped on the plain engines).
SWARM_ONLY="test/swarm*.e2e.test.ts"
# Suites that also run on the one-node swarm, with E2E_RUNTIME=swarm (test/helpers/runtime-view.ts).
RUNTIME_SUITES=(
  test/compose-examples.e2e.test.ts test/redeploy.e2e.test.ts test/rollouts.e2e.test.ts
  test/wake-http.e2e.test.ts test/wake-redirect.e2e.test.ts test/recover.e2e.test.ts test/idle-stop.e2e.test.ts
  test/isolation.e2e.test.ts test/resilience-reconcile.e2e.test.ts test/volumes.e2e.test.ts
  test/api-crud.e2e.test.ts test/init.e2e.test.ts test/identity.e2e.test.ts
)

wants_part unit && part "unit tests" vitest --project unit
if wants_part e2e; then
  if wants_engine default; then
    part "e2e, default engine ($(docker version --format 'API {{.Server.APIVersion}}' 2>/dev/null || echo '?'))" vitest --project e2e --exclude "$SWARM_ONLY"
  fi
  if wants_engine current; then
    # The daemon restart test (SPAWNER_E2E_RESTART_DOCKERD=1, CI) restarts this engine, not the default one.
    part "e2e, current engine (API $(DOCKER_HOST="unix://$CURRENT_ENGINE_SOCKET" docker version --format '{{.Server.APIVersion}}' 2>/dev/null || echo '?'))" \
      in_current_engine env SPAWNER_E2E_DOCKERD_RESTART_CMD="$REPO_ROOT/scripts/ensure-current-engine.sh --restart" \
      npx vitest run --passWithNoTests --project e2e --exclude "$SWARM_ONLY" ${ARGS[@]+"${ARGS[@]}"}
  fi
  if wants_engine swarm; then
    part "e2e, one-node swarm (SPAWNER_RUNTIME=swarm)" \
      nsenter --net=/run/netns/spawner-swarm env DOCKER_HOST=unix:///run/spawner-swarm/docker.sock E2E_RUNTIME=swarm \
      npx vitest run --project e2e test/swarm.e2e.test.ts test/swarm-bench.e2e.test.ts "${RUNTIME_SUITES[@]}" ${ARGS[@]+"${ARGS[@]}"}
  fi
  if wants_engine cluster; then
    part "e2e, three-node swarm (SPAWNER_RUNTIME=swarm)" \
      nsenter --net=/run/netns/spawner-mn1 env DOCKER_HOST=unix:///run/spawner-mn1/docker.sock \
      npx vitest run --project e2e test/swarm-cluster.e2e.test.ts ${ARGS[@]+"${ARGS[@]}"}
  fi
fi
print_timings
log "tests finished in $(fmt_ms $(($(now_ms) - START)))"
[ "${#FAILED[@]}" -eq 0 ] || die "failed: ${FAILED[*]}"
