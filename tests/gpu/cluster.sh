#!/usr/bin/env bash
# The GPU host as a one-node Kubernetes cluster built by the collection's own
# site.yml (as root, from the repository root, no network):
#   tests/gpu/cluster.sh OUT STEP...
# Steps, in the order a whole run takes them:
#   up             the node: a systemd system container (tests/gpu/node_container.py)
#                  from the staged root file system, started with runc, with the
#                  host's GPU device nodes and read-only driver root, a network
#                  namespace of its own (one veth pair, 10.89.62.10/24), and the test
#                  image (the staged glibc root plus a CUDA vector add built here with
#                  nvcc) added to the bundle
#   device_plugin  site.yml there with NVIDIA's device plugin (tests/gpu/cluster-node.sh)
#   rerun          site.yml again: it must change nothing
#   operator       site.yml with the GPU Operator instead
#   operator_rerun site.yml with the GPU Operator again: it must change nothing
#   dra            the device plugin removed, site.yml with NVIDIA's DRA driver; then two
#                  pods claiming the only GPU one after the other (cluster-node.sh says how)
#   dra_rerun      site.yml with the DRA driver again: it must change nothing
#   reload_device_plugin, reload_gpu_operator, reload_dra   a GPU pod through a daemon-reload and a runtime restart
#   device_reload  a container on systemd's cgroup driver and /dev/nvidia0 through a daemon-reload
#                  (tests/gpu/systemd-device-reload.sh)
#   check          the node has what site.yml needs (systemd, containerd, collections)
#   down           kubernetes_state=absent, then the node container stopped and
#                  removed with everything under its directory: the host as it was
# The lent GPU host runs no systemd (kubeadm and kubelet want one), hence the
# system container; its kernel, GPU, driver and cgroup v2 are the host's.
# Everything comes from the stage tree that tests/gpu/stage.sh unpacks (it must
# report complete first). Logs and results: OUT (cluster.log and the files of
# cluster-node.sh, which writes them to KUBEGPU_NODE_OUT, default /var/tmp/kubegpu-out,
# KUBEGPU_NODE_RUNTIME: containerd (default) or crio (tests/gpu/node-crio.yml installs it in the node).
# KUBEGPU_NODE_CGROUP_DRIVER: cgroupfs (default) or systemd, the node runtime's as its owner configured it.
# KUBEGPU_NODE_DRIVER_LAYOUT: prefix (default: the host's driver root KUBEGPU_HOST_DRIVER_ROOT,
# default /usr/local/nvidia, bound read-only at the same path) or package (its files copied to
# /usr/lib/x86_64-linux-gnu and /usr/bin, driver root /, as NVIDIA's DRA driver needs).
# and the node binds KUBEGPU_REPO_COPY, default /var/tmp/kubegpu-repo: both outlive a
# call's working tree and OUT, so a later call can run more steps on the running node). KUBEGPU_NODE_DIR (default /var/tmp/kubegpu-node) holds the
# node; the container is named kubegpu-node.
set -uo pipefail
out=${1:?usage: tests/gpu/cluster.sh OUT STEP...}
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
exec > >(tee -a "$out/cluster.log") 2>&1
step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
die() { echo "cluster: $*" >&2; exit 1; }
stage=${KUBEGPU_STAGE:-/var/tmp/kubegpu-stage}
tree=$stage/tree
node=${KUBEGPU_NODE_DIR:-/var/tmp/kubegpu-node}
# The node binds this copy of the repository, refreshed by every call: the
# working tree a call brings is replaced by the next call's, a bind of it would
# then point at nothing.
copy=${KUBEGPU_REPO_COPY:-/var/tmp/kubegpu-repo}
# Likewise the node's results: written to node_out, copied to this call's OUT after each step.
node_out=${KUBEGPU_NODE_OUT:-/var/tmp/kubegpu-out}
# One archive: a call brings back only a few files from OUT.
collect() { [ -d "$node_out" ] && tar -C "$node_out" -czf "$out/node-out.tgz" . 2>/dev/null; return 0; }
name=kubegpu-node
address=10.89.62.10
# The node's driver files: bound read-only at the host's own prefix (prefix), or copied to where a driver
# package puts them (package: driver root /, which NVIDIA's DRA driver needs).
driver_layout=${KUBEGPU_NODE_DRIVER_LAYOUT:-prefix}
# The node's container runtime: containerd (the root file system's) or crio (containerd removed, CRI-O
# from the stage's crio/ laid out as its packages install it: tests/gpu/node-crio.yml).
node_runtime=${KUBEGPU_NODE_RUNTIME:-containerd}
case $node_runtime in containerd | crio) ;; *) die "KUBEGPU_NODE_RUNTIME is $node_runtime; expected containerd or crio" ;; esac
host_driver=${KUBEGPU_HOST_DRIVER_ROOT:-/usr/local/nvidia}
# The node runtime's cgroup driver as its owner set it: cgroupfs (default) or systemd (the driver of
# NVIDIA/nvidia-container-toolkit issue 48, which tests/gpu/reload.sh looks for).
cgroup_driver=${KUBEGPU_NODE_CGROUP_DRIVER:-cgroupfs}
case $cgroup_driver in cgroupfs | systemd) ;; *) die "KUBEGPU_NODE_CGROUP_DRIVER is $cgroup_driver; expected cgroupfs or systemd" ;; esac
image=localhost/kubegpu/cuda-vectoradd:v1

