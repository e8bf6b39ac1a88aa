#!/usr/bin/env bash
# One entry point that sets up everything Haven needs on a fresh Debian machine
# with Python 3.11, then starts the demo clinic or runs the whole test suite.
#
#   scripts/run.sh demo        set up, then start a demo clinic (haven serve --demo): prints its URL and sign-in
#   scripts/run.sh tour        set up, then the command-line tour of a demo site (haven demo)
#   scripts/run.sh test        set up (with test tools, Chromium and PostgreSQL), then lint, type-check and run every test
#
# HAVEN_WEB_PORT (and the other HAVEN_WEB_* variables, docs/web.md) set where the demo clinic listens.
set -euo pipefail
cd "$(dirname "$0")/.."

task="${1:-demo}"
shift || true
PYTHON="${PYTHON:-python3}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian ships venv separately from python3.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Haven needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}")
PY

# Libraries come only from the lock files (exact versions, each file's sha256: scripts/lock.sh writes them);
# Haven itself is then installed without resolving anything (--no-deps), built by the locked setuptools.
extras=""
[ "$task" = "test" ] && extras="[dev]"
lock="requirements.lock"
[ -n "$extras" ] && lock="requirements-dev.lock"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.haven-installed${extras}"
# An install with the test tools serves the demo too.
dev_stamp=".venv/.haven-installed[dev]"
if [ -z "$extras" ] && [ -f "$dev_stamp" ] && [ ! pyproject.toml -nt "$dev_stamp" ] && [ ! requirements-dev.lock -nt "$dev_stamp" ]; then
  stamp="$dev_stamp"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  say "installing Haven${extras} into .venv from $lock"
  .venv/bin/python -m pip install -q --require-hashes --only-binary :all: -r "$lock"
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  touch "$stamp"
fi

case "$task" in
  demo | serve-demo)
    exec .venv/bin/haven serve --demo "$@"
    ;;
  tour)
    exec .venv/bin/haven demo "$@"
    ;;
  test)
    # The browser tests drive Debian's Chromium (Playwright's own browser downloads are not used);
    # the CJK fonts make the Korean and Chinese screenshots readable.
    if ! command -v chromium >/dev/null; then
      apt_install chromium fonts-noto-cjk
    fi
    # The PostgreSQL store's tests start Debian's server themselves (tests/pg.py), as the postgres user.
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
      apt_install postgresql
    fi
    say "ruff"
    .venv/bin/ruff check haven tests bench scripts
    .venv/bin/ruff format --check haven tests bench scripts
    say "mypy"
    .venv/bin/mypy
    say "pytest"
    .venv/bin/pytest -n "${HAVEN_TEST_WORKERS:-2}" -m "not timing" "$@"
    say "pytest: timing comparisons, alone on the machine"
    exec .venv/bin/pytest -m timing "$@"
    ;;
  *)
    echo "usage: scripts/run.sh demo|tour|test [args...]" >&2
    exit 2
    ;;
esac
