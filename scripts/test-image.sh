#!/usr/bin/env bash
# Builds the app's image from addon/Dockerfile with buildah and runs the worker inside it.
#
# The Supervisor builds the app with addon/ as the build context, from the base image named in the
# Dockerfile, installing the worker package from the npm registry. None of that is reachable in the
# same way here (no container registry, no Docker engine, the package at this version may not be
# published yet), so the test changes exactly two inputs and nothing else:
#   - BASE_IMAGE: a local image made from a Debian root of the same release as Home Assistant's
#     base-debian image (debootstrap --variant=minbase, with the packages that image adds);
#   - the worker package: a tarball of this checkout (`npm pack`), dropped into a copy of addon/ as
#     worker-package.tgz, which the Dockerfile prefers over the registry when it is present.
# Then it runs, inside the image: `whatsapp-worker --help`, better-sqlite3's native binding, and
# run.mjs reading a /data/options.json and starting the worker (a stand-in swaps `run`, which needs
# a WhatsApp account, for a short `demo --exit-when-idle` with the same arguments).
#
# Needs root (buildah with --storage-driver vfs --isolation chroot; installed with apt if missing).
# Skips, exit 0 with a line saying why, only where buildah cannot run at all (not root, no apt).
# Cache: ${WHATSAPP_TEST_CACHE:-$HOME/.cache/whatsapp-ha-tests}/image — the base root (keyed by its
# inputs) and buildah's vfs storage with the base image and the last app image
# (localhost/whatsapp-avatars-test:<version>), whose layers make the next build of unchanged code
# fast. Every container the run made is removed at the end, and so are the layers of earlier builds.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=debian-mirror.sh
source "$SCRIPT_DIR/debian-mirror.sh"
CACHE_DIR="${WHATSAPP_TEST_CACHE:-$HOME/.cache/whatsapp-ha-tests}/image"
# The release of ghcr.io/home-assistant/base-debian the Dockerfile names (its tag before the '-').
DEBIAN_SUITE="$(sed -nE 's/^ARG BASE_IMAGE=ghcr\.io\/home-assistant\/base-debian:([a-z]+)-.*/\1/p' "$REPO_ROOT/addon/Dockerfile")"
# What home-assistant/docker-base debian/Dockerfile (release 2026.06.1) installs on debian:<suite>-slim.
# s6-overlay, bashio and tempio are left out: the app's image bypasses /init and uses neither.
BASE_PACKAGES="bash,jq,tzdata,curl,ca-certificates,xz-utils"
STORAGE=(--storage-driver vfs --root "$CACHE_DIR/storage" --runroot "$CACHE_DIR/run")

log() { printf '[test-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
skip() { log "SKIPPED: $*"; printf 'image: skipped (%s)\n' "$*"; exit 0; }

started=$SECONDS
phase() { log "$1 ($((SECONDS - started)) s so far)"; }

[ -n "$DEBIAN_SUITE" ] || die "addon/Dockerfile has no 'ARG BASE_IMAGE=ghcr.io/home-assistant/base-debian:<suite>-<release>'"
VERSION="$(node -p "require('$REPO_ROOT/package.json').version")"
IMAGE="localhost/whatsapp-avatars-test:$VERSION"

phase "buildah"
if ! command -v buildah >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "buildah is not installed and installing it needs root"
  command -v apt-get >/dev/null 2>&1 || skip "buildah is not installed and there is no apt-get to install it"
  log "installing buildah and debootstrap with apt"
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq buildah debootstrap >&2
fi
[ "$(id -u)" = 0 ] || skip "buildah's vfs storage with chroot isolation needs root here"
buildah() { command buildah "${STORAGE[@]}" "$@"; }
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >&2
fi

mkdir -p "$CACHE_DIR"
# One run at a time: runs share the storage and the base.
exec 9>"$CACHE_DIR/.lock"
flock 9

WORK="$(mktemp -d)"
containers=()
clean_pid=""
cleanup() {
  local status=$?
  if [ -n "$clean_pid" ]; then kill "$clean_pid" 2>/dev/null || true; wait "$clean_pid" 2>/dev/null || true; fi
  for container in "${containers[@]}"; do buildah rm "$container" >/dev/null 2>&1 || log "warning: could not remove container $container"; done
  # The app image stays, tagged, as the next build's layer cache (a rebuild of the same code takes
  # seconds); layers of earlier builds that no tag names any more go.
  buildah rmi --prune >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if [ "$status" != 0 ]; then printf 'image: FAILED (exit %s)\n' "$status"; fi
  exit "$status"
}
trap cleanup EXIT


# The stand-in for ghcr.io/home-assistant/base-debian:<suite>, made once per (suite, packages).
# The image config below (as debian:<suite>-slim and base-debian set it) is part of the key.
BASE_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
  CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt)
