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
top=$PWD

scripts/apt-install.sh "driver tests" podman debootstrap runc dpkg-dev apt-utils gpg uidmap slirp4netns || exit 1

python=${KUBEGPU_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      python=$(command -v "$candidate"); break
    fi
  done
fi
venv=$top/.venv-molecule
requirements=tests/integration/driver/requirements-molecule.txt
stamp="$venv/.requirements.$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "::: virtualenv $venv"
  if ! { { [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"; } &&
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"; }; then
    echo "driver tests: could not install $requirements into $venv" >&2; exit 1
  fi
  rm -f "$venv"/.requirements.* && touch "$stamp"
fi
# This checkout is the kubegpu.nvidia collection; the others come with the
# `ansible` package.
mkdir -p "$venv/collections/ansible_collections/kubegpu"
ln -sfn ../../../.. "$venv/collections/ansible_collections/kubegpu/nvidia"
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$venv/collections"
export CONTAINERS_CONF="$top/tests/integration/containers.conf" PYTHONUNBUFFERED=1
export ANSIBLE_LOCAL_TEMP=${TMPDIR:-/tmp}/kubegpu-ansible-local ANSIBLE_NOCOLOR=1

plan() {
  ansible-playbook -i tests/integration/driver/fixture_hosts.yml tests/integration/driver/plan.yml --check
}
toolkit() {
  scripts/podman-image.sh trixie >/dev/null && molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s toolkit-debian13
}
dkms() {
  scripts/podman-image.sh trixie >/dev/null && molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s driver-debian13
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
