#!/usr/bin/env bash
# Inside the node container (tests/gpu/cluster.sh runs it with runc exec):
# the collection's site.yml on this host as a one-node GPU cluster.
#   tests/gpu/cluster-node.sh OUT STEP...
# Steps:
#   device_plugin  site.yml with kubegpu_gpu_stack=device_plugin (the first run)
#   rerun          the same again: it must change nothing
#   operator       the other stacks removed, then site.yml with kubegpu_gpu_stack=gpu_operator, the node in
#                  cdi_handler mode (NVIDIA Container Toolkit from the stage's release binaries)
#   dra            the other stacks removed (the cluster stage with their *_state=absent),
#                  then site.yml with kubegpu_gpu_stack=dra; then two pods that each claim the
#                  node's only GPU: the second waits while the first holds it, and runs once the
#                  first is gone (their logs and times in OUT/dra-claims.txt)
#   operator_rerun site.yml with the GPU Operator again: it must change nothing
#   dra_rerun      site.yml with the DRA driver again: it must change nothing
#   reload_device_plugin, reload_gpu_operator, reload_dra
#                  a GPU pod of that stack querying NVML every second through a systemctl
#                  daemon-reload and a runtime restart (tests/gpu/reload.sh)
#   device_reload  a container on systemd's cgroup driver keeps /dev/nvidia0 through a daemon-reload, without
#                  and with its /dev/char link (tests/gpu/systemd-device-reload.sh; no cluster needed)
#   down           kubernetes_state=absent (kubeadm reset and the rest)
#   check          what site.yml needs is there: systemd running, the node's runtime active
#                  (KUBEGPU_NODE_RUNTIME: containerd, or crio answering crictl and no containerd),
#                  the collections found, site.yml parsed with the GPU inventory, and gpu_facts'
#                  driver root (KUBEGPU_EXPECT_DRIVER_ROOT, when set, must be it)
# Each playbook run's log, its task timings and what the cluster shows
# afterwards (node, pods, their logs) go to OUT; times.txt collects the
# watch events (tests/gpu/watch.sh) and the per-stage seconds.
# KUBEGPU_SITE_ARGS adds ansible-playbook arguments to every site.yml run (a
# rehearsal on a build machine without a GPU passes its cgroup settings).
set -uo pipefail
out=${1:?usage: tests/gpu/cluster-node.sh OUT STEP...}
shift
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
mkdir -p "$out" /root/.ansible/collections/ansible_collections/kubegpu
ln -sfn "$repo" /root/.ansible/collections/ansible_collections/kubegpu/nvidia
export ANSIBLE_COLLECTIONS_PATH=/root/.ansible/collections:/opt/kubegpu/collections
export ANSIBLE_CONFIG=$repo/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PYTHONUNBUFFERED=1
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks ANSIBLE_LOCAL_TEMP=/tmp/ansible-local
export PATH=/opt/kubegpu/bin:$PATH
export KUBECONFIG=/etc/kubernetes/admin.conf
inventory=tests/gpu/cluster-inventory.yml

# playbook NAME [ARG...]: site.yml with the GPU inventory; log in OUT/NAME.log.
playbook() {
    local name=$1 start rc
    shift
    start=$(date +%s.%N)
    echo "$name start $start" >>"$out/times.txt"
    # shellcheck disable=SC2086 # KUBEGPU_SITE_ARGS: extra ansible-playbook arguments, split on spaces
    ansible-playbook -i "$inventory" site.yml "$@" ${KUBEGPU_SITE_ARGS:-} >"$out/$name.log" 2>&1
    rc=$?
    echo "$name end $(date +%s.%N) rc=$rc" >>"$out/times.txt"
    python3 tests/gpu/stage_times.py "$out/$name.log" >>"$out/times.txt" 2>&1 || true
    sed -n '/^PLAY RECAP/,$p' "$out/$name.log" | head -n 5
    return "$rc"
}

