#!/usr/bin/env bash
# Sets up everything on a fresh Debian/Ubuntu machine, builds Gatehouse in
# release mode and starts the desktop app. The CLI is built beside it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "setup" scripts/setup.sh
step "build the UI" npm --prefix ui run build --silent
step "build Gatehouse" cargo build --release -p gatehouse -p gatehouse-app --features gatehouse-app/custom-protocol
echo "The CLI is $CARGO_TARGET_DIR/release/gatehouse"
exec "$CARGO_TARGET_DIR/release/gatehouse-app" "$@"
