#!/usr/bin/env bash
# install-deps.sh [--bench] — install the real clients the e2e tests drive.
#
# Debian 12 (bookworm), as root, Debian's apt repositories only. Idempotent:
# when every needed command is already present it does nothing (no apt-get
# update), so re-runs take milliseconds.
#
# What is installed and why (all with --no-install-recommends, which is
# enough; verified on a fresh Debian 12 machine):
#   docker.io   dockerd + docker CLI 20.10; pulls in containerd (dockerd runs it
#               as a child, see dockerd.sh), runc, tini (docker-init), iptables.
#   containerd  listed explicitly: dockerd needs the containerd binary and
#               containerd-shim-runc-v2.
#   podman      4.3; pulls in conmon, crun, golang-github-containers-common
#               (/etc/containers/policy.json, default configs) and
#               containernetworking-plugins.
#   runc        the OCI runtime both engines use here: crun 1.8 refuses this
#               hybrid cgroup v1/v2 host (see podman-env.sh).
#   conmon      podman's container monitor.
#   containernetworking-plugins  listed explicitly: the agent's runc runtime
#               runs networkMode bridge with its bridge, host-local, portmap
#               and loopback plugins (/usr/lib/cni).
#   skopeo      1.9, copies images between OCI layouts, registries, docker.
#   umoci       OCI layout tool (unpack/inspect in tests; make-test-image.sh
#               itself needs only bash, tar, gzip, sha256sum).
#   nodejs npm  run Azurite, the Azure Blob emulator (azurite.sh installs it with npm ci).
#   curl        readiness checks of the test servers.
#   awscli      the AWS CLI v1 the ECR end-to-end tests drive (/usr/bin/aws; another aws may come
#               first on PATH, so the tests call it by full path).
#   openssl     makes the test CA and server certificates for the TLS tests.
#   postgresql-15  the server the PostgreSQL tests run against (postgres.sh
#               starts a private one; the package's own cluster is never started).
#   radosgw, ceph-mon, ceph-osd, ceph-common  Ceph 16 RADOS Gateway, the real S3 server
#               the S3 tests run against (s3.sh starts a private one-monitor, one-memstore-OSD
#               cluster; no system Ceph service is ever configured or started). ceph-common
#               brings the ceph CLI, radosgw-admin, monmaptool and ceph-authtool.
# Not needed, because the tests run as root with the vfs storage driver and
# without container networking (--network none / netns "none"):
# fuse-overlayfs, uidmap, slirp4netns, netavark/aardvark-dns, catatonit.
#
# --bench also installs: golang-go, docker-registry (CNCF distribution 2.8, a
# reference registry to compare against) and wrk (HTTP load generator).
set -euo pipefail

bench=false
for a in "$@"; do
  case "$a" in
    --bench) bench=true ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

# package -> a command it provides (checked in PATH and the sbin dirs,
# which a non-login root shell may lack).
declare -A pkgs=(
  [docker.io]=dockerd
  [containerd]=containerd-shim-runc-v2
  [podman]=podman
  [runc]=runc
  [conmon]=conmon
  [containernetworking-plugins]=/usr/lib/cni/portmap
  [skopeo]=skopeo
  [umoci]=umoci
  [postgresql-15]=/usr/lib/postgresql/15/bin/initdb
  [openssl]=openssl
  [radosgw]=radosgw
  [ceph-mon]=ceph-mon
  [ceph-osd]=ceph-osd
  [ceph-common]=ceph
  [nodejs]=node
  [npm]=npm
  [curl]=curl
  [iproute2]=ip
  [awscli]=/usr/bin/aws
  [busybox-static]=/bin/busybox
)
if $bench; then
  pkgs[golang-go]=go
  pkgs[docker-registry]=docker-registry
  pkgs[wrk]=wrk
fi

missing=()
for p in "${!pkgs[@]}"; do
  c="${pkgs[$p]}"
  if ! PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$c" >/dev/null 2>&1; then
    missing+=("$p")
  fi
done
# Note: a `docker` CLI alone (some images ship one in /usr/local/bin) does not
# count; dockerd is what is checked for docker.io.

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all present (${!pkgs[*]})" >&2
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  echo "install-deps.sh: must run as root to install: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Without systemd the maintainer scripts would try /etc/init.d/docker,
# /etc/init.d/postgresql and /etc/init.d/docker-registry; a policy-rc.d that exits 101 stops them from
# starting system daemons (ours are started by dockerd.sh / the tests). Only
# added (and removed again) if the machine has none.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

# Wait for another apt/dpkg (e.g. a background install) instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=900 -o Acquire::Retries=3 -o Dpkg::Use-Pty=0)
echo "install-deps.sh: installing ${missing[*]}" >&2
apt-get "${apt_opts[@]}" update -q
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"

# Verify.
fail=0
for p in "${!pkgs[@]}"; do
  c="${pkgs[$p]}"
  if ! PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$c" >/dev/null 2>&1; then
    echo "install-deps.sh: $c (package $p) still missing after install" >&2
    fail=1
  fi
done
exit "$fail"
