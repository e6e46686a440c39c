#!/usr/bin/env bash
# Run the driver role for real on the borrowed GPU host (no network, no
# Ansible): install the carried ansible-core wheels into a scratch dir, make
# this checkout the kubegpu.nvidia collection, run playbooks/driver.yml
# --tags driver against localhost twice, and check that the role saw the
# loaded driver and changed nothing.
#   tests/integration/driver/gpu-host.sh WHEEL_DIR OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/../../.."
wheels=$1 out=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$scratch/site" "$wheels"/*.whl
export PYTHONPATH="$scratch/site" PATH="$scratch/site/bin:$PATH"
mkdir -p "$scratch/collections/ansible_collections/kubegpu"
ln -s "$PWD" "$scratch/collections/ansible_collections/kubegpu/nvidia"
export ANSIBLE_COLLECTIONS_PATH="$scratch/collections" ANSIBLE_LOCAL_TEMP="$scratch/tmp" ANSIBLE_HOME="$scratch/home"
export ANSIBLE_NOCOLOR=1 ANSIBLE_CALLBACK_RESULT_FORMAT=yaml

run_driver() {
  python3 "$scratch/site/bin/ansible-playbook" -i localhost, -c local playbooks/driver.yml --tags driver \
    -e kubegpu_gpu_nodes_group=all -e ansible_python_interpreter="$(command -v python3)" "$@"
}
status=0
{
  echo "\$ date -u; uname -r; nvidia-smi -L"
  date -u; uname -r; nvidia-smi -L
  for mode in run check; do
    echo
    if [ $mode = check ]; then
      echo "\$ ansible-playbook playbooks/driver.yml --tags driver --check"
      run_driver --check
    else
      echo "\$ ansible-playbook playbooks/driver.yml --tags driver"
      run_driver
    fi
  done
} 2>&1 | tee "$out/driver.txt" || status=1
grep -q 'already loaded (open kernel module), nothing to do' "$out/driver.txt" || { echo "gpu-host: the role did not report the loaded driver" >&2; status=1; }
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 .*failed=0' "$out/driver.txt" || { echo "gpu-host: changed or failed tasks" >&2; status=1; }
[ "$(grep -Ec 'localhost +: ok=[0-9]+ +changed=0 .*failed=0' "$out/driver.txt")" -eq 2 ] || { echo "gpu-host: not both runs clean" >&2; status=1; }
exit $status
