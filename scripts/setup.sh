#!/usr/bin/env bash
# Installs what voxline needs on a Debian machine: the Debian packages, then the npm dependencies
# (npm ci, from package-lock.json). Idempotent; used by the README quick start and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# flite: embedded text-to-speech; libpocketsphinx3 + libsphinxbase3 + pocketsphinx-en-us: embedded
# speech-to-text (library and US English model); unzip: the chart check extracts helm from an npm tarball.
DEBIAN_PACKAGES=(flite libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us unzip)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

echo "setup: npm ci" >&2
npm ci --no-audit --no-fund >&2
