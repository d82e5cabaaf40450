#!/usr/bin/env bash
# Makes a current Docker Engine (Docker 29, API 1.56) answer beside Debian's, as root on Linux.
#
#   scripts/ensure-current-engine.sh [--restart | --stop | --env]
#
# 1. binaries, built once per version from the Go module proxy into $SPAWNER_ENGINE_CACHE
#    (default /var/cache/spawner-engines; versions in scripts/versions.env): dockerd and
#    docker-proxy (github.com/moby/moby/v2), runc with seccomp, the buildx CLI plugin. A Go
#    toolchain comes from the Go proxy too when the machine has none new enough. ~10 min on
#    2 cores the first time, seconds afterwards.
# 2. the network namespace $SPAWNER_CURRENT_NETNS (default spawner-current): loopback up, a veth
#    pair to the host (10.79.255.1 host, .2 inside) with NAT for that /30 only, so builds inside
#    can reach the npm registry. A current dockerd beside another engine in ONE namespace rewrites
#    that engine's iptables; in its own namespace it only touches its own.
# 3. dockerd in that namespace with its own data root (/var/lib/spawner-current), exec root, pid
#    file and socket (/run/spawner-current/docker.sock), a containerd it manages itself, the
#    fresh runc first on PATH, address pools of 10.80.0.0/12 in /24s (thousands of networks).
#    Log: /var/log/spawner-current-dockerd.log. A running one is reused.
#
# Use it: DOCKER_HOST=unix:///run/spawner-current/docker.sock reaches it from anywhere; ports its
# containers publish on 127.0.0.1 are on the namespace's loopback: run clients with
# `nsenter --net=/run/netns/spawner-current ...` (scripts/test.sh --engine current does both).
# --env prints the environment for that; --restart stops and starts dockerd (the e2e daemon
# restart test); --stop stops it and leaves the namespace and data in place.
# scripts/ensure-swarm-engine.sh runs this script for a second engine (the swarm's) from the same
# binaries: SPAWNER_CURRENT_{NETNS,RUN_DIR,DATA_ROOT,DOCKERD_LOG,VETH,LINK,BIP,POOL} move it,
# SPAWNER_CURRENT_UPLINK=0 forwards nothing from its namespace (no NAT, a DROP rule instead);
# SPAWNER_CURRENT_FIREWALL_BACKEND=nftables is dockerd's --firewall-backend (ensure-nftables-engine.sh).
set -euo pipefail
LOG_TAG="${SPAWNER_ENGINE_LOG_TAG:-current-engine}"
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

MODE=ensure
for arg in "$@"; do
  case "$arg" in
    --restart) MODE=restart ;;
    --stop) MODE=stop ;;
    --env) MODE=env ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --restart, --stop, --env, --help)" ;;
  esac
done

NS="$CURRENT_ENGINE_NETNS"
BIN="$ENGINE_CACHE/$CURRENT_DOCKERD_VERSION/bin" # dockerd, docker-proxy and runc
BUILDX="$ENGINE_CACHE/buildx-$CURRENT_BUILDX_VERSION/bin/buildx"
DATA_ROOT="${SPAWNER_CURRENT_DATA_ROOT:-/var/lib/spawner-current}"
PIDFILE="$CURRENT_ENGINE_RUN/dockerd.pid"
DLOG="${SPAWNER_CURRENT_DOCKERD_LOG:-/var/log/spawner-current-dockerd.log}"
VETH="${SPAWNER_CURRENT_VETH:-spwcur}" LINK="${SPAWNER_CURRENT_LINK:-10.79.255}" # LINK: first 3 octets of the /30
VETH_HOST="$VETH-host" VETH_NS="$VETH-ns"
HOST_IP="$LINK.1" NS_IP="$LINK.2" LINK_NET="$LINK.0/30"
BIP="${SPAWNER_CURRENT_BIP:-10.79.0.1/24}" POOL="${SPAWNER_CURRENT_POOL:-10.80.0.0/12}" POOL_SIZE=24
WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-90}"

