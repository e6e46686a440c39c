#!/usr/bin/env bash
# Run ansible-test (sanity and units) from a given venv on a copy of this
# checkout placed where ansible-test needs it: .../ansible_collections/kubegpu/nvidia.
#   scripts/ansible-test.sh VENV_DIR sanity|units [ansible-test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1; shift
top=$PWD
core=$("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')
work="$top/build/ansible-test-$core"
dest="$work/ansible_collections/kubegpu/nvidia"
rm -rf "$work"; mkdir -p "$dest"
# Tracked and new (not ignored) files: what a clean checkout of this change holds.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
echo "== ansible-test $* (ansible-core $core)"
PATH="$top/$venv/bin:$PATH" "$top/$venv/bin/ansible-test" "$@" --venv --python 3.11 --color no
