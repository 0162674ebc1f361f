#!/usr/bin/env bash
# dockerd.sh start|stop|status|env|purge — a private Docker engine for the e2e tests.
#
# Runs as root. Everything lives under one state dir, $E2E_STATE_DIR/docker
# (default E2E_STATE_DIR=/tmp/registry-e2e, so /tmp/registry-e2e/docker):
#   docker.sock      API socket          (-H unix://...)
#   docker.pid       dockerd pid         (--pidfile)
#   data/            images, containers  (--data-root)
#   exec/            runtime state, incl. dockerd's own containerd (--exec-root)
#   daemon.json      empty config        (--config-file, so /etc/docker/daemon.json is ignored)
#   client/          docker CLI config   (DOCKER_CONFIG, so `docker login` does not touch ~/.docker)
#   dockerd.log      dockerd + containerd log
#
# Client usage:
#   eval "$(scripts/ci/dockerd.sh env)"     # exports DOCKER_HOST and DOCKER_CONFIG
#   docker login -u USER --password-stdin 127.0.0.1:PORT <<<"$PASS"
#   docker push 127.0.0.1:PORT/repo:tag ; docker pull ... ; docker run --rm IMAGE
# Both docker.io's CLI (/usr/bin/docker 20.10) and a newer CLI found first in
# PATH on some images (/usr/local/bin/docker 28.x) work: the client negotiates
# the API version down. To get an OCI layout into this engine without a
# registry: `skopeo copy oci:DIR:TAG docker-archive:FILE.tar:NAME:TAG` then
# `docker load -i FILE.tar`, or `skopeo copy --dest-daemon-host "$DOCKER_HOST"
# oci:DIR:TAG docker-daemon:NAME:TAG` (skopeo ignores DOCKER_HOST itself).
#
# Commands: start (idempotent: returns at once if already up), stop (kills
# running containers, SIGTERM, SIGKILL after 30s), status, env, purge (stop,
# unmount leftovers, delete the state dir).
#
# Why these flags (found on Debian 12, docker.io 20.10.24, kernel 6.x with
# cgroup v1, no systemd, no network but loopback):
#   --storage-driver=vfs   works on any filesystem, no overlay mount needed; slow
#                          for big images but the test images are tiny.
#   --bridge=<br-e2e-N> --iptables=false --ip-masq=false --ip-forward=false
#                          bridge networking on a bridge this script creates
#                          (named in $S/bridge, a free 172.31.X.0/24, deleted by
#                          stop) instead of docker0, without touching the host's
#                          firewall or the ip_forward sysctl: containers on it
#                          reach each other and the host, and published ports
#                          (-p) are forwarded by docker-proxy (below), which
#                          needs no iptables. `--network none` and `host` work
#                          too. Pushes and pulls are done by dockerd itself, in
#                          the host network namespace, so 127.0.0.1:PORT is reachable.
#   --exec-opt native.cgroupdriver=cgroupfs
#                          there is no systemd; cgroupfs is also the default.
#   --containerd-namespace / --containerd-plugins-namespace
#                          dockerd starts and supervises its own containerd
#                          (from the `containerd` package, a dependency of
#                          docker.io) under exec/containerd, unless a system
#                          containerd socket exists at /run/containerd/containerd.sock,
#                          in which case dockerd uses that one; private namespaces
#                          keep our containers apart from anyone else's there.
#   --userland-proxy=true  published ports are served by docker-proxy processes
#                          (connections to 127.0.0.1:HOSTPORT work without NAT).
# Outside the state dir, dockerd/containerd 20.10/1.6 still write: the identity
# key /etc/docker/key.json (created once; no flag moves it in this version),
# empty dirs /run/docker/plugins and /run/containerd/s (shim sockets; path is
# fixed), and cgroups under /sys/fs/cgroup/*/docker/ while containers run.
# dockerd bind-mounts data/ onto itself; a clean stop undoes that, after a
# SIGKILL `purge` unmounts it.
# Insecure registries: dockerd treats 127.0.0.0/8 as insecure by default
# (`docker info` lists "Insecure Registries: 127.0.0.0/8"), so plain-HTTP
# registries on 127.0.0.1:PORT — and localhost:PORT, which resolves to it —
# need no configuration. More can be added with
# E2E_DOCKER_INSECURE_REGISTRIES="host:port other:port".
#
# Environment:
#   E2E_STATE_DIR                   base state dir (default /tmp/registry-e2e)
#   E2E_DOCKER_START_TIMEOUT        seconds to wait for the API (default 60)
#   E2E_DOCKER_INSECURE_REGISTRIES  extra --insecure-registry values
#   DOCKERD                         dockerd binary (default: dockerd from PATH)
set -euo pipefail

