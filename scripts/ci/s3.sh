#!/usr/bin/env bash
# s3.sh start|stop|purge|env — a private S3 server (Ceph RADOS Gateway 16) for the tests.
#
# Runs as root (Debian 12 radosgw ceph-mon ceph-osd ceph-common, see install-deps.sh). A
# throw-away cluster: one monitor, one memstore OSD (objects in its memory, capped at
# $E2E_S3_MEMSTORE_BYTES, default 2 GiB), one radosgw; 127.0.0.1 only, free ports chosen at
# start. All state under $E2E_STATE_DIR/s3 (default E2E_STATE_DIR=/tmp/registry-e2e): ceph.conf,
# keyring, mon.a/, osd.0/, run/ (pid files, sockets), log/ (setup.log: the setup commands), port.
#
#   eval "$(scripts/ci/s3.sh env)"   # exports REGISTRY_TEST_S3_URL (http://127.0.0.1:PORT,
#                                    # path-style), REGISTRY_TEST_S3_ACCESS_KEY and
#                                    # REGISTRY_TEST_S3_SECRET_KEY (a fixed test user)
#   CEPH_CONF=$E2E_STATE_DIR/s3/ceph.conf radosgw-admin bucket list   # to look inside
#
# start is idempotent (returns at once while all three run) and takes ~16 s; a start after stop
# builds a new, empty cluster on new ports (memstore data does not survive a stop). Settings:
# auth none (test server); the monitor address must be in v2 form, and `ms mon client mode =
# crc` is needed with auth none or radosgw loops on an auth error; pool size 1, crush type osd:
# one OSD; the file/dir settings keep everything in the state dir (nothing in /etc/ceph,
# /var/lib/ceph, /var/log/ceph). Setup commands have timeouts: a broken start fails, printing
# the logs' tails, instead of hanging.
set -euo pipefail

state="${E2E_STATE_DIR:-/tmp/registry-e2e}/s3"
export CEPH_CONF="$state/ceph.conf"
export PATH="$PATH:/usr/sbin:/sbin"
access_key=REGISTRYTESTACCESSKEY
secret_key=registry-test-secret-key
daemons=(mon.a client.rgw.a osd.0)   # names; pid files are run/<name>.pid