# sync_repo: the repository's files (not its caches or the staged parts) into
# $copy, in place: the directory itself stays, so the node's bind of it does too.
sync_repo() {
    mkdir -p "$copy"
    find "$copy" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    tar -C "$repo" --exclude=./.git --exclude=./.gpu-carry-k8s --exclude='./.venv*' --exclude=./.cache -cf - . |
        tar -C "$copy" -xf - || die "could not copy the repository to $copy"
}

runc_bin() {
    # The node's own runc (trixie) where it runs here; the build machine may
    # need its own (trixie's wants glibc >= 2.38).
    local candidate
    for candidate in "$node/rootfs/usr/sbin/runc" "$(command -v runc 2>/dev/null)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1 && { echo "$candidate"; return 0; }
    done
    return 1
}
running() { [ -d "$node/rootfs" ] && runc=$(runc_bin) && "$runc" state "$name" 2>/dev/null | grep -q '"status": "running"'; }
in_node() {
    "$runc" exec --env PATH=/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env "KUBEGPU_SITE_ARGS=${KUBEGPU_SITE_ARGS:-}" --env "KUBEGPU_EXPECT_DRIVER_ROOT=${KUBEGPU_EXPECT_DRIVER_ROOT:-}" \
        --env "KUBEGPU_NODE_RUNTIME=$node_runtime" \
        "$name" "$@"
}

