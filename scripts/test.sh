#!/usr/bin/env bash
# The README's test command: installs the real clients the end-to-end tests drive, starts a
# private Docker engine, a private PostgreSQL server, a private Ceph RADOS Gateway (S3) and
# Azurite (Azure Blob),
# points podman/skopeo at an isolated configuration, and runs every test.
# Extra arguments go to `dotnet test` (e.g. --filter FullyQualifiedName~Upload).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ci/install-deps.sh

export E2E_STATE_DIR="${E2E_STATE_DIR:-$(mktemp -d /tmp/registry-e2e.XXXXXX)}"
cleanup() {
  scripts/ci/dockerd.sh purge >/dev/null 2>&1 || true
  scripts/ci/postgres.sh purge >/dev/null 2>&1 || true
  scripts/ci/s3.sh purge >/dev/null 2>&1 || true
  scripts/ci/azurite.sh purge >/dev/null 2>&1 || true
  scripts/ci/podman-env.sh --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT

scripts/ci/dockerd.sh start
eval "$(scripts/ci/dockerd.sh env)"
eval "$(scripts/ci/podman-env.sh)"
scripts/ci/postgres.sh start
eval "$(scripts/ci/postgres.sh env)"
scripts/ci/s3.sh start
eval "$(scripts/ci/s3.sh env)"
scripts/ci/azurite.sh start
eval "$(scripts/ci/azurite.sh env)"
export REGISTRY_E2E=1

dotnet test Registry.sln --configuration Release --logger "console;verbosity=normal" "$@"
