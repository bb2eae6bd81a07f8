#!/usr/bin/env bash
# The engine's tests regenerate ui/src/lib/bindings. If the regenerated files
# differ from what git has (or are new to it), the committed bindings were stale.
set -euo pipefail
cd "$(dirname "$0")/.."
changed="$(git diff --name-only -- ui/src/lib/bindings)"
untracked="$(git ls-files --others --exclude-standard -- ui/src/lib/bindings)"
if [ -n "$changed$untracked" ]; then
  echo "The TypeScript bindings are stale; regenerate them with" >&2
  echo "  cargo test -p gatehouse-engine ipc::" >&2
  echo "and commit these files:" >&2
  printf '%s\n' $changed $untracked >&2
  git --no-pager diff -- ui/src/lib/bindings >&2
  exit 1
fi
echo "bindings are up to date"
