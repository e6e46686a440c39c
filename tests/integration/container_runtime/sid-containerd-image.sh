#!/usr/bin/env bash
# The image of the container-runtime-debian-sid scenario: Debian 13 (trixie)
# with containerd (2.1) and runc from sid, installed by apt inside the image.
# Not plain sid: sid's systemd (258 and later) no longer runs on hosts with
# cgroup v1 or hybrid cgroups, such as the build machines, and the scenario
# needs systemd as PID 1 for the role's restart handler. Built once, cached in
# podman's image store. Prints the image name. (sid's Release file carries a
# Valid-Until date that a mirror snapshot can be past: apt is told not to check it.)
#   tests/integration/container_runtime/sid-containerd-image.sh BASE_IMAGE
set -euo pipefail
base=${1:?usage: sid-containerd-image.sh BASE_IMAGE (scripts/podman-image.sh trixie ...)}
image=localhost/kubegpu-debian:trixie-containerd-sid
if [ "${KUBEGPU_IMAGE_REBUILD:-0}" != 1 ] && podman image exists "$image"; then
  echo "$image"; exit 0
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kubegpu-sid-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/Containerfile" <<CONTAINERFILE
FROM $base
RUN sed 's/^Suites: .*/Suites: sid/' /etc/apt/sources.list.d/debian.sources >/etc/apt/sources.list.d/sid.sources \\
 && printf 'Package: *\nPin: release n=sid\nPin-Priority: 100\n' >/etc/apt/preferences.d/sid \\
 && apt-get -o Acquire::Check-Valid-Until=false update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t sid containerd runc >/dev/null \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
CMD ["/sbin/init"]
CONTAINERFILE
podman build -q --network host -t "$image" -f "$work/Containerfile" "$work" >/dev/null
echo "$image"