ROOT_KEY="$(printf '%s\n' "$DEBIAN_SUITE" "$BASE_PACKAGES" "$(dpkg --print-architecture)" | sha256sum | cut -c1-12)"
BASE_KEY="$(printf '%s\n' "$ROOT_KEY" "${BASE_ENV[@]}" | sha256sum | cut -c1-12)"
BASE_IMAGE="localhost/whatsapp-test-base-debian:$DEBIAN_SUITE-$BASE_KEY"
phase "base image $BASE_IMAGE (Debian $DEBIAN_SUITE)"
if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  root="$CACHE_DIR/base-root-$ROOT_KEY"
  if [ ! -f "$root.tar.ready" ]; then
    mirror="$(find_debian_mirror)"
    log "debootstrap $DEBIAN_SUITE from $mirror (a minute or two, once)"
    rm -rf "$root" "$root.tar" "$root.tar.ready"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$root" "$mirror" >&2 ||
      die "debootstrap failed; see $root/debootstrap/debootstrap.log"
    # As in the slim image: no package lists or downloaded packages in the base.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" --numeric-owner -cf "$root.tar" .
    rm -rf "$root"
    touch "$root.tar.ready"
  fi
  container="$(buildah from scratch)"
  containers+=("$container")
  mountpoint="$(buildah mount "$container")"
  tar -C "$mountpoint" --numeric-owner -xf "$root.tar"
  # The host's CA bundle may hold a site's own CA that the registry's and the mirror's certificates
  # chain to here; users' base image has Debian's bundle.
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp -L /etc/ssl/certs/ca-certificates.crt "$mountpoint/etc/ssl/certs/ca-certificates.crt"
  buildah umount "$container" >/dev/null
  # The base image's environment and entry point (home-assistant/docker-base debian/Dockerfile).
  env_flags=()
  for assignment in "${BASE_ENV[@]}"; do env_flags+=(--env "$assignment"); done
  buildah config "${env_flags[@]}" --cmd '' --entrypoint '["/init"]' \
    --label io.hass.type=base --label io.hass.base.name=debian "$container"
  buildah commit --quiet "$container" "$BASE_IMAGE" >/dev/null
fi

phase "npm pack (the worker package the Dockerfile installs)"
(cd "$REPO_ROOT" && npm pack --silent --pack-destination "$WORK" >"$WORK/pack-name") >&2
tarball="$WORK/$(tail -n1 "$WORK/pack-name")"
[ -f "$tarball" ] || die "npm pack did not write $tarball"
# The image installs the tree the tests ran only if the shrinkwrap is in the tarball (see
# scripts/pack-shrinkwrap.mjs).
tar -tzf "$tarball" >"$WORK/tarball-files"
grep -qx 'package/npm-shrinkwrap.json' "$WORK/tarball-files" || die "$tarball has no npm-shrinkwrap.json"
mkdir "$WORK/context"
cp -R "$REPO_ROOT/addon/." "$WORK/context/"
cp "$tarball" "$WORK/context/worker-package.tgz"