# observe NAME: what the cluster shows now, for the record.
observe() {
    local name=$1 pod
    {
        kubectl describe node
        echo "--- pods"
        kubectl get pods -A -o wide
    } >"$out/$name-cluster.txt" 2>&1
    for pod in $(kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null |
        grep -E '^(kubegpu-validate/|kube-system/nvidia-device-plugin|gpu-operator/|nvidia-dra-driver-gpu/)'); do
        echo "=== $pod"
        kubectl describe pod -n "${pod%%/*}" "${pod#*/}" 2>&1 | sed -n '/^Containers:/,$p'
        kubectl logs -n "${pod%%/*}" "${pod#*/}" --all-containers --prefix --tail=200 2>&1
        echo "--- previous"
        kubectl logs -n "${pod%%/*}" "${pod#*/}" --all-containers --prefix --tail=100 --previous 2>&1
    done >"$out/$name-pod-logs.txt"
    # What the kubelet said about pods and DRA claims (prepare, CDI), and the node's CDI specs.
    {
        journalctl -u kubelet --no-pager -o short-precise | grep -iE 'dra|claim|prepare|cdi|FailedCreatePodSandBox|Error' | tail -n 80
        echo "--- events"
        kubectl get events -A --sort-by=.lastTimestamp | tail -n 40
        echo "--- resourceclaims"
        kubectl get resourceclaims -A -o yaml
        echo "--- /var/run/cdi and /etc/cdi"
        ls -la /var/run/cdi /etc/cdi 2>&1
        head -c 4000 /var/run/cdi/*.json /var/run/cdi/*.yaml 2>/dev/null
    } >"$out/$name-kubelet.txt" 2>&1
}

# The mode the GPU Operator's step runs the node in (CDI and the nvidia handler, the toolkit's binaries).
operator_mode=(-e kubegpu_runtime_mode=cdi_handler -e container_toolkit_source=binaries
    -e container_toolkit_binaries_dir=/opt/kubegpu/nvidia/bin)

# remove_stacks_but STACK: every other GPU stack that runs on the cluster removed (the cluster stage with
# its *_state=absent), as the collection asks before a switch. A stack is there when its namespace is
# (the device plugin's: its DaemonSet in kube-system).
remove_stacks_but() {
    local keep=$1 rc=0
    if [ "$keep" != device_plugin ] && kubectl -n kube-system get daemonset -o name 2>/dev/null | grep -q nvidia-device-plugin; then
        KUBEGPU_GPU_STACK=device_plugin playbook device_plugin-absent --tags cluster -e device_plugin_state=absent || rc=1
    fi
    if [ "$keep" != gpu_operator ] && kubectl get namespace gpu-operator >/dev/null 2>&1; then
        KUBEGPU_GPU_STACK=gpu_operator playbook gpu_operator-absent --tags cluster -e gpu_operator_state=absent \
            "${operator_mode[@]}" || rc=1
    fi
    if [ "$keep" != dra ] && kubectl get namespace nvidia-dra-driver-gpu >/dev/null 2>&1; then
        KUBEGPU_GPU_STACK=dra playbook dra-absent --tags cluster -e dra_driver_state=absent || rc=1
    fi
    return "$rc"
}

status=0
for step in "$@"; do
    echo "=== $step ($(date -u +%H:%M:%S))"
    case $step in
        device_plugin)
            tests/gpu/watch.sh "$out/watch-device_plugin.txt" device_plugin &
            watcher=$!
            KUBEGPU_GPU_STACK=device_plugin playbook site-device_plugin || status=1
            kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
            observe device_plugin ;;
        rerun)
            KUBEGPU_GPU_STACK=device_plugin playbook site-rerun || status=1
            if ! grep -Eq '^localhost +: ok=[0-9]+ +changed=0 ' "$out/site-rerun.log"; then
                echo "the second run changed something:"; sed -n '/^PLAY RECAP/,$p' "$out/site-rerun.log"; status=1
            fi ;;
        operator)
            kubectl delete namespace kubegpu-validate --wait=true >/dev/null 2>&1 || true
            remove_stacks_but gpu_operator || status=1
            tests/gpu/watch.sh "$out/watch-operator.txt" gpu_operator &
            watcher=$!
            # The operator's own pods (validator, its device plugin) run with the nvidia handler beside CDI:
            # NVIDIA Container Toolkit from the stage's release binaries, in a mode without libnvidia-container.
            KUBEGPU_GPU_STACK=gpu_operator playbook site-gpu_operator "${operator_mode[@]}" || status=1
            kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
            observe gpu_operator ;;
        dra)
            kubectl delete namespace kubegpu-validate --wait=true >/dev/null 2>&1 || true
            remove_stacks_but dra || status=1
            tests/gpu/watch.sh "$out/watch-dra.txt" dra &
            watcher=$!
            KUBEGPU_GPU_STACK=dra playbook site-dra || status=1
            kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
            observe dra
            kubectl get resourceslices -o yaml >"$out/dra-resourceslices.yaml" 2>&1
            kubectl get deviceclasses -o yaml >"$out/dra-deviceclasses.yaml" 2>&1
            tests/gpu/dra-claims.sh "$out/dra-claims.txt" || status=1 ;;
        device_reload)
            tests/gpu/systemd-device-reload.sh "$out/device_reload.txt" >/dev/null || status=1
            tail -n 1 "$out/device_reload.txt" ;;
        reload_device_plugin | reload_gpu_operator | reload_dra)
            tests/gpu/reload.sh "$out/$step.txt" "${step#reload_}" || status=1
            tail -n 1 "$out/$step.txt" ;;
        dra_rerun)
            KUBEGPU_GPU_STACK=dra playbook site-dra-rerun || status=1
            if ! grep -Eq '^localhost +: ok=[0-9]+ +changed=0 ' "$out/site-dra-rerun.log"; then
                echo "the second run changed something:"; sed -n '/^PLAY RECAP/,$p' "$out/site-dra-rerun.log"; status=1
            fi ;;
        operator_rerun)
            KUBEGPU_GPU_STACK=gpu_operator playbook site-gpu_operator-rerun "${operator_mode[@]}" || status=1
            if ! grep -Eq '^localhost +: ok=[0-9]+ +changed=0 ' "$out/site-gpu_operator-rerun.log"; then
                echo "the second run changed something:"; sed -n '/^PLAY RECAP/,$p' "$out/site-gpu_operator-rerun.log"; status=1
            fi ;;
        down)
            ansible-playbook -i "$inventory" playbooks/kubernetes.yml -e kubernetes_state=absent >"$out/down.log" 2>&1 || status=1
            sed -n '/^PLAY RECAP/,$p' "$out/down.log" | head -n 5 ;;
        check)
            state=$(systemctl is-system-running)
            runtime=${KUBEGPU_NODE_RUNTIME:-containerd}
            echo "systemd: $state; $runtime: $(systemctl is-active "$runtime")"
            case $state in running | degraded) ;; *) status=1 ;; esac
            systemctl is-active --quiet "$runtime" || status=1
            if [ "$runtime" = crio ]; then
                crictl --runtime-endpoint unix:///var/run/crio/crio.sock version || status=1
                crio status config 2>/dev/null | grep -m1 -E '^ *cgroup_manager' || { echo "crio status config: no cgroup_manager"; status=1; }
                ! command -v containerd >/dev/null || { echo "containerd is still installed"; status=1; }
            fi
            ansible-galaxy collection list 2>/dev/null | grep -E '^(kubegpu\.nvidia|kubernetes\.core|community\.general|ansible\.posix) ' ||
                status=1
            ansible-playbook -i "$inventory" site.yml --syntax-check || status=1
            # Where gpu_facts finds the driver (the node's driver layout decides it).
            root=$(ansible localhost -i "$inventory" -m kubegpu.nvidia.gpu_facts -a nvidia_smi=false -o 2>&1 |
                python3 -c 'import json, sys; t = sys.stdin.read(); print(json.loads(t[t.index("{"):])["ansible_facts"]["nvidia"]["driver_root"]["root"])') ||
                root="(gpu_facts failed)"
            echo "gpu_facts: driver root $root"
            if [ -n "${KUBEGPU_EXPECT_DRIVER_ROOT:-}" ] && [ "$root" != "$KUBEGPU_EXPECT_DRIVER_ROOT" ]; then
                echo "expected driver root $KUBEGPU_EXPECT_DRIVER_ROOT"; status=1
            fi ;;
        *) echo "unknown step $step (device_plugin rerun operator operator_rerun dra dra_rerun reload_device_plugin reload_gpu_operator reload_dra device_reload down check)" >&2; exit 2 ;;
    esac
done
exit "$status"
