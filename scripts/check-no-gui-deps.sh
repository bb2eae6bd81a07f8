#!/usr/bin/env bash
# Fails if the headless engine or the lean CLI depends on a GUI stack.
#   check-no-gui-deps.sh tree        cargo's dependency graph of both crates
#   check-no-gui-deps.sh ldd BINARY  the shared libraries BINARY loads
set -euo pipefail
cd "$(dirname "$0")/.."
GUI='tauri|wry|webkit2gtk|javascriptcore|gtk|gdk|soup'

case "${1:-}" in
  tree)
    for crate in gatehouse-engine gatehouse; do
      found="$(cargo tree -p "$crate" -e normal,build --prefix none --no-dedupe | grep -Ei "^($GUI)[-_a-z0-9]* " | sort -u || true)"
      if [ -n "$found" ]; then
        echo "$crate depends on GUI crates:" >&2
        echo "$found" >&2
        exit 1
      fi
      echo "$crate: no GUI crates ($(cargo tree -p "$crate" -e normal --prefix none | sort -u | wc -l) crates checked)"
    done
    ;;
  ldd)
    found="$(ldd "$2" | grep -Ei "lib($GUI)" || true)"
    if [ -n "$found" ]; then
      echo "$2 links GUI libraries:" >&2
      echo "$found" >&2
      exit 1
    fi
    echo "$2 links: $(ldd "$2" | awk '{print $1}' | xargs)"
    ;;
  *)
    echo "usage: $0 tree | ldd BINARY" >&2
    exit 2
    ;;
esac
