#!/usr/bin/env bash
# Build the air-gapped Kubernetes v1.36.2 bundle for the kubernetes role's
# test cluster, and print its path (stdout: the path only; progress on stderr).
#
# Layout of the bundle:
#   bin/kubeadm bin/kubelet bin/kubectl      v1.36.2 executables
#   images/*.tar                             one image archive each, for
#                                            `ctr -n k8s.io images import FILE`
#   images/etcd.tag                          the etcd image's tag (one line),
#                                            for ClusterConfiguration
#                                            etcd.local.imageTag
#   images.txt                               the image names, one a line
#   SHA256SUMS                               sha256sum of every file above
#                                            (relative paths), which the
#                                            kubernetes role verifies before
#                                            it copies anything; a script that
#                                            adds an archive appends its line
#
# Images, named as kubeadm v1.36.2 expects them (imageRepository
# registry.k8s.io), built here because no registry is reachable:
#   kube-apiserver, kube-controller-manager, kube-scheduler:v1.36.2
#       scratch + the static binary in /usr/local/bin (on PATH: the static pod
#       manifests run the command by name)
#   kube-proxy:v1.36.2   Debian trixie + iptables (nft backend) + conntrack,
#                        binary in /usr/local/bin (the DaemonSet's path)
#   pause:3.10.2         scratch + the static pause as /pause (the tag is
#                        the one kubeadm lists)
#   etcd:<debian version>-debian, e.g. 3.5.16-4-debian: Debian's etcd-server
#                        (trixie by default; kubeadm's own 3.6.8-0 is in no
#                        registry here), on a trixie base because the
#                        binary links glibc; /usr/local/bin/etcd is a
#                        wrapper that renames the etcd 3.6 flags kubeadm
#                        v1.36 writes to their etcd 3.5 names
#   The Debian-based images are squashed to one layer without python3 and
#   documentation (about 85 MB of Debian each).
#   No coredns: there is no binary; the role disables kubeadm's DNS addon.
#
# Inputs: the release binaries in KUBEGPU_SHARED_BIN (each NAME.xz checked
# against its SHA256SUMS before use), Debian packages through apt (in
# containers only), podman, and scripts/podman-image.sh for the Debian base
# images.
#
# Environment:
#   KUBEGPU_SHARED_BIN  release binaries (default: ../shared/bin beside the
#                       repository root)
#   KUBEGPU_CACHE       cache root (default /var/cache/kubegpu)
#   KUBEGPU_ETCD_SUITE  Debian suite whose etcd-server is used: trixie
#                       (default) or sid
#   KUBEGPU_DEBIAN_MIRROR, KUBEGPU_IMAGE_CACHE  passed to podman-image.sh
#
# Cached: $KUBEGPU_CACHE/kubernetes-bundle-<hash>, the hash taken over
# SHA256SUMS, this script, images-lib.sh, scripts/podman-image.sh and
# KUBEGPU_ETCD_SUITE. With nothing changed a call only prints the path. The
# build runs in a temporary directory that is renamed at the end, so an
# interrupted build leaves no partial bundle. The Debian base images stay in
# podman's store (scripts/podman-image.sh); the built images do not.
# Needs root, podman, xz, dpkg-deb.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/images-lib.sh
. "$here/images-lib.sh"

k8s_version=v1.36.2
registry=registry.k8s.io
etcd_suite=${KUBEGPU_ETCD_SUITE:-trixie}
case $etcd_suite in
    trixie | sid) ;;
    *) kg_die "KUBEGPU_ETCD_SUITE must be trixie or sid, not '$etcd_suite'" ;;
esac

sums=$(kg_sums)
hash=$(kg_hash "$sums" "$here/bundle.sh" "$kg_lib" "$kg_root/scripts/podman-image.sh" "=etcd=$etcd_suite")
if kg_cached kubernetes-bundle "$hash"; then
    exit 0
fi

kg_need podman xz dpkg-deb sha256sum
start=$SECONDS
kg_workdir kubernetes-bundle "$hash"
bundle=$kg_work/bundle
ctx=$kg_work/context
mkdir -p "$bundle/bin" "$bundle/images" "$ctx"

for name in kubeadm kubelet kubectl; do
    kg_unpack "$name" "$bundle/bin/$name"
done
"$bundle/bin/kubeadm" version -o short | grep -qx "$k8s_version" ||
    kg_die "kubeadm from $kg_shared_bin is not $k8s_version"

# The pause and etcd tags kubeadm expects; etcd's is replaced by Debian's.
images=$("$bundle/bin/kubeadm" config images list --kubernetes-version "$k8s_version")
pause_image=$(grep -x "$registry/pause:.*" <<<"$images") ||
    kg_die "kubeadm lists no pause image"
kg_log "kubeadm $k8s_version images: $(tr '\n' ' ' <<<"$images")"

# Control-plane images: scratch + static binary on PATH.
for name in kube-apiserver kube-controller-manager kube-scheduler; do
    dir=$ctx/$name
    kg_static_rootfs "$dir/rootfs"
    kg_unpack "$name" "$dir/rootfs/usr/local/bin/$name"
    cat >"$dir/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/usr/local/bin/$name"]
EOF
    kg_image "$registry/$name:$k8s_version" "$dir" "$bundle/images/$name.tar"
