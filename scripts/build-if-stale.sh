#!/usr/bin/env bash
# `npm start` runs the built service; build first when dist/ is missing or older than any source file.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/main.js ] || [ -n "$(find src package.json tsconfig.json tsconfig.build.json -newer dist/main.js -print -quit)" ]; then
  echo "start: building (dist/ missing or stale)" >&2
  npm run build >&2
fi
