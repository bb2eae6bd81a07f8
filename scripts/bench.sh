#!/usr/bin/env bash
# Builds the release binaries and runs the benchmarks behind docs/BENCHMARKS.md:
#   1. the embedded proxy against a direct connection (bench/: proxy-bench);
#   2. exec-and-exit time of the lean CLI (hyperfine);
#   3. sizes and linked libraries of the release `gatehouse` and `gatehouse-app`;
#   4. what one audit commit costs on this disk, without the proxy (SQLite);
#   5. approvals: a call the policy asks about to the popup on screen, and
#      the answer to the call reaching the server (bench/approvals/);
#   6. the HTTP gateway against direct HTTP to the same server (gateway-bench,
#      in a private D-Bus session with an unlocked keyring for its tokens).
#
# Usage: scripts/bench.sh [--quick] [--no-app] [-- PROXY-BENCH-ARGS...]
#   --quick   small counts: checks that everything runs, numbers are rough
#   --no-app  skip the release build of the desktop app (and its size)
# Results go to $BENCH_OUT (default: $CARGO_TARGET_DIR/bench). The machine is
# shared: the load average is printed before and after; rerun when it is low.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

quick=0
app=1
proxy_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-app) app=0 ;;
    --) shift; proxy_args=("$@"); break ;;
    *) echo "usage: scripts/bench.sh [--quick] [--no-app] [-- PROXY-BENCH-ARGS...]" >&2; exit 2 ;;
  esac
  shift
done

OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/bench}"
mkdir -p "$OUT"
REL="$CARGO_TARGET_DIR/release"

machine() {
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -sr)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "filesystem of the temp dir: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
  echo "rustc: $(rustc --version)"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

if ! command -v hyperfine >/dev/null; then
  echo "installing hyperfine"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends hyperfine
fi

step "machine" bash -c "$(declare -f machine); machine | tee '$OUT/machine.txt'"

step "release build: gatehouse and the benchmark" \
  cargo build --release --quiet -p gatehouse -p gatehouse-bench
if [ "$app" = 1 ]; then
  if [ ! -f ui/dist/index.html ]; then
    step "UI build (needed by the app)" npm --prefix ui run build --silent
  fi
  step "release build: gatehouse-app" \
    cargo build --release --quiet -p gatehouse-app --features gatehouse-app/custom-protocol
fi

# 1. The proxy, side by side with the direct path.
bench_args=(--json "$OUT/proxy.json")
[ "$quick" = 1 ] && bench_args+=(--quick)
command -v python3 >/dev/null && bench_args+=(--python)
step "proxy benchmark" bash -c '"$@" | tee "'"$OUT"'/proxy.md"' _ \
  "$REL/proxy-bench" --gatehouse "$REL/gatehouse" "${bench_args[@]}" "${proxy_args[@]}"

# 2. Exec-and-exit of the lean CLI, with a couple of registered servers.
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export GATEHOUSE_HOME="$home" HOME="$home"
"$REL/gatehouse" server add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp >/dev/null
"$REL/gatehouse" server add time --env TZ=UTC -- uvx mcp-server-time >/dev/null
runs=300
[ "$quick" = 1 ] && runs=50
step "CLI exec-and-exit (hyperfine)" \
  hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$OUT/cli.md" --export-json "$OUT/cli.json" \
  "$REL/gatehouse --version" "$REL/gatehouse server list"

# 3. Sizes and linked libraries.
bins="gatehouse"
[ "$app" = 1 ] && bins="gatehouse gatehouse-app"
sizes() {
  for bin in $bins; do
    printf '%s: %s bytes (%s); ldd lists %s objects\n' "$bin" \
      "$(stat -c %s "$REL/$bin")" "$(du -h --apparent-size "$REL/$bin" | cut -f1)" \
      "$(ldd "$REL/$bin" | wc -l)"
  done
}
step "binary sizes" bash -c "REL='$REL' bins='$bins'; $(declare -f sizes); sizes | tee '$OUT/sizes.txt'"

# 4. The audit commit alone, as the audit writer does it (Python's sqlite3).
if command -v python3 >/dev/null; then
  step "audit commit cost (SQLite alone)" bash -c \
    'python3 bench/python/sqlite_commit.py "${TMPDIR:-/tmp}" | tee "'"$OUT"'/sqlite.md"'
fi

# 5. Approvals: request to popup visible, answer to call forwarded (the
# release app under Xvfb; needs python-xlib to see the window mapped).
if [ "$app" = 1 ]; then
  "$GATEHOUSE_VENV/bin/python" -c 'import Xlib' 2>/dev/null \
    || "$GATEHOUSE_VENV/bin/pip" install -q python-xlib
  approval_runs=30
  [ "$quick" = 1 ] && approval_runs=5
  step "approvals (popup and answer latency)" bash -c \
    'xvfb-run -a -s "-screen 0 1400x900x24" dbus-run-session -- "$0" bench/approvals/bench.py \
       --gatehouse "$1/gatehouse" --app "$1/gatehouse-app" --runs "$2" --json "$3/approvals.json" \
       2> "$3/approvals.log" | tee "$3/approvals.md"' \
    "$GATEHOUSE_VENV/bin/python" "$REL" "$approval_runs" "$OUT"
fi

# 6. The HTTP gateway, side by side with direct HTTP.
gateway_args=(--json "$OUT/gateway.json")
[ "$quick" = 1 ] && gateway_args+=(--calls 2000 --warmup 200 --blocks 10)
step "gateway benchmark" dbus-run-session -- bash -c \
  'HOME="$(mktemp -d)" gnome-keyring-daemon --unlock --components=secrets <<<bench >/dev/null
   "$@" | tee "'"$OUT"'/gateway.md"' _ \
  "$REL/gateway-bench" --gatehouse "$REL/gatehouse" "${gateway_args[@]}"

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results in $OUT"
