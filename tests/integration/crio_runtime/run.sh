#!/usr/bin/env bash
# Proof for the container_runtime role against a real CRI-O daemon, as CI runs it.
#   tests/integration/crio_runtime/run.sh
# Scenario molecule/crio-runtime-debian13: CRI-O v1.36.3 (crio, pinns, crictl
# from the shared release binaries) on Debian 13 with Debian's conmon, crun and
# runc, laid out as CRI-O's packages install it; converge the role (CDI mode,
# then the nvidia handler), idempotence, then verify through the CRI (a pod
# with handler nvidia reaching the stand-in binary, a container with a CDI
# device of a test spec, an unknown handler refused) and a change CRI-O cannot
# start with, rolled back by the role's handler.
# Environment: KUBEGPU_SHARED_BIN (default ../shared/bin): the directory of
# crio.xz, pinns.xz, crictl.xz and SHA256SUMS.bin (see its README).
# Reuses: the Debian image of scripts/podman-image.sh (cached outside the
# repository), the virtualenv .venv-molecule of scripts/molecule-env.sh,
# tests/integration/containers.conf, the pause image
# of tests/integration/container_runtime/pause-image.sh, and the project's
# .venv (scripts/setup.sh test) for the CRI client.
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1
top=$PWD
scenario=crio-runtime-debian13
start=$SECONDS

scripts/apt-install.sh "crio_runtime tests" podman debootstrap runc xz-utils || exit 1

# crio, pinns and crictl unpacked from the shared release binaries.
KUBEGPU_CRIO_BIN=$(tests/integration/crio_runtime/crio-bin.sh) || exit 1
export KUBEGPU_CRIO_BIN

. scripts/molecule-env.sh
molecule_env "crio_runtime tests" && molecule_cri_client "crio_runtime tests" || exit 1

# crio links libseccomp2, libsqlite3-0 and glibc >= 2.34 (trixie has 2.41); crun's
# systemd cgroups talk to systemd over D-Bus.
image_packages=(conmon crun runc libseccomp2 libsqlite3-0 systemd systemd-sysv dbus containernetworking-plugins)
image=$(scripts/podman-image.sh trixie "${image_packages[@]}") || exit 1
grep -q "image: $image\$" "molecule/$scenario/molecule.yml" ||
  { echo "molecule/$scenario/molecule.yml does not name $image (the package list changed?)" >&2; exit 1; }

molecule test -s "$scenario"
rc=$?
echo "::: crio_runtime tests: $scenario $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $rc
