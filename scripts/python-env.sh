#!/usr/bin/env bash
# Builds (or reuses) the Python environment for the integration's tests and the end-to-end suite,
# then prints the path of its python on the last line of stdout. Everything else goes to stderr.
#
# Home Assistant 2026.x needs Python >= 3.14.2. A machine that has one (on PATH, under pyenv, or
# named by WHATSAPP_TEST_PYTHON) gets a plain virtualenv. The team's machines only have 3.11-3.13,
# so otherwise the script makes a minimal Debian sid root with debootstrap (sid ships python3.14)
# and puts the virtualenv inside it.
#
# Why a chroot and not the sid python run from the host through sid's dynamic loader: the loader
# trick only covers the first process. pip's build steps, `sys.executable -m ...` subprocesses and
# Home Assistant's own helpers would start the sid binaries against the host's older glibc and fail.
# Inside the chroot every process gets sid's libraries. The printed "python" is a small wrapper that
# enters a private mount namespace (unshare -m), bind-mounts /proc, /dev, /sys, /tmp, the
# repository and the current directory at the same paths, and execs the venv's python in the root.
# The mounts belong to that namespace only, so they vanish when the process ends (even on a crash
# or kill -9) and concurrent runs never see each other's mounts; no teardown step can be forgotten.
# The wrapper execs all the way down, so its PID is python's PID (the e2e suite can signal it).
# Loopback is shared with the host: a Home Assistant started this way is reachable at 127.0.0.1.
#
# Cache: ${WHATSAPP_TEST_CACHE:-$HOME/.cache/whatsapp-ha-tests}, outside the repository. The venv
# is keyed by the sha256 of tests/requirements.txt, so a second run only checks markers (seconds).
# A build is marked ready only once complete; an interrupted one is thrown away and redone.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=debian-mirror.sh
source "$SCRIPT_DIR/debian-mirror.sh"
REQUIREMENTS="$REPO_ROOT/tests/requirements.txt"
CACHE_DIR="${WHATSAPP_TEST_CACHE:-$HOME/.cache/whatsapp-ha-tests}"
DEBIAN_SUITE="sid"
# Packages inside the root: the interpreter, venv support, headers and a compiler for the rare
# dependency without a wheel for the newest Python, and CA certificates for pip.
DEBIAN_PACKAGES="python3.14,python3.14-venv,python3.14-dev,ca-certificates,gcc,g++,libc6-dev,tzdata"
MIN_PYTHON="3.14.2"

