#!/usr/bin/env bash
# The GPU-host cluster scripts (tests/gpu/cluster.sh and what it runs) on a
# build machine without a GPU, so that they do not rot between GPU runs:
#   tests/gpu/rehearse.sh
# The stage tree is assembled unpacked (cluster-prepare.sh --tree; the packing
# and staging protocol has its own test, tests/integration/test_gpu_stage.py),
# then cluster.sh brings the node container up (systemd as PID 1 under runc,
# its network, the test image), checks that site.yml finds what it needs in it,
# and takes it down again, leaving nothing behind; then tests/gpu/start-latency.sh
# with a test spec. No kubeadm here: the
# kubernetes test cluster (tests/integration/kubernetes) runs the same role.
# Needs root, podman, runc, and the caches of the kubernetes test.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export KUBEGPU_STAGE=${TMPDIR:-/var/tmp}/kubegpu-rehearse-stage
export KUBEGPU_NODE_DIR=${TMPDIR:-/var/tmp}/kubegpu-rehearse-node
fail() { echo "gpu rehearsal: $*" >&2; exit 1; }

hash=$(tests/gpu/cluster-prepare.sh --tree "$KUBEGPU_STAGE/tree") || fail "could not assemble the stage tree"
KUBEGPU_CARRY=$(mktemp -d)
out=$(mktemp -d)
export KUBEGPU_CARRY
trap 'bash tests/gpu/cluster.sh "$out" down >/dev/null 2>&1; rm -rf "$KUBEGPU_CARRY" "$out"' EXIT
# What a GPU call carries besides the parts: the manifest naming the stage.
echo "stage $hash" >"$KUBEGPU_CARRY/MANIFEST"

# The driver laid out as a package (what the DRA step needs), from a stand-in driver root: gpu_facts
# in the node must find the driver root /.
mkdir -p "$KUBEGPU_CARRY/driver/lib64" "$KUBEGPU_CARRY/driver/bin"
: >"$KUBEGPU_CARRY/driver/lib64/libnvidia-ml.so.580.159.04"
ln -s libnvidia-ml.so.580.159.04 "$KUBEGPU_CARRY/driver/lib64/libnvidia-ml.so.1"
printf '#!/bin/sh\nexit 9\n' >"$KUBEGPU_CARRY/driver/bin/nvidia-smi" && chmod 0755 "$KUBEGPU_CARRY/driver/bin/nvidia-smi"
KUBEGPU_NODE_DRIVER_LAYOUT=package KUBEGPU_HOST_DRIVER_ROOT=$KUBEGPU_CARRY/driver KUBEGPU_EXPECT_DRIVER_ROOT=/ \
    bash tests/gpu/cluster.sh "$out" up check || fail "the node container did not come up with what site.yml needs (above)"
bash tests/gpu/cluster.sh "$out" down || fail "the node container left something behind (above)"
grep -q "the host is as it was" "$out/cluster.log" || fail "down did not confirm a clean host"
# The start-latency starts (runc and nvidia-container-runtime in cdi mode with a test spec; jit-cdi must fail without NVML).
KUBEGPU_LATENCY_RUNS=3 bash tests/gpu/start-latency.sh --rehearse "$out/latency" >/dev/null ||
    { cat "$out/latency/latency.log"; fail "tests/gpu/start-latency.sh failed its rehearsal (above)"; }
echo "gpu rehearsal passed"
