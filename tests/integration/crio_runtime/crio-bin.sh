#!/usr/bin/env bash
# Unpack CRI-O v1.36.3's crio, pinns and crictl from the shared release binaries
# into the checkout's cache, and print that directory (stdout: the path only).
#   tests/integration/crio_runtime/crio-bin.sh
# Unpacked once, again when a binary's checksum differs from SHA256SUMS.bin.
# Used by tests/integration/crio_runtime/run.sh and tests/integration/kubernetes/run.sh.
# Environment: KUBEGPU_SHARED_BIN (default ../shared/bin): the directory of
# crio.xz, pinns.xz, crictl.xz and SHA256SUMS.bin (see its README).
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 1
top=$PWD

shared_bin=${KUBEGPU_SHARED_BIN:-$top/../shared/bin}
shared_bin=$(cd "$shared_bin" 2>/dev/null && pwd) ||
  { echo "crio-bin: no directory ${KUBEGPU_SHARED_BIN:-$top/../shared/bin} of CRI-O release binaries (set KUBEGPU_SHARED_BIN to one)" >&2; exit 1; }
command -v xz >/dev/null || { echo "crio-bin: xz is not installed (apt-get install xz-utils)" >&2; exit 1; }
crio_bin=$top/.cache/crio-runtime/bin
mkdir -p "$crio_bin" || exit 1
for name in crio pinns crictl; do
  want=$(awk -v n="$name" '$2 == n {print $1}' "$shared_bin/SHA256SUMS.bin")
  [ -n "$want" ] || { echo "crio-bin: $shared_bin/SHA256SUMS.bin lists no $name" >&2; exit 1; }
  if [ ! -x "$crio_bin/$name" ] || [ "$(sha256sum "$crio_bin/$name" | cut -d' ' -f1)" != "$want" ]; then
    if ! { xz -dc "$shared_bin/$name.xz" >"$crio_bin/$name.part" && chmod 0755 "$crio_bin/$name.part" &&
      [ "$(sha256sum "$crio_bin/$name.part" | cut -d' ' -f1)" = "$want" ]; }; then
      echo "crio-bin: $shared_bin/$name.xz does not unpack to the binary SHA256SUMS.bin names" >&2; exit 1
    fi
    mv "$crio_bin/$name.part" "$crio_bin/$name"
  fi
done
echo "$crio_bin"
