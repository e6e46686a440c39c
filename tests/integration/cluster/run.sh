#!/usr/bin/env bash
# The cluster and validation stages' checks: manifests against the Kubernetes 1.31-1.34
# schemas and checkov, and the roles' flows against the kmock Kubernetes API emulator.
# Uses its own virtualenv (.venv-cluster, scripts/venv.sh) so checkov's dependencies stay out of .venv.
#   tests/integration/cluster/run.sh [PYTEST ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
venv="$top/.venv-cluster"
"$top/scripts/venv.sh" "$venv" "$here/requirements.txt"
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function \
  "$@" test_manifests.py test_cluster_emulator.py
