#!/usr/bin/env bash
# Stage the parts of .gpu-carry-k8s/ (tests/gpu/cluster-prepare.sh) on the GPU
# host, over as many device calls as it takes, and unpack them once all are
# there. Run from the repository root on the GPU host, in every call:
#   tests/gpu/stage.sh
# Each call copies the carried parts whose checksum matches MANIFEST into
# $KUBEGPU_STAGE (default /var/tmp/kubegpu-stage; /var/tmp outlives a call
# while the machine stays warm) and keeps what an earlier call staged when it
# still matches. Exit status: 0 when the stage tree is complete and unpacked
# ($KUBEGPU_STAGE/tree), 3 when parts are still missing (it names them and
# what to carry next), 1 on an error. A machine that went cold starts empty:
# the same calls stage it again.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
carry=${KUBEGPU_CARRY:-$repo/.gpu-carry-k8s}
stage=${KUBEGPU_STAGE:-/var/tmp/kubegpu-stage}
manifest=$carry/MANIFEST
log() { echo "stage: $*"; }

[ -r "$manifest" ] || { log "no $manifest: carry .gpu-carry-k8s/MANIFEST (made by tests/gpu/cluster-prepare.sh)" >&2; exit 1; }
want=$(awk '$1 == "stage" { print $2 }' "$manifest")
[ -n "$want" ] || { log "$manifest names no stage hash: run tests/gpu/cluster-prepare.sh again" >&2; exit 1; }
mkdir -p "$stage/parts"

if [ -f "$stage/tree/.complete" ] && [ "$(cat "$stage/tree/.complete")" = "$want" ]; then
    log "complete: $stage/tree (stage $want)"
    exit 0
fi
# Parts of another stage are of no use.
if [ -f "$stage/parts/.stage" ] && [ "$(cat "$stage/parts/.stage")" != "$want" ]; then
    log "dropping the parts of stage $(cat "$stage/parts/.stage")"
    rm -rf "$stage/parts" "$stage/tree"
    mkdir -p "$stage/parts"
fi
echo "$want" >"$stage/parts/.stage"

missing=()
while read -r sum size name; do
    [ "$sum" = stage ] && continue
    have=$stage/parts/$name
    if [ -f "$have" ] && [ "$(stat -c %s "$have")" = "$size" ] && [ -f "$have.ok" ]; then
        continue
    fi
    if [ -f "$carry/$name" ]; then
        got=$(sha256sum "$carry/$name" | cut -d' ' -f1)
        if [ "$got" != "$sum" ]; then
            log "$name: checksum $got, MANIFEST says $sum: rebuild with tests/gpu/cluster-prepare.sh" >&2
            exit 1
        fi
        cp "$carry/$name" "$have.tmp"
        mv "$have.tmp" "$have"
        touch "$have.ok"
        log "$name: staged ($size bytes)"
    else
        missing+=("$name")
    fi
done <"$manifest"

if [ ${#missing[@]} -gt 0 ]; then
    log "missing ${#missing[@]} part(s): ${missing[*]}"
    log "next: carry .gpu-carry-k8s/MANIFEST and .gpu-carry-k8s/${missing[0]}"
    exit 3
fi

log "all parts staged; unpacking"
rm -rf "$stage/tree"
mkdir -p "$stage/tree"
start=$SECONDS
# Parts are named part-00, part-01, ...: the glob sorts them in order.
if command -v xz >/dev/null; then unxz=(xz -dc -T0)
else unxz=(python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer, 1 << 20)'); fi
cat "$stage"/parts/part-[0-9][0-9] | "${unxz[@]}" | tar -x -C "$stage/tree"
echo "$want" >"$stage/tree/.complete"
log "unpacked in $((SECONDS - start)) s: $(du -sh "$stage/tree" | cut -f1) in $stage/tree"
