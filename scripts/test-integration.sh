#!/usr/bin/env bash
# Runs the integration's pytest suite (tests/) on Python >= 3.14.2 with the Home Assistant release
# pinned in tests/requirements.txt, enforcing 95 % coverage of custom_components/whatsapp.
# Builds the environment on first use (scripts/python-env.sh; minutes), reuses it afterwards.
# Extra arguments go to pytest, e.g. scripts/test-integration.sh -k websocket -x
# Runs ruff and mypy --strict with Home Assistant core's settings first (tests/ruff.toml,
# tests/mypy.ini). Exits non-zero when a linter complains, a test fails or coverage is short;
# pytest's summary line is the last line.
set -euo pipefail
shopt -s inherit_errexit

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$("$REPO_ROOT/scripts/python-env.sh")"

# Coverage data and mypy's cache stay out of the repository.
COVERAGE_DIR="$(mktemp -d)"
trap 'rm -rf "$COVERAGE_DIR"' EXIT
export COVERAGE_FILE="$COVERAGE_DIR/.coverage"

cd "$REPO_ROOT"
# Core's linters with core's settings (tests/ruff.toml, tests/mypy.ini) first: they take seconds,
# and a type or lint error is reported before the minute the suite takes. Both always run, so one
# run shows every problem; the script fails if any of the three does.
status=0
echo "ruff (Home Assistant core's rules) on custom_components/whatsapp and tests" >&2
"$PYTHON" -m ruff check --config tests/ruff.toml --no-cache custom_components/whatsapp tests || status=$?
echo "mypy --strict (with core's options) on custom_components/whatsapp" >&2
"$PYTHON" -m mypy --strict --config-file tests/mypy.ini --cache-dir "$COVERAGE_DIR/mypy" \
  custom_components/whatsapp || status=$?
"$PYTHON" -m pytest -c tests/pytest.ini --rootdir tests \
  --cov=custom_components/whatsapp --cov-report=term-missing:skip-covered --cov-fail-under=95 \
  "$@" || status=$?
exit "$status"
