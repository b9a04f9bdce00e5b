#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only those missing. Needs root (CI and developer machines are).
set -euo pipefail
pkgs=(postgresql postgresql-15-postgis-3 redis-server chromium fonts-noto-cjk poppler-utils
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
