#!/usr/bin/env bash
# Pack a stage tree into parts that each fit one device call, with their
# manifest (what tests/gpu/stage.sh reads on the GPU host):
#   tests/gpu/pack.sh TREE OUT HASH [PART_SIZE]
# OUT gets part-00, part-01, ... (an xz-compressed tar of TREE cut into
# PART_SIZE pieces, default 56M, as split(1) reads sizes: a call carries 64 MiB
# with the working tree) and MANIFEST: one "sha256 size name" line per part,
# then "stage HASH". OUT is replaced as a whole, only once everything is written.
set -euo pipefail
tree=${1:?usage: tests/gpu/pack.sh TREE OUT HASH [PART_SIZE]}
out=${2:?usage: tests/gpu/pack.sh TREE OUT HASH [PART_SIZE]}
hash=${3:?usage: tests/gpu/pack.sh TREE OUT HASH [PART_SIZE]}
size=${4:-56M}
[ -d "$tree" ] || { echo "pack: no directory $tree" >&2; exit 1; }
rm -rf "$out.new"
mkdir -p "$out.new"
tar -C "$tree" -cf - . | xz -T2 -6 | split -b "$size" -d -a 2 - "$out.new/part-"
(
    cd "$out.new"
    for name in part-*; do
        echo "$(sha256sum "$name" | cut -d' ' -f1) $(stat -c %s "$name") $name"
    done
    echo "stage $hash"
) >"$out.new/MANIFEST"
rm -rf "$out"
mv "$out.new" "$out"
