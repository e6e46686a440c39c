#!/usr/bin/env bash
# Proof for the container_runtime role against real containerd, as CI runs it.
#   tests/integration/container_runtime/run.sh [SCENARIO...]
# Scenarios (default: all, in this order): debian12 (containerd 1.6.20),
# debian13 (1.7.24), debian-sid (2.1.9 from sid, on Debian 13: sid's own
# systemd needs cgroup v2), each molecule/container-runtime-<name>:
# converge the role, idempotence, then verify with containerd itself (a pod
# through the CRI with handler nvidia, an unknown handler refused, a change
# containerd rejects rolled back); then toolkit-binaries
# (molecule/toolkit-binaries-debian13): the container_toolkit role from NVIDIA
# Container Toolkit v1.20.0 release binaries (KUBEGPU_SHARED_BIN, default
# ../shared/bin) in cdi_handler mode, and the role in that mode on the
# debian13 image: a pod through the real nvidia-container-runtime, a CDI device,
# and a tampered binary refused before anything is copied.
# Reuses: the Debian images of scripts/podman-image.sh (with containerd, runc
# and systemd from apt; cached outside the repository), the virtualenv
# .venv-molecule and the CRI client of scripts/molecule-env.sh,
# tests/integration/containers.conf, and the project's .venv
# (scripts/setup.sh test) for the CRI client.
# CRI-O has a scenario of its own: tests/integration/crio_runtime/run.sh.
# Exits non-zero when any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1

scripts/apt-install.sh "container_runtime tests" podman debootstrap runc || exit 1

. scripts/molecule-env.sh
molecule_env "container_runtime tests" && molecule_cri_client "container_runtime tests" || exit 1

image_packages=(containerd runc systemd systemd-sysv)
scenario() {
  # $1: scenario suffix, $2: Debian suite
  local name=container-runtime-$1 image
  image=$(scripts/podman-image.sh "$2" "${image_packages[@]}") || return 1
  if [ "$1" = debian-sid ]; then
    # sid's containerd on Debian 13 (see sid-containerd-image.sh for why).
    image=$(tests/integration/container_runtime/sid-containerd-image.sh "$image") || return 1
  fi
  grep -q "image: $image\$" "molecule/$name/molecule.yml" ||
    { echo "molecule/$name/molecule.yml does not name $image (the package list changed?)" >&2; return 1; }
  molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s "$name"
}
debian12() { scenario debian12 bookworm; }
debian13() { scenario debian13 trixie; }
debian-sid() { scenario debian-sid trixie; }
toolkit-binaries() {
  local name=toolkit-binaries-debian13 image
  image=$(scripts/podman-image.sh trixie "${image_packages[@]}") || return 1
  grep -q "image: $image\$" "molecule/$name/molecule.yml" ||
    { echo "molecule/$name/molecule.yml does not name $image (the package list changed?)" >&2; return 1; }
  molecule "${KUBEGPU_MOLECULE_COMMAND:-test}" -s "$name"
}

steps=(debian12 debian13 debian-sid toolkit-binaries)
[ $# -gt 0 ] && steps=("$@")
failed=()
summary=()
total=$SECONDS
for step in "${steps[@]}"; do
  echo "::: container_runtime tests: $step"
  start=$SECONDS
  if "$step"; then result=passed; else result=FAILED; failed+=("$step"); fi
  summary+=("$(printf '%-11s %-7s %5ss' "$step" "$result" $((SECONDS - start)))")
done
echo "::: container_runtime tests summary ($((SECONDS - total)) s)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}"; exit 1; fi
echo "container_runtime tests passed"
