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

shared_bin=${KUBEGPU_SHARED_BIN:-$top/../shared/bin}
shared_bin=$(cd "$shared_bin" 2>/dev/null && pwd) ||
  { echo "crio_runtime tests: no directory ${KUBEGPU_SHARED_BIN:-$top/../shared/bin} of CRI-O release binaries (set KUBEGPU_SHARED_BIN to one)" >&2; exit 1; }
# Unpacked once into the checkout's cache, again when a binary's checksum differs from SHA256SUMS.bin.
crio_bin=$top/.cache/crio-runtime/bin
mkdir -p "$crio_bin"
for name in crio pinns crictl; do
  want=$(awk -v n="$name" '$2 == n {print $1}' "$shared_bin/SHA256SUMS.bin")
  [ -n "$want" ] || { echo "crio_runtime tests: $shared_bin/SHA256SUMS.bin lists no $name" >&2; exit 1; }
  if [ ! -x "$crio_bin/$name" ] || [ "$(sha256sum "$crio_bin/$name" | cut -d' ' -f1)" != "$want" ]; then
    if ! { xz -dc "$shared_bin/$name.xz" >"$crio_bin/$name.part" && chmod 0755 "$crio_bin/$name.part" &&
      [ "$(sha256sum "$crio_bin/$name.part" | cut -d' ' -f1)" = "$want" ]; }; then
      echo "crio_runtime tests: $shared_bin/$name.xz does not unpack to the binary SHA256SUMS.bin names" >&2; exit 1
    fi
    mv "$crio_bin/$name.part" "$crio_bin/$name"
  fi
done
export KUBEGPU_CRIO_BIN=$crio_bin

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