# Pid of our daemon $1 if alive: a process started with our ceph.conf (never a recycled pid).
pid_of() {
  local f="$state/run/$1.pid" pid
  [[ -f "$f" ]] && pid=$(<"$f") && [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-c $CEPH_CONF " && echo "$pid"
}

running() {
  local d
  for d in "${daemons[@]}"; do pid_of "$d" >/dev/null || return 1; done
  [[ -f "$state/port" ]] && curl -s -o /dev/null -m 5 "http://127.0.0.1:$(<"$state/port")/"
}

# SIGTERM the named daemons, SIGKILL those still running after 3 s (pid_of checks again that
# a pid is still ours), and wait up to 2 s more until they are gone (reaped, not even zombies).
kill_wait() {
  local d pid pids=() i
  for d; do pid=$(pid_of "$d") && pids+=("$pid"); done
  for ((i = 0; ${#pids[@]} && i < 50; i++)); do
    if ((i == 0)); then kill "${pids[@]}" 2>/dev/null || true; fi
    if ((i == 30)); then
      for d; do if pid=$(pid_of "$d"); then kill -9 "$pid" 2>/dev/null || true; fi; done
    fi
    sleep 0.1
    mapfile -t pids < <(for pid in "${pids[@]}"; do [[ -e "/proc/$pid" ]] && echo "$pid"; done)
  done
}

# A clean shutdown takes radosgw ~5 s and the OSD up to 5 s more (it waits for the monitor's
# acknowledgement), and buys nothing (the next start builds a new cluster): after 3 s, SIGKILL.
stop() {
  kill_wait "${daemons[@]}"
  rm -f "$state"/run/*.pid "$state/port"
}

fail() {
  echo "s3.sh: start failed: $*" >&2
  local f
  for f in "$state/log/setup.log" "$state"/log/{mon.a,osd.0,client.rgw.a}.log; do
    [[ -s "$f" ]] && { echo "---- tail $f" >&2; tail -n 25 "$f" >&2; }
  done
  stop
  exit 1
}

# Run a setup command with a timeout, its output into log/setup.log; fail on error.
run() {
  echo "+ $*" >> "$state/log/setup.log"
  timeout 90 "$@" >> "$state/log/setup.log" 2>&1 || fail "$* (exit $?)"
}

start() {
  command -v radosgw >/dev/null || { echo "s3.sh: radosgw missing (run install-deps.sh)" >&2; exit 1; }
  running && return 0
  local bytes=${E2E_S3_MEMSTORE_BYTES:-2147483648}   # ceph ignores an invalid value (1 GiB then)
  [[ "$bytes" =~ ^[0-9]+$ ]] || { echo "s3.sh: E2E_S3_MEMSTORE_BYTES is not a number" >&2; exit 2; }
  stop   # leftovers of a partial start or a stopped cluster: start over
  local t0=$SECONDS fsid osd_uuid mon_port rgw_port i
  rm -rf "$state"
  mkdir -p "$state"/{mon.a,osd.0,run,log,rgw,crash}
  { read -r mon_port; read -r rgw_port; } < <("$(dirname "$0")/free-port.sh" 2)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
keyring = $state/keyring
run dir = $state/run
admin socket = $state/run/\$name.asok
pid file = $state/run/\$name.pid
log file = $state/log/\$name.log
mon cluster log file = $state/log/cluster.log
crash dir = $state/crash
[mon]
mon data = $state/mon.\$id
[osd]
osd data = $state/osd.\$id
osd objectstore = memstore
memstore device bytes = $bytes
[client.rgw.a]
rgw data = $state/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
CONF
  run ceph-authtool --create-keyring "$state/keyring" --gen-key -n mon. --cap mon 'allow *'
  run monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$state/monmap"
  run ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$state/monmap" --keyring "$state/keyring"
  run ceph-mon -c "$CEPH_CONF" -i a   # the daemons fork; pids in run/
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  run ceph --connect-timeout 60 osd new "$osd_uuid"
  run ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid"
  run ceph --connect-timeout 60 osd crush add-bucket h0 host
  run ceph --connect-timeout 60 osd crush move h0 root=default
  run ceph --connect-timeout 60 osd crush add osd.0 1.0 host=h0
  run ceph-osd -c "$CEPH_CONF" -i 0
  run radosgw -c "$CEPH_CONF" -n client.rgw.a
  for ((i = 0; ; i++)); do   # radosgw creates its pools first, then listens
    curl -s -o /dev/null -m 5 "http://127.0.0.1:$rgw_port/" && break
    ((i < 1200)) || fail "radosgw did not answer on 127.0.0.1:$rgw_port within 120 s"
    pid_of client.rgw.a >/dev/null || fail "radosgw exited"
    sleep 0.1
  done
  run radosgw-admin user create --uid=registry-test --display-name=registry-test \
    --access-key="$access_key" --secret="$secret_key"
  echo "$rgw_port" > "$state/port"
  echo "s3.sh: Ceph RGW $(radosgw --version | awk '{print $3}') on 127.0.0.1:$rgw_port ($((SECONDS - t0)) s)" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  purge) stop; rm -rf "$state" ;;
  env)
    [[ -f "$state/port" ]] || { echo "s3.sh: not started" >&2; exit 1; }
    echo "export REGISTRY_TEST_S3_URL=http://127.0.0.1:$(<"$state/port") REGISTRY_TEST_S3_ACCESS_KEY=$access_key REGISTRY_TEST_S3_SECRET_KEY=$secret_key" ;;
  *) echo "usage: s3.sh start|stop|purge|env" >&2; exit 2 ;;
esac
