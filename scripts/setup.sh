#!/usr/bin/env bash
# Installs what Gatehouse needs to build, run and test on Debian or Ubuntu,
# skipping whatever is already there: system packages, tauri-driver, the
# UI's npm packages and the test tools' Python environment.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

APT_PACKAGES=(
  build-essential pkg-config curl file libssl-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libsecret-1-dev libsecret-tools gnome-keyring dbus-x11
  webkit2gtk-driver xvfb xauth
  python3 python3-venv
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js 20.19 or newer is needed for the UI build (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

if ! command -v tauri-driver >/dev/null; then
  echo "installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

# npm ci only when the lockfile changed since the last install: the UI's
# packages, and the MCP peers the end-to-end tests run (tests/package.json).
for dir in ui tests; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-fund --no-audit)
  fi
done

stamp="$GATEHOUSE_VENV/.requirements"
if [ ! -x "$GATEHOUSE_VENV/bin/python" ] || ! cmp -s tests/requirements.txt "$stamp"; then
  echo "preparing the test tools' Python environment in $GATEHOUSE_VENV"
  python3 -m venv "$GATEHOUSE_VENV"
  "$GATEHOUSE_VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$stamp"
fi
