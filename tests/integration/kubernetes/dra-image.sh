#!/usr/bin/env bash
# Build the image of NVIDIA's DRA driver for GPUs (kubelet plugin v0.4.1) and
# print the path of a directory holding it (stdout: the path only):
#   images/dra-driver-nvidia-gpu.tar   for `ctr -n k8s.io images import FILE`
#   images.txt                         the image name
#   chart/dra-driver-nvidia-gpu-v0.4.1.tgz   the chart, as the shared binaries hold it
#
# The image is named as the chart names it (read from the chart rendered with
# helm): registry.k8s.io/dra-driver-nvidia/dra-driver-nvidia-gpu:v0.4.1. As the
# project's own image, it holds gpu-kubelet-plugin and the toolkit's
# nvidia-cdi-hook in /usr/bin (the plugin copies the hook to the host for the
# CDI specs it writes), bash, and the init container's
# /usr/bin/kubelet-plugin-prestart.sh (dra/kubelet-plugin-prestart.sh: waits
# for the driver under nvidiaDriverRoot). The ComputeDomain programs and the
# webhook are not in it (no binary here; the collection turns them off).
#
# Inputs: gpu-kubelet-plugin.xz, nvidia-cdi-hook.xz and the chart from
# KUBEGPU_SHARED_BIN, each checked against its SHA256SUMS; helm (helm.sh);
# podman and scripts/podman-image.sh for the Debian trixie base.
# Cached in $KUBEGPU_CACHE/dra-image-<hash> (inputs, this script, the prestart script).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/images-lib.sh
. "$here/images-lib.sh"

chart=dra-driver-nvidia-gpu-v0.4.1.tgz
sums=$(kg_sums)
hash=$(kg_hash "$sums" "$here/dra-image.sh" "$here/dra/kubelet-plugin-prestart.sh" "$kg_lib" "$here/helm.sh" \
    "$kg_root/scripts/podman-image.sh")
if kg_cached dra-image "$hash"; then
    exit 0
fi

kg_need podman xz sha256sum
start=$SECONDS
kg_workdir dra-image "$hash"
out=$kg_work/out
ctx=$kg_work/context
mkdir -p "$out/images" "$out/chart" "$ctx/rootfs/usr/bin"

kg_verify "$chart"
cp "$kg_shared_bin/$chart" "$out/chart/"
helm=$("$here/helm.sh")
image=$("$helm" template t "$kg_shared_bin/$chart" --namespace nvidia-dra-driver-gpu \
    --set gpuResourcesEnabledOverride=true --set resources.computeDomains.enabled=false \
    --show-only templates/kubeletplugin.yaml | awk '$1 == "image:" { print $2; exit }')
[ -n "$image" ] || kg_die "could not read the kubelet plugin's image from $chart"
kg_log "chart $chart: kubelet plugin image $image"

kg_unpack gpu-kubelet-plugin "$ctx/rootfs/usr/bin/gpu-kubelet-plugin"
kg_unpack nvidia-cdi-hook "$ctx/rootfs/usr/bin/nvidia-cdi-hook"
install -m 0755 "$here/dra/kubelet-plugin-prestart.sh" "$ctx/rootfs/usr/bin/kubelet-plugin-prestart.sh"
# shellcheck disable=SC2119 # no extra packages
base=$(kg_base_image)
cat >"$ctx/Containerfile" <<EOT
FROM $base
RUN $kg_slim
COPY rootfs/ /
ENV NVIDIA_VISIBLE_DEVICES=void
ENTRYPOINT []
CMD ["gpu-kubelet-plugin"]
EOT
kg_image "$image" "$ctx" "$out/images/dra-driver-nvidia-gpu.tar" --squash-all
echo "$image" >"$out/images.txt"
rm -rf "$ctx"
kg_log "built in $((SECONDS - start)) s: $image"
kg_publish "$out" dra-image "$hash"
