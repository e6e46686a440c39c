#!/usr/bin/env bash
# A real three-node Kubernetes v1.36.2 cluster, built by the collection's own
# kubernetes role, as CI runs it:
#   tests/integration/kubernetes/run.sh [STEP...]
# Debian 13 nodes in privileged podman containers on a podman network of
# their own (systemd from apt, kubelet and kubeadm from the air-gapped bundle
# of tests/integration/kubernetes/bundle.sh: binaries from ../shared/bin,
# control-plane images built from them, etcd from Debian): the control-plane
# host and a worker on containerd 1.7.24 from apt, and a second worker on
# CRI-O v1.36.3 (crio, pinns and crictl from ../shared/bin, laid out as CRI-O's
# packages install it: tests/integration/crio_runtime/install-crio.yml; Debian's
# conmon, crun, runc, and podman, which the role loads the bundle's images
# with). Both workers are GPU nodes without a GPU. Steps (default: all, in this order):
#   plan       the stage in --check --diff on fresh nodes, the control-plane host without a
#              container runtime: it plans containerd's install and the cluster, and fails nowhere
#   build      on the nodes plan left (fresh ones without plan): containerd installed on the bare
#              control-plane host, kubeadm init there, join of both workers, bridge CNI
#   rerun      the same playbook again, then in --check --diff: neither changes anything
#   assert     the cluster's own state, read with kubernetes.core.k8s_info
#   device_plugin  the cluster stage (node labels, NVIDIA's device plugin) on the
#              workers, which claim an H200's recorded gpu_facts and have no GPU
#   validate   the validate stage there: its pods stay Pending, and it says why
#   operator   the GPU Operator refused for GPU nodes on two runtimes; from here on the
#              containerd worker is the only GPU node: the device plugin removed; the GPU Operator
#              refused for the worker in cdi mode (no handler for the operator's own pods), then
#              installed from the shared chart
#   dra        the GPU Operator removed; NVIDIA's DRA driver refused (default namespace, a node
#              without CDI), then installed from the shared chart: its kubelet plugin only on the
#              worker, waiting for a driver; the validate pod's claim unallocatable; then removed
#   failure    kubeadm init on a node whose API server port is taken: one line, the fix, nothing changed
#              (by default beside dra: dra+failure runs both at once, as STEP+STEP does on the command line)
#   teardown   kubernetes_state: absent, twice (the second changes nothing)
# Environment: KUBEGPU_SHARED_BIN (default ../shared/bin), KUBEGPU_K8S_KEEP=1
# leaves the nodes running for a look afterwards, KUBEGPU_K8S_BUILT (see built()).
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1
top=$PWD
here=$top/tests/integration/kubernetes

scripts/apt-install.sh "kubernetes tests" podman debootstrap runc xz-utils || exit 1
[ -x "$top/.venv/bin/ansible-playbook" ] || { echo "kubernetes tests: run scripts/setup.sh test first" >&2; exit 1; }

export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG="$top/ansible.cfg" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
export CONTAINERS_CONF="$top/tests/integration/containers.conf"
shared_bin=${KUBEGPU_SHARED_BIN:-$top/../shared/bin}
KUBEGPU_SHARED_BIN=$(cd "$shared_bin" 2>/dev/null && pwd) ||
  { echo "kubernetes tests: no directory $shared_bin of Kubernetes release binaries (set KUBEGPU_SHARED_BIN to one)" >&2; exit 1; }
export KUBEGPU_SHARED_BIN
export ANSIBLE_LOCAL_TEMP=${TMPDIR:-/tmp}/kubegpu-ansible-local

