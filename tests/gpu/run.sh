#!/usr/bin/env bash
# The real-GPU end-to-end run, on a GPU host with no network (as root, from the
# repository root). Everything it needs is carried in .gpu-carry/ (made by
# tests/gpu/prepare.sh on a build machine):
#   1. installs the carried wheels (ansible-core, CRI client) into a scratch dir and the
#      collection tarball with ansible-galaxy --offline; unpacks containerd and runc;
#   2. builds the test image's root: the carried minimal glibc root, plus a CUDA vector
#      add built here with nvcc (cudart static);
#   3. tests/gpu/cri_pod.py: containerd 1.7 from the carried binaries, the node stage
#      (tests/gpu/node-stage.yml: gpu_facts, cdi_spec, containerd_runtime enable_cdi),
#      containerd restarted, a pod through the CRI with CDI device nvidia.com/gpu=all
#      running `nvidia-smi -L` and the vector add;
#   4. checks the UUID in the container is the one gpu_facts reported, that the vector
#      add passed, and writes summary.json, run.log and the spec into OUT_DIR.
#   tests/gpu/run.sh OUT_DIR
# KUBEGPU_NODE_STAGE_ARGS adds ansible-playbook arguments to the node stage (a rehearsal with a
# fake GPU on a machine without one passes the cdi_test_* variables of tests/gpu/node-stage.yml).
set -euo pipefail
out=${1:?usage: tests/gpu/run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
carry=$repo/.gpu-carry
cd "$repo"
exec > >(tee "$out/run.log") 2>&1

work=$(mktemp -d /tmp/kubegpu-cdi-e2e.XXXXXX)
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "host"
date -u; uname -r; nvidia-smi -L; nvidia-smi --query-gpu=driver_version --format=csv,noheader
command -v nvcc && nvcc --version | tail -n 2; python3 --version; ldd --version | sed -n 1p

step "1. tools from .gpu-carry"
ls -la "$carry" "$carry/debs" "$carry/wheels"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" "$carry"/wheels/*.whl
export PYTHONPATH=$work/site
export PATH=$work/site/bin:$PATH
export ANSIBLE_HOME=$work/ansible-home ANSIBLE_LOCAL_TEMP=$work/ansible-tmp ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_CONFIG=$work/ansible.cfg
printf '[defaults]\ngathering = explicit\nretry_files_enabled = false\ncallback_result_format = yaml\n' >"$ANSIBLE_CONFIG"
python3 "$work/site/bin/ansible-galaxy" collection install --offline --no-deps --force -p "$work/collections" \
    "$carry"/kubegpu-nvidia-*.tar.gz
python3 -c 'import cri_api.v1, grpc, google.protobuf as p; print("CRI client ok: grpcio", grpc.__version__, "protobuf", p.__version__)'
for deb in "$carry"/debs/*.deb; do dpkg -x "$deb" "$work/pkg"; done
mkdir -p "$work/bin"
for name in containerd containerd-shim-runc-v2 ctr; do cp "$work/pkg/usr/bin/$name" "$work/bin/"; done
cp "$work/pkg/usr/sbin/runc" "$work/bin/"
if ! "$work/bin/runc" --version >/dev/null 2>&1 && [ -x "$repo/.cache/cdi-e2e/bin/runc" ]; then
    # A rehearsal on a build machine older than trixie's runc (glibc < 2.38): tests/gpu/prepare.sh's runc.
    echo "carried runc does not run here; using $repo/.cache/cdi-e2e/bin/runc"
    cp "$repo/.cache/cdi-e2e/bin/runc" "$work/bin/runc"
fi
"$work/bin/containerd" --version; "$work/bin/runc" --version | sed -n 1p

step "2. the test image: minimal glibc root + CUDA vector add"
mkdir -p "$work/rootfs"
tar -xzf "$carry/rootfs.tar.gz" -C "$work/rootfs"
nvcc -O2 -cudart static -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
    -o "$work/vectoradd" tests/gpu/vectoradd.cu
# Libraries the vector add needs beyond the root's glibc (libstdc++ from the host's compiler).
ldd "$work/vectoradd" | awk '/=> \//{print $1, $3}' | while read -r soname path; do
    if [ ! -e "$work/rootfs/lib/x86_64-linux-gnu/$soname" ]; then
        cp -L "$path" "$work/rootfs/lib/x86_64-linux-gnu/$soname"
        echo "added $soname from $path"
    fi
done
ls -la "$work/rootfs/lib/x86_64-linux-gnu"

step "3. node stage + pod through the CRI"
python3 tests/gpu/cri_pod.py --bin "$work/bin" --work "$work/cri" --rootfs "$work/rootfs" \
    --add /usr/local/bin/vectoradd="$work/vectoradd" \
    --device nvidia.com/gpu=all \
    --command 'nvidia-smi -L; vectoradd' \
    --node-stage "NODE_STAGE_RESULT=$out/node-stage.json python3 $work/site/bin/ansible-playbook -v tests/gpu/node-stage.yml -e ansible_python_interpreter=$(command -v python3) ${KUBEGPU_NODE_STAGE_ARGS:-}" \
    --expect '^GPU 0: .*\(UUID: GPU-[0-9a-f-]+\)$' --expect '^vectoradd: .*PASSED$' \
    --result "$out/summary.json" || status=$?
cp "$work/cri/cdi/nvidia.json" "$out/nvidia.json" 2>/dev/null || true

step "4. checks"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
summary = json.load(open(out + "/summary.json"))
node = json.load(open(out + "/node-stage.json"))
facts_uuids = sorted(g["uuid"] for g in node["gpus"])
seen = sorted(re.findall(r"\(UUID: (GPU-[0-9a-f-]+)\)", "\n".join(summary.get("output", []))))
checks = {
    "container exited 0": summary.get("exit_code") == 0,
    "nvidia-smi -L in the container shows gpu_facts' UUIDs %s" % facts_uuids: seen == facts_uuids and bool(seen),
    "vector add verified": any(l.endswith("PASSED") for l in summary.get("output", [])),
    "cdi_spec idempotent": node["cdi_spec_again_changed"] is False,
}
first = summary.get("first_output_s")
# The issue's target; reported, not a failure: the time depends on the lent machine.
summary["timing_target_met"] = first is not None and first < 0.5
print("TIME first output %s s after RunPodSandbox (target < 0.5 s: %s)" % (first, "met" if summary["timing_target_met"] else "NOT met"))
summary["checks"] = checks
summary["driver_version"] = node["driver"]["version"]
summary["ok"] = all(checks.values())
json.dump(summary, open(out + "/summary.json", "w"), indent=2)
for name, ok in checks.items():
    print("%s %s" % ("PASS" if ok else "FAIL", name))
sys.exit(0 if summary["ok"] else 1)
PY
exit "${status:-0}"
