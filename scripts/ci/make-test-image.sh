#!/usr/bin/env bash
# make-test-image.sh — build a tiny, runnable OCI image layout fully offline.
#
# Usage:
#   scripts/ci/make-test-image.sh [--tag TAG] [--message TEXT] [--extra-layer-bytes N] [--busybox] <oci-layout-dir>
#
# The image has one layer holding a single static x86-64 ELF, /hello (a few
# hundred bytes, hand-assembled below, no libc), which writes TEXT plus a
# newline to stdout and exits 0. Its config sets Cmd ["/hello"], so
#   docker run --rm --network none IMAGE      ->  prints TEXT
#   podman run --rm --network none IMAGE      ->  prints TEXT
# Default TEXT: "hello from registry-e2e".
#
# No network, no umoci, no busybox: only bash, tar, gzip and sha256sum.
# The output is deterministic (fixed mtimes/owners, gzip -n, fixed "created"),
# so the same options always give the same manifest digest, which tests may
# rely on (with Debian 12's tar 1.34 / gzip 1.12 the default image is
# sha256:1bf72868fd90e5074d35526a3a1b38463868386a504e17557dc1e0bbc8e618d8;
# better to read the digest this script prints than to hard-code it). --extra-layer-bytes N adds a second layer with one file of N random
# (incompressible) bytes, e.g. to exercise chunked/large blob uploads; that
# layer, and so the manifest digest, differ on every run. --busybox adds a layer with
# /bin/busybox from Debian's busybox-static and /bin/sh, /bin/sleep, ... linked to it, for
# tasks that run shell commands (the image's Cmd stays /hello).
#
# The layout is written as OCI image-spec 1.0 (oci-layout, index.json,
# blobs/sha256/...) with the ref name annotation set to TAG (default
# "latest"), so it can be used as `oci:<dir>:<TAG>` with skopeo, e.g.
#   skopeo copy oci:/tmp/img:latest docker://127.0.0.1:5071/e2e/hello:latest
#
# On success the manifest digest (sha256:...) is printed as the only line on
# stdout.
set -euo pipefail
# Byte semantics: ${#message} must count bytes, [[:print:]] must mean ASCII.
export LC_ALL=C

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }

tag=latest
message="hello from registry-e2e"
extra_bytes=0
busybox=0
dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --message) message="$2"; shift 2 ;;
    --extra-layer-bytes) extra_bytes="$2"; shift 2 ;;
    --busybox) busybox=1; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [[ -z "$dir" ]] || usage; dir="$1"; shift ;;
  esac
done
[[ -n "$dir" ]] || usage

if [[ "$(uname -m)" != x86_64 ]]; then
  echo "make-test-image.sh: the embedded binary is x86-64 only (this is $(uname -m))" >&2
  exit 1