# The package on a clean prefix, in the background while the image builds: only the registry and
# the tarball, no checkout, no dev dependencies. Its result is checked after the image's.
clean_install() {
  mkdir "$WORK/clean"
  cd "$WORK/clean"
  npm init -y >/dev/null
  npm install --omit=dev --no-audit --no-fund --no-package-lock "$tarball"
  node_modules/.bin/whatsapp-worker --help >"$WORK/clean-help.txt" 2>&1
  grep -q 'demo' "$WORK/clean-help.txt"
  # A short demo needs better-sqlite3's binding, which the install built.
  node_modules/.bin/whatsapp-worker demo --contacts 5 --interval 0.02 --exit-when-idle --data "$WORK/clean-demo"
  # Packages the lock file marks dev-only (some dev dependencies, like @hapi/boom, are also
  # dependencies of production packages and rightly installed).
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const devOnly = Object.entries(lock.packages).filter(([key, entry]) => key.startsWith("node_modules/") && entry.dev === true)
      .map(([key]) => key).filter((key) => fs.existsSync(key));
    if (devOnly.length > 0) { console.error(`dev-only packages installed: ${devOnly.join(", ")}`); process.exit(1); }
  ' "$REPO_ROOT/package-lock.json"
}
phase "npm install --omit=dev of the tarball on a clean prefix (in the background)"
(clean_install) >"$WORK/clean.log" 2>&1 &
clean_pid=$!

phase "buildah build (the app image, from the copy of addon/)"
build_started=$SECONDS
buildah build --layers --format docker --isolation chroot \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg BUILD_VERSION="$VERSION" \
  -t "$IMAGE" -f "$WORK/context/Dockerfile" "$WORK/context" >&2
build_seconds=$((SECONDS - build_started))
image_size="$(buildah images --format '{{.Size}}' "$IMAGE" | head -n1)"
log "built $IMAGE in ${build_seconds} s; image size: $image_size (uncompressed)"

phase "running the image"
failures=0
check() { # <description> <command...> : runs a check, counts a failure, never stops the run
  local description="$1"
  shift
  if "$@"; then log "ok: $description"; else log "FAILED: $description"; failures=$((failures + 1)); fi
}

container="$(buildah from "$IMAGE")"
containers+=("$container")
in_image() { buildah run --isolation chroot "$@"; }

buildah inspect --type image "$IMAGE" >"$WORK/image.json"
check "the image does not start the base image's s6 /init; CMD is node run.mjs" node -e '
  const config = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).Docker.config;
  process.exit((config.Entrypoint ?? []).length === 0 && JSON.stringify(config.Cmd) === JSON.stringify(["node", "/usr/local/bin/whatsapp-avatars-run.mjs"]) ? 0 : 1)' "$WORK/image.json"

in_image "$container" -- whatsapp-worker --help >"$WORK/help.txt" 2>&1 || true
check "whatsapp-worker --help runs inside the image" grep -q 'demo' "$WORK/help.txt"
check "Node.js in the image is 24" bash -c "[[ \"\$(buildah ${STORAGE[*]} run --isolation chroot $container -- node --version)\" == v24.* ]]"
check "better-sqlite3's native binding loads inside the image" in_image "$container" -- node -e "
  const Database = require('/usr/local/lib/node_modules/whatsapp-avatars-worker/node_modules/better-sqlite3');
  const db = new Database(':memory:');
  const { version } = db.prepare('select sqlite_version() as version').get();
  db.close();
  if (typeof version !== 'string') process.exit(1);"
check "no build tools, npm, Node headers, npm cache or apt lists and downloads are left in the image" in_image "$container" -- bash -c \
  '! command -v g++ && ! command -v make && ! command -v npm && [ ! -e /root/.npm ] && [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] && [ -z "$(ls /var/cache/apt/archives/*.deb 2>/dev/null)" ] && [ ! -e /usr/local/include/node ]'

