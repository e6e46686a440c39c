#!/usr/bin/env bash
# A GPU container's start latency: CDI applied ahead of time (as containerd and
# CRI-O apply a spec before runc sees it) against NVIDIA Container Toolkit's
# nvidia-container-runtime, in its cdi mode and in jit-cdi mode (the spec made
# at every start through NVML). tests/gpu/start_latency.py does the starts.
#   tests/gpu/start-latency.sh --prepare DIR   on the build machine: what the GPU host needs,
#                                              into DIR (runc and its libseccomp, the toolkit's
#                                              binaries, the test root, the modules' code)
#   tests/gpu/start-latency.sh OUT DIR         on the GPU host (root), DIR as --prepare left it
#   tests/gpu/start-latency.sh --rehearse OUT  on the build machine, no GPU: a test spec
#                                              instead of the GPU's, jit-cdi expected to fail
# On the GPU host the specs are this collection's own (kubegpu.nvidia.cdi_spec, hook-free, the
# spec the toolkit-free path deploys) and the toolkit's (nvidia-ctk cdi generate, with hooks).
# Variants, in order (the ratio column is over the first):
#   none           plain runc, no GPU (its nvidia-smi check must fail)
#   shim_cdi_*     nvidia-container-runtime, mode cdi, the spec of * named by annotation
#   cdi_*          plain runc with the config the shim wrote: the spec applied ahead of time
#   jit            nvidia-container-runtime, mode jit-cdi, NVIDIA_VISIBLE_DEVICES=all
# Results: OUT/start-latency.{txt,json}, OUT/latency.log, the specs and the host's GPU facts.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
shared_bin=${KUBEGPU_SHARED_BIN:-$repo/../shared/bin}
die() { echo "start-latency: $*" >&2; exit 1; }

prepare() {
    local dir=$1 name want
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    rm -rf "${dir:?}"/*
    runc=$(command -v runc) || die "no runc here (apt-get install runc)"
    cp -L "$runc" "$dir/runc"
    cp -L "$(ldd "$runc" | awk '/libseccomp/ {print $3}')" "$dir/" || die "runc links no libseccomp here"
    for name in nvidia-ctk nvidia-container-runtime nvidia-cdi-hook; do
        want=$(awk -v n="$name" '$2 == n {print $1}' "$shared_bin/SHA256SUMS.bin")
        [ -n "$want" ] || die "$shared_bin/SHA256SUMS.bin lists no $name"
        { xz -dc "$shared_bin/$name.xz" >"$dir/$name" && chmod 0755 "$dir/$name"; } ||
            die "could not unpack $shared_bin/$name.xz"
        [ "$(sha256sum "$dir/$name" | cut -d' ' -f1)" = "$want" ] || die "$name does not match SHA256SUMS.bin"
        xz -9 "$dir/$name"
    done
    rootfs=${KUBEGPU_CDI_CACHE:-$repo/.cache/cdi-e2e}/rootfs
    [ -x "$rootfs/bin/busybox" ] || "$repo/tests/gpu/prepare.sh" ci >/dev/null || die "no test root (tests/gpu/prepare.sh ci)"
    tar -C "$rootfs" -cf "$dir/rootfs.tar" .
    # The modules' code, run without Ansible: ansible-core's module_utils and this collection's plugins.
    site=$(mktemp -d)
    mkdir -p "$site/ansible" "$site/ansible_collections/kubegpu/nvidia"
    : >"$site/ansible/__init__.py"
    cp -r "$repo"/.venv/lib/python3*/site-packages/ansible/module_utils "$site/ansible/"
    cp -r "$repo/plugins" "$site/ansible_collections/kubegpu/nvidia/"
    tar -C "$site" --exclude=__pycache__ -czf "$dir/site.tgz" .
    rm -rf "$site"
    (cd "$dir" && sha256sum -- * >SHA256SUMS)
    du -sh "$dir"
}

