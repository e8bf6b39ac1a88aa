#!/usr/bin/env bash
# Re-extract the web app's messages into haven/web/locale/messages.pot and merge them into the
# Korean and Simplified Chinese catalogs (then translate the new entries by hand).
# The .po files are compiled in memory when the app starts: there are no .mo files to build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
"$PYBABEL" extract -F haven/web/locale/babel.cfg -k N_ -k _ --no-location --omit-header --sort-output \
  -o haven/web/locale/messages.pot .
for locale in ko zh_Hans; do
  po="haven/web/locale/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "$PYBABEL" update -i haven/web/locale/messages.pot -o "$po" -l "$locale" \
      --ignore-obsolete --no-fuzzy-matching
  else
    "$PYBABEL" init -i haven/web/locale/messages.pot -o "$po" -l "$locale"
  fi
done
