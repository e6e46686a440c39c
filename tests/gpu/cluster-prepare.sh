#!/usr/bin/env bash
# Assemble what tests/gpu/cluster.sh needs on the GPU host (no network there),
# on a build machine with package registries, into .gpu-carry-k8s/:
#   MANIFEST        one line per part: sha256, size, name; then "stage <hash>"
#   part-NN         an xz-compressed tar of the stage tree, cut into parts of
#                   at most 60 MiB, so that one device call carries one part
#                   (the working tree that travels is limited to 64 MiB)
# The stage tree:
#   rootfs.tar      the node's root file system: Debian trixie with systemd,
#                   containerd 1.7.24, runc, the CNI plugins, iptables, and the
#                   controller side (ansible-core 2.19, python3-kubernetes,
#                   python3-tomlkit) from Debian; docs, locales and caches left out
#   bundle/         the air-gapped Kubernetes bundle of the kubernetes role
#                   (tests/integration/kubernetes/bundle.sh) plus the NVIDIA images
#                   (nvidia-images.sh): bin/ and images/*.tar
#   bin/helm        for kubernetes.core.helm (helm.sh)
#   collections/    kubernetes.core, community.general and ansible.posix from the
#                   controller venv, which the collection's playbooks use
#   crio/           CRI-O v1.36.3's crio, pinns and crictl from the shared binaries, with SHA256SUMS
#                   (a CRI-O node: conmon, crun and podman are in the root file system)
#   glibc-root.tar  the minimal glibc root of the test image (tests/gpu/prepare.sh ci)
#   chart/          the GPU Operator's and NVIDIA's DRA driver's charts from the shared binaries
#   nvidia/bin/     from the shared binaries, unpacked: NVIDIA's DRA kubelet plugin
#                   (gpu-kubelet-plugin; tests/gpu/cluster.sh builds its image on the host)
#                   and NVIDIA Container Toolkit (nvidia-ctk, nvidia-container-runtime,
#                   nvidia-cdi-hook), with SHA256SUMS
#
#   tests/gpu/cluster-prepare.sh              the parts, in .gpu-carry-k8s/
#   tests/gpu/cluster-prepare.sh --tree DIR   the stage tree itself in DIR, unpacked, as
#                                             stage.sh leaves it (the build machine's rehearsal)
# Cached: the parts are rebuilt only when an input changed (the "stage" hash
# in MANIFEST is taken over the inputs). Needs root, podman, xz, and the
# inputs of bundle.sh and nvidia-images.sh (KUBEGPU_SHARED_BIN, the
# gpu-operator git mirror).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/tests/integration/containers.conf}
k8s=$repo/tests/integration/kubernetes
out=$repo/.gpu-carry-k8s
cache=${KUBEGPU_CACHE:-/var/cache/kubegpu}
tree_only=""
if [ "${1:-}" = --tree ]; then tree_only=${2:?usage: tests/gpu/cluster-prepare.sh [--tree DIR]}; fi
log() { echo "cluster-prepare: $*" >&2; }
die() { log "$*"; exit 1; }

[ -x .venv/bin/ansible-playbook ] || die "run scripts/setup.sh first (the collections come from .venv)"
scripts/apt-install.sh cluster-prepare podman debootstrap runc xz-utils || exit 1
shared_bin=$(cd "${KUBEGPU_SHARED_BIN:-$repo/../shared/bin}" 2>/dev/null && pwd) ||
    die "no directory ${KUBEGPU_SHARED_BIN:-$repo/../shared/bin} of release binaries (set KUBEGPU_SHARED_BIN)"
export KUBEGPU_SHARED_BIN=$shared_bin

# The node image: the kubernetes test's node packages, and the controller side.
node_packages=(containerd runc systemd systemd-sysv containernetworking-plugins iptables conntrack ethtool socat iproute2 kmod procps)
controller_packages=(ansible-core python3-kubernetes python3-tomlkit)
# For a CRI-O node (tests/gpu/cluster.sh with KUBEGPU_NODE_RUNTIME=crio): CRI-O's runtime and monitor
# (crio links libseccomp2 and libsqlite3-0; crun's systemd cgroups talk D-Bus), and podman, which the
# kubernetes role loads the bundle's images into CRI-O's store with. CRI-O itself: stage crio/.
crio_packages=(conmon crun podman libseccomp2 libsqlite3-0 dbus)
base=$(scripts/podman-image.sh trixie "${node_packages[@]}")
bundle=$("$k8s/bundle.sh")
nvidia=$("$k8s/nvidia-images.sh")
helm=$("$k8s/helm.sh")
crio_bin=$(tests/integration/crio_runtime/crio-bin.sh) || die "no CRI-O binaries (tests/integration/crio_runtime/crio-bin.sh)"
tests/gpu/prepare.sh ci >/dev/null
glibc_root=${KUBEGPU_CDI_CACHE:-$repo/.cache/cdi-e2e}/rootfs
collections=$(echo .venv/lib/python3*/site-packages/ansible_collections)
[ -d "$collections/kubernetes/core" ] || die "no kubernetes.core in $collections (scripts/setup.sh installs the ansible package)"