state_base="${E2E_STATE_DIR:-/tmp/registry-e2e}"
S="$state_base/docker"
sock="$S/docker.sock"
pidfile="$S/docker.pid"
log="$S/dockerd.log"
timeout="${E2E_DOCKER_START_TIMEOUT:-60}"
dockerd_bin="${DOCKERD:-$(command -v dockerd || echo /usr/sbin/dockerd)}"

# The CLI: any docker CLI in PATH works (20.10 from docker.io, or a newer one;
# the client negotiates the API version down to the daemon's).
docker_cli() { docker -H "unix://$sock" "$@"; }

# running PID -> 0 if the process exists and is not a zombie (a killed
# daemon stays a zombie until its new parent reaps it).
running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

pid_alive() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && running "$pid"
}

api_up() { docker_cli info >/dev/null 2>&1; }

print_env() {
  printf 'export DOCKER_HOST=%q\n' "unix://$sock"
  printf 'export DOCKER_CONFIG=%q\n' "$S/client"
}

start() {
  if [[ "$(id -u)" != 0 ]]; then
    echo "dockerd.sh: must run as root" >&2
    exit 1
  fi
  if pid_alive && api_up; then
    echo "dockerd.sh: already running (pid $(cat "$pidfile")), $sock" >&2
    return 0
  fi
  if pid_alive; then
    # A process holds the pidfile but the API does not answer: do not start a
    # second daemon on the same data root.
    echo "dockerd.sh: dockerd pid $(cat "$pidfile") is alive but $sock does not answer; run '$0 stop' first" >&2
    exit 1
  fi
  command -v docker >/dev/null || { echo "dockerd.sh: docker CLI not found (run install-deps.sh)" >&2; exit 1; }
  [[ -x "$dockerd_bin" ]] || { echo "dockerd.sh: dockerd not found (run install-deps.sh)" >&2; exit 1; }

  # containerd's sockets live under exec/containerd/; a unix socket path
  # must fit in 108 bytes.
  local longest="$S/exec/containerd/containerd.sock.ttrpc"
  if ((${#longest} > 100)); then
    echo "dockerd.sh: state dir path too long for unix sockets ($longest); set a shorter E2E_STATE_DIR" >&2
    exit 1
  fi
  mkdir -p "$S/data" "$S/exec" "$S/client"
  rm -f "$pidfile" "$sock"
  [[ -f "$S/daemon.json" ]] || echo '{}' > "$S/daemon.json"
  [[ -f "$S/client/config.json" ]] || echo '{}' > "$S/client/config.json"

  local args=(
    --config-file "$S/daemon.json"
    --storage-driver=vfs
    --data-root "$S/data"
    --exec-root "$S/exec"
    --pidfile "$pidfile"
    -H "unix://$sock"
    --bridge="$(make_bridge)"
    --iptables=false
    --ip-masq=false
    --ip-forward=false
    --userland-proxy=true
    --exec-opt native.cgroupdriver=cgroupfs
    --containerd-namespace registry-e2e
    --containerd-plugins-namespace registry-e2e-plugins
  )
  local r
  for r in ${E2E_DOCKER_INSECURE_REGISTRIES:-}; do args+=(--insecure-registry "$r"); done

  echo "dockerd.sh: starting $dockerd_bin, log $log" >&2
  # setsid: own session, so the daemon outlives this shell and is not hit by
  # the caller's Ctrl-C; stdin from /dev/null so no pipe is held open.
  setsid "$dockerd_bin" "${args[@]}" </dev/null >>"$log" 2>&1 &
  local launcher=$!

  local deadline=$((SECONDS + timeout))
  until api_up; do
    if ! running "$launcher"; then
      echo "dockerd.sh: dockerd exited during startup; log follows:" >&2
      tail -n 100 "$log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "dockerd.sh: dockerd did not answer on $sock within ${timeout}s; log follows:" >&2
      tail -n 100 "$log" >&2
      kill "$launcher" 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
  echo "dockerd.sh: dockerd running (pid $(cat "$pidfile")), DOCKER_HOST=unix://$sock" >&2
}

# wait_gone PID SECONDS -> 0 when the process is gone
wait_gone() {
  local pid=$1 t=$2 i
  for ((i = 0; i < t * 10; i++)); do
    running "$pid" || return 0
    sleep 0.1
  done
  return 1
}

# make_bridge -> the name of this engine's bridge, created (up, with a free
# 172.31.X.1/24) if it does not exist yet; the name is kept in $S/bridge.
make_bridge() {
  local name x
  if [[ -f "$S/bridge" ]]; then
    name="$(cat "$S/bridge")"
  else
    name="br-e2e-$((RANDOM % 100000))"
    echo "$name" > "$S/bridge"
  fi
  if ! ip link show "$name" >/dev/null 2>&1; then
    for x in $(shuf -i 100-250); do
      ip -4 addr show | grep -q " 172\.31\.$x\." && continue
      ip link add "$name" type bridge && ip addr add "172.31.$x.1/24" dev "$name" && ip link set "$name" up && break
      ip link del "$name" 2>/dev/null || true
    done
  fi
  printf '%s' "$name"
}

stop() {
  local pid
  if [[ -f "$pidfile" ]] && pid="$(cat "$pidfile")" && [[ -n "$pid" ]] && running "$pid"; then
    # Stop running containers quickly rather than waiting for dockerd's own
    # shutdown timeout (15s per container).
    if api_up; then
      local ids
      ids="$(docker_cli ps -q 2>/dev/null || true)"
      # shellcheck disable=SC2086 # one id per word
      [[ -z "$ids" ]] || docker_cli kill $ids >/dev/null 2>&1 || true
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 30; then
      echo "dockerd.sh: dockerd $pid did not stop in 30s, killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || true
    fi
    echo "dockerd.sh: dockerd stopped" >&2
  else
    echo "dockerd.sh: dockerd not running" >&2
  fi
  # dockerd stops its supervised containerd on a clean shutdown; after a
  # SIGKILL the containerd (and its shims) would linger, so stop it by its
  # own pidfile too.
  local cpid_file="$S/exec/containerd/containerd.pid" cpid
  if [[ -f "$cpid_file" ]] && cpid="$(cat "$cpid_file")" && [[ -n "$cpid" ]] && running "$cpid" &&
    grep -q containerd "/proc/$cpid/comm" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    wait_gone "$cpid" 10 || kill -KILL "$cpid" 2>/dev/null || true
  fi
  rm -f "$pidfile" "$sock"
  if [[ -f "$S/bridge" ]]; then
    ip link del "$(cat "$S/bridge")" 2>/dev/null || true
  fi
}

purge() {
  stop
  # Leftover mounts (container shm, netns bind mounts) after an unclean stop.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$S/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf "$S"
  echo "dockerd.sh: removed $S" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  purge) purge ;;
  env) print_env ;;
  status)
    if pid_alive && api_up; then
      echo "running (pid $(cat "$pidfile")), unix://$sock"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status|env|purge" >&2
    exit 2
    ;;
esac