if [ "$MODE" = env ]; then
  printf 'export DOCKER_HOST=unix://%s DOCKER_CONFIG=%s DOCKER_BUILDKIT=1\n' "$CURRENT_ENGINE_SOCKET" "$CURRENT_ENGINE_DOCKER_CONFIG"
  printf '# then: nsenter --net=/run/netns/%s <command>   (127.0.0.1 is that engine'"'"'s loopback)\n' "$NS"
  exit 0
fi
is_root || die "the current engine needs root (network namespace, iptables, dockerd); scripts/test.sh --engine default runs the suite on the default engine only"

# ---------------------------------------------------------------- binaries
go_ok() { # GO_BIN: new enough to build every module here
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  v="${v#go}"
  [ "$(printf '%s\n%s\n' "$GO_TOOLCHAIN_VERSION" "$v" | sort -V | head -n 1)" = "$GO_TOOLCHAIN_VERSION" ]
}
GO=""
ensure_go() {
  local c dir="$ENGINE_CACHE/go-$GO_TOOLCHAIN_VERSION"
  for c in "$(command -v go || true)" /usr/local/go/bin/go "$dir/bin/go"; do
    if [ -n "$c" ] && [ -x "$c" ] && go_ok "$c"; then GO="$c"; return 0; fi
  done
  # An older go fetches the pinned toolchain itself through its configured module proxy
  # (GOTOOLCHAIN=go<version>), and runs it from then on.
  c="$(command -v go || true)"
  [ -n "$c" ] || apt_install golang-go
  c="$(command -v go)" || die "no Go toolchain: install Go >= $GO_TOOLCHAIN_VERSION"
  log "fetching Go $GO_TOOLCHAIN_VERSION through $("$c" env GOVERSION) (GOTOOLCHAIN)"
  GOTOOLCHAIN="go$GO_TOOLCHAIN_VERSION" "$c" version >/dev/null || die "go could not fetch the Go $GO_TOOLCHAIN_VERSION toolchain"
  GO="$(GOTOOLCHAIN="go$GO_TOOLCHAIN_VERSION" "$c" env GOROOT)/bin/go"
  go_ok "$GO" || die "$GO does not run"
}

