#!/usr/bin/env bash
# Sets up everything and runs the whole test suite, as CI does: formatting,
# lints, the no-GUI-dependency checks, Rust tests, the UI's type check, lint
# and tests, the stale-bindings check, that `tauri build` works from the
# repository root, and the end-to-end tests in the real window. Secrets tests run against a real Secret Service in a private D-Bus
# session; the window runs under Xvfb.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

step "setup" scripts/setup.sh
step "rustfmt" cargo fmt --all --check
step "UI build" npm --prefix ui run build --silent
step "clippy" cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
step "engine and CLI have no GUI dependency" scripts/check-no-gui-deps.sh tree
step "UI type check" npm --prefix ui run check --silent
step "UI lint" npm --prefix ui run lint --silent
step "UI tests" npm --prefix ui test --silent
step "tauri build works from the root" ui/node_modules/.bin/tauri build --debug --no-bundle
step "build binaries" cargo build --quiet -p gatehouse -p gatehouse-app --features gatehouse-app/custom-protocol
step "lean binary links no GUI library" scripts/check-no-gui-deps.sh ldd "$CARGO_TARGET_DIR/debug/gatehouse"
# Xvfb outside the D-Bus session, so services the bus starts for the app
# (the desktop portal) find the display too.
step "tests with a real keychain and window" xvfb-run -a -s "-screen 0 1400x900x24" \
  dbus-run-session -- scripts/test-session.sh
