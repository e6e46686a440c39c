# shellcheck shell=bash
# What the Molecule test scripts (tests/integration/{driver,container_runtime,crio_runtime}/run.sh)
# set up alike; sourced from the repository root:
#   . scripts/molecule-env.sh
#   molecule_env WHO          the virtualenv .venv-molecule (tests/integration/driver/requirements-molecule.txt,
#                             scripts/venv.sh), this checkout as the collection
#                             kubegpu.nvidia, and the environment Molecule runs with
#   molecule_cri_client WHO   the project's .venv (scripts/setup.sh test) as the CRI client
#                             (KUBEGPU_CRI_PYTHON), tomlkit lent to the controller, and the pause image
#                             archive (KUBEGPU_PAUSE_ARCHIVE)
# WHO names the caller in errors. Each returns non-zero, having said why, when something is missing.
# Environment: KUBEGPU_PYTHON and KUBEGPU_VENV_CACHE (scripts/venv.sh), KUBEGPU_CRI_PYTHON.

molecule_env() {
  local who=$1 top=$PWD
  local venv=$top/.venv-molecule
  # Steps that run at the same time (scripts/test.sh) share the virtualenv: one makes it, the others wait.
  scripts/venv.sh "$venv" tests/integration/driver/requirements-molecule.txt ||
    { echo "$who: could not make $venv (scripts/venv.sh)" >&2; return 1; }
  # This checkout is the kubegpu.nvidia collection (scripts/setup.sh links it); the others come with the
  # `ansible` package.
  mkdir -p "$top/.cache/collections/ansible_collections/kubegpu"
  ln -sfn ../../../.. "$top/.cache/collections/ansible_collections/kubegpu/nvidia"
  export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$top/.cache/collections"
  export CONTAINERS_CONF="$top/tests/integration/containers.conf" PYTHONUNBUFFERED=1
  export ANSIBLE_LOCAL_TEMP=${TMPDIR:-/tmp}/kubegpu-ansible-local ANSIBLE_NOCOLOR=1
}

molecule_cri_client() {
  local who=$1 top=$PWD
  local cri_python=${KUBEGPU_CRI_PYTHON:-$top/.venv/bin/python}
  "$cri_python" -c 'import cri_api.v1, grpc' 2>/dev/null ||
    { echo "$who: $cri_python lacks container-runtime-interface-api/grpcio (run scripts/setup.sh test)" >&2; return 1; }
  # The runtime modules' action plugins need tomlkit on the controller, which Molecule's
  # virtualenv does not carry: lend it the project's copy (pure Python), alone.
  local pylib=$top/.cache/molecule/pythonpath tomlkit_dir
  tomlkit_dir=$(env -u PYTHONPATH "$cri_python" -c 'import os, tomlkit; print(os.path.dirname(os.path.realpath(tomlkit.__file__)))' 2>/dev/null) ||
    { echo "$who: $cri_python lacks tomlkit (run scripts/setup.sh test)" >&2; return 1; }
  mkdir -p "$pylib" && ln -sfn "$tomlkit_dir" "$pylib/tomlkit"
  export PYTHONPATH="$pylib${PYTHONPATH:+:$PYTHONPATH}" KUBEGPU_CRI_PYTHON=$cri_python
  KUBEGPU_PAUSE_ARCHIVE=$(tests/integration/container_runtime/pause-image.sh) ||
    { echo "$who: could not build the pause image" >&2; return 1; }
  export KUBEGPU_PAUSE_ARCHIVE
}
