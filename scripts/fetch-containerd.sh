#!/usr/bin/env bash
# Fetch the real containerd binaries the tests run (`containerd -c FILE config
# dump`): Debian's packages of 1.6 (bookworm), 1.7 (trixie) and 2.1 (sid).
#
# The machine's own apt sources and state are never touched: apt runs against a
# private sources list, lists directory and archive cache under a temp dir, and
# the packages are unpacked with `dpkg -x`, never installed.
#
# Result, one directory per upstream version (what the tests look for):
#   .cache/containerd/<version>/containerd   a command that runs that containerd
# When a package needs a newer glibc than this machine has (sid's), the suite's
# own libc6 is unpacked next to it and `containerd` is a wrapper that starts the
# real binary through that libc's dynamic loader.
#
# Idempotent: a version whose command already answers `--version` is skipped.
# Usage: scripts/fetch-containerd.sh [suite:version ...]
#   default: bookworm:1.6.20 trixie:1.7.24 sid:2.1.9
#   KUBEGPU_CONTAINERD_CACHE overrides the cache directory.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${KUBEGPU_CONTAINERD_CACHE:-$root/.cache/containerd}
if [ "$#" -gt 0 ]; then
    wanted=("$@")
else
    wanted=(bookworm:1.6.20 trixie:1.7.24 sid:2.1.9)
fi

# Reuse the Debian mirror this machine already uses; fall back to the public one.
mirror=$(
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true; \
      grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print "URIs: " $2}' || true; } \
    | awk '{print $2}' | grep -E '/debian/?$' | head -n 1
)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

apt_private() {
    # $1: private state dir; rest: apt-get arguments
    local state=$1
    shift
    apt-get -q \
        -o Dir::Etc::SourceList="$state/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::Etc::Preferences=/dev/null \
        -o Dir::Etc::PreferencesParts=/dev/null \
        -o Dir::State::Lists="$state/lists" \
        -o Dir::State::Status="$state/status" \
        -o Dir::Cache="$state/cache" \
        -o Dir::Cache::Archives="$state/archives" \
        -o APT::Architecture="$arch" \
        -o APT::Sandbox::User=root \
        "$@"
}

works() {
    "$1" --version >/dev/null 2>&1
}

for item in "${wanted[@]}"; do
    suite=${item%%:*}
    version=${item#*:}
    dest=$cache/$version
    if [ -x "$dest/containerd" ] && works "$dest/containerd"; then
        echo "containerd $version: cached in $dest"
        continue
    fi

    state=$work/$suite
    mkdir -p "$state/lists/partial" "$state/cache" "$state/archives/partial" "$state/pkgs"
    : >"$state/status"
    echo "deb [signed-by=$keyring] $mirror $suite main" >"$state/sources.list"
    apt_private "$state" update >/dev/null

    # Pick the package version whose upstream part is the one asked for, so a
    # suite that moved on fails loudly instead of testing another containerd.
    debver=$(apt-cache \
                -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null \
                -o Dir::State::Lists="$state/lists" -o Dir::State::Status="$state/status" \
                -o Dir::Cache="$state/cache" -o APT::Architecture="$arch" \
                madison containerd | awk -F'|' '{gsub(/ /, "", $2); print $2}' \
                | grep -E "^([0-9]+:)?${version//./\\.}([~+-]|$)" | head -n 1 || true)
    if [ -z "$debver" ]; then
        echo "ERROR: $suite no longer carries containerd $version ($mirror); pass another suite:version" >&2
        exit 1
    fi

    (cd "$state/pkgs" && apt_private "$state" download "containerd=$debver" >/dev/null)
    mkdir -p "$state/root"
    dpkg -x "$state/pkgs"/containerd_*.deb "$state/root"

    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    cp "$state/root/usr/bin/containerd" "$dest.tmp/containerd.real"
    mv "$dest.tmp/containerd.real" "$dest.tmp/containerd"

    if ! works "$dest.tmp/containerd"; then
        # Most likely a newer glibc than this machine's: run it with its own suite's.
        echo "containerd $version does not start with this machine's libraries; using $suite's libc6"
        (cd "$state/pkgs" && apt_private "$state" download libc6 >/dev/null)
        mkdir -p "$dest.tmp/libc"
        dpkg -x "$state/pkgs"/libc6_*.deb "$dest.tmp/libc"
        mv "$dest.tmp/containerd" "$dest.tmp/containerd.real"
        loader=$(cd "$dest.tmp/libc" && find . -name 'ld-linux*.so*' -print | head -n 1)
        libdirs=$(cd "$dest.tmp/libc" && find . -name 'libc.so.6' -printf '%h\n' | sort -u | tr '\n' ':')
        cat >"$dest.tmp/containerd" <<EOF
#!/bin/sh
# containerd $version from Debian $suite, started with $suite's glibc.
here=\$(cd "\$(dirname "\$0")" && pwd)
exec "\$here/libc/${loader#./}" --library-path "\$(echo "$libdirs" | sed "s|\\./|\$here/libc/|g")" "\$here/containerd.real" "\$@"
EOF
        chmod +x "$dest.tmp/containerd"
        if ! works "$dest.tmp/containerd"; then
            echo "ERROR: containerd $version from $suite does not run here, even with $suite's glibc" >&2
            "$dest.tmp/containerd" --version >&2 || true
            exit 1
        fi
    fi

    got=$("$dest.tmp/containerd" --version)
    # e.g. "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1", "... v2 2.1.9+unknown"
    case " $got " in
        *" $version"[~+\ ]* | *" v$version"[~+\ ]*) ;;
        *) echo "ERROR: expected containerd $version, the package says: $got" >&2; exit 1 ;;
    esac
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    echo "containerd $version: $got -> $dest"
done
