#!/usr/bin/env bash
# One Molecule scenario, with everything it needs on this machine set up first:
#   make molecule SCENARIO=<name> [MOLECULE_COMMAND=test|converge|verify|idempotence|destroy]
#   scripts/molecule.sh <name> [command]
#   scripts/molecule.sh list        every scenario: what it proves, how long, what it installs
#   scripts/molecule.sh --help
# The scenarios that run here go through the wrappers CI uses (tests/integration/*/run.sh),
# which install podman and its helpers with apt, make the Molecule virtualenv
# (.venv-molecule) with this checkout as kubegpu.nvidia, build and cache the
# Debian images (scripts/podman-image.sh), and export CONTAINERS_CONF, PATH and
# ANSIBLE_COLLECTIONS_PATH.
# KUBEGPU_MOLECULE_DRY_RUN=1 prints the command instead of running it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# The one table of scenarios: name | wrapper | what it proves | how long (2 cores, images and
# .venv-molecule already built) | what it installs on this machine beyond .venv-molecule.
# Every first run also builds its Debian image with debootstrap (2 to 4 minutes, cached
# under /var/cache/kubegpu/images) and, once, .venv-molecule (about 2 minutes).
here=(
  "toolkit-debian13|tests/integration/driver/run.sh toolkit|container_toolkit from a signed local apt repository laid out like NVIDIA's (stand-in packages): the pinned key, the version pin and hold, the CDI refresh units, a second run unchanged|about 2 min|apt: podman debootstrap runc dpkg-dev apt-utils gpg uidmap slirp4netns"
  "driver-debian13|tests/integration/driver/run.sh dkms|the driver role with Debian 13's real NVIDIA packages: the DKMS build for the image's kernel, the open module's failure reported, a second run unchanged|10 to 15 min, the DKMS build|apt: podman debootstrap runc dpkg-dev apt-utils gpg uidmap slirp4netns"
  "container-runtime-debian12|tests/integration/container_runtime/run.sh debian12|containerd 1.6.20 configured for NVIDIA, a CRI pod with handler nvidia, an unknown handler refused, a rejected change rolled back|about 1 min|apt: podman debootstrap runc"
  "container-runtime-debian13|tests/integration/container_runtime/run.sh debian13|the same with containerd 1.7.24|about 1 min|apt: podman debootstrap runc"
  "container-runtime-debian-sid|tests/integration/container_runtime/run.sh debian-sid|the same with containerd 2.1.9 (configuration version 3)|about 1 min|apt: podman debootstrap runc"
  "toolkit-binaries-debian13|tests/integration/container_runtime/run.sh toolkit-binaries|container_toolkit from NVIDIA Container Toolkit v1.20.0 release binaries with their checksums, then containerd 1.7 in the same mode: a pod through nvidia-container-runtime, a CDI device, a tampered binary refused|about 2 min|apt: podman debootstrap runc; needs the toolkit release binaries of KUBEGPU_SHARED_BIN"
  "crio-runtime-debian13|tests/integration/crio_runtime/run.sh|a real CRI-O v1.36.3 daemon: the nvidia handler, a CDI device through the CRI, a change CRI-O cannot start with rolled back (always the whole test)|about 3 min|apt: podman debootstrap runc xz-utils; needs the CRI-O release binaries of KUBEGPU_SHARED_BIN"
)
# Scenarios whose image comes from docker.io: no container registry can be reached from
# this project's build machines, so they run only where the image can be pulled.
elsewhere=(
  "driver-ubuntu2204|the driver role on Ubuntu 22.04 (docker.io/library/ubuntu:22.04)"
  "driver-ubuntu2404|the driver role on Ubuntu 24.04 (docker.io/library/ubuntu:24.04)"
  "driver-rocky9|the driver role on Rocky Linux 9 (docker.io/rockylinux/rockylinux:9)"
  "container-runtime-ubuntu2204|the container_runtime role on Ubuntu 22.04 (docker.io/geerlingguy/docker-ubuntu2204-ansible)"
  "container-runtime-ubuntu2404|the container_runtime role on Ubuntu 24.04 (docker.io/geerlingguy/docker-ubuntu2404-ansible)"
  "container-runtime-rocky9|the container_runtime role on Rocky Linux 9 (docker.io/geerlingguy/docker-rockylinux9-ansible)"
)

list() {
  echo "Scenarios that run here (scripts/molecule.sh <name> [command]):"
  local row name wrapper proves took installs
  for row in "${here[@]}"; do
    IFS='|' read -r name wrapper proves took installs <<<"$row"
    printf '  %s  (%s)\n    proves:   %s\n    installs: %s\n    runs:     %s\n' \
      "$name" "$took" "$proves" "$installs" "$wrapper"
  done
  echo "First run of a scenario: add its Debian image (2 to 4 min) and, once, .venv-molecule (about 2 min)."
  echo "Scenarios that need an image from docker.io, which no registry here can serve"
  echo "(run them where it can be pulled: molecule test -s <name>, with podman and molecule-plugins[podman]):"
  for row in "${elsewhere[@]}"; do
    IFS='|' read -r name proves <<<"$row"
    printf '  %s  %s\n' "$name" "$proves"
  done
}
usage() {
  echo "usage: make molecule SCENARIO=<name> [MOLECULE_COMMAND=test|converge|verify|idempotence|destroy]"
  echo "       scripts/molecule.sh <name> [command] | list | --help"
  list
}

case ${1:-} in
  list | --list | -l) list; exit 0 ;;
  help | --help | -h) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
scenario=$1
command=${2:-${MOLECULE_COMMAND:-test}}
run=()
for row in "${here[@]}"; do
  IFS='|' read -r name wrapper _ <<<"$row"
  [ "$name" = "$scenario" ] && read -r -a run <<<"$wrapper"
done
if [ ${#run[@]} -eq 0 ]; then
  for row in "${elsewhere[@]}"; do
    IFS='|' read -r name _ <<<"$row"
    if [ "$name" = "$scenario" ]; then
      echo "molecule: $scenario needs its image from docker.io, and no container registry can be reached" \
        "from this machine; run it where the image can be pulled: molecule $command -s $scenario" \
        "(with podman and molecule-plugins[podman] installed)" >&2
      exit 2
    fi
  done
  echo "molecule: no scenario '$scenario'; the scenarios are:" >&2
  list >&2
  exit 2
fi
if [ "$scenario" = crio-runtime-debian13 ] && [ "$command" != test ]; then
  echo "molecule: crio-runtime-debian13 runs only as a whole (MOLECULE_COMMAND=test): its wrapper," \
    "tests/integration/crio_runtime/run.sh, runs molecule test and takes no single step" >&2
  exit 2
fi
if [ "${KUBEGPU_MOLECULE_DRY_RUN:-0}" = 1 ]; then
  echo "KUBEGPU_MOLECULE_COMMAND=$command ${run[*]}"
  exit 0
fi
KUBEGPU_MOLECULE_COMMAND=$command exec "${run[@]}"