up() {
    if running; then echo "node container $name already runs ($node)"; return 0; fi
    tests/gpu/stage.sh || die "the stage tree is not complete: carry the parts tests/gpu/stage.sh names, then run again"
    step "node root file system"
    down_container
    mkdir -p "$node/rootfs"
    tar -xpf "$tree/rootfs.tar" -C "$node/rootfs" --numeric-owner || die "could not unpack $tree/rootfs.tar"
    echo kubegpu-h200 >"$node/rootfs/etc/hostname"
    printf '127.0.0.1 localhost\n%s kubegpu-h200\n' "$address" >"$node/rootfs/etc/hosts"
    : >"$node/rootfs/etc/machine-id"
    # Units that would act on the host's devices or consoles.
    for unit in systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
        systemd-udevd-kernel.socket getty@tty1.service console-getty.service systemd-timesyncd.service; do
        ln -sfn /dev/null "$node/rootfs/etc/systemd/system/$unit"
    done
    # The node owner's containerd setting, as on the build machine's test nodes
    # (tests/integration/kubernetes/prepare.yml): restrict_oom_score_adj, which a
    # container's containerd needs. The sandbox image is the kubernetes role's to set.
    mkdir -p "$node/rootfs/etc/containerd"
    printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n' \
        >"$node/rootfs/etc/containerd/config.toml"
    # The owner's cgroup driver, which the collection keeps and kubelet follows. The runc table names its
    # runtime_type: containerd 1.7 replaces its built-in runc with the file's table whole (without it no
    # container starts, which the collection's decision refuses).
    if [ "$cgroup_driver" = systemd ]; then
        printf '%s\n' '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' \
            '  runtime_type = "io.containerd.runc.v2"' \
            '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]' '  SystemdCgroup = true' \
            >>"$node/rootfs/etc/containerd/config.toml"
    fi
    case $driver_layout in
        prefix)
            # The host's loader configuration for the driver's libraries (as on the host).
            cp /etc/ld.so.conf.d/*nvidia* /etc/ld.so.conf.d/*cuda* "$node/rootfs/etc/ld.so.conf.d/" 2>/dev/null || true
            # This host keeps nvidia-smi under its driver prefix, off every PATH; a driver package puts it in
            # /usr/bin. Relative, so that it resolves wherever the node's root is mounted.
            if [ -x "$host_driver/bin/nvidia-smi" ] && [ ! -e "$node/rootfs/usr/bin/nvidia-smi" ]; then
                ln -s "../..$host_driver/bin/nvidia-smi" "$node/rootfs/usr/bin/nvidia-smi"
            fi ;;
        package)
            # The driver's user-space files where a distribution's driver package installs them: libraries
            # in /usr/lib/x86_64-linux-gnu, programs in /usr/bin (gpu_facts then finds the driver root /).
            # Copies of the host's, whose kernel module the node uses.
            [ -d "$host_driver/lib64" ] || die "no $host_driver/lib64 to lay out as a driver package (KUBEGPU_HOST_DRIVER_ROOT)"
            cp -a "$host_driver/lib64/." "$node/rootfs/usr/lib/x86_64-linux-gnu/" || die "could not copy $host_driver/lib64"
            [ -d "$host_driver/bin" ] && { cp -a "$host_driver/bin/." "$node/rootfs/usr/bin/" || die "could not copy $host_driver/bin"; }
            echo "driver files of $host_driver laid out as a package:" \
                "$(find "$host_driver/lib64" -mindepth 1 -maxdepth 1 | wc -l) libraries," \
                "$(find "$host_driver/bin" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) programs" ;;
        *) die "KUBEGPU_NODE_DRIVER_LAYOUT is $driver_layout; expected prefix or package" ;;
    esac
    runc=$(runc_bin) || die "no runc runs here (the node's $node/rootfs/usr/sbin/runc needs glibc >= 2.38)"
    "$runc" --version | head -n 1

    step "test image $image"
    if [ ! -f "$tree/bundle/images/kubegpu-cuda-vectoradd.tar" ]; then
        if command -v nvcc >/dev/null; then
            mkdir -p "$node/image/rootfs"
            tar -xf "$tree/glibc-root.tar" -C "$node/image/rootfs"
            nvcc -O2 -cudart static -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
                -o "$node/image/vectoradd" tests/gpu/vectoradd.cu || die "nvcc could not build tests/gpu/vectoradd.cu"
            # Libraries the vector add needs beyond the root's glibc (libstdc++ from the host's compiler).
            ldd "$node/image/vectoradd" | awk '/=> \//{print $1, $3}' | while read -r soname path; do
                [ -e "$node/image/rootfs/lib/x86_64-linux-gnu/$soname" ] || cp -L "$path" "$node/image/rootfs/lib/x86_64-linux-gnu/$soname"
            done
            extra=/usr/local/bin/vectoradd=$node/image/vectoradd
        else
            # A rehearsal without a GPU: the image runs busybox only.
            mkdir -p "$node/image/rootfs"
            tar -xf "$tree/glibc-root.tar" -C "$node/image/rootfs"
            extra=""
        fi
        python3 - "$tree/bundle/images/kubegpu-cuda-vectoradd.tar" "$image" "$node/image/rootfs" "$extra" <<'PY' || die "could not write the test image"
import sys
sys.path.insert(0, "tests/gpu")
import oci_image
out, name, rootfs, extra = sys.argv[1:]
extras = dict([extra.split("=", 1)]) if extra else {}
# As NVIDIA's CUDA images: the driver's files at /usr/local/nvidia are found without a loader cache.
env = ["PATH=/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"]
oci_image.build(out, name, rootfs, ["vectoradd"], extra=extras, env=env)
print("wrote", out)
PY
        # The GPU Operator's validator runs NVIDIA's CUDA sample `vectorAdd` from its own image in its
        # CUDA workload pod (validator/manifests/cuda-workload-validation.yaml of the operator's tag); no
        # build of it exists here, so the image gets this vector add (which prints the sample's
        # "Test PASSED") under that name, as one more layer.
        if [ -n "$extra" ]; then
            python3 - "$tree/bundle/images/gpu-operator.tar" "$node/image/vectoradd" <<'PY' ||
import os, sys
sys.path.insert(0, "tests/gpu")
import oci_image
archive, program = sys.argv[1:]
oci_image.add_layer(archive, archive + ".new", {"/usr/bin/vectorAdd": program})
os.replace(archive + ".new", archive)
print("added /usr/bin/vectorAdd to", archive)
PY
                die "could not add vectorAdd to the GPU Operator's image"
        fi
    fi

    step "DRA driver image"
    if [ ! -f "$tree/bundle/images/dra-driver-nvidia-gpu.tar" ]; then
        # As tests/integration/kubernetes/dra-image.sh builds it, from what the stage has: the
        # glibc root, bash from the node's root, the kubelet plugin and the toolkit's nvidia-cdi-hook.
        rm -rf "$node/dra-image" && mkdir -p "$node/dra-image/rootfs"
        tar -xf "$tree/glibc-root.tar" -C "$node/dra-image/rootfs"
        mkdir -p "$node/dra-image/rootfs/usr/bin" "$node/dra-image/rootfs/lib/x86_64-linux-gnu"
        for applet in env basename cp sed; do ln -sfn /bin/busybox "$node/dra-image/rootfs/usr/bin/$applet"; done
        for lib in $(readelf -d "$node/rootfs/usr/bin/bash" | awk -F'[][]' '/NEEDED/ {print $2}'); do
            [ -e "$node/dra-image/rootfs/lib/x86_64-linux-gnu/$lib" ] ||
                cp -L "$node/rootfs/usr/lib/x86_64-linux-gnu/$lib" "$node/dra-image/rootfs/lib/x86_64-linux-gnu/$lib"
        done
        python3 - "$tree/bundle/images/dra-driver-nvidia-gpu.tar" "$node/dra-image/rootfs" \
            "$node/rootfs/usr/bin/bash" "$tree/nvidia/bin" tests/integration/kubernetes/dra/kubelet-plugin-prestart.sh <<'PY' ||
import sys
sys.path.insert(0, "tests/gpu")
import oci_image
out, rootfs, bash, bins, prestart = sys.argv[1:]
extra = {"/usr/bin/bash": bash, "/usr/bin/gpu-kubelet-plugin": bins + "/gpu-kubelet-plugin",
         "/usr/bin/nvidia-cdi-hook": bins + "/nvidia-cdi-hook", "/usr/bin/kubelet-plugin-prestart.sh": prestart}
oci_image.build(out, "registry.k8s.io/dra-driver-nvidia/dra-driver-nvidia-gpu:v0.4.1", rootfs, ["gpu-kubelet-plugin"],
                extra=extra, env=["NVIDIA_VISIBLE_DEVICES=void"])
print("wrote", out)
PY
            die "could not write the DRA driver's image"
    fi

    # The checksum list the kubernetes role verifies every bundle file against, now with the two images above.
    (cd "$tree/bundle" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | sort | xargs sha256sum >SHA256SUMS.new &&
        mv SHA256SUMS.new SHA256SUMS) || die "could not write $tree/bundle/SHA256SUMS"

    step "node container"
    rm -rf "$node_out" && mkdir -p "$node_out"
    devices=()
    for dev in /dev/nvidia* /dev/nvidia-caps/*; do [ -c "$dev" ] && devices+=(--device "$dev"); done
    binds=(--bind "$tree/bundle:/opt/kubegpu/bundle:ro" --bind "$tree/collections:/opt/kubegpu/collections:ro"
        --bind "$tree/bin:/opt/kubegpu/bin:ro" --bind "$tree/chart:/opt/kubegpu/chart:ro"
        --bind "$tree/nvidia:/opt/kubegpu/nvidia:ro" --bind "$tree/crio:/opt/kubegpu/crio:ro" --bind "$copy:/kubegpu" --bind "$node_out:/out")
    [ "$driver_layout" = prefix ] && [ -d "$host_driver" ] && binds+=(--bind "$host_driver:$host_driver:ro")
    python3 tests/gpu/node_container.py "$node" --hostname kubegpu-h200 "${binds[@]}" "${devices[@]}" ||
        die "could not write the node's config.json"
    # setsid: the container outlives this call while the machine stays warm.
    setsid "$runc" run -d --bundle "$node" "$name" </dev/null >"$node/console.log" 2>&1 ||
        { cat "$node/console.log"; die "runc could not start the node container"; }
    local state i
    for i in $(seq 1 60); do
        state=$(in_node systemctl is-system-running 2>/dev/null)
        case $state in running | degraded) break ;; esac
        sleep 1
    done
    echo "systemd in the node: ${state:-no answer} after ${i} s"
    case $state in running | degraded) ;; *) cat "$node/console.log"; die "systemd did not come up in the node container" ;; esac
    in_node systemctl --failed --no-legend --plain | sed 's/^/failed unit: /'
    # As on a host booted by systemd, the root mount is shared (the DRA driver's HostToContainer mounts need it).
    in_node mount --make-rshared / || die "could not make the node's root mount shared"
    if [ "$driver_layout" = package ]; then in_node ldconfig || die "ldconfig failed in the node"; fi
    if [ "$node_runtime" = crio ]; then
        step "CRI-O instead of containerd"
        # A CRI-O node has no containerd: the package goes (offline, dpkg), CRI-O comes from the stage.
        in_node systemctl disable --now containerd >/dev/null 2>&1
        in_node dpkg --purge containerd >/dev/null || die "could not remove containerd from the node"
        { in_node mkdir -p /var/lib/containers && in_node mount -t tmpfs -o mode=0700 tmpfs /var/lib/containers; } ||
            die "could not mount the image store's tmpfs (overlay storage cannot live on the node's root)"
        in_node env ANSIBLE_COLLECTIONS_PATH=/opt/kubegpu/collections ANSIBLE_LOCAL_TEMP=/tmp/ansible-local \
            ansible-playbook /kubegpu/tests/gpu/node-crio.yml -e "crio_node_cgroup_manager=$cgroup_driver" >"$out/node-crio.log" 2>&1 ||
            { tail -n 40 "$out/node-crio.log"; die "CRI-O could not be installed in the node (node-crio.log)"; }
        in_node crio --version | head -n 1
    fi

    step "node network"
    if in_node ip link add kubegpu0 type veth peer name kubegpu1 2>/dev/null; then
        in_node ip link set kubegpu1 up
    else
        echo "no veth pairs here: an empty bridge carries the node's address"
        in_node ip link add kubegpu0 type bridge || die "neither a veth pair nor a bridge could be made in the node's network namespace"
    fi
    if ! { in_node ip addr add "$address/24" dev kubegpu0 && in_node ip link set kubegpu0 up &&
        in_node ip link set lo up && in_node ip route add default dev kubegpu0; }; then
        die "could not give the node its address"
    fi
    in_node ip -brief addr
    in_node ldconfig
    in_node python3 --version
    in_node ansible --version | head -n 1
}

# down_container: stop and remove the node container and its directory.
down_container() {
    if [ -d "$node/rootfs" ] && runc=$(runc_bin); then
        "$runc" kill "$name" KILL 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do "$runc" state "$name" 2>/dev/null | grep -q '"status": "running"' || break; sleep 1; done
        "$runc" delete --force "$name" 2>/dev/null || true
    fi
    # Mounts the node's processes left (kubelet's, containerd's): deepest first.
    grep -F " $node/" /proc/mounts | awk '{print $2}' | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
    rm -rf --one-file-system "$node"
    if [ -d /sys/fs/cgroup/$name ]; then
        find /sys/fs/cgroup/$name -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
}

down() {
    if running; then
        step "kubernetes_state: absent"
        in_node /kubegpu/tests/gpu/cluster-node.sh /out down || echo "the teardown playbook failed (see $out/down.log)"
        collect
    fi
    step "node container removed"
    down_container
    local left=0
    [ -e "$node" ] && { echo "left: $node"; left=1; }
    [ -d /sys/fs/cgroup/$name ] && { echo "left: cgroup /sys/fs/cgroup/$name"; left=1; }
    grep -qF " $node" /proc/mounts && { echo "left: mounts under $node"; left=1; }
    [ "$left" = 0 ] && echo "the host is as it was: no node directory, cgroup or mount left"
    return "$left"
}

status=0
for s in "$@"; do
    case $s in
        up) sync_repo; up || status=1 ;;
        device_plugin | rerun | operator | operator_rerun | dra | dra_rerun | reload_device_plugin | reload_gpu_operator | reload_dra | device_reload | check)
            running || die "no node container runs (the machine went cold?): run with the step up first"
            sync_repo
            step "$s"
            # A failed stack leaves nothing for the next step to build on.
            in_node /kubegpu/tests/gpu/cluster-node.sh /out "$s" || { status=1; collect; echo "step $s failed: stopping here"; break; }
            collect ;;
        down) down || status=1 ;;
        *) die "unknown step $s (up device_plugin rerun operator operator_rerun dra dra_rerun reload_device_plugin reload_gpu_operator reload_dra device_reload check down)" ;;
    esac
done
exit "$status"
