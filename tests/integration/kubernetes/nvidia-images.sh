#!/usr/bin/env bash
# Build the NVIDIA images the cluster-side tests deploy, and print the path of
# a directory holding them (stdout: the path only; progress on stderr):
#   images/*.tar    one archive each, for `ctr -n k8s.io images import FILE`
#   images.txt      the image names, one a line
#   SHA256SUMS      sha256sum of images/*.tar, paths relative to the directory
#                   (images/NAME.tar): who copies the archives into a bundle's
#                   images/ appends these lines to the bundle's SHA256SUMS
#
# Images, named as the GPU Operator chart v26.7.0 names them (read from the
# chart rendered with helm, so the names follow its values.yaml):
#   nvcr.io/nvidia/k8s-device-plugin:v0.20.0
#       devicePlugin and gfd of the chart. As upstream's
#       deployments/container/Dockerfile: nvidia-device-plugin and
#       gpu-feature-discovery in /usr/bin, ENTRYPOINT ["nvidia-device-plugin"],
#       NVIDIA_VISIBLE_DEVICES=all, NVIDIA_DRIVER_CAPABILITIES=compute,utility,
#       NVIDIA_DISABLE_REQUIRE=true. The binaries link glibc: Debian trixie base.
#   nvcr.io/nvidia/gpu-operator:v26.7.0
#       operator.* and validator.* of the chart (one image, as upstream's
#       docker/Dockerfile builds it): gpu-operator and nvidia-validator in
#       /usr/bin, ENTRYPOINT ["/usr/bin/gpu-operator"], USER 1000:1000,
#       NVIDIA_VISIBLE_DEVICES=void, and from the gpu-operator source at tag
#       v26.7.0: assets/ as /opt/gpu-operator/, manifests/ as
#       /opt/gpu-operator/manifests, validator/manifests as
#       /opt/validator/manifests and the CRDs the chart's upgrade hook applies.
#       Not in it (no binary here): manage-crds and cleanup-gpuclusters (the
#       chart's pre-upgrade and pre-delete hook jobs), the CUDA vectorAdd
#       sample and CUDA compat libraries (the validator's workload pods), and
#       the device plugin's config-manager and mps-control-daemon.
#
# Inputs: nvidia-device-plugin, gpu-feature-discovery, gpu-operator,
# nvidia-validator (.xz) and gpu-operator-v26.7.0.tgz from KUBEGPU_SHARED_BIN,
# each checked against its SHA256SUMS; NVIDIA's own files of the operator tag
# that its images need (assets, manifests, validator manifests, CRDs, LICENSE),
# from vendor/gpu-operator-v26.7.0.tar.xz (see vendor/README.md); helm
# (helm.sh); podman and scripts/podman-image.sh for the Debian trixie base.
#
# Environment:
#   KUBEGPU_SHARED_BIN   release binaries (default: ../shared/bin beside the
#                        repository root)
#   KUBEGPU_CACHE        cache root (default /var/cache/kubegpu)
#
# Cached: $KUBEGPU_CACHE/nvidia-images-<hash>, the hash taken over
# SHA256SUMS, this script, images-lib.sh, helm.sh, scripts/podman-image.sh and
# the vendored archive. With nothing changed a call only prints
# the path; a build runs in a temporary directory renamed at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/images-lib.sh
. "$here/images-lib.sh"

operator_tag=v26.7.0
plugin_version=v0.20.0
chart=gpu-operator-$operator_tag.tgz
# NVIDIA's files of the tag, vendored (the build machines reach no git host).
operator_files=$here/vendor/gpu-operator-$operator_tag.tar.xz
[ -s "$operator_files" ] || kg_die "no $operator_files (vendor/README.md says how it is made)"

sums=$(kg_sums)
hash=$(kg_hash "$sums" "$here/nvidia-images.sh" "$kg_lib" "$here/helm.sh" \
    "$kg_root/scripts/podman-image.sh" "$operator_files")
if kg_cached nvidia-images "$hash"; then
    exit 0
fi

kg_need podman xz sha256sum
start=$SECONDS
kg_workdir nvidia-images "$hash"
out=$kg_work/out
ctx=$kg_work/context
mkdir -p "$out/images" "$ctx"

# Image names as the chart renders them (versions default to appVersion).
kg_verify "$chart"
helm=$("$here/helm.sh")
rendered=$("$helm" template t "$kg_shared_bin/$chart" --namespace gpu-operator \
    --show-only templates/operator.yaml --show-only templates/clusterpolicy.yaml)
