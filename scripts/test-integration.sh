#!/usr/bin/env bash
# Runs the integration's pytest suite (tests/) on Python >= 3.14.2 with the Home Assistant release
# pinned in tests/requirements.txt, enforcing 95 % coverage of custom_components/whatsapp.
# Builds the environment on first use (scripts/python-env.sh; minutes), reuses it afterwards.
# Extra arguments go to pytest, e.g. scripts/test-integration.sh -k websocket -x
# Exits non-zero when a test fails or coverage is short; pytest's summary line is the last line.
set -euo pipefail
shopt -s inherit_errexit

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$("$REPO_ROOT/scripts/python-env.sh")"

# Coverage data stays out of the repository.
COVERAGE_DIR="$(mktemp -d)"
trap 'rm -rf "$COVERAGE_DIR"' EXIT
export COVERAGE_FILE="$COVERAGE_DIR/.coverage"

cd "$REPO_ROOT"
status=0
"$PYTHON" -m pytest -c tests/pytest.ini --rootdir tests \
  --cov=custom_components/whatsapp --cov-report=term-missing:skip-covered --cov-fail-under=95 \
  "$@" || status=$?
exit "$status"
