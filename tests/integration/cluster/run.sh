#!/usr/bin/env bash
# The cluster and validation stages' checks: manifests against the Kubernetes 1.31-1.34
# schemas and checkov, and the roles' flows against the kmock Kubernetes API emulator.
# Uses its own virtualenv (.venv-cluster) so checkov's dependencies stay out of .venv.
#   tests/integration/cluster/run.sh [PYTEST ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
venv="$top/.venv-cluster"
python=${PYTHON:-python3.11}
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function \
  "$@" test_manifests.py test_cluster_emulator.py
