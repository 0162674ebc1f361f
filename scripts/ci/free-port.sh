#!/usr/bin/env bash
# free-port.sh [N] — prints N (default 1) loopback TCP ports nothing listens on, one per line.
# Bash only (no python on a bare CI machine): random ports in 20000–59999, kept when a connect fails.
set -euo pipefail
count="${1:-1}"
found=()
while (( ${#found[@]} < count )); do
  port=$(( 20000 + RANDOM % 40000 ))
  [[ " ${found[*]} " == *" $port "* ]] && continue
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    found+=("$port")
  fi
done
printf '%s\n' "${found[@]}"
