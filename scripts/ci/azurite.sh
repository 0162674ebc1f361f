#!/usr/bin/env bash
# azurite.sh start|stop|purge|env — a private Azure Blob Storage emulator (Azurite) for the tests.
#
# Azurite is pinned by scripts/ci/node/package.json + package-lock.json and installed there with
# `npm ci` on first start (node_modules is not committed; ~370 MB). State under
# $E2E_STATE_DIR/azurite (default E2E_STATE_DIR=/tmp/registry-e2e): data/, azurite.log, pid, port.
#
#   eval "$(scripts/ci/azurite.sh env)"   # exports REGISTRY_TEST_AZURE_CONNECTION_STRING for
#                                         # Azurite's well-known development account
#
# Flags: --skipApiVersionCheck (Azure.Storage.Blobs 12.30 sends an x-ms-version newer than
# Azurite 3.37 knows), --disableTelemetry (without it Azurite ignores SIGTERM here), --loose
# (tolerates headers it does not implement), 127.0.0.1 only, a free port chosen at start.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="${E2E_STATE_DIR:-/tmp/registry-e2e}/azurite"
account_key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

running() { [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

start() {
  running && return 0
  if [[ ! -x "$here/node/node_modules/.bin/azurite-blob" ]]; then
    npm ci --prefix "$here/node" --no-audit --no-fund --loglevel=error >&2
  fi
  mkdir -p "$state/data"
  local port
  port=$("$(dirname "$0")/free-port.sh")
  "$here/node/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$state/data" \
    --skipApiVersionCheck --loose --disableTelemetry --silent > "$state/azurite.log" 2>&1 &
  echo $! > "$state/pid"
  echo "$port" > "$state/port"
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/devstoreaccount1?comp=list" && { echo "azurite.sh: Azurite on 127.0.0.1:$port" >&2; return 0; }
    running || break
    sleep 0.1
  done
  echo "azurite.sh: Azurite did not start:" >&2
  tail -n 25 "$state/azurite.log" >&2
  stop
  exit 1
}

stop() {
  running || return 0
  local pid
  pid=$(cat "$state/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  purge) stop; rm -rf "$state" ;;
  env)
    running || { echo "azurite.sh: not started" >&2; exit 1; }
    echo "export REGISTRY_TEST_AZURE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$(cat "$state/port")/devstoreaccount1;'" ;;
  *) echo "usage: azurite.sh start|stop|purge|env" >&2; exit 2 ;;
esac