# run.mjs as the Supervisor starts it: /data/options.json, SUPERVISOR_TOKEN set. The stand-in for
# the worker's CLI records what run.mjs passed and runs the installed worker as a short demo.
mkdir -p "$WORK/data" "$WORK/standin"
cat >"$WORK/data/options.json" <<'EOF'
{"interval": 2.5, "hourly_cap": 123, "picture_size": "preview", "log_level": "info", "avatars_folder": "/data/media/avatars"}
EOF
cat >"$WORK/standin/demo-as-run.mjs" <<'EOF'
// Records the arguments and Home Assistant URL run.mjs gave, then runs the image's worker as a demo.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const given = process.argv.slice(2);
writeFileSync('/standin/argv.json', JSON.stringify({ argv: given, haUrl: process.env.WHATSAPP_HA_URL }));
const value = (name) => given[given.indexOf(name) + 1];
const env = { ...process.env };
// No Home Assistant runs here: the demo runs the worker alone.
delete env.WHATSAPP_HA_URL; delete env.WHATSAPP_HA_TOKEN; delete env.SUPERVISOR_TOKEN;
const bin = execFileSync('which', ['whatsapp-worker']).toString().trim();
const demo = spawnSync(bin, ['demo', '--contacts', '20', '--interval', '0.02', '--exit-when-idle',
  '--data', value('--data'), '--avatars', value('--avatars')], { env, stdio: 'inherit' });
process.exit(demo.status ?? 1);
EOF
in_image -v "$WORK/data:/data" -v "$WORK/standin:/standin" \
  --env SUPERVISOR_TOKEN=test-token --env WHATSAPP_SUPERVISOR_URL=http://127.0.0.1:9 \
  --env WHATSAPP_WORKER_BIN=/standin/demo-as-run.mjs \
  "$container" -- node /usr/local/bin/whatsapp-avatars-run.mjs >"$WORK/run.log" 2>&1 && run_status=0 || run_status=$?
tail -n 15 "$WORK/run.log" | sed 's/^/[test-image]   | /' >&2
check "run.mjs and the demo it started exited 0 (exit $run_status)" test "$run_status" = 0
check "run.mjs passed the options from /data/options.json to the worker" node -e '
  const { argv, haUrl } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const at = (name) => argv[argv.indexOf(name) + 1];
  const ok = argv[0] === "run" && at("--interval") === "2.5" && at("--hourly-cap") === "123" &&
    at("--picture-type") === "preview" && at("--data") === "/data" && haUrl === "ws://supervisor/core/websocket";
  process.exit(ok ? 0 : 1);' "$WORK/standin/argv.json"
jpegs="$(find "$WORK/data/media/avatars" -name '*.jpg' 2>/dev/null | wc -l)"
check "the demo inside the image wrote pictures to /data/media/avatars ($jpegs)" test "$jpegs" -ge 10
check "the demo inside the image wrote its database to /data" bash -c "ls '$WORK/data' | grep -q -E '\\.(db|sqlite)'"

phase "the package on a clean prefix"
wait "$clean_pid" && clean_status=0 || clean_status=$?
clean_pid=""
[ "$clean_status" = 0 ] || { tail -n 20 "$WORK/clean.log" "$WORK/clean-help.txt" 2>/dev/null | sed 's/^/[test-image]   | /' >&2; }
check "the packed worker's --help and a short demo run from npm install --omit=dev <tarball>, without dev-only packages" test "$clean_status" = 0

log "image size: $image_size (uncompressed); build time: ${build_seconds} s; whole run: $((SECONDS - started)) s"
if [ "$failures" != 0 ]; then
  printf 'image: %s check(s) failed\n' "$failures"
  exit 1
fi
printf 'image: built with buildah in %s s (%s), the worker ran inside it: all checks passed\n' "$build_seconds" "$image_size"
