#!/usr/bin/env bash
# Run gpu_facts for real on a GPU host that has no network and no Ansible:
# install the carried ansible-core wheels into a scratch dir, make this
# checkout the kubegpu.nvidia collection, and run the module through Ansible.
#   tests/gpu/gpu_facts.sh WHEEL_DIR OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
wheels=$1 out=$2
scratch=$(mktemp -d)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$scratch/site" "$wheels"/*.whl
export PYTHONPATH="$scratch/site" PATH="$scratch/site/bin:$PATH"
mkdir -p "$scratch/collections/ansible_collections/kubegpu"
ln -s "$PWD" "$scratch/collections/ansible_collections/kubegpu/nvidia"
export ANSIBLE_COLLECTIONS_PATH="$scratch/collections" ANSIBLE_LOCAL_TEMP="$scratch/tmp" ANSIBLE_HOME="$scratch/home"
python3 -m ansible --version 2>/dev/null | head -1 || "$scratch/site/bin/ansible" --version | head -1

run_module() {
  python3 "$scratch/site/bin/ansible" localhost -c local -m kubegpu.nvidia.gpu_facts \
    -e ansible_python_interpreter="$(command -v python3)" "$@"
}
{
  echo "\$ date -u; uname -r; nvidia-smi -L"
  date -u; uname -r; nvidia-smi -L
  echo
  echo "\$ ansible localhost -m kubegpu.nvidia.gpu_facts"
  run_module
  echo
  echo "\$ ansible localhost -m kubegpu.nvidia.gpu_facts --check"
  run_module --check -o | cut -c1-200
} | tee "$out/gpu_facts.txt"

# Timing of the module's own work (nvidia-smi excluded), median of 7.
python3 - "$scratch" <<'PY' | tee "$out/gpu_facts_timing.txt"
import statistics, subprocess, sys, time
sys.path.insert(0, sys.argv[1] + '/collections')
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import gather_facts
def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr
runs = []
for _ in range(7):
    start = time.perf_counter()
    facts = gather_facts(root='/', run_command=run, nvidia_smi=False)
    runs.append(time.perf_counter() - start)
print('gather_facts with ldconfig and runtime probes, without nvidia-smi: median %.1f ms over %d runs (gpu_count=%d)' % (
    statistics.median(runs) * 1000, len(runs), facts['gpu_count']))
PY
rm -rf "$scratch"