operator_image=$(awk '$1 == "image:" && $2 ~ /gpu-operator/ { print $2; exit }' <<<"$rendered")
component_image() { # $1: ClusterPolicy spec key -> repository/image:version
    awk -v key="  $1:" '
        $0 == key { inside = 1; next }
        inside && /^  [^ ]/ { exit }
        inside && $1 == "repository:" { gsub(/"/, "", $2); repo = $2 }
        inside && $1 == "image:" { gsub(/"/, "", $2); image = $2 }
        inside && $1 == "version:" { gsub(/"/, "", $2); version = $2 }
        END { if (repo && image && version) print repo "/" image ":" version }' <<<"$rendered"
}
validator_image=$(component_image validator)
plugin_image=$(component_image devicePlugin)
gfd_image=$(component_image gfd)
if [ -z "$operator_image" ] || [ -z "$validator_image" ] || [ -z "$plugin_image" ]; then
    kg_die "could not read the operator, validator and device plugin images from $chart"
fi
[ "$gfd_image" = "$plugin_image" ] ||
    kg_die "the chart's gfd image ($gfd_image) is not its device plugin image ($plugin_image)"
[ "${plugin_image##*:}" = "$plugin_version" ] ||
    kg_die "the chart wants $plugin_image, the binaries here are $plugin_version"
[ "${operator_image##*:}" = "$operator_tag" ] ||
    kg_die "the chart wants $operator_image, the binaries here are $operator_tag"
kg_log "chart $chart: operator $operator_image, validator $validator_image, device plugin $plugin_image"

# shellcheck disable=SC2119 # no extra packages
base=$(kg_base_image)

# Device plugin (and GPU feature discovery, same image).
dir=$ctx/device-plugin
for name in nvidia-device-plugin gpu-feature-discovery; do
    kg_unpack "$name" "$dir/rootfs/usr/bin/$name"
done
cat >"$dir/Containerfile" <<EOF
FROM $base
RUN $kg_slim
COPY rootfs/ /
ENV NVIDIA_DISABLE_REQUIRE=true NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
ENTRYPOINT ["nvidia-device-plugin"]
CMD []
EOF
kg_image "$plugin_image" "$dir" "$out/images/k8s-device-plugin.tar" --squash-all

# GPU Operator (and validator, same image unless the chart says otherwise).
dir=$ctx/gpu-operator
for name in gpu-operator nvidia-validator; do
    kg_unpack "$name" "$dir/rootfs/usr/bin/$name"
done
mkdir -p "$dir/git" "$dir/rootfs/opt/gpu-operator/manifests" "$dir/rootfs/opt/validator/manifests" "$dir/rootfs/licenses"
crds=deployments/gpu-operator/crds
nfd_crds=deployments/gpu-operator/charts/node-feature-discovery/crds/nfd-api-crds.yaml
tar -xJf "$operator_files" -C "$dir/git"
cp -a "$dir/git/assets/." "$dir/rootfs/opt/gpu-operator/"
cp -a "$dir/git/manifests/." "$dir/rootfs/opt/gpu-operator/manifests/"
cp -a "$dir/git/validator/manifests/." "$dir/rootfs/opt/validator/manifests/"
cp "$dir/git/$crds"/nvidia.com_*.yaml "$dir/git/$nfd_crds" "$dir/rootfs/opt/gpu-operator/"
cp "$dir/git/LICENSE" "$dir/rootfs/licenses/"
cat >"$dir/Containerfile" <<EOF
FROM $base
RUN $kg_slim
COPY rootfs/ /
ENV NVIDIA_VISIBLE_DEVICES=void
USER 1000:1000
ENTRYPOINT ["/usr/bin/gpu-operator"]
CMD []
EOF
kg_image "$operator_image" "$dir" "$out/images/gpu-operator.tar" --squash-all
if [ "$validator_image" != "$operator_image" ]; then
    kg_image "$validator_image" "$dir" "$out/images/gpu-operator-validator.tar" --squash-all
fi

printf '%s\n' "$plugin_image" "$operator_image" "$validator_image" | sort -u >"$out/images.txt"
(cd "$out" && find images -type f -name '*.tar' -print0 | sort -z | xargs -0 sha256sum -- >SHA256SUMS)
rm -rf "$ctx"
kg_log "built in $((SECONDS - start)) s: $(tr '\n' ' ' <"$out/images.txt")"
kg_publish "$out" nvidia-images "$hash"
