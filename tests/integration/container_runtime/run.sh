#!/usr/bin/env bash
# Proof for the container_runtime role against real containerd, as CI runs it.
#   tests/integration/container_runtime/run.sh [SCENARIO...]
# Scenarios (default: all, in this order): debian12 (containerd 1.6.20),
# debian13 (1.7.24), debian-sid (2.1.9 from sid, on Debian 13: sid's own
# systemd needs cgroup v2), each molecule/container-runtime-<name>:
# converge the role, idempotence, then verify with containerd itself (a pod
# through the CRI with handler nvidia, an unknown handler refused, a change
# containerd rejects rolled back).
# Reuses: the Debian images of scripts/podman-image.sh (with containerd, runc
# and systemd from apt; cached outside the repository), the virtualenv
# .venv-molecule that tests/integration/driver/run.sh sets up (same
# requirements file), tests/integration/containers.conf, and the project's
# .venv (scripts/setup.sh test) for the CRI client.
# CRI-O has a scenario of its own: tests/integration/crio_runtime/run.sh.
# Exits non-zero when any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1
top=$PWD

scripts/apt-install.sh "container_runtime tests" podman debootstrap runc || exit 1

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
    echo "container_runtime tests: could not install $requirements into $venv" >&2; exit 1
  fi
  rm -f "$venv"/.requirements.* && touch "$stamp"
fi
if [ ! -e "$venv/collections/ansible_collections/kubegpu/nvidia" ]; then
  mkdir -p "$venv/collections/ansible_collections/kubegpu"
  ln -sfn ../../../.. "$venv/collections/ansible_collections/kubegpu/nvidia"
fi

# The CRI client (cri_check.py) runs with the project's virtualenv.
cri_python=${KUBEGPU_CRI_PYTHON:-$top/.venv/bin/python}
"$cri_python" -c 'import cri_api.v1, grpc' 2>/dev/null ||
  { echo "container_runtime tests: $cri_python lacks container-runtime-interface-api/grpcio (run scripts/setup.sh test)" >&2; exit 1; }

# The modules' action plugins need tomlkit on the controller, which Molecule's
# virtualenv does not carry: lend it the project's copy (pure Python), alone.
pylib=$top/.cache/container-runtime/pythonpath
tomlkit_dir=$(env -u PYTHONPATH "$cri_python" -c 'import os, tomlkit; print(os.path.dirname(os.path.realpath(tomlkit.__file__)))' 2>/dev/null) ||
  { echo "container_runtime tests: $cri_python lacks tomlkit (run scripts/setup.sh test)" >&2; exit 1; }
mkdir -p "$pylib" && ln -sfn "$tomlkit_dir" "$pylib/tomlkit"
export PYTHONPATH="$pylib${PYTHONPATH:+:$PYTHONPATH}"

export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$venv/collections"
export CONTAINERS_CONF="$top/tests/integration/containers.conf" PYTHONUNBUFFERED=1
export ANSIBLE_LOCAL_TEMP=${TMPDIR:-/tmp}/kubegpu-ansible-local ANSIBLE_NOCOLOR=1
export KUBEGPU_CRI_PYTHON=$cri_python
KUBEGPU_PAUSE_ARCHIVE=$(tests/integration/container_runtime/pause-image.sh) ||
  { echo "container_runtime tests: could not build the pause image" >&2; exit 1; }
export KUBEGPU_PAUSE_ARCHIVE

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

steps=(debian12 debian13 debian-sid)
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