fi
# Printable ASCII only: the text is embedded byte for byte in the ELF and in
# no JSON, but keep it simple and predictable.
if [[ ! "$message" =~ ^[[:print:]]+$ ]] || [[ ${#message} -gt 1000 ]]; then
  echo "make-test-image.sh: --message must be 1..1000 printable ASCII characters" >&2
  exit 2
fi
if [[ ! "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]]; then
  echo "make-test-image.sh: invalid tag: $tag" >&2
  exit 2
fi
if [[ ! "$extra_bytes" =~ ^[0-9]+$ ]]; then
  echo "make-test-image.sh: --extra-layer-bytes must be a number" >&2
  exit 2
fi
if [[ -e "$dir" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
  echo "make-test-image.sh: $dir exists and is not empty" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$dir/blobs/sha256" "$work/rootfs"

# ---------------------------------------------------------------------------
# The binary. Layout: ELF header (64 bytes) | one PT_LOAD program header
# (56 bytes) | code (33 bytes) | message + "\n". The whole file is mapped
# read+exec at 0x400000 and the entry point is the code at file offset 120:
#   mov eax, 1            ; write(
#   mov edi, 1            ;   stdout,
#   lea rsi, [rip+16]     ;   msg (right after the code),
#   mov edx, LEN          ;   LEN)
#   syscall
#   mov eax, 60           ; exit(
#   xor edi, edi          ;   0)
#   syscall
# ---------------------------------------------------------------------------
le() { # le VALUE NBYTES -> little-endian bytes as \xHH escapes
  local v=$1 n=$2 i out=""
  for ((i = 0; i < n; i++)); do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done
  printf '%s' "$out"
}
msg="$message"$'\n'
len=${#msg}
base=$((0x400000))
code_off=120
code_len=33
total=$((code_off + code_len + len))
{
  # e_ident: magic, ELFCLASS64, little endian, version 1, SysV ABI, padding
  printf '%b' '\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00'
  printf '%b' "$(le 2 2)$(le 0x3e 2)$(le 1 4)"                 # ET_EXEC, EM_X86_64, EV_CURRENT
  printf '%b' "$(le $((base + code_off)) 8)$(le 64 8)$(le 0 8)" # e_entry, e_phoff, e_shoff
  printf '%b' "$(le 0 4)$(le 64 2)$(le 56 2)$(le 1 2)"         # e_flags, e_ehsize, e_phentsize, e_phnum
  printf '%b' "$(le 0 2)$(le 0 2)$(le 0 2)"                    # e_shentsize, e_shnum, e_shstrndx
  # program header: PT_LOAD, PF_R|PF_X, offset 0, vaddr, paddr, filesz, memsz, align
  printf '%b' "$(le 1 4)$(le 5 4)$(le 0 8)$(le $base 8)$(le $base 8)"
  printf '%b' "$(le $total 8)$(le $total 8)$(le 0x1000 8)"
  # code
  printf '%b' '\xb8\x01\x00\x00\x00' '\xbf\x01\x00\x00\x00' '\x48\x8d\x35\x10\x00\x00\x00'
  printf '%b' '\xba' "$(le "$len" 4)" '\x0f\x05'
  printf '%b' '\xb8\x3c\x00\x00\x00' '\x31\xff' '\x0f\x05'
  printf '%s' "$msg"
} > "$work/rootfs/hello"
chmod 0755 "$work/rootfs/hello"
actual=$(stat -c %s "$work/rootfs/hello")
[[ "$actual" -eq "$total" ]] || { echo "internal error: ELF is $actual bytes, expected $total" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Blobs
# ---------------------------------------------------------------------------
sha() { sha256sum "$1" | cut -d' ' -f1; }
put_blob() { # put_blob FILE -> prints hex digest, moves FILE into blobs/
  local d
  d=$(sha "$1")
  mv "$1" "$dir/blobs/sha256/$d"
  printf '%s' "$d"
}
# Deterministic tar (GNU tar): sorted, fixed mtime, root-owned, numeric ids.
det_tar() { # det_tar SRCDIR OUT.tar PATHS...
  local src=$1 out=$2
  shift 2
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar \
    -C "$src" -cf "$out" "$@"
}

layer_descs=""
diff_ids=""
add_layer() { # add_layer SRCDIR PATHS...
  local tarf="$work/layer.tar" diff dgz size
  det_tar "$1" "$tarf" "${@:2}"
  diff=$(sha "$tarf")
  gzip -n -9 -c "$tarf" > "$work/layer.tar.gz"
  size=$(stat -c %s "$work/layer.tar.gz")
  dgz=$(put_blob "$work/layer.tar.gz")
  rm -f "$tarf"
  [[ -z "$layer_descs" ]] || layer_descs+=","
  layer_descs+="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$dgz\",\"size\":$size}"
  [[ -z "$diff_ids" ]] || diff_ids+=","
  diff_ids+="\"sha256:$diff\""
}
add_layer "$work/rootfs" hello
if [[ "$extra_bytes" -gt 0 ]]; then
  mkdir -p "$work/extra"
  head -c "$extra_bytes" /dev/urandom > "$work/extra/random.bin"
  add_layer "$work/extra" random.bin
fi

if [[ "$busybox" -eq 1 ]]; then
  [[ -x /bin/busybox ]] || { echo "make-test-image.sh: --busybox needs /bin/busybox (apt-get install busybox-static)" >&2; exit 1; }
  mkdir -p "$work/busybox/bin"
  cp /bin/busybox "$work/busybox/bin/busybox"
  for applet in sh echo sleep cat head dd yes true false env; do ln -s busybox "$work/busybox/bin/$applet"; done
  add_layer "$work/busybox" bin
fi

one_history='{"created":"1970-01-01T00:00:00Z","created_by":"scripts/ci/make-test-image.sh"}'
history="$one_history"
if [[ "$extra_bytes" -gt 0 ]]; then history+=",$one_history"; fi
if [[ "$busybox" -eq 1 ]]; then history+=",$one_history"; fi
printf '%s' "{\"created\":\"1970-01-01T00:00:00Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/hello\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]},\"history\":[$history]}" > "$work/config.json"
config_size=$(stat -c %s "$work/config.json")
config_digest=$(put_blob "$work/config.json")

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$config_size},\"layers\":[$layer_descs]}" > "$work/manifest.json"
manifest_size=$(stat -c %s "$work/manifest.json")
manifest_digest=$(put_blob "$work/manifest.json")

printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_digest\",\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"},\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}" > "$dir/index.json"

echo "sha256:$manifest_digest"