# python3-apt: what cloud images ship, and what apt's --check needs (the plan step).
node_packages=(containerd runc systemd systemd-sysv containernetworking-plugins iptables conntrack ethtool socat iproute2 kmod procps python3-apt)
image=$(scripts/podman-image.sh trixie "${node_packages[@]}") || { echo "kubernetes tests: no node image" >&2; exit 1; }
# The CRI-O worker: CRI-O's runtime and monitor instead of containerd (crio links libseccomp2,
# libsqlite3-0; crun's systemd cgroups talk to systemd over D-Bus), and podman for the role's image loads.
crio_packages=(conmon crun podman libseccomp2 libsqlite3-0 dbus)
for package in "${node_packages[@]}"; do [ "$package" = containerd ] || crio_packages+=("$package"); done
crio_image=$(scripts/podman-image.sh trixie "${crio_packages[@]}") || { echo "kubernetes tests: no CRI-O node image" >&2; exit 1; }
KUBEGPU_CRIO_BIN=$(tests/integration/crio_runtime/crio-bin.sh) || exit 1
export KUBEGPU_CRIO_BIN
kubernetes_bundle=$("$here/bundle.sh") || { echo "kubernetes tests: could not build the bundle" >&2; exit 1; }
nvidia_images=$("$here/nvidia-images.sh") || { echo "kubernetes tests: could not build the NVIDIA images" >&2; exit 1; }
dra_image=$("$here/dra-image.sh") || { echo "kubernetes tests: could not build the DRA driver's image" >&2; exit 1; }
export KUBEGPU_DRA_CHART=$dra_image/chart/dra-driver-nvidia-gpu-v0.4.1.tgz
helm=$("$here/helm.sh") || { echo "kubernetes tests: no helm" >&2; exit 1; }
helm_dir=$(dirname "$helm")
export PATH="$helm_dir:$PATH"
pause_image=$("$kubernetes_bundle/bin/kubeadm" config images list --kubernetes-version v1.36.2 2>/dev/null | grep /pause:) ||
  { echo "kubernetes tests: kubeadm names no pause image" >&2; exit 1; }
# prepare.yml writes it into CRI-O's configuration, as the kubernetes role asks CRI-O's users to.
export KUBEGPU_K8S_PAUSE_IMAGE=$pause_image

