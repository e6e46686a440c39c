#!/usr/bin/env bash
# Build a local Debian image for podman (and Molecule) once, and reuse it.
#   scripts/podman-image.sh SUITE [PACKAGE...]
# SUITE is a Debian suite (bookworm, trixie, sid). The image is
# localhost/kubegpu-debian:SUITE, or localhost/kubegpu-debian:SUITE-<hash>
# when extra packages are named (the hash is of the sorted package list).
# Prints the image name. No registry is needed: the root file system comes
# from debootstrap --variant=minbase against a Debian mirror, with python3 and
# the components main, contrib, non-free and non-free-firmware enabled.
# Environment:
#   KUBEGPU_DEBIAN_MIRROR   mirror URL (default http://deb.debian.org/debian)
#   KUBEGPU_IMAGE_CACHE     where root file system tarballs are kept between
#                           runs (default /var/cache/kubegpu/images); the
#                           podman image store is the primary cache, this one
#                           survives `podman system reset`.
#   KUBEGPU_IMAGE_REBUILD=1 build even when the image exists.
# Needs root, debootstrap and podman.
set -euo pipefail

suite=${1:?usage: scripts/podman-image.sh SUITE [PACKAGE...]}
shift
case $suite in
  bookworm|trixie|forky|sid) ;;
  *) echo "podman-image: unknown Debian suite '$suite' (bookworm, trixie, forky, sid)" >&2; exit 2 ;;
esac
mirror=${KUBEGPU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${KUBEGPU_IMAGE_CACHE:-/var/cache/kubegpu/images}

extra=$(printf '%s\n' python3 "$@" | sort -u | paste -sd, -)
tag=$suite
if [ $# -gt 0 ]; then
  tag=$suite-$(printf '%s' "$extra" | sha256sum | cut -c1-12)
fi
image=localhost/kubegpu-debian:$tag
tarball=$cache/kubegpu-debian-$tag.tar

if [ "${KUBEGPU_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
  echo "$image"; exit 0
fi
for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "podman-image: $tool is not installed (apt-get install $tool)" >&2; exit 1; }
done

mkdir -p "$cache"
# Builders of one image take turns (steps that run at the same time may ask for the same one); the next one
# finds it built.
exec 9>"$cache/kubegpu-debian-$tag.lock"
flock 9
if [ "${KUBEGPU_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
  echo "$image"; exit 0
fi
if [ "${KUBEGPU_IMAGE_REBUILD:-0}" = 1 ] || [ ! -s "$tarball" ]; then
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/kubegpu-rootfs.XXXXXX")
  cleanup() {
    # debootstrap may leave /proc or /sys mounted when it fails half-way.
    for m in proc sys dev/pts dev; do umount -l "$work/rootfs/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$work"
  }
  trap cleanup EXIT
  echo "podman-image: debootstrap $suite into $work (a few minutes)" >&2
  debootstrap --variant=minbase --include="$extra" \
    --components=main,contrib,non-free,non-free-firmware \
    "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
      tail -n 30 "$work/debootstrap.log" >&2
      echo "podman-image: debootstrap $suite failed (log above)" >&2; exit 1; }
  # Sources in deb822 form with every component, as on an installed system.
  rm -f "$work/rootfs/etc/apt/sources.list"
  cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # Small images: no documentation, no apt lists or caches in the layer.
  chroot "$work/rootfs" python3 --version >/dev/null
  chroot "$work/rootfs" apt-get clean
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"*.log
  tar -C "$work/rootfs" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
podman import --change 'CMD ["sleep", "infinity"]' "$tarball" "$image" >/dev/null
echo "$image"
