#!/usr/bin/env bash
# Install everything the tests need, then run them. This is the README's test
# command and exactly what CI runs (.ci/run).
#   - Debian's chromium, for the tests that look at pages in a real browser
#     (Playwright drives /usr/bin/chromium; it never downloads a browser);
#   - newsmirror itself with its test extras;
#   - then pytest, with any arguments given here.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(chromium fonts-noto-cjk)
missing=()
for package in "${debian_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else sudo=(none); fi
  if [ "${sudo[*]}" = none ] || ! command -v apt-get >/dev/null; then
    echo "note: cannot install ${missing[*]} (no apt-get or no root): browser tests will skip" >&2
  else
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

python3 -m pip install '.[test]'
exec python3 -m pytest "$@"
