#!/usr/bin/env bash
# Write requirements.lock (Haven's libraries) and requirements-dev.lock (also the test tools) from
# pyproject.toml: every package pinned to one version with the sha256 of each of its files, for
# CPython 3.11 on Linux x86_64. scripts/run.sh installs only from these, with pip --require-hashes.
#
#   bash scripts/lock.sh                          keep the pinned versions; add what pyproject.toml added
#   bash scripts/lock.sh --upgrade-package NAME   move NAME (and what it needs) to its newest release
#   bash scripts/lock.sh --upgrade                move everything to the newest releases
#
# Run it after changing the dependencies in pyproject.toml, then the whole suite (scripts/run.sh test),
# and commit the lock files with the change. pip-tools runs from a throwaway virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "lock with Python 3.11"'
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
"$tools/bin/python" -m pip install -q "pip-tools==7.6.2"
compile() {
  CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/bin/pip-compile" -q --generate-hashes --allow-unsafe \
    --strip-extras --no-emit-index-url --no-emit-find-links --build-deps-for editable "$@" pyproject.toml
}
compile --output-file requirements.lock "$@"
compile --extra dev --output-file requirements-dev.lock "$@"
