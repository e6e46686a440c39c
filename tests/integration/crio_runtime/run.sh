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
# repository), the virtualenv .venv-molecule of tests/integration/driver/run.sh
# (same requirements file), tests/integration/containers.conf, the pause image
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

# Molecule's virtualenv, exactly as tests/integration/driver/run.sh makes it.
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
    echo "crio_runtime tests: could not install $requirements into $venv" >&2; exit 1
  fi
  rm -f "$venv"/.requirements.* && touch "$stamp"
fi
if [ ! -e "$venv/collections/ansible_collections/kubegpu/nvidia" ]; then
  mkdir -p "$venv/collections/ansible_collections/kubegpu"
  ln -sfn ../../../.. "$venv/collections/ansible_collections/kubegpu/nvidia"
fi

# The CRI client (tests/integration/container_runtime/cri_check.py) runs with the project's virtualenv.
cri_python=${KUBEGPU_CRI_PYTHON:-$top/.venv/bin/python}
"$cri_python" -c 'import cri_api.v1, grpc' 2>/dev/null ||
  { echo "crio_runtime tests: $cri_python lacks container-runtime-interface-api/grpcio (run scripts/setup.sh test)" >&2; exit 1; }

# crio_runtime's action plugin needs tomlkit on the controller, which Molecule's
# virtualenv does not carry: lend it the project's copy (pure Python), alone.
pylib=$top/.cache/crio-runtime/pythonpath
tomlkit_dir=$(env -u PYTHONPATH "$cri_python" -c 'import os, tomlkit; print(os.path.dirname(os.path.realpath(tomlkit.__file__)))' 2>/dev/null) ||
  { echo "crio_runtime tests: $cri_python lacks tomlkit (run scripts/setup.sh test)" >&2; exit 1; }
mkdir -p "$pylib" && ln -sfn "$tomlkit_dir" "$pylib/tomlkit"
export PYTHONPATH="$pylib${PYTHONPATH:+:$PYTHONPATH}"

export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$venv/collections"
export CONTAINERS_CONF="$top/tests/integration/containers.conf" PYTHONUNBUFFERED=1
export ANSIBLE_LOCAL_TEMP=${TMPDIR:-/tmp}/kubegpu-ansible-local ANSIBLE_NOCOLOR=1
export KUBEGPU_CRI_PYTHON=$cri_python
KUBEGPU_PAUSE_ARCHIVE=$(tests/integration/container_runtime/pause-image.sh) ||
  { echo "crio_runtime tests: could not build the pause image" >&2; exit 1; }
export KUBEGPU_PAUSE_ARCHIVE

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
