#!/usr/bin/env bash
# Runs inside `dbus-run-session` under Xvfb (see test.sh): unlocks a
# throwaway gnome-keyring so the Secret Service is real, then runs the Rust
# tests, the stale-bindings check and the end-to-end tests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
# The keyring's files go to a temporary HOME; the daemon is found over D-Bus.
HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/.local/share" \
  gnome-keyring-daemon --unlock --components=secrets <<<"gatehouse-test" >/dev/null

step "Rust tests" cargo test --workspace --exclude gatehouse-app --quiet
step "generated bindings are committed" scripts/check-bindings.sh
step "end-to-end tests" "$GATEHOUSE_VENV/bin/python" -m pytest tests -q
