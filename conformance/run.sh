#!/usr/bin/env bash
# conformance/run.sh [URL] — run the official OCI distribution-spec conformance suite (v1.1.1),
# all four workflows, against a running registry, as other registries do in their CI.
#
#   REGISTRY_USER / REGISTRY_PASS   credentials (default admin / $REGISTRY_ADMIN_PASSWORD)
#   SPEC_VERSION                    suite version (default v1.1.1)
#   OCI_REPORT_DIR                  where junit.xml and report.html go (default ./conformance-results)
#
# Run it against a fresh data folder: the suite counts tags and referrers and assumes it is alone.
# It needs git, Go (1.19+) and access to GitHub and the Go module proxy. Where those are missing
# (as on the offline build machine) it says so and exits 77, the conventional "skipped" code.
set -euo pipefail

url="${1:-http://127.0.0.1:5000}"
version="${SPEC_VERSION:-v1.1.1}"
user="${REGISTRY_USER:-admin}"
pass="${REGISTRY_PASS:-${REGISTRY_ADMIN_PASSWORD:-}}"
report="${OCI_REPORT_DIR:-$PWD/conformance-results}"

skip() { echo "conformance: SKIPPED: $*" >&2; exit 77; }
command -v go >/dev/null || skip "Go is not installed"
command -v git >/dev/null || skip "git is not installed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet --depth 1 --branch "$version" https://github.com/opencontainers/distribution-spec "$work/spec" \
  || skip "cannot fetch opencontainers/distribution-spec $version (no network?)"
(cd "$work/spec/conformance" && go test -c -o "$work/conformance.test") \
  || skip "cannot build the suite (Go module proxy unreachable?)"

mkdir -p "$report"
cd "$report"
export OCI_ROOT_URL="$url"
export OCI_NAMESPACE="conformance/app"
export OCI_CROSSMOUNT_NAMESPACE="conformance/mounted"
export OCI_USERNAME="$user" OCI_PASSWORD="$pass"
export OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1
# The registry mounts a blob named without `from` from any repository the caller may pull from.
export OCI_AUTOMATIC_CROSSMOUNT=1
export OCI_HIDE_SKIPPED_WORKFLOWS=0
exec "$work/conformance.test" --ginkgo.v
