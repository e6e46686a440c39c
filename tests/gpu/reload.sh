#!/usr/bin/env bash
# Inside the node container, with a GPU stack running: does a GPU container keep
# its GPU through `systemctl daemon-reload` and through a restart of the container
# runtime? (NVIDIA/nvidia-container-toolkit issue 48: with the systemd cgroup
# driver, a daemon-reload has made running GPU containers lose their device access.)
# A pod queries NVML every second (nvidia-smi); the node reloads systemd, then
# restarts the runtime; every query after each must still list the GPU.
#   tests/gpu/reload.sh FILE STACK      STACK: device_plugin, gpu_operator (nvidia.com/gpu from its device
#                                       plugin) or dra (a ResourceClaim)
set -uo pipefail
file=${1:?usage: tests/gpu/reload.sh FILE device_plugin|gpu_operator|dra}
stack=${2:?usage: tests/gpu/reload.sh FILE device_plugin|gpu_operator|dra}
ns=kubegpu-reload
image=${KUBEGPU_CLAIM_IMAGE:-localhost/kubegpu/cuda-vectoradd:v1}
runtime=$(systemctl is-active --quiet crio && echo crio || echo containerd)
exec >>"$file" 2>&1
say() { echo "$(date -u +%H:%M:%S.%N | cut -c1-12) $*"; }
fail() { say "FAILED: $*"; kubectl describe pod -n "$ns" nvml | tail -n 30; exit 1; }
if [ "$stack" = dra ]; then
    claim='resourceClaims: [{name: gpu, resourceClaimTemplateName: nvml}]'
    limits='claims: [{name: gpu}]'
    template='apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: nvml, namespace: '$ns'}
spec: {spec: {devices: {requests: [{name: gpu, exactly: {deviceClassName: gpu.nvidia.com, allocationMode: ExactCount, count: 1}}]}}}
---'
else
    claim='' limits='limits: {nvidia.com/gpu: "1"}' template=''
fi
kubectl delete namespace "$ns" --wait=true >/dev/null 2>&1
kubectl create namespace "$ns" >/dev/null || fail "could not create namespace $ns"
cat <<EOT | kubectl apply -f - >/dev/null || fail "could not create the pod"
$template
apiVersion: v1
kind: Pod
metadata: {name: nvml, namespace: $ns}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
  $claim
  containers:
    - name: nvml
      image: $image
      imagePullPolicy: Never
      command: ["sh", "-c", "while :; do echo \"\$(date -u +%H:%M:%S) \$(nvidia-smi --query-gpu=uuid --format=csv,noheader 2>&1 | head -n 1)\"; sleep 1; done"]
      resources: {$limits}
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
EOT
kubectl wait -n "$ns" pod/nvml --for=condition=Ready --timeout=120s >/dev/null || fail "the pod did not start"
driver=$(grep -rhoE 'SystemdCgroup = (true|false)|cgroup_manager = "[a-z]+"' /etc/containerd /etc/crio 2>/dev/null | head -n 1)
say "pod runs ($stack, $runtime, cgroup driver: ${driver:-cgroupfs, the default of a runtime whose configuration does not say})"
sleep 5
reload_at=$(date -u +%H:%M:%S); say "systemctl daemon-reload"; systemctl daemon-reload
sleep 10
restart_at=$(date -u +%H:%M:%S); say "systemctl restart $runtime"; systemctl restart "$runtime"
sleep 15
say "the pod's log:"
log=$(kubectl logs -n "$ns" nvml)
echo "$log"
kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
after_reload=$(awk -v t="$reload_at" '$1 > t' <<<"$log")
after_restart=$(awk -v t="$restart_at" '$1 > t' <<<"$log")
[ "$(grep -c . <<<"$after_reload")" -ge 10 ] || fail "fewer than 10 queries after the daemon-reload"
[ "$(grep -c . <<<"$after_restart")" -ge 5 ] || fail "fewer than 5 queries after the runtime restart"
if grep -v ' GPU-' <<<"$after_reload" | grep .; then fail "the GPU was lost after the daemon-reload (lines above)"; fi
say "passed: every query after the daemon-reload ($reload_at) and the $runtime restart ($restart_at) listed the GPU"
