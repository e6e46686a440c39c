#!/usr/bin/env bash
# Assemble what the CDI end-to-end runs need, on a build machine with package
# registries (Debian through apt, PyPI through pip). Idempotent: what is
# already there and works is kept.
#
#   tests/gpu/prepare.sh ci    binaries for tests/integration/cdi on THIS machine:
#                              .cache/cdi-e2e/bin      containerd 1.7.24, shim, ctr (trixie),
#                                                      runc (bookworm's here: trixie's needs glibc 2.38)
#                              .cache/cdi-e2e/rootfs   a minimal glibc root (trixie libc6, libgcc-s1,
#                                                      busybox-static) for the test image
#   tests/gpu/prepare.sh gpu   the above plus .gpu-carry/, what tests/gpu/run.sh needs on the
#                              GPU host (no network there), kept under 64 MiB:
#                              debs/      trixie's containerd and runc .debs (unpacked there)
#                              wheels/    ansible-core and its dependencies, the CRI client,
#                                         grpcio and protobuf for Python 3.12
#                              rootfs.tar.gz   the minimal glibc root
#                              kubegpu-nvidia-*.tar.gz   this collection
#
# The machine's apt configuration is never used or changed: apt runs against a
# private sources list, lists directory and archive cache, and packages are
# unpacked with `dpkg -x`, never installed.
set -euo pipefail

what=${1:-gpu}
case "$what" in ci | gpu) ;; *) echo "usage: $0 [ci|gpu]" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${KUBEGPU_CDI_CACHE:-$repo/.cache/cdi-e2e}
carry=$repo/.gpu-carry
debs=$cache/debs
mkdir -p "$debs" "$cache/bin"

mirror=$(
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true; \
      grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print "URIs: " $2}' || true; } \
    | awk '{print $2}' | grep -E '/debian/?$' | head -n 1
)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
arch=amd64

# fetch SUITE PACKAGE...: download the packages' .debs into $debs/SUITE (once).
fetch() {
    local suite=$1
    shift
    local state=$cache/apt/$suite missing=()
    mkdir -p "$debs/$suite"
    for pkg in "$@"; do
        compgen -G "$debs/$suite/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    mkdir -p "$state/lists/partial" "$state/archives/partial"
    : >"$state/status"
    echo "deb [signed-by=$keyring] $mirror $suite main" >"$state/sources.list"
    local opts=(
        -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
        -o Dir::State::Lists="$state/lists" -o Dir::State::Status="$state/status"
        -o Dir::Cache="$state" -o Dir::Cache::Archives="$state/archives"
        -o APT::Architecture="$arch" -o APT::Sandbox::User=root
    )
    if [ ! -s "$state/updated" ] || [ -n "$(find "$state/updated" -mmin +1440)" ]; then
        apt-get -q "${opts[@]}" update >/dev/null
        date >"$state/updated"
    fi
    (cd "$debs/$suite" && apt-get -q "${opts[@]}" download "${missing[@]}" >/dev/null)
    echo "fetched from $suite: ${missing[*]}"
}

fetch trixie containerd runc libc6 libgcc-s1 busybox-static
fetch bookworm runc

unpack() { # unpack DEB DIR
    mkdir -p "$2"
    dpkg -x "$1" "$2"
}

# --- binaries for this machine ------------------------------------------------
bin=$cache/bin
if ! { [ -x "$bin/containerd" ] && "$bin/containerd" --version >/dev/null 2>&1 && [ -x "$bin/runc" ] \
        && "$bin/runc" --version >/dev/null 2>&1; }; then
    tmp=$(mktemp -d)
    unpack "$debs"/trixie/containerd_*.deb "$tmp/containerd"
    for name in containerd containerd-shim-runc-v2 ctr; do
        install -m 0755 "$tmp/containerd/usr/bin/$name" "$bin/$name"
    done
    # runc: trixie's build needs glibc >= 2.38; take it where it runs, else bookworm's.
    unpack "$debs"/trixie/runc_*.deb "$tmp/runc-trixie"
    if "$tmp/runc-trixie/usr/sbin/runc" --version >/dev/null 2>&1; then
        install -m 0755 "$tmp/runc-trixie/usr/sbin/runc" "$bin/runc"
    else
        unpack "$debs"/bookworm/runc_*.deb "$tmp/runc-bookworm"
        install -m 0755 "$tmp/runc-bookworm/usr/sbin/runc" "$bin/runc"
    fi
    rm -rf "$tmp"
