#!/usr/bin/env bash
# One Molecule scenario, with everything it needs on this machine set up first:
#   make molecule SCENARIO=<name> [MOLECULE_COMMAND=test|converge|verify|idempotence|destroy]
#   scripts/molecule.sh <name> [command]
# The scenarios that run here go through the wrappers CI uses, which install
# podman and its helpers with apt, make the Molecule virtualenv
# (.venv-molecule) with this checkout as kubegpu.nvidia, build and cache the
# Debian images, and export CONTAINERS_CONF, PATH and ANSIBLE_COLLECTIONS_PATH:
#   toolkit-debian13, driver-debian13 (the DKMS build: 10-15 minutes on 2 cores)
#     -> tests/integration/driver/run.sh
#   container-runtime-debian12, -debian13, -debian-sid
#     -> tests/integration/container_runtime/run.sh
# The Ubuntu and Rocky scenarios name public images (no registry is reachable
# here): run them with `molecule test -s <name>` where they can be pulled.
# KUBEGPU_MOLECULE_DRY_RUN=1 prints the command instead of running it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

usage() {
  echo "usage: make molecule SCENARIO=<name> [MOLECULE_COMMAND=test]; scenarios here:" >&2
  echo "  toolkit-debian13 driver-debian13 container-runtime-debian12 container-runtime-debian13 container-runtime-debian-sid" >&2
  exit 2
}
if [ $# -lt 1 ] || [ -z "$1" ]; then usage; fi
scenario=$1
command=${2:-${MOLECULE_COMMAND:-test}}
case $scenario in
  toolkit-debian13) run=(tests/integration/driver/run.sh toolkit) ;;
  driver-debian13) run=(tests/integration/driver/run.sh dkms) ;;
  container-runtime-debian12 | container-runtime-debian13 | container-runtime-debian-sid)
    run=(tests/integration/container_runtime/run.sh "${scenario#container-runtime-}") ;;
  *)
    if [ -f "molecule/$scenario/molecule.yml" ]; then
      echo "molecule: $scenario names a public image, which cannot be pulled here; run it where it can:" \
        "molecule $command -s $scenario (with podman and molecule-plugins[podman] installed)" >&2
    else
      echo "molecule: no scenario $scenario (molecule/$scenario/molecule.yml)" >&2
    fi
    usage ;;
esac
if [ "${KUBEGPU_MOLECULE_DRY_RUN:-0}" = 1 ]; then
  echo "KUBEGPU_MOLECULE_COMMAND=$command ${run[*]}"
  exit 0
fi
KUBEGPU_MOLECULE_COMMAND=$command exec "${run[@]}"
