# shellcheck shell=bash
# Helpers shared by bundle.sh and nvidia-images.sh (sourced, not run).
#
# They verify and unpack the release binaries of KUBEGPU_SHARED_BIN, hash a
# script's inputs into a cache key, and build an image with podman into an
# archive that `ctr -n k8s.io images import FILE` reads (a docker-archive,
# whose RepoTags carry the full image name).
#
# Environment (read here, on behalf of the calling script):
#   KUBEGPU_SHARED_BIN  release binaries: NAME.xz files and SHA256SUMS
#                       (default: ../shared/bin next to the repository root)
#   KUBEGPU_CACHE       cache root (default /var/cache/kubegpu)
#   CONTAINERS_CONF     podman settings (default tests/integration/containers.conf)

kg_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
kg_shared_bin=${KUBEGPU_SHARED_BIN:-$kg_root/../shared/bin}
kg_cache=${KUBEGPU_CACHE:-/var/cache/kubegpu}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$kg_root/tests/integration/containers.conf}
# shellcheck disable=SC2034 # used by the sourcing scripts
kg_lib=${BASH_SOURCE[0]}
kg_prog=$(basename "$0" .sh)

kg_log() { echo "$kg_prog: $*" >&2; }
kg_die() { kg_log "$*"; exit 1; }

kg_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || kg_die "$tool is not installed"
    done
}

# kg_sums: the SHA256SUMS file of the shared binaries (fails when missing).
kg_sums() {
    [ -r "$kg_shared_bin/SHA256SUMS" ] ||
        kg_die "no SHA256SUMS in $kg_shared_bin (set KUBEGPU_SHARED_BIN to the release binaries)"
    echo "$kg_shared_bin/SHA256SUMS"
}

# kg_verify FILE: check $KUBEGPU_SHARED_BIN/FILE against SHA256SUMS there.
kg_verify() {
    local file=$1 sums want got
    sums=$(kg_sums)
    [ -r "$kg_shared_bin/$file" ] || kg_die "$kg_shared_bin/$file is missing"
    want=$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$sums")
    [ -n "$want" ] || kg_die "$file is not listed in $sums"
    got=$(sha256sum "$kg_shared_bin/$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] ||
        kg_die "checksum mismatch for $kg_shared_bin/$file: SHA256SUMS says $want, the file is $got"
}

# kg_unpack NAME DEST: verify NAME.xz, then write the executable DEST.
kg_unpack() {
    local name=$1 dest=$2
    kg_verify "$name.xz"
    mkdir -p "$(dirname "$dest")"
    xz -dc "$kg_shared_bin/$name.xz" >"$dest.part"
    chmod 0755 "$dest.part"
    mv "$dest.part" "$dest"
}

# kg_hash [FILE|=STRING]...: a short hash over file contents and strings.
kg_hash() {
    local item
    for item in "$@"; do
        case $item in
            =*) printf 'string %s\n' "${item#=}" ;;
            *) printf 'file %s %s\n' "$(basename "$item")" "$(sha256sum <"$item" | cut -d' ' -f1)" ;;
        esac
    done | sha256sum | cut -c1-16
}

# kg_cached NAME HASH: print the cached directory NAME-HASH and succeed if it
# exists (a complete build: directories appear only by rename).
kg_cached() {
    local dest=$kg_cache/$1-$2
    if [ -d "$dest" ]; then
        echo "$dest"
        return 0
    fi
    return 1
}

# kg_workdir NAME HASH: a fresh build directory on the cache's file system,
# so the finished result can be renamed into place. Removed on exit.
kg_workdir() {
    mkdir -p "$kg_cache"
    kg_work=$(mktemp -d "$kg_cache/.$1-$2.XXXXXX")
    # shellcheck disable=SC2064 # expand now: the path is fixed
    trap "rm -rf '$kg_work'" EXIT
    trap 'exit 130' INT TERM
}

# kg_publish DIR NAME HASH: rename the finished DIR to NAME-HASH, print it.
kg_publish() {
    local dir=$1 dest=$kg_cache/$2-$3
    chmod 0755 "$dir"
    if ! mv -T "$dir" "$dest" 2>/dev/null; then
        # Another build of the same inputs finished first: keep that one.
        [ -d "$dest" ] || kg_die "could not rename $dir to $dest"
    fi
    echo "$dest"
}

# kg_base_image [PACKAGE...]: the local Debian trixie image with those
# packages (scripts/podman-image.sh builds it once and caches it).
kg_base_image() {
    "$kg_root/scripts/podman-image.sh" trixie "$@"
}

# A shell command for a RUN line in images FROM kg_base_image: drops python3
# (podman-image.sh always installs it), documentation, apt lists and logs.
# With kg_image's --squash-all this halves a Debian layer (about 85 MB left).
# shellcheck disable=SC2034,SC2016 # used by the sourcing scripts; expanded in the image
kg_slim='apt-get purge -y -qq $(dpkg-query -W -f "\${Package}\n" | grep -E "^(lib)?python3") >/dev/null 2>&1 \
 && rm -rf /usr/lib/python3* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
    /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/*'

# kg_image IMAGE CONTEXT OUT [PODMAN-BUILD-OPTION...]: podman build CONTEXT
# (its Containerfile) as IMAGE, save it to the archive OUT and drop it from
# podman's store again.
kg_image() {
    local image=$1 context=$2 out=$3
    shift 3
    kg_log "building $image"
    podman build --quiet --pull=never --network=none "$@" -t "$image" "$context" >/dev/null
    rm -f "$out"
    podman save --quiet --format docker-archive -o "$out" "$image"
    podman rmi "$image" >/dev/null
}

# kg_static_rootfs DIR: the few files a scratch image for a static binary
# wants besides the binary (users for USER lines, a writable /tmp).
kg_static_rootfs() {
    local dir=$1
    mkdir -p "$dir/etc" "$dir/tmp"
    chmod 1777 "$dir/tmp"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
    printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
}