# module NAME ARGS_JSON: run one of the collection's modules without Ansible; its JSON result on stdout.
module() {
    printf '{"ANSIBLE_MODULE_ARGS": %s}' "$2" >"$work/args-$1.json"
    (cd "$work" && PYTHONPATH="$work/site" python3 -m "ansible_collections.kubegpu.nvidia.plugins.modules.$1" "$work/args-$1.json")
}

case ${1:-} in
    --prepare) prepare "${2:?usage: tests/gpu/start-latency.sh --prepare DIR}"; exit ;;
    --rehearse) rehearse=1; out=${2:?usage: tests/gpu/start-latency.sh --rehearse OUT}; carry=$(mktemp -d); prepare "$carry" >/dev/null ;;
    *) rehearse=""; out=${1:?usage: tests/gpu/start-latency.sh OUT DIR}; carry=$(cd "${2:?usage: tests/gpu/start-latency.sh OUT DIR}" && pwd) ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee -a "$out/latency.log") 2>&1
work=${KUBEGPU_LATENCY_WORK:-/var/tmp/kubegpu-latency}
{ rm -rf "$work" && mkdir -p "$work/bin" "$work/rootfs" "$work/site"; } || die "could not make $work"
(cd "$carry" && sha256sum -c --quiet SHA256SUMS) || die "$carry does not match its SHA256SUMS"
cp "$carry/runc" "$carry"/libseccomp* "$work/bin/"
for name in nvidia-ctk nvidia-container-runtime nvidia-cdi-hook; do xz -dc "$carry/$name.xz" >"$work/bin/$name"; done
chmod 0755 "$work"/bin/*
tar -xf "$carry/rootfs.tar" -C "$work/rootfs"
tar -xzf "$carry/site.tgz" -C "$work/site"
# runc finds its libseccomp beside it.
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s/runc.bin "$@"\n' "$work/bin" "$work/bin" >"$work/bin/runc.sh"
mv "$work/bin/runc" "$work/bin/runc.bin" && mv "$work/bin/runc.sh" "$work/bin/runc" && chmod 0755 "$work/bin/runc"
"$work/bin/runc" --version | head -n 1
"$work/bin/nvidia-container-runtime" --version | head -n 1

variants=(--variant "none=runc,expect_fail=1")
if [ -n "$rehearse" ]; then
    # A test spec: one env edit the check looks for. No NVML here, so jit-cdi must fail to create.
    mkdir -p "$work/spec-test"
    printf '%s\n' '{"cdiVersion": "0.6.0", "kind": "nvidia.com/gpu", "devices": [{"name": "all",' \
        '"containerEdits": {"env": ["KUBEGPU_LATENCY_TEST=1"]}}]}' >"$work/spec-test/test.json"
    # shellcheck disable=SC2016 # expanded in the container
    check='test "$KUBEGPU_LATENCY_TEST" = 1 && echo latency-test-ok'
    expect=latency-test-ok
    # shellcheck disable=SC2054 # the commas are inside --variant's arguments
    variants+=(--variant "shim_cdi_test=shim,mode=cdi,spec_dirs=$work/spec-test,device=nvidia.com/gpu=all"
        --variant cdi_test=runc,config=@shim_cdi_test --variant jit=shim,mode=jit-cdi,expect_fail=1)
    driver_root=/ ldconfig=/sbin/ldconfig
else
    ldconfig=/sbin/ldconfig
    [ -x /sbin/ldconfig.real ] && ldconfig=/sbin/ldconfig.real  # Ubuntu's /sbin/ldconfig is a shell wrapper
    module gpu_facts '{}' >"$out/gpu_facts.json" || die "gpu_facts failed (OUT/gpu_facts.json)"
    driver_root=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ansible_facts"]["nvidia"]["driver_root"]["root"] or "")' \
        "$out/gpu_facts.json")
    [ -n "$driver_root" ] || die "gpu_facts found no driver root (OUT/gpu_facts.json)"
    echo "driver root: $driver_root"
    module cdi_spec "{\"path\": \"$work/spec-ours/nvidia.json\", \"layout\": \"hook_free\", \"driver_root\": \"$driver_root\"}" \
        >"$out/cdi_spec.json" || die "cdi_spec failed (OUT/cdi_spec.json)"
    # The toolkit looks for device nodes under the driver root unless told otherwise, and its jit-cdi
    # mode cannot be told (it takes [nvidia-container-cli] root for both). A driver under a prefix
    # without the device nodes there (the lent hosts: an empty <prefix>/dev on a read-only squashfs)
    # gets the host's /dev bound there for this run, unmounted at the end.
    dev_mount=""
    if [ "$driver_root" != / ] && [ ! -c "$driver_root/dev/nvidiactl" ]; then
        mkdir -p "$driver_root/dev" 2>/dev/null
        if mount --bind /dev "$driver_root/dev"; then dev_mount=$driver_root/dev; echo "bound /dev to $dev_mount for jit-cdi"
        else echo "could not bind /dev to $driver_root/dev: jit-cdi will find no device node"; fi
    fi
    "$work/bin/nvidia-ctk" cdi generate --driver-root "$driver_root" --dev-root / --nvidia-cdi-hook-path "$work/bin/nvidia-cdi-hook" \
        --ldconfig-path "$ldconfig" --output "$work/spec-ctk/nvidia.yaml" >"$out/nvidia-ctk-generate.log" 2>&1 ||
        { cat "$out/nvidia-ctk-generate.log"; die "nvidia-ctk cdi generate failed"; }
    cp "$work/spec-ours/nvidia.json" "$work/spec-ctk/nvidia.yaml" "$out/"
    # The check passes only with the UUID gpu_facts reported in nvidia-smi's list; what the
    # container sees of the driver is in the record either way.
    expect=$(python3 -c 'import json,sys; print("|".join(g["uuid"] for g in json.load(open(sys.argv[1]))["ansible_facts"]["nvidia"]["gpus"]))' \
        "$out/gpu_facts.json")
    [ -n "$expect" ] || die "gpu_facts reported no GPU UUID (OUT/gpu_facts.json)"
    # Where nvidia-smi lists no GPU: what is mounted, and where the loader looks for NVML.
    # shellcheck disable=SC2016 # expanded by the container's shell, not here
    check='l=$(nvidia-smi -L 2>&1); r=$?; echo "$l"; echo "nvidia-smi: $r"; command -v nvidia-smi; ls /dev/nvidia*
grep -c nvidia /proc/self/mountinfo
case $l in *GPU-*) ;; *) grep nvidia /proc/self/mountinfo | cut -d" " -f4,5; ls -l /etc/ld.so.cache /usr/bin/nvidia-smi
LD_DEBUG=libs nvidia-smi -L 2>&1 | tail -n 25 ;; esac'
    # shellcheck disable=SC2054 # the commas are inside --variant's arguments
    variants+=(--variant "shim_cdi_ours=shim,mode=cdi,spec_dirs=$work/spec-ours,device=nvidia.com/gpu=all"
        --variant cdi_ours=runc,config=@shim_cdi_ours
        --variant "shim_cdi_ctk=shim,mode=cdi,spec_dirs=$work/spec-ctk,device=nvidia.com/gpu=all"
        --variant cdi_ctk=runc,config=@shim_cdi_ctk --variant jit=shim,mode=jit-cdi)
    nvidia-smi -q 2>/dev/null | grep -iE 'Product Name|Driver Version|Persistence Mode' | sort -u >"$out/gpu.txt"
fi
python3 "$repo/tests/gpu/start_latency.py" --out "$out" --work "$work" --runc "$work/bin/runc" \
    --shim "$work/bin/nvidia-container-runtime" --rootfs "$work/rootfs" --driver-root "$driver_root" \
    --ldconfig "$ldconfig" --check "$check" --expect "$expect" --runs "${KUBEGPU_LATENCY_RUNS:-20}" --budget "${KUBEGPU_LATENCY_BUDGET:-20}" "${variants[@]}"
rc=$?
[ -n "${dev_mount:-}" ] && umount "$dev_mount"
[ -n "$rehearse" ] && rm -rf "$carry"
rm -rf "$work"
exit "$rc"