log() { printf '[python-env] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -f "$REQUIREMENTS" ] || die "missing $REQUIREMENTS"
REQ_HASH="$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
mkdir -p "$CACHE_DIR"

# One build at a time: the unit tests and the e2e suite may both ask for the environment at once.
exec 9>"$CACHE_DIR/.lock"
flock 9

# Prints the path of a Python >= MIN_PYTHON already on this machine, if any.
find_host_python() {
  local candidate
  local candidates=()
  [ -n "${WHATSAPP_TEST_PYTHON:-}" ] && candidates+=("$WHATSAPP_TEST_PYTHON")
  for name in python3.14 python3.15 python3; do
    command -v "$name" >/dev/null 2>&1 && candidates+=("$(command -v "$name")")
  done
  for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[4-9]*; do
    [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
  done
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c "import sys, venv; sys.exit(0 if sys.version_info >= tuple(map(int, '$MIN_PYTHON'.split('.'))) else 1)" \
      >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

pip_install() { # <python> : installs the requirements into the venv of <python>
  "$1" -m pip install --quiet --upgrade pip >&2
  "$1" -m pip install --quiet -r "$2" >&2
}

host_env() {
  local python="$1"
  local venv="$CACHE_DIR/venvs/host-$REQ_HASH"
  if [ ! -f "$venv/.ready" ]; then
    log "creating virtualenv $venv with $python"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    pip_install "$venv/bin/python" "$REQUIREMENTS"
    touch "$venv/.ready"
  fi
  printf '%s\n' "$venv/bin/python"
}


# Host files that the root needs fresh at every start: name resolution and the CA bundle (which may
# hold a site's own CA).
refresh_host_files() {
  local root="$1"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
}

ensure_debian_root() {
  local root="$CACHE_DIR/rootfs"
  if [ ! -f "$root/.ready" ]; then
    [ "$(id -u)" = 0 ] || die "building the Python 3.14 root needs root (debootstrap, chroot)"
    if ! command -v debootstrap >/dev/null 2>&1; then
      log "installing debootstrap"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    fi
    local mirror
    mirror="$(find_debian_mirror)"
    log "debootstrap $DEBIAN_SUITE from $mirror into $root (about a minute)"
    rm -rf "$root" "$root.partial"
    debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" "$DEBIAN_SUITE" "$root.partial" "$mirror" >&2 ||
      die "debootstrap failed; see $root.partial/debootstrap/debootstrap.log"
    "$root.partial/usr/bin/python3.14" --version >/dev/null 2>&1 ||
      chroot "$root.partial" python3.14 --version >&2 ||
      die "python3.14 did not install in the root"
    touch "$root.partial/.ready"
    mv "$root.partial" "$root"
  fi
  refresh_host_files "$root"
  printf '%s\n' "$root"
}

# Writes the wrapper that runs the venv's python inside the root.
write_chroot_wrapper() {
  local root="$1" venv_inside="$2" wrapper="$3"
  mkdir -p "$(dirname "$wrapper")"
  cat >"$wrapper.tmp" <<EOF
#!/usr/bin/env bash
# Generated by scripts/python-env.sh: runs $venv_inside/bin/python inside $root.
# Extra host folders to show inside: WHATSAPP_TEST_BIND="/a:/b".
set -euo pipefail
ROOT="$root"
REPO="$REPO_ROOT"
if [ "\${WHATSAPP_IN_NAMESPACE:-}" != "\$ROOT" ]; then
  export WHATSAPP_IN_NAMESPACE="\$ROOT"
  exec unshare --mount --propagation private -- "\$0" "\$@"
fi
unset WHATSAPP_IN_NAMESPACE
bind() { # <host path> : the same path inside the root
  [ -e "\$1" ] || return 0
  if [ -d "\$1" ]; then mkdir -p "\$ROOT\$1"; else mkdir -p "\$(dirname "\$ROOT\$1")"; touch "\$ROOT\$1"; fi
  mount --rbind "\$1" "\$ROOT\$1"
}
bind /proc
bind /dev
bind /sys
bind /tmp
bind "\$REPO"
case "\$PWD" in /|/proc*|/dev*|/sys*) ;; *) bind "\$PWD" ;; esac
IFS=: read -r -a extra <<<"\${WHATSAPP_TEST_BIND:-}"
for path in "\${extra[@]}"; do [ -n "\$path" ] && bind "\$path"; done
# The host's pip settings point at host-only wheel folders.
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_CONSTRAINT
CHROOT="\$(command -v chroot)"
export PATH="$venv_inside/bin:/usr/local/bin:/usr/bin:/bin"
export VIRTUAL_ENV="$venv_inside"
exec "\$CHROOT" "\$ROOT" /usr/bin/env -C "\$PWD" "$venv_inside/bin/python" "\$@"
EOF
  chmod +x "$wrapper.tmp"
  mv "$wrapper.tmp" "$wrapper"
}

chroot_env() {
  local root
  root="$(ensure_debian_root)"
  local venv_inside="/opt/venvs/$REQ_HASH"
  local wrapper="$CACHE_DIR/bin/python-$REQ_HASH"
  write_chroot_wrapper "$root" "$venv_inside" "$wrapper"
  if [ ! -f "$root$venv_inside/.ready" ]; then
    log "creating virtualenv $venv_inside inside the root and installing $(basename "$REQUIREMENTS") (several minutes)"
    rm -rf "$root$venv_inside"
    chroot "$root" /usr/bin/python3.14 -m venv "$venv_inside"
    pip_install "$wrapper" "$REQUIREMENTS"
    touch "$root$venv_inside/.ready"
  fi
  ln -sfn "python-$REQ_HASH" "$CACHE_DIR/bin/python"
  printf '%s\n' "$wrapper"
}

if host_python="$(find_host_python)"; then
  log "using the host's $host_python ($("$host_python" --version 2>&1))"
  python="$(host_env "$host_python")"
else
  log "no Python >= $MIN_PYTHON on this machine; using a Debian $DEBIAN_SUITE root"
  python="$(chroot_env)"
fi
versions="$("$python" -c 'import sys, homeassistant.const as c; print(f"Python {sys.version.split()[0]}, Home Assistant {c.__version__}")')" ||
  die "the environment does not start; delete $CACHE_DIR to rebuild it"
log "ready: $versions"
printf '%s\n' "$python"