# NVIDIA's DRA kubelet plugin and the toolkit's binaries, for the GPU host.
nvidia_binaries=(gpu-kubelet-plugin nvidia-cdi-hook nvidia-ctk nvidia-container-runtime)
stage_hash=$(
    {
        printf '%s\n' "$base" "${controller_packages[@]}" "${crio_packages[@]}" "$bundle" "$nvidia" "$helm"
        (cd "$crio_bin" && sha256sum crio pinns crictl)
        sha256sum "$0" "$shared_bin/SHA256SUMS"
        cat "$collections"/kubernetes/core/MANIFEST.json "$collections"/community/general/MANIFEST.json \
            "$collections"/ansible/posix/MANIFEST.json | sha256sum
        find "$glibc_root" -type f -printf '%P %s\n' | sort
    } | sha256sum | cut -c1-16
)
if [ -n "$tree_only" ] && [ "$(cat "$tree_only/.complete" 2>/dev/null)" = "$stage_hash" ]; then
    log "up to date: $tree_only"
    echo "$stage_hash"
    exit 0
fi
if [ -z "$tree_only" ] && [ -f "$out/MANIFEST" ] && grep -qx "stage $stage_hash" "$out/MANIFEST"; then
    log "up to date: $out ($(grep -c ' part-' "$out/MANIFEST") parts)"
    exit 0
fi

work=$(mktemp -d "$cache/.gpu-cluster-stage.XXXXXX")
trap 'rm -rf "$work"; podman rm -f kubegpu-gpu-node-export >/dev/null 2>&1 || true' EXIT
stage=$work/stage
mkdir -p "$stage/bundle/images" "$stage/bin" "$stage/crio" "$stage/collections/ansible_collections"/{kubernetes,community,ansible} "$stage/chart"

image=localhost/kubegpu-gpu-node:$stage_hash
if ! podman image exists "$image"; then
    log "building the node image $image from $base"
    mkdir -p "$work/context"
    cat >"$work/context/Containerfile" <<EOF
FROM $base
RUN apt-get -qq update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${controller_packages[*]} ${crio_packages[*]} >/dev/null \\
 && apt-get clean \\
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/locale/* /usr/share/info/* \\
    /usr/share/ieee-data/* /usr/lib/python3/dist-packages/ansible_test /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1 \\
    /usr/bin/containerd-stress \\
 && find /usr/lib/cni -type f ! -name bridge ! -name host-local ! -name loopback ! -name portmap -delete \\
 && find / -xdev -name __pycache__ -type d -prune -exec rm -rf {} +
EOF
    podman build --quiet --pull=never -t "$image" "$work/context" >/dev/null
fi
podman rm -f kubegpu-gpu-node-export >/dev/null 2>&1 || true
podman create --name kubegpu-gpu-node-export "$image" /bin/true >/dev/null
podman export -o "$stage/rootfs.tar" kubegpu-gpu-node-export
podman rm kubegpu-gpu-node-export >/dev/null

cp -rL "$bundle"/. "$stage/bundle/"
cp -L "$nvidia"/images/*.tar "$stage/bundle/images/"
cp -L "$helm" "$stage/bin/helm"
cp -L "$crio_bin"/crio "$crio_bin"/pinns "$crio_bin"/crictl "$stage/crio/"
(cd "$stage/crio" && sha256sum crio pinns crictl >SHA256SUMS)
cp -L "$shared_bin/gpu-operator-v26.7.0.tgz" "$shared_bin/dra-driver-nvidia-gpu-v0.4.1.tgz" "$stage/chart/"
mkdir -p "$stage/nvidia/bin"
for name in "${nvidia_binaries[@]}"; do
    want=$(awk -v f="$name.xz" '$2 == f { print $1 }' "$shared_bin/SHA256SUMS")
    if [ -z "$want" ] || [ "$(sha256sum <"$shared_bin/$name.xz" | cut -d' ' -f1)" != "$want" ]; then
        die "$shared_bin/$name.xz does not match its SHA256SUMS"
    fi
    xz -dc "$shared_bin/$name.xz" >"$stage/nvidia/bin/$name"
    chmod 0755 "$stage/nvidia/bin/$name"
done
(cd "$stage/nvidia/bin" && sha256sum "${nvidia_binaries[@]}" >SHA256SUMS)
cp -a "$collections/kubernetes/core" "$stage/collections/ansible_collections/kubernetes/"
cp -a "$collections/community/general" "$stage/collections/ansible_collections/community/"
cp -a "$collections/ansible/posix" "$stage/collections/ansible_collections/ansible/"
find "$stage/collections" -name __pycache__ -type d -prune -exec rm -rf {} +
tar -C "$glibc_root" -cf "$stage/glibc-root.tar" .
if [ -n "$tree_only" ]; then
    echo "$stage_hash" >"$stage/.complete"
    rm -rf "$tree_only"
    mkdir -p "$(dirname "$tree_only")"
    mv "$stage" "$tree_only"
    log "stage tree in $tree_only ($(du -sh "$tree_only" | cut -f1))"
    echo "$stage_hash"
    exit 0
fi
log "stage tree: $(du -sh "$stage" | cut -f1); packing"
tests/gpu/pack.sh "$stage" "$out" "$stage_hash"
log "wrote $out: $(grep -c ' part-' "$out/MANIFEST") parts, $(du -sh "$out" | cut -f1)"
