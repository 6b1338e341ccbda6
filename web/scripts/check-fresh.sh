#!/bin/sh
# Fails when the committed generated code or bundle is not what the sources give: runs
# `npm run gen` and `npm run build`, then asks git whether src/gen or ../edge/assets/web
# changed (or gained files). For scripts/test, after `npm ci`.
set -eu
cd "$(dirname "$0")/.."
npm run --silent gen
npm run --silent build >/dev/null
changed=$(git status --porcelain -- src/gen ../edge/assets/web)
if [ -n "$changed" ]; then
  echo "web: the committed generated code or bundle differs from what the sources build:" >&2
  echo "$changed" >&2
  echo "run 'npm run gen && npm run build' in web/ and commit the result" >&2
  exit 1
fi
echo "web: src/gen and edge/assets/web match the sources"