fi
"$bin/containerd" --version
"$bin/runc" --version | sed -n 1p

# --- the minimal glibc root for test images ------------------------------------
# What the driver's nvidia-smi and libcuda need from an image: the loader, libc,
# libm, libgcc_s and the compatibility stubs libpthread.so.0, libdl.so.2 and
# librt.so.1 (without them CUDA reports "driver version is insufficient").
# No ld.so.cache: the image's loader knows nothing of the driver, as in any
# image a user brings. busybox (static) gives the test a shell.
rootfs=$cache/rootfs
if [ ! -x "$rootfs/bin/sh" ] || [ ! -e "$rootfs/lib64/ld-linux-x86-64.so.2" ]; then
    tmp=$(mktemp -d)
    unpack "$debs"/trixie/libc6_*.deb "$tmp/libc6"
    unpack "$debs"/trixie/libgcc-s1_*.deb "$tmp/libgcc"
    unpack "$debs"/trixie/busybox-static_*.deb "$tmp/busybox"
    rm -rf "$rootfs.tmp"
    mkdir -p "$rootfs.tmp/lib/x86_64-linux-gnu" "$rootfs.tmp/lib64" "$rootfs.tmp/bin" "$rootfs.tmp/usr/bin" \
        "$rootfs.tmp/etc" "$rootfs.tmp/tmp" "$rootfs.tmp/dev" "$rootfs.tmp/proc" "$rootfs.tmp/sys"
    libdir=$(dirname "$(find "$tmp/libc6" -name 'libc.so.6' | head -n 1)")
    for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1; do
        cp -L "$libdir/$lib" "$rootfs.tmp/lib/x86_64-linux-gnu/$lib"
    done
    cp -L "$(find "$tmp/libgcc" -name 'libgcc_s.so.1' | head -n 1)" "$rootfs.tmp/lib/x86_64-linux-gnu/"
    ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$rootfs.tmp/lib64/ld-linux-x86-64.so.2"
    install -m 0755 "$tmp/busybox/usr/bin/busybox" "$rootfs.tmp/bin/busybox"
    for applet in sh ls cat grep head readlink mount stat sleep echo test true; do
        ln -s busybox "$rootfs.tmp/bin/$applet"
    done
    chmod 1777 "$rootfs.tmp/tmp"
    printf 'root:x:0:0:root:/:/bin/sh\n' >"$rootfs.tmp/etc/passwd"
    printf 'root:x:0:\n' >"$rootfs.tmp/etc/group"
    rm -rf "$rootfs" "$tmp"
    mv "$rootfs.tmp" "$rootfs"
fi
echo "rootfs: $(du -sh "$rootfs" | cut -f1) in $rootfs"

[ "$what" = gpu ] || exit 0

# --- what the GPU host gets ---------------------------------------------------
mkdir -p "$carry/debs" "$carry/wheels"
cp -u "$debs"/trixie/containerd_*.deb "$debs"/trixie/runc_*.deb "$carry/debs/"
tar -C "$rootfs" -czf "$carry/rootfs.tar.gz.tmp" . && mv "$carry/rootfs.tar.gz.tmp" "$carry/rootfs.tar.gz"

py=python3
[ -x "$repo/.venv/bin/python" ] && py=$repo/.venv/bin/python
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$carry/wheels" \
    ansible-core==2.19.14 jinja2 MarkupSafe PyYAML packaging resolvelib tomlkit \
    container-runtime-interface-api==2.0.1 'protobuf~=6.31' 'grpcio~=1.73' typing-extensions

rm -f "$carry"/kubegpu-nvidia-*.tar.gz
"$repo/.venv/bin/ansible-galaxy" collection build --force --output-path "$carry" "$repo" >/dev/null
ls "$carry"/kubegpu-nvidia-*.tar.gz

total=$(du -sb "$carry" | cut -f1)
echo "carry: $((total / 1024 / 1024)) MiB in $carry"
if [ "$total" -gt $((60 * 1024 * 1024)) ]; then
    echo "ERROR: $carry is $total bytes; the GPU host takes at most 64 MiB per run" >&2
    du -sh "$carry"/* "$carry"/*/* >&2
    exit 1
fi
