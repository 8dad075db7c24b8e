#!/usr/bin/env bash
# The end-to-end suite: a real Home Assistant Core (from scripts/python-env.sh's environment), the
# worker in demo mode, the add-on's start script, and a real headless Chromium (Debian's package).
# Everything listens on 127.0.0.1 only. Ends with the line `e2e: N passed, M failed` and exits
# non-zero if anything failed, including the set-up.
#
# Usage: scripts/test-e2e.sh [NAME]   runs only the test files whose name starts with NAME, e.g.
#        'ha', 'dashboard' or 'addon' (default: all of e2e/*.e2e.ts)
# Environment: WHATSAPP_E2E_KEEP=1 keeps each test file's temp folder (logs, HA config, pictures).
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CHROMIUM=/usr/bin/chromium
PATTERN="${1:-}"

log() { printf '[test-e2e] %s\n' "$*" >&2; }

# Any failure before the suite ran is one failed check: the last line says so in the usual form.
summary_printed=0
on_exit() {
  local status=$?
  if [ "$summary_printed" = 0 ]; then
    log "set-up failed (exit $status); no test ran"
    printf 'e2e: 0 passed, 1 failed\n'
    [ "$status" = 0 ] && status=1
  fi
  exit "$status"
}
trap on_exit EXIT

started=$SECONDS
phase() { log "$1 ($((SECONDS - started)) s so far)"; }

cd "$REPO_ROOT"

phase "Python environment with Home Assistant"
PYTHON="$(bash "$REPO_ROOT/scripts/python-env.sh" | tail -n 1)"
[ -x "$PYTHON" ] || { log "scripts/python-env.sh printed '$PYTHON', which is not an executable"; exit 1; }

# The folder the wrapper enters when the environment lives in a Debian root (see python-env.sh).
debian_root() {
  grep -m1 '^ROOT=' "$PYTHON" 2>/dev/null | cut -d'"' -f2 || true
}

# HA is started with --skip-pip (it must not reach PyPI on its own), so the requirements of the
# integrations it always loads, and of the frontend, are installed here once.
install_ha_requirements() {
  local missing
  missing="$("$PYTHON" "$REPO_ROOT/e2e/support/ha_requirements.py")"
  [ -z "$missing" ] && return 0
  log "installing Home Assistant's runtime requirements: $(echo "$missing" | tr '\n' ' ')"
  # shellcheck disable=SC2086 # one requirement per word
  if "$PYTHON" -m pip install --quiet $missing >&2; then return 0; fi
  # A few (pymicro-vad, pyspeex-noise) have no wheel for Python 3.14 and build with a C++ compiler,
  # which python-env.sh's minimal Debian root does not have.
  local root
  root="$(debian_root)"
  if [ -n "$root" ] && [ ! -x "$root/usr/bin/g++" ]; then
    log "installing g++ into $root to build the requirements without a wheel"
    chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >&2 ||
      { chroot "$root" apt-get update -qq >&2 && chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >&2; }
  fi
  # shellcheck disable=SC2086
  "$PYTHON" -m pip install --quiet $missing >&2
}
phase "Home Assistant's runtime requirements"
install_ha_requirements
# The login page and the dashboards come from this package; without it the browser test cannot run.
"$PYTHON" -c 'import hass_frontend' || { log "home-assistant-frontend is not installed in $PYTHON's environment"; exit 1; }

phase "Chromium"
if [ ! -x "$CHROMIUM" ]; then
  log "installing Debian's chromium package"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi

phase "TypeScript build"
npx tsc -p tsconfig.json

phase "running the suite"
output="$(mktemp)"
set +e
# Test files sit at the top of dist/e2e (support/ has none); PATTERN matches the start of a name.
NO_COLOR=1 WHATSAPP_E2E_PYTHON="$PYTHON" npx uvu dist/e2e "^${PATTERN}[^/]*\\.e2e\\.js\$" 2>&1 | tee "$output"
uvu_status=${PIPESTATUS[0]}
set -e

total="$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$output" | tail -n 1)"
passed="$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$output" | tail -n 1)"
skipped="$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$output" | tail -n 1)"
rm -f "$output"
total="${total:-0}" passed="${passed:-0}" skipped="${skipped:-0}"
failed=$((total - passed - skipped))
# uvu counts a suite whose set-up threw as not passed but exits 0, and a crash prints no totals.
if [ "$uvu_status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
if [ "$total" = 0 ] && [ "$failed" = 0 ]; then
  log "no test file matched '${PATTERN:-*}'"
  failed=1
fi
phase "done"
summary_printed=1
printf 'e2e: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
