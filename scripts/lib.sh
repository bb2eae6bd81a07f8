# Shared by the scripts: paths, and a step runner that says what it does.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
export GATEHOUSE_VENV="${GATEHOUSE_VENV:-$HOME/.cache/gatehouse-venv}"
export PATH="$HOME/.cargo/bin:$PATH"

step() {
  local name="$1"
  shift
  printf '\n\033[1m== %s\033[0m\n' "$name"
  local start=$SECONDS
  "$@"
  printf '   (%ss)\n' "$((SECONDS - start))"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
