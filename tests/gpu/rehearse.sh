#!/usr/bin/env bash
# The GPU-host cluster scripts (tests/gpu/cluster.sh and what it runs) on a
# build machine without a GPU, so that they do not rot between GPU runs:
#   tests/gpu/rehearse.sh
# The stage tree is assembled unpacked (cluster-prepare.sh --tree; the packing
# and staging protocol has its own test, tests/integration/test_gpu_stage.py),
# then cluster.sh brings the node container up (systemd as PID 1 under runc,
# its network, the test image), checks that site.yml finds what it needs in it,
# and takes it down again, leaving nothing behind; then tests/gpu/start-latency.sh
# with a test spec. The same again for a CRI-O node (KUBEGPU_NODE_RUNTIME=crio). No kubeadm here: the
# kubernetes test cluster (tests/integration/kubernetes) runs the same role.
# Needs root, podman and runc; it shares the kubernetes test's caches and builds any that are missing
# (CI runs it beside the DKMS build, before the kubernetes test).
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
# A CRI-O node: containerd removed, CRI-O from the stage answering crictl, with the systemd cgroup manager
# (the GPU host's daemon-reload check wants it).
: >"$out/cluster.log"
KUBEGPU_NODE_RUNTIME=crio KUBEGPU_NODE_CGROUP_DRIVER=systemd bash tests/gpu/cluster.sh "$out" up check ||
    fail "the CRI-O node container did not come up with what site.yml needs (above)"
# There, a container that runc runs on systemd's cgroup driver keeps an NVIDIA-numbered device node through
# a daemon-reload, without and with its /dev/char link (dev_char_links).
bash tests/gpu/cluster.sh "$out" device_reload || fail "a container lost its device at a daemon-reload (above)"
bash tests/gpu/cluster.sh "$out" down || fail "the CRI-O node container left something behind (above)"
grep -q "the host is as it was" "$out/cluster.log" || fail "down did not confirm a clean host after the CRI-O node"
# The GPU Operator's image with vectorAdd added, as cluster.sh makes it on a GPU host: podman (a store of its
# own, vfs: nothing mounted) loads it under its name, and the file is in it.
ext=$out/operator-ext
mkdir -p "$ext"
printf '#!/bin/sh\necho "Test PASSED"\n' >"$ext/vectorAdd" && chmod 0755 "$ext/vectorAdd"
python3 -c 'import sys; sys.path.insert(0, "tests/gpu"); import oci_image; oci_image.add_layer(sys.argv[1], sys.argv[2], {"/usr/bin/vectorAdd": sys.argv[3]})' \
    "$KUBEGPU_STAGE/tree/bundle/images/gpu-operator.tar" "$ext/operator.tar" "$ext/vectorAdd" ||
    fail "could not add a layer to the GPU Operator's image"
ext_podman=(podman --root "$ext/store" --runroot "$ext/run" --storage-driver vfs)
{ "${ext_podman[@]}" load -q -i "$ext/operator.tar" >/dev/null &&
    "${ext_podman[@]}" create --name kubegpu-rehearse-operator nvcr.io/nvidia/gpu-operator:v26.7.0 >/dev/null &&
    "${ext_podman[@]}" export -o "$ext/exported.tar" kubegpu-rehearse-operator &&
    tar -tf "$ext/exported.tar" | grep -x usr/bin/vectorAdd >/dev/null; } ||
    fail "podman did not load the GPU Operator's image with vectorAdd under its name"
"${ext_podman[@]}" rm kubegpu-rehearse-operator >/dev/null
# The start-latency starts (runc and nvidia-container-runtime in cdi mode with a test spec; jit-cdi must fail without NVML).
KUBEGPU_LATENCY_RUNS=3 bash tests/gpu/start-latency.sh --rehearse "$out/latency" >/dev/null ||
    { cat "$out/latency/latency.log"; fail "tests/gpu/start-latency.sh failed its rehearsal (above)"; }
echo "gpu rehearsal passed"
