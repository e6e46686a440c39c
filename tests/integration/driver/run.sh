#!/usr/bin/env bash
# Proof for the driver and container_toolkit roles, as CI runs it.
#   tests/integration/driver/run.sh [STEP...]
# Steps (default: all, in this order):
#   plan      the driver role's plan entry point in --check against fixture
#             hosts (Ubuntu 22.04/24.04, Debian 12/13, Rocky 9, the H200 host):
#             package names and repositories per distro/branch/kernel modules
#   toolkit   Molecule: container_toolkit from a local signed apt repository
#             (a file:// repository with stand-in packages, built here)
#   dkms      Molecule: the driver from Debian 13's real packages, DKMS build
#             for the image's kernel (10-15 minutes on 2 cores), and the real
#             failure of the open modules against that kernel
# Sets up what it needs: apt packages (podman, debootstrap, runc, dpkg-dev,
# apt-utils, gpg), a virtualenv with Molecule in .venv-molecule, and the
# Debian images (scripts/podman-image.sh, cached outside the repository).
# Exits non-zero when any step failed.
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1

scripts/apt-install.sh "driver tests" podman debootstrap runc dpkg-dev apt-utils gpg uidmap slirp4netns || exit 1

. scripts/molecule-env.sh
molecule_env "driver tests" || exit 1

plan() {
  ansible-playbook -i tests/integration/driver/fixture_hosts.yml tests/integration/driver/plan.yml --check
}
toolkit() {
  scripts/podman-image.sh trixie >/dev/null && molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s toolkit-debian13
}
dkms() {
  # The DKMS builds' compiler cache, outside the repository like the images (molecule/driver-debian13).
  export KUBEGPU_DKMS_CCACHE_DIR=${KUBEGPU_DKMS_CCACHE_DIR:-/var/cache/kubegpu/dkms-ccache}
  mkdir -p "$KUBEGPU_DKMS_CCACHE_DIR" &&
    scripts/podman-image.sh trixie linux-image-amd64 linux-headers-amd64 ccache >/dev/null &&
    molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s driver-debian13
}

steps=(plan toolkit dkms)
[ $# -gt 0 ] && steps=("$@")
failed=()
summary=()
for step in "${steps[@]}"; do
  echo "::: driver tests: $step"
  start=$SECONDS
  if "$step"; then result=passed; else result=FAILED; failed+=("$step"); fi
  summary+=("$(printf '%-8s %-7s %5ss' "$step" "$result" $((SECONDS - start)))")
done
echo "::: driver tests summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}"; exit 1; fi
echo "driver tests passed"
