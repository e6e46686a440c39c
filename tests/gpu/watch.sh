#!/usr/bin/env bash
# Note when the cluster first shows each milestone of a GPU stack's rollout,
# as "NAME EPOCH-SECONDS" lines in FILE, polling every half second until
# killed (tests/gpu/cluster-node.sh starts it beside site.yml):
#   tests/gpu/watch.sh FILE device_plugin|gpu_operator|dra
# Milestones: device_plugin: ds_created (the plugin's DaemonSet exists),
# node_gpu (the node advertises nvidia.com/gpu), validate_pod (the validate
# role's pod exists), validate_output (its first container has printed);
# gpu_operator: helm_release (helm wrote the release), operator_ready, node_gpu
# (the node advertises nvidia.com/gpu, from the operator's device plugin),
# validator_ready (the operator's validator DaemonSet has a ready pod), and the
# validate pod's two; dra: ds_created (the kubelet plugin's DaemonSet exists),
# slice_gpu (a gpu.nvidia.com ResourceSlice lists a GPU), and the validate pod's two.
set -u
file=${1:?usage: tests/gpu/watch.sh FILE device_plugin|gpu_operator|dra}
stack=${2:?usage: tests/gpu/watch.sh FILE device_plugin|gpu_operator|dra}
case $stack in
    device_plugin) todo=(ds_created node_gpu validate_pod validate_output) ;;
    gpu_operator) todo=(helm_release operator_ready node_gpu validator_ready validate_pod validate_output) ;;
    dra) todo=(dra_ds_created slice_gpu validate_pod validate_output) ;;
    *) echo "watch: unknown stack $stack" >&2; exit 2 ;;
esac
: >"$file"
k() { kubectl --request-timeout=2s "$@" 2>/dev/null; }
seen() {
    case $1 in
        ds_created) k get daemonset -n kube-system nvidia-device-plugin-daemonset -o name | grep -q . ;;
        node_gpu) [ "$(k get nodes -o jsonpath='{.items[0].status.capacity.nvidia\.com/gpu}')" -ge 1 ] 2>/dev/null ;;
        validate_pod) k get pods -n kubegpu-validate -o name | grep -q . ;;
        validate_output)
            local pod
            pod=$(k get pods -n kubegpu-validate -o jsonpath='{.items[0].metadata.name}')
            [ -n "$pod" ] && k logs -n kubegpu-validate "$pod" -c nvidia-smi | grep -q . ;;
        dra_ds_created) k get daemonset -n nvidia-dra-driver-gpu dra-driver-nvidia-gpu-kubelet-plugin -o name | grep -q . ;;
        slice_gpu) k get resourceslices -o jsonpath='{range .items[*]}{.spec.driver} {.spec.devices[*].name}{"\n"}{end}' |
            grep -q '^gpu.nvidia.com .*gpu-' ;;
        helm_release) k get secret -n gpu-operator sh.helm.release.v1.gpu-operator.v1 -o name | grep -q . ;;
        operator_ready) [ "$(k get deployment -n gpu-operator gpu-operator -o jsonpath='{.status.readyReplicas}')" -ge 1 ] 2>/dev/null ;;
        validator_ready) [ "$(k get daemonset -n gpu-operator nvidia-operator-validator -o jsonpath='{.status.numberReady}')" -ge 1 ] 2>/dev/null ;;
    esac
}
while [ ${#todo[@]} -gt 0 ]; do
    left=()
    for name in "${todo[@]}"; do
        if seen "$name"; then echo "$name $(date +%s.%N)" >>"$file"; else left+=("$name"); fi
    done
    todo=("${left[@]}")
    sleep 0.5
done
