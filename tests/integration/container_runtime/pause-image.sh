#!/usr/bin/env bash
# Build, once, the small image the container_runtime scenarios run as pod
# sandbox ("pause") and as container: this machine's sleep(1) and the libraries
# it needs, nothing else. No registry is reachable, so containerd gets it from
# an archive (`ctr -n k8s.io images import`), tagged as its sandbox image.
#   tests/integration/container_runtime/pause-image.sh   prints the archive's path
# Environment: KUBEGPU_IMAGE_CACHE (default /var/cache/kubegpu/images).
set -euo pipefail
cache=${KUBEGPU_IMAGE_CACHE:-/var/cache/kubegpu/images}
image=localhost/kubegpu-pause:1
archive=$cache/kubegpu-pause-1.oci.tar
if [ -s "$archive" ]; then echo "$archive"; exit 0; fi
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kubegpu-pause.XXXXXX")
trap 'rm -rf "$work"' EXIT
sleep_bin=$(command -v sleep)
mkdir -p "$work/rootfs/bin"
cp "$sleep_bin" "$work/rootfs/bin/sleep"
# The dynamic loader and libraries, at the paths the binary asks for.
ldd "$sleep_bin" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$work/rootfs$(dirname "$lib")"
  cp -L "$lib" "$work/rootfs$lib"
done
tar -C "$work/rootfs" --numeric-owner -cf "$work/rootfs.tar" .
podman import -q --change 'CMD ["/bin/sleep", "infinity"]' "$work/rootfs.tar" "$image" >/dev/null
podman save -q --format oci-archive -o "$work/image.tar" "$image" >/dev/null
mv "$work/image.tar" "$archive"
echo "$archive"
