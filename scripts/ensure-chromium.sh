#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests, installing Debian's
# `chromium` package (and a font, for legible screenshots) when it is missing
# and this user may. Prints nothing and fails when neither works.
set -euo pipefail
for candidate in "${TESSERA_TEST_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
if command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  echo "ensure-chromium: installing Debian's chromium" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >&2
fi
if [ -x /usr/bin/chromium ]; then
  echo /usr/bin/chromium
  exit 0
fi
echo "ensure-chromium: no Chromium found and none could be installed" >&2
exit 1