KUBEGPU_K8S_WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/kubegpu-k8s.XXXXXX")
export KUBEGPU_K8S_WORK
# The air-gapped bundle the role installs from, as a user would lay it out:
# Kubernetes and the NVIDIA images side by side (links to the cached builds).
KUBEGPU_K8S_BUNDLE=$KUBEGPU_K8S_WORK/bundle
# The failure case needs Kubernetes alone.
KUBEGPU_K8S_CORE_BUNDLE=$kubernetes_bundle
export KUBEGPU_K8S_BUNDLE KUBEGPU_K8S_CORE_BUNDLE
mkdir -p "$KUBEGPU_K8S_BUNDLE/images" "$KUBEGPU_K8S_BUNDLE/bin"
# Hard links where the cache shares the file system (the role refuses links that leave the bundle), else copies;
# then the checksum list the role verifies every file against before it copies one.
cp -lL "$kubernetes_bundle"/bin/* "$KUBEGPU_K8S_BUNDLE/bin/" 2>/dev/null || cp -L "$kubernetes_bundle"/bin/* "$KUBEGPU_K8S_BUNDLE/bin/"
for archive in "$kubernetes_bundle"/images/* "$nvidia_images"/images/*.tar "$dra_image"/images/*.tar; do
  cp -lL "$archive" "$KUBEGPU_K8S_BUNDLE/images/" 2>/dev/null || cp -L "$archive" "$KUBEGPU_K8S_BUNDLE/images/"
done
(cd "$KUBEGPU_K8S_BUNDLE" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | sort | xargs sha256sum >SHA256SUMS.new &&
  mv SHA256SUMS.new SHA256SUMS) ||
  { echo "kubernetes tests: could not write the bundle's SHA256SUMS" >&2; exit 1; }
# emulated_gpu_facts (stage.yml) stands in for gpu_facts on the worker.
export ANSIBLE_LIBRARY="$top/tests/integration/cluster/library"
# node_nsenter: the nodes' connection (inventory.yml).
export ANSIBLE_CONNECTION_PLUGINS="$top/tests/integration/connection_plugins"
network=kubegpu-k8s
subnet=10.89.61
nodes=(kubegpu-k8s-cp kubegpu-k8s-worker kubegpu-k8s-fail kubegpu-k8s-crio)
crio_node=kubegpu-k8s-crio

remove_nodes() {
  podman rm -f -t 5 "${nodes[@]}" >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
}
# KUBEGPU_K8S_BUILT (scripts/test.sh): a file this test creates once the build step has ended (or the test has),
# for steps that wait to run beside the rest of it.
built() { [ -z "${KUBEGPU_K8S_BUILT:-}" ] || : >>"$KUBEGPU_K8S_BUILT"; }
cleanup() {
  built
  if [ "${KUBEGPU_K8S_KEEP:-0}" = 1 ]; then echo "kubernetes tests: nodes kept (KUBEGPU_K8S_KEEP=1), work in $KUBEGPU_K8S_WORK"; return; fi
  remove_nodes
  rm -rf "$KUBEGPU_K8S_WORK"
}
trap cleanup EXIT

start_nodes() {
  remove_nodes
  podman network create --subnet "$subnet.0/24" "$network" >/dev/null || return 1
  local i=10 node
  for node in "${nodes[@]}"; do
    # containerd's overlay snapshots (CRI-O's and podman's overlay storage) cannot
    # live on the container's own overlay.
    # The host's cgroup tree, whole: podman's own mounts show each v1 hierarchy
    # from the container's cgroup down, and runc then computes wrong paths for
    # the pods' cgroup mounts ("bind mount source stat: /sys/fs/kubepods/...").
    local store=(--tmpfs "/var/lib/containerd:rw,mode=0711") node_image=$image
    [ "$node" = "$crio_node" ] && store=(--tmpfs "/var/lib/containers:rw,mode=0700") node_image=$crio_image
    podman run -d --name "$node" --hostname "$node" --network "$network" --ip "$subnet.$i" \
      --privileged --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw "${store[@]}" \
      "$node_image" /sbin/init >/dev/null || return 1
    i=$((i + 1))
  done
  # Each node's init, as the host sees it: the playbooks reach the nodes through nsenter (inventory.yml).
  local pid pids="all:"$'\n'"  hosts:"
  for node in "${nodes[@]}"; do
    pid=$(podman inspect -f '{{.State.Pid}}' "$node") || pid=0
    [ "$pid" -gt 1 ] || { echo "kubernetes tests: no PID for $node" >&2; return 1; }
    pids+=$'\n'"    $node: {ansible_nsenter_pid: $pid}"
  done
  echo "$pids" >"$KUBEGPU_K8S_WORK/node-pids.yml" || return 1
  for node in "${nodes[@]}"; do
    # As on a host booted by systemd, the root mount is shared: a pod's HostToContainer
    # mount (the DRA driver's driver root) needs it, and podman makes it private.
    podman exec "$node" mount --make-rshared / || return 1
    # CRI-O starts once prepare.yml has installed it.
    [ "$node" = "$crio_node" ] && continue
    for _ in $(seq 1 30); do
      podman exec "$node" systemctl is-active -q containerd 2>/dev/null && continue 2
      sleep 1
    done
    echo "kubernetes tests: containerd did not start in $node" >&2; return 1
  done
}

playbook() {  # playbook LOG PLAYBOOK [ARGS...]: run it, keep its log, say how long it took
  local log=$KUBEGPU_K8S_WORK/$1 name=$1 start=$SECONDS rc; shift
  ansible-playbook -i "$here/inventory.yml" -i "$KUBEGPU_K8S_WORK/node-pids.yml" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  echo "::: kubernetes tests: ${name%.log} took $((SECONDS - start)) s (rc $rc)"
  return "$rc"
}
unchanged() {  # unchanged LOG: every host's recap says changed=0
  if grep -E '^[a-z0-9.-]+ +: ok=' "$KUBEGPU_K8S_WORK/$1" | grep -v ' changed=0 '; then
    echo "kubernetes tests: $1 changed something (recap above)" >&2; return 1
  fi
}

# sandbox_is NODE: containerd there runs with kubeadm's pause image as its
# sandbox image (the role set it: prepare.yml leaves containerd's default).
# (The dump is read whole first: `grep -q` leaves at its first match, and under
# pipefail the dump's SIGPIPE would fail a pipeline whose grep had matched.)
# On the CRI-O worker: CRI-O's own default (pause:3.10.1 in 1.36) is not kubeadm's, and
# prepare.yml writes none, so the role's drop-in is what sets it.
sandbox_is() {
  local dump
  if [ "$1" = "$crio_node" ]; then
    dump=$(podman exec "$1" crio config 2>/dev/null)
    if ! grep -qxF "pause_image = \"$pause_image\"" <<<"$dump" ||
      ! podman exec "$1" grep -qxF "pause_image = \"$pause_image\"" /etc/crio/crio.conf.d/98-kubegpu-sandbox.toml; then
      echo "kubernetes tests: CRI-O on $1 does not use $pause_image from the role's drop-in" >&2; return 1
    fi
    return 0
  fi
  dump=$(podman exec "$1" containerd config dump 2>/dev/null)
  grep -qF "sandbox_image = \"$pause_image\"" <<<"$dump" ||
    { echo "kubernetes tests: containerd on $1 does not use $pause_image as its sandbox image" >&2; return 1; }
}
# The control-plane host starts bare, as a cloud image without a container
# runtime: the kubernetes stage installs Debian's containerd there (from the
# Debian mirror) and starts it. The worker keeps the image's containerd.
fresh_nodes() {
  start_nodes &&
    podman exec kubegpu-k8s-cp apt-get purge -y -qq containerd >/dev/null &&
    playbook prepare.log "$here/prepare.yml"
}
# --check --diff before anything exists: the decision knows containerd is to be
# installed on the control-plane host (its cgroup driver, its socket), so the
# stage plans instead of failing on a runtime that is not there yet.
plan() {
  fresh_nodes &&
    playbook plan.log playbooks/kubernetes.yml --check --diff &&
    says plan.log "containerd package containerd\] \*+ ([a-z]+: \[[a-z0-9-]+\] )*changed: \[kubegpu-k8s-cp\]" &&
    { if podman exec kubegpu-k8s-cp test -e /usr/bin/containerd; then
        echo "kubernetes tests: --check installed containerd" >&2; return 1; fi; } &&
    planned=1
}
# On the nodes the plan step left (as a user runs --check first, then the stage), else on fresh ones.
build() {
  { [ "${planned:-0}" = 1 ] || fresh_nodes; } &&
    playbook build.log playbooks/kubernetes.yml &&
    sandbox_is kubegpu-k8s-cp && sandbox_is kubegpu-k8s-worker && sandbox_is "$crio_node" &&
    says build.log "containerd package containerd\] \*+ ([a-z]+: \[[a-z0-9-]+\] )*changed: \[kubegpu-k8s-cp\]" &&
    says build.log "containerd package containerd\] \*+ ([a-z]+: \[[a-z0-9-]+\] )*skipping: \[kubegpu-k8s-worker\]" &&
    # CRI-O's worker: nothing installed beside CRI-O, the bundle's images loaded with podman
    # (under a task name that does not say containerd, the first host's runtime).
    says build.log "containerd package containerd\] \*+ ([a-z]+: \[[a-z0-9-]+\] )*skipping: \[kubegpu-k8s-crio\]" &&
    says build.log "Import the image archives \(ctr on containerd, podman load on CRI-O\)\] \*+ [^*]*changed: \[kubegpu-k8s-crio\] => \(item=kube-proxy[.]tar\)"
}
rerun() {
  playbook rerun.log playbooks/kubernetes.yml && unchanged rerun.log &&
    playbook check.log playbooks/kubernetes.yml --check --diff && unchanged check.log
}
assert() { playbook assert.log "$here/assert-cluster.yml"; }
says() {  # says LOG PATTERN: the log, its lines joined, says PATTERN (an extended regular expression)
  grep -qE "$2" <<<"$(tr '\n' ' ' <"$KUBEGPU_K8S_WORK/$1")" || { echo "kubernetes tests: $1 does not say: $2" >&2; return 1; }
}
fails_with() {  # fails_with LOG PATTERN: the run failed, and said PATTERN
  grep -qE "$2" "$KUBEGPU_K8S_WORK/$1" || { echo "kubernetes tests: $1 does not say: $2" >&2; return 1; }
}
# The device plugin on workers with no GPU (containerd's and CRI-O's): it runs
# on both, finds none, and the stage fails saying the nodes advertise no GPUs.
device_plugin() {
  if playbook device-plugin.log "$here/stage.yml" -e kubegpu_test_stage=cluster; then
    echo "kubernetes tests: the cluster stage passed on a node without a GPU" >&2; return 1
  fi
  fails_with device-plugin.log 'not every GPU node advertises its GPUs: .*kubegpu-k8s-worker: nvidia.com/gpu absent' &&
    fails_with device-plugin.log 'not every GPU node advertises its GPUs: .*kubegpu-k8s-crio: nvidia.com/gpu absent' &&
    # What each worker's plugin pod shows, with the hint from its log.
    fails_with device-plugin.log 'What the device plugin shows there: .*kubegpu-k8s-worker: pod nvidia-device-plugin-daemonset-[a-z0-9]+ Running, ready - no_devices' &&
    fails_with device-plugin.log 'What the device plugin shows there: .*kubegpu-k8s-crio: pod nvidia-device-plugin-daemonset-[a-z0-9]+ Running, ready - no_devices' &&
    playbook assert-device-plugin.log "$here/assert-device-plugin.yml"
}
# The validation pods stay Pending (Insufficient nvidia.com/gpu): the role must say so, per node.
validate() {
  if playbook validate.log "$here/stage.yml" -e kubegpu_test_stage=validate; then
    echo "kubernetes tests: validation passed on a node without a GPU" >&2; return 1
  fi
  # Each node's row in the summary table (with its runtime), its verdict, the scheduler's event and the device plugin's own log line.
  fails_with validate.log 'kubegpu-k8s-worker +0/1 .* containerd 1[.]7[.]24 .* insufficient_gpu"?,?$' &&
    fails_with validate.log 'kubegpu-k8s-crio +0/1 .* crio 1[.]36[.]3 .* insufficient_gpu"?,?$' &&
    fails_with validate.log 'kubegpu-k8s-worker: the scheduler found no node with enough nvidia.com/gpu' &&
    fails_with validate.log 'kubegpu-k8s-crio: the scheduler found no node with enough nvidia.com/gpu' &&
    fails_with validate.log 'FailedScheduling: 0/3 nodes are available: 1 Insufficient nvidia.com/gpu' &&
    fails_with validate.log 'device plugin: .*No devices found'
}
# One GPU Operator (its toolkit, its runtime class) serves GPU nodes of one
# runtime: with the containerd and the CRI-O worker both GPU nodes, the stage
# refuses it before anything is installed, and says how to split the run. The
# GPU Operator's and the DRA driver's steps then run on the containerd worker
# alone (kubegpu_gpu_nodes_group), as that message says, with the CRI-O
# worker's GPU label removed so that no DaemonSet of theirs lands there.
containerd_gpu_nodes=(-e kubegpu_gpu_nodes_group=kubegpu_test_containerd_gpu_nodes)
# The recorded H200 keeps its driver under the prefix /usr/local/nvidia; with this the worker claims a driver
# installed under /, as packages install it (NVIDIA's DRA driver serves no other; the GPU Operator's validator
# must still find its own image there).
package_root='{"kubegpu_test_facts": {"driver_root": {"root": "/", "library_dir": "/usr/lib/x86_64-linux-gnu"}}}'
containerd_gpu_nodes_only() {
  "$kubernetes_bundle/bin/kubectl" --kubeconfig "$KUBEGPU_K8S_WORK/admin.conf" label node "$crio_node" nvidia.com/gpu.present- >/dev/null ||
    { echo "kubernetes tests: could not remove the GPU label of $crio_node" >&2; return 1; }
}
# The GPU Operator from the shared chart in place of the device plugin. In cdi
# mode (the worker's, as the node stage decides it) the operator's own pods
# would run with a runtime handler the node does not have: refused, nothing
# installed. Then the worker claims runtime mode (the handler's node side has
# its own tests: tests/integration/container_runtime) and the chart is
# installed for real.
operator() {
  { if playbook operator-mixed.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=gpu_operator; then
      echo "kubernetes tests: one GPU Operator was installed for GPU nodes on containerd and CRI-O" >&2; return 1; fi; } &&
    fails_with operator-mixed.log 'The GPU nodes differ in runtime \(containerd: kubegpu-k8s-worker; crio: kubegpu-k8s-crio\), but one GPU Operator serves them all' &&
    containerd_gpu_nodes_only &&
    playbook device-plugin-absent.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e device_plugin_state=absent "${containerd_gpu_nodes[@]}" &&
    { if playbook operator-refused.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=gpu_operator "${containerd_gpu_nodes[@]}"; then
        echo "kubernetes tests: the GPU Operator was installed for a node in cdi mode" >&2; return 1; fi; } &&
    fails_with operator-refused.log 'these nodes are in cdi mode, where the container_runtime role adds no handler: kubegpu-k8s-worker\.' &&
    playbook operator-refused-assert.log "$here/assert-operator.yml" -e kubegpu_test_operator_installed=false &&
    { if playbook operator.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=gpu_operator \
        -e kubegpu_runtime_mode=runtime -e "$package_root" "${containerd_gpu_nodes[@]}"; then
        echo "kubernetes tests: the GPU Operator's validation passed on a node without a GPU" >&2; return 1; fi; } &&
    fails_with operator.log 'Deployment gpu-operator/gpu-operator: rolled out, 1 of 1 replicas ready' &&
    fails_with operator.log 'DaemonSet gpu-operator/nvidia-operator-validator: not ready' &&
    playbook assert-operator.log "$here/assert-operator.yml"
}
# NVIDIA's DRA driver in place of the GPU Operator. Refused first, nothing
# installed: the default namespace, and the worker in runtime mode (no CDI).
# Then installed for real: the DeviceClasses are accepted by the API server,
# the kubelet plugin runs only on the worker, whose init container waits for a
# driver that is not there, and the stage says so; a second run changes
# nothing. The validate pod's claim cannot be allocated, and the role says
# why; teardown leaves no release, namespace, DeviceClass or CRD behind.
dra() {
  # The recorded H200's prefix is refused below; the rest runs with the driver under / (package_root).
  local stage=(-e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=dra -e "$package_root" "${containerd_gpu_nodes[@]}")
  # Neither of the other stacks, whichever steps ran before.
  containerd_gpu_nodes_only &&
    playbook operator-absent.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=gpu_operator \
      -e kubegpu_runtime_mode=runtime -e gpu_operator_state=absent "${containerd_gpu_nodes[@]}" &&
    playbook operator-absent-assert.log "$here/assert-operator.yml" -e kubegpu_test_operator_installed=false &&
    playbook device-plugin-absent-dra.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e device_plugin_state=absent "${containerd_gpu_nodes[@]}" &&
    { if playbook dra-default-ns.log "$here/stage.yml" "${stage[@]}" -e dra_driver_namespace=default; then
        echo "kubernetes tests: the DRA driver was installed into the default namespace" >&2; return 1; fi; } &&
    fails_with dra-default-ns.log "dra_driver_namespace is 'default': NVIDIA's DRA driver refuses the default namespace" &&
    { if playbook dra-runtime-mode.log "$here/stage.yml" "${stage[@]}" -e kubegpu_runtime_mode=runtime; then
        echo "kubernetes tests: the DRA driver was installed for a node without CDI" >&2; return 1; fi; } &&
    fails_with dra-runtime-mode.log 'kubegpu-k8s-worker runs its GPUs in runtime mode, without CDI' &&
    { if playbook dra-prefix.log "$here/stage.yml" -e kubegpu_test_stage=cluster -e kubegpu_gpu_stack=dra "${containerd_gpu_nodes[@]}"; then
        echo "kubernetes tests: the DRA driver was installed for a driver under a prefix" >&2; return 1; fi; } &&
    fails_with dra-prefix.log 'on kubegpu-k8s-worker is installed under the prefix /usr/local/nvidia' &&
    playbook assert-dra-refused.log "$here/assert-dra.yml" -e kubegpu_test_dra=absent -e kubegpu_test_record_crds=true &&
    { if playbook dra.log "$here/stage.yml" "${stage[@]}"; then
        echo "kubernetes tests: the DRA driver served a node without a GPU" >&2; return 1; fi; } &&
    fails_with dra.log "NVIDIA's DRA driver does not serve every GPU node: kubegpu-k8s-worker: no ResourceSlice of gpu.nvidia.com lists a GPU" &&
    fails_with dra.log 'kubegpu-k8s-worker: pod dra-driver-nvidia-gpu-kubelet-plugin-' &&
    fails_with dra.log 'waiting for the NVIDIA driver under / on the host' &&
    playbook assert-dra.log "$here/assert-dra.yml" -e kubegpu_test_dra=present &&
    # The plugin's pod waits for a driver already: the diagnosis needs no long wait this time.
    { if playbook dra-again.log "$here/stage.yml" "${stage[@]}" -e dra_driver_wait_timeout=10; then
        echo "kubernetes tests: the second DRA run served a node without a GPU" >&2; return 1; fi; } &&
    unchanged dra-again.log &&
    # The role waits out validate_timeout for the ResourceSlice (it never lists a GPU here) before it starts
    # the pods, which the scheduler then refuses at once.
    { if playbook dra-validate.log "$here/stage.yml" -e kubegpu_test_stage=validate -e kubegpu_gpu_stack=dra -e "$package_root" \
        -e validate_timeout=20 "${containerd_gpu_nodes[@]}"; then
        echo "kubernetes tests: validation passed on a node without a GPU" >&2; return 1; fi; } &&
    fails_with dra-validate.log 'kubegpu-k8s-worker +0/1 .* claim_unallocatable"?$' &&
    fails_with dra-validate.log "kubegpu-k8s-worker: the scheduler could not allocate the pod's ResourceClaim" &&
    fails_with dra-validate.log 'kubelet plugin: .*waiting for the NVIDIA driver' &&
    playbook dra-absent.log "$here/stage.yml" "${stage[@]}" -e dra_driver_state=absent &&
    playbook assert-dra-absent.log "$here/assert-dra.yml" -e kubegpu_test_dra=absent
}
failure() { playbook failure.log "$here/failure.yml"; }
teardown() {
  playbook teardown.log playbooks/kubernetes.yml -e kubernetes_state=absent &&
    playbook teardown-again.log playbooks/kubernetes.yml -e kubernetes_state=absent && unchanged teardown-again.log &&
    playbook assert-teardown.log "$here/assert-teardown.yml"
}

# dra+failure: the failure case, on a node of its own, while the DRA step mostly waits on the cluster
# (a step after + runs in the background, its output follows the first's).
steps=(plan build rerun assert device_plugin validate operator dra+failure teardown)
all=" plan build rerun assert device_plugin validate operator dra failure teardown "
[ $# -gt 0 ] && steps=("$@")
for group in "${steps[@]}"; do
  IFS=+ read -r -a members <<<"$group"
  for step in "${members[@]}"; do
    [[ $all == *" $step "* ]] || { echo "kubernetes tests: no step '$step'; the steps are:${all% }" >&2; exit 2; }
  done
done
failed=()
summary=()
total=$SECONDS
record() {  # record STEP RC SECONDS
  if [ "$2" = 0 ]; then result=passed; else result=FAILED; failed+=("$1"); fi
  summary+=("$(printf '%-13s %-7s %5ss' "$1" "$result" "$3")")
}
for group in "${steps[@]}"; do
  IFS=+ read -r -a members <<<"$group"
  beside=()
  for step in "${members[@]:1}"; do
    echo "::: kubernetes tests: $step (beside ${members[0]}, its output after)"
    ( start=$SECONDS; "$step" >"$KUBEGPU_K8S_WORK/$step.out" 2>&1; echo "$? $((SECONDS - start))" >"$KUBEGPU_K8S_WORK/$step.rc" ) &
    beside+=($!)
  done
  step=${members[0]}
  echo "::: kubernetes tests: $step"
  start=$SECONDS
  "$step"
  record "$step" $? $((SECONDS - start))
  first=$result
  [ ${#beside[@]} -gt 0 ] && wait "${beside[@]}"
  for step in "${members[@]:1}"; do
    echo "::: kubernetes tests: $step (its output)"
    cat "$KUBEGPU_K8S_WORK/$step.out"
    read -r rc took <"$KUBEGPU_K8S_WORK/$step.rc" || { rc=1 took=0; }
    record "$step" "$rc" "$took"
  done
  if [ "${members[0]}" = build ]; then
    built
    # Nothing after a failed build can pass.
    [ "$first" = FAILED ] && break
  fi
done
echo "::: kubernetes tests summary ($((SECONDS - total)) s)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}"; exit 1; fi
echo "kubernetes tests passed"
