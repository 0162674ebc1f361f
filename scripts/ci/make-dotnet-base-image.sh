#!/usr/bin/env bash
# make-dotnet-base-image.sh <oci-layout-dir> [tag] — build, fully offline, a base image for
# framework-dependent .NET apps (what mcr.microsoft.com/dotnet/aspnet is) from this machine's parts:
# the installed .NET and ASP.NET Core runtimes, the C and OpenSSL libraries they load, busybox for a
# shell, a writable /tmp and the 'app' user (UID 1654) the .NET images run as. Written with umoci as
# an OCI layout at <oci-layout-dir>:<tag> (default tag 10.0), for skopeo to push:
#   skopeo copy oci:<dir>:10.0 docker://127.0.0.1:5000/dotnet/aspnet:10.0
# The self-hosting test pushes it, publishes the registry's own image on top of it with
# dotnet publish /t:PublishContainer, and runs the result with runc.
set -euo pipefail
dir="${1:?usage: make-dotnet-base-image.sh <oci-layout-dir> [tag]}"
tag="${2:-10.0}"
for tool in umoci dotnet ldd; do command -v "$tool" > /dev/null || { echo "make-dotnet-base-image.sh: $tool is missing" >&2; exit 1; }; done
[[ -x /bin/busybox ]] || { echo "make-dotnet-base-image.sh: /bin/busybox is missing (Debian's busybox-static)" >&2; exit 1; }

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,home/app,usr/share/dotnet/shared}
chmod 1777 "$rootfs/tmp"

cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh ls cat env id wget; do ln -s busybox "$rootfs/bin/$applet"; done

cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$rootfs/usr/share/dotnet/"
cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$rootfs/usr/share/dotnet/shared/"

# The libraries the runtime links (ldd) and the OpenSSL it loads at run time (dlopen), at their paths.
libraries="$(ldd "$dotnet_root/dotnet" "$dotnet_root"/shared/Microsoft.NETCore.App/*/*.so | awk '/=>/ && $3 ~ /^\// {print $3}' | sort -u)"
for library in $libraries /lib64/ld-linux-x86-64.so.2 /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3; do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
done

printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654:app:/home/app:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$rootfs/etc/group"
chown 1654:1654 "$rootfs/home/app"

umoci init --layout "$dir"
umoci new --image "$dir:$tag"
umoci unpack --image "$dir:$tag" "$work/bundle" > /dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$dir:$tag" "$work/bundle"
umoci config --image "$dir:$tag" --os linux --architecture amd64 --config.user 1654 --config.workingdir /app \
  --config.env DOTNET_ROOT=/usr/share/dotnet --config.env PATH=/usr/share/dotnet:/bin \
  --config.env DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 --config.env HOME=/home/app
echo "make-dotnet-base-image.sh: $dir:$tag ($(du -sh "$dir" | cut -f1))" >&2
