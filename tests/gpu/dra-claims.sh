#!/usr/bin/env bash
# Inside the node container, after site.yml with the DRA driver: two pods that
# each claim the node's only GPU (a ResourceClaimTemplate of one gpu.nvidia.com
# device). The first runs nvidia-smi and the vector add and holds the GPU for
# a while; the second must wait (the scheduler cannot allocate its claim) and
# run once the first is done, on the same GPU. Log and times in FILE.
#   tests/gpu/dra-claims.sh FILE
set -uo pipefail
file=${1:?usage: tests/gpu/dra-claims.sh FILE}
ns=kubegpu-dra-claims
image=${KUBEGPU_CLAIM_IMAGE:-localhost/kubegpu/cuda-vectoradd:v1}
hold=${KUBEGPU_CLAIM_HOLD:-20}
exec >>"$file" 2>&1
now() { date +%s.%N; }
say() { echo "$(date -u +%H:%M:%S.%N | cut -c1-12) $*"; }
phase() { kubectl get pod -n "$ns" "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
fail() { say "FAILED: $*"; kubectl get pods,resourceclaims -n "$ns" -o wide; kubectl describe pods -n "$ns" | tail -n 40; exit 1; }

manifest() { # manifest NAME COMMAND
    cat <<EOT
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: $1, namespace: $ns}
spec:
  spec:
    devices:
      requests:
        - name: gpu
          exactly: {deviceClassName: gpu.nvidia.com, allocationMode: ExactCount, count: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
  resourceClaims: [{name: gpu, resourceClaimTemplateName: $1}]
  containers:
    - name: gpu
      image: $image
      imagePullPolicy: Never
      command: ["sh", "-c", "$2"]
      resources: {claims: [{name: gpu}]}
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
EOT
}

kubectl delete namespace "$ns" --wait=true >/dev/null 2>&1
kubectl create namespace "$ns" >/dev/null || fail "could not create namespace $ns"
say "first pod: nvidia-smi -L, the vector add, then it holds the GPU for $hold s"
first_created=$(now)
manifest first "nvidia-smi -L; vectoradd; sleep $hold" | kubectl apply -f - >/dev/null || fail "could not create the first pod"
for _ in $(seq 1 240); do
    kubectl logs -n "$ns" first 2>/dev/null | grep -q '^GPU ' && break
    sleep 0.25
done
first_output=$(now)
kubectl logs -n "$ns" first 2>/dev/null | grep -q '^GPU ' || fail "the first pod printed nothing"
say "first pod's first output $(awk -v a="$first_created" -v b="$first_output" 'BEGIN { printf "%.2f", b - a }') s after its creation"
echo "claim_pod_first_output $(awk -v a="$first_created" -v b="$first_output" 'BEGIN { printf "%.2f", b - a }')"

say "second pod, while the first holds the only GPU"
manifest second "nvidia-smi -L" | kubectl apply -f - >/dev/null || fail "could not create the second pod"
sleep 5
[ "$(phase first)" = Running ] || fail "the first pod is no longer running ($(phase first)): raise KUBEGPU_CLAIM_HOLD"
[ "$(phase second)" = Pending ] || fail "the second pod is $(phase second) while the first holds the GPU"
kubectl get events -n "$ns" --field-selector involvedObject.name=second -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' |
    sed 's/^/second pod event: /'
kubectl get resourceclaims -n "$ns" -o wide

for _ in $(seq 1 $((hold * 4 + 240))); do
    [ "$(phase second)" = Succeeded ] && break
    case $(phase second) in Failed) break ;; esac
    sleep 0.5
done
first_done=$(kubectl get pod -n "$ns" first -o jsonpath='{.status.containerStatuses[0].state.terminated.finishedAt}')
second_started=$(kubectl get pod -n "$ns" second -o jsonpath='{.status.containerStatuses[0].state.terminated.startedAt}')
say "first pod finished at $first_done, second started at $second_started"
echo "--- first pod's log"; kubectl logs -n "$ns" first
echo "--- second pod's log"; kubectl logs -n "$ns" second
[ "$(phase second)" = Succeeded ] || fail "the second pod did not run after the first released the GPU ($(phase second))"
one=$(kubectl logs -n "$ns" first | grep -o 'UUID: GPU-[0-9a-f-]*')
two=$(kubectl logs -n "$ns" second | grep -o 'UUID: GPU-[0-9a-f-]*')
if [ -z "$one" ] || [ "$one" != "$two" ]; then fail "the two pods saw different GPUs: '$one' and '$two'"; fi
kubectl logs -n "$ns" first | grep -q 'Test PASSED' || fail "the first pod's vector add did not pass"
say "passed: the second claim waited for the GPU the first held ($one), and got it once released"
kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
