#!/usr/bin/env bash
# Installs the Debian packages Hall Edge runs and tests against, when run as root.
# Usage: scripts/system-deps.sh demo|test
# As a normal user it only says what is missing and how to install it.
set -euo pipefail
purpose=${1:-test}

# pycups has no wheels: pip builds it against libcups2-dev for demo and test alike.
common=(fonts-noto-cjk mosquitto libcups2-dev gcc python3-dev espeak-ng rime-data-luna-pinyin)
test_only=(xvfb xauth xdotool fontconfig openssl cups cups-bsd cups-client printer-driver-cups-pdf poppler-utils
           libgl1 libgl1-mesa-dri libmtdev1 libegl1 chromium)
demo_only=(libgl1 libgl1-mesa-dri libmtdev1 libegl1 xvfb)

wanted=("${common[@]}")
if [ "$purpose" = test ]; then wanted+=("${test_only[@]}"); else wanted+=("${demo_only[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

echo "Hall Edge needs these Debian packages for '$purpose': ${missing[*]}" >&2
echo "Install them with: sudo apt-get install ${missing[*]}" >&2
if [ "$purpose" = test ]; then exit 1; fi
echo "The demo goes on without them (embedded MQTT broker; Chinese text may not render)." >&2