go_install() { # GOBIN TAGS MODULE@VERSION [LDFLAGS]
  local out="$1" tags="$2" mod="$3" ldflags="${4:-}" start
  start="$(now_ms)"
  log "go install $mod (tags: ${tags:-none}) into $out"
  mkdir -p "$out" "$BUILD_DIR/logs"
  GOFLAGS=-mod=mod GOTOOLCHAIN=local GOBIN="$out.tmp" "$GO" install -tags "$tags" -ldflags "$ldflags" "$mod" \
    >"$BUILD_DIR/logs/go-install.log" 2>&1 || { tail -n 30 "$BUILD_DIR/logs/go-install.log" >&2; die "go install $mod failed"; }
  mv -f "$out.tmp"/* "$out/" && rmdir "$out.tmp"
  log "built $mod in $(fmt_ms $(($(now_ms) - start)))"
}

ensure_binaries() {
  local moby=github.com/moby/moby/v2/cmd
  # A binary that does not report its pinned version is rebuilt (the directory is keyed by the
  # dockerd version; a dockerd built without the version stamp reports "library-import").
  if [ -x "$BIN/runc" ] && [ "$("$BIN/runc" --version | head -n 1)" != "runc version ${CURRENT_RUNC_VERSION#v}" ]; then
    rm -f "$BIN/runc"
  fi
  if [ -x "$BIN/dockerd" ] && [ "$("$BIN/dockerd" --version)" != "Docker version ${CURRENT_DOCKERD_VERSION#v}, build $CURRENT_DOCKERD_VERSION" ]; then
    rm -f "$BIN/dockerd"
  fi
  if [ -x "$BIN/dockerd" ] && [ -x "$BIN/docker-proxy" ] && [ -x "$BIN/runc" ] && [ -x "$BUILDX" ]; then
    log "binaries cached in $BIN (dockerd $CURRENT_DOCKERD_VERSION, runc $CURRENT_RUNC_VERSION, buildx $CURRENT_BUILDX_VERSION)"
  else
    apt_install gcc libc6-dev libseccomp-dev pkg-config
    ensure_go
    # The version stamp: `docker version` and the bench report say which engine this is.
    local stamp="-X github.com/moby/moby/v2/dockerversion.Version=${CURRENT_DOCKERD_VERSION#v}"
    stamp+=" -X github.com/moby/moby/v2/dockerversion.GitCommit=$CURRENT_DOCKERD_VERSION"
    [ -x "$BIN/dockerd" ] || go_install "$BIN" 'exclude_graphdriver_btrfs exclude_graphdriver_devicemapper' "$moby/dockerd@$CURRENT_DOCKERD_VERSION" "$stamp"
    [ -x "$BIN/docker-proxy" ] || go_install "$BIN" '' "$moby/docker-proxy@$CURRENT_DOCKERD_VERSION"
    [ -x "$BIN/runc" ] || go_install "$BIN" seccomp "github.com/opencontainers/runc@$CURRENT_RUNC_VERSION"
    [ -x "$BUILDX" ] || go_install "$(dirname "$BUILDX")" '' "github.com/docker/buildx/cmd/buildx@$CURRENT_BUILDX_VERSION"
  fi
  mkdir -p "$CURRENT_ENGINE_DOCKER_CONFIG/cli-plugins"
  ln -sfn "$BUILDX" "$CURRENT_ENGINE_DOCKER_CONFIG/cli-plugins/docker-buildx"
  # dockerd looks up docker-init (tini) on PATH; Debian's docker.io or tini package has one.
  command -v docker-init >/dev/null 2>&1 || [ -x /usr/libexec/docker/docker-init ] || apt_install tini
  command -v containerd >/dev/null 2>&1 || apt_install containerd
}

# ---------------------------------------------------------------- network namespace
# Called from inside $NS (the e2e daemon restart test runs there), the namespace is there already
# and the host's side cannot be reached: only dockerd is (re)started.
inside_ns() { [ "$(ip netns identify $$ 2>/dev/null)" = "$NS" ]; }
ns() { nsenter --net="/run/netns/$NS" "$@"; }

# ipt TABLE CHAIN RULE...: inserts the rule once (checked first), with our comment on it.
ipt() {
  local table="$1" chain="$2"
  shift 2
  iptables -t "$table" -C "$chain" "$@" -m comment --comment "$NS" 2>/dev/null ||
    iptables -t "$table" -I "$chain" 1 "$@" -m comment --comment "$NS"
}

ensure_netns() {
  need_cmd ip iproute2
  need_cmd iptables
  if inside_ns; then
    ip link show "$VETH_NS" >/dev/null 2>&1 || die "inside $NS without its veth: run this from the host's namespace"
    log "inside $NS: namespace and veth in place"
    return 0
  fi
  [ -e "/run/netns/$NS" ] || { log "creating network namespace $NS"; ip netns add "$NS"; }
  ns ip link set lo up
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    log "veth $VETH_HOST ($HOST_IP) <-> $VETH_NS ($NS_IP) in $NS"
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
    ip link set "$VETH_NS" netns "$NS"
    ip addr add "$HOST_IP/30" dev "$VETH_HOST"
  fi
  ip link set "$VETH_HOST" up
  # A string test, not `| grep -q`: under pipefail, grep's early exit fails the pipeline (SIGPIPE).
  [[ "$(ns ip -o -4 addr show dev "$VETH_NS")" == *" $NS_IP/"* ]] || ns ip addr add "$NS_IP/30" dev "$VETH_NS"
  ns ip link set "$VETH_NS" up
  ns ip route replace default via "$HOST_IP"
  # SPAWNER_CURRENT_UPLINK=0 (the swarm engine): nothing from the namespace is forwarded at all.
  # It needs no way out (images come by docker save | load), and an overlay address that is not
  # the sender's own (another instance's) is routed to the default gateway, i.e. off the machine.
  if [ "${SPAWNER_CURRENT_UPLINK:-1}" = 0 ]; then
    ipt filter FORWARD -i "$VETH_HOST" -j DROP
    return 0
  fi
  # Out through the host's uplink only (never into the host engine's bridges), NATed.
  local uplink
  uplink="$(ip -o route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}')"
  [ -n "$uplink" ] || die "the host has no default route: the namespace gets no way out"
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || sysctl -q -w net.ipv4.ip_forward=1
  ipt nat POSTROUTING -s "$LINK_NET" -o "$uplink" -j MASQUERADE
  ipt filter FORWARD -i "$VETH_HOST" -o "$uplink" -s "$LINK_NET" -j ACCEPT
  ipt filter FORWARD -i "$uplink" -o "$VETH_HOST" -d "$LINK_NET" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}

# ---------------------------------------------------------------- dockerd
engine_answers() {
  DOCKER_HOST="unix://$CURRENT_ENGINE_SOCKET" timeout 15 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}
dockerd_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }

start_dockerd() {
  mkdir -p "$CURRENT_ENGINE_RUN" "$DATA_ROOT" "$(dirname "$DLOG")"
  [ -z "$(dockerd_pid || true)" ] && rm -f "$PIDFILE"
  log "starting dockerd $CURRENT_DOCKERD_VERSION in $NS (log: $DLOG)"
  # setsid: outlives this script; 9>&-: never hand a caller's build lock to the daemon.
  # dockerd needs a /sys of its network namespace (/sys/class/net shows the links of the namespace
  # that mounted sysfs: the host's, after a plain nsenter) AND the host's cgroup mounts under
  # /sys/fs/cgroup, which a fresh sysfs (`ip netns exec`'s) hides. So: a mount namespace of its
  # own (slave: nothing propagates back), the cgroup tree set aside, a new sysfs, the cgroup tree
  # moved back on top.
  local move="$CURRENT_ENGINE_RUN/cgroup-move"
  mkdir -p "$move"
  setsid nsenter --net="/run/netns/$NS" unshare --mount --propagation slave sh -c '
    mount --rbind /sys/fs/cgroup "$0" && umount -l /sys && mount -t sysfs sysfs /sys &&
      mount --move "$0" /sys/fs/cgroup && exec "$@"' "$move" \
    env PATH="$BIN:$PATH" "$BIN/dockerd" \
    --host "unix://$CURRENT_ENGINE_SOCKET" --data-root "$DATA_ROOT" --exec-root "$CURRENT_ENGINE_RUN/exec" \
    --pidfile "$PIDFILE" --bip "$BIP" --default-address-pool "base=$POOL,size=$POOL_SIZE" \
    --cgroup-parent "$NS" --userland-proxy-path "$BIN/docker-proxy" \
    ${SPAWNER_CURRENT_FIREWALL_BACKEND:+--firewall-backend "$SPAWNER_CURRENT_FIREWALL_BACKEND"} \
    >>"$DLOG" 2>&1 </dev/null 9>&- &
  local pid=$! deadline=$((SECONDS + WAIT_SECONDS))
  disown || true
  until engine_answers; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$DLOG" >&2; die "dockerd exited during start-up (see $DLOG)"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$DLOG" >&2; die "dockerd did not answer within ${WAIT_SECONDS}s (see $DLOG)"; }
    sleep 0.25
  done
}

stop_dockerd() {
  local pid
  pid="$(dockerd_pid || true)"
  [ -n "$pid" ] || { log "dockerd not running"; return 0; }
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "dockerd (pid $pid) did not exit within 60s"
    sleep 0.2
  done
}

report() {
  log "current engine answers on unix://$CURRENT_ENGINE_SOCKET in netns $NS ($(DOCKER_HOST="unix://$CURRENT_ENGINE_SOCKET" \
    docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}} (min {{.Server.MinAPIVersion}})' 2>/dev/null || echo '?'))"
}

case "$MODE" in
  stop) stop_dockerd; exit 0 ;;
  restart) stop_dockerd ;;
esac
timed "engine binaries" ensure_binaries
timed "network namespace" ensure_netns
if engine_answers && [ -n "$(dockerd_pid || true)" ]; then
  log "dockerd already running (pid $(dockerd_pid))"
else
  timed "dockerd start" start_dockerd
fi
report