done

# pause: as upstream's image (/pause, user 65535).
dir=$ctx/pause
kg_static_rootfs "$dir/rootfs"
kg_unpack pause "$dir/rootfs/pause"
cat >"$dir/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
USER 65535:65535
ENTRYPOINT ["/pause"]
EOF
kg_image "$pause_image" "$dir" "$bundle/images/pause.tar"

# kube-proxy: execs iptables(-save/-restore), ip6tables* and conntrack. Both
# iptables backends work in a privileged container on the test kernels; nft
# is the one trixie nodes use themselves, so rules land in one place.
base=$(kg_base_image iptables conntrack)
dir=$ctx/kube-proxy
mkdir -p "$dir"
kg_unpack kube-proxy "$dir/kube-proxy"
cat >"$dir/Containerfile" <<EOF
FROM $base
RUN update-alternatives --set iptables /usr/sbin/iptables-nft \\
 && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft \\
 && iptables --version | grep -q nf_tables \\
 && $kg_slim
COPY kube-proxy /usr/local/bin/kube-proxy
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
CMD []
EOF
kg_image "$registry/kube-proxy:$k8s_version" "$dir" "$bundle/images/kube-proxy.tar" --squash-all

# etcd: Debian's etcd-server, downloaded (not installed) in a container and
# unpacked here. Its tag is Debian's version with a -debian suffix.
base=$(kg_base_image)
dir=$ctx/etcd
mkdir -p "$dir/deb" "$dir/rootfs/usr/local/bin"
kg_log "apt-get download etcd-server ($etcd_suite)"
podman run --rm --network=host -v "$dir/deb:/out" "$base" sh -euc '
    if [ "$1" != trixie ]; then
        printf "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" "$1" \
            >/etc/apt/sources.list.d/extra.sources
    fi
    apt-get -qq update
    cd /out && apt-get -qq -o APT::Sandbox::User=root download "etcd-server/$1"' sh "$etcd_suite" >&2
deb=$(find "$dir/deb" -name 'etcd-server_*.deb')
[ -n "$deb" ] || kg_die "apt-get download etcd-server gave no .deb"
etcd_version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -x "$deb" "$dir/x"
mkdir -p "$dir/rootfs/usr/local/lib/etcd"
for name in etcd etcdutl; do
    if [ -x "$dir/x/usr/bin/$name" ]; then
        cp "$dir/x/usr/bin/$name" "$dir/rootfs/usr/local/lib/etcd/"
    fi
done
[ -x "$dir/rootfs/usr/local/lib/etcd/etcd" ] || kg_die "etcd-server $etcd_version has no /usr/bin/etcd"
ln -s ../lib/etcd/etcdutl "$dir/rootfs/usr/local/bin/etcdutl"
# kubeadm v1.36 writes the flags of etcd 3.6 into its static pod; Debian's etcd
# 3.5 has the same settings under their experimental names. This wrapper (the
# `etcd` the manifest runs) renames them and refuses any other feature gate.
cat >"$dir/rootfs/usr/local/bin/etcd" <<'WRAPPER'
#!/bin/sh
# etcd 3.5 (Debian) under the flags kubeadm v1.36 writes for etcd 3.6.
for arg do
    shift
    case $arg in
        --feature-gates=InitialCorruptCheck=true) set -- "$@" --experimental-initial-corrupt-check=true ;;
        --feature-gates=*) echo "etcd 3.5 has no feature gates: $arg" >&2; exit 2 ;;
        --watch-progress-notify-interval=*) set -- "$@" "--experimental-${arg#--}" ;;
        *) set -- "$@" "$arg" ;;
    esac
done
exec /usr/local/lib/etcd/etcd "$@"
WRAPPER
chmod 0755 "$dir/rootfs/usr/local/bin/etcd"
etcd_tag=${etcd_version//[^A-Za-z0-9_.-]/_}-debian
mkdir -p "$dir/rootfs/var/lib/etcd"
cat >"$dir/Containerfile" <<EOF
FROM $base
RUN $kg_slim
COPY rootfs/ /
CMD ["/usr/local/bin/etcd"]
EOF
kg_image "$registry/etcd:$etcd_tag" "$dir" "$bundle/images/etcd.tar" --squash-all
echo "$etcd_tag" >"$bundle/images/etcd.tag"

# Every image kubeadm names is here, but coredns (none) and etcd (Debian's tag).
built=$(for f in "$bundle"/images/*.tar; do tar -xOf "$f" manifest.json; echo; done |
    python3 -c 'import json, sys; [print(t) for line in sys.stdin if line.strip() for m in json.loads(line) for t in m["RepoTags"]]' | sort)
for image in $images; do
    case $image in
        */coredns/* | "$registry"/etcd:*) ;;
        *) grep -qx "$image" <<<"$built" || kg_die "kubeadm expects $image, which this script does not build" ;;
    esac
done
echo "$built" >"$bundle/images.txt"
(cd "$bundle" && find bin images -type f -print0 | sort -z | xargs -0 sha256sum -- >SHA256SUMS)
rm -rf "$ctx"
kg_log "built in $((SECONDS - start)) s: $(tr '\n' ' ' <"$bundle/images.txt")"
kg_publish "$bundle" kubernetes-bundle "$hash"
