#!/usr/bin/env bash
# scripts/bench.sh [-quick] [target|compare] — benchmark a Release build of the registry with the
# team's regbench harness (BENCH_DIR, default ../shared/bench; see its README), side by side with
# CNCF distribution 2.8.2 behind the same Docker token flow (DIST_AUTH=token).
#
# Installs the harness's prerequisites (golang-go docker-registry wrk), publishes the registry to
# a temporary folder, starts it on a fresh data folder on a free port, runs
# `run.sh [-quick] compare URL PID` (or `target`), and stops it. Reports go to the harness's out/.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_dir="${BENCH_DIR:-../shared/bench}"
quick=()
mode=compare
for a in "$@"; do
  case "$a" in
    -quick|--quick) quick=(-quick) ;;
    target|compare) mode="$a" ;;
    *) echo "bench.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

scripts/ci/install-deps.sh --bench

work="$(mktemp -d /tmp/registry-bench.XXXXXX)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

dotnet publish src/Registry -c Release -o "$work/bin" --nologo -v quiet
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export REGISTRY_ADMIN_PASSWORD=bench-password
REGISTRY_Logging__LogLevel__Default=Warning "$work/bin/registry" serve --urls "http://127.0.0.1:$port" --data "$work/data" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
  sleep 0.1
done

REGBENCH_USER=admin REGBENCH_PASS="$REGISTRY_ADMIN_PASSWORD" DIST_AUTH=token \
  "$bench_dir/run.sh" "${quick[@]}" "$mode" "http://127.0.0.1:$port" "$pid"
