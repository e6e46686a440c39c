#!/usr/bin/env bash
# Run ansible-test (sanity and units) from a given venv on a copy of this
# checkout placed where ansible-test needs it: .../ansible_collections/kubegpu/nvidia.
#   scripts/ansible-test.sh VENV_DIR sanity|units [ansible-test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(cd "$1" && pwd); shift
# Its shellcheck test is skipped, not failed, when shellcheck is missing.
if [ "${1:-}" = sanity ]; then scripts/apt-install.sh "ansible-test sanity" shellcheck; fi
core=$("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')
# Outside this checkout (inside a git work tree, ansible-test lists files with
# git), and one directory per run so that runs side by side do not collide.
work=$(mktemp -d "${TMPDIR:-/tmp}/kubegpu-ansible-test-$core.XXXXXX")
# Readable by every user (mktemp makes it 0700): the units run scripts of the copy as nobody.
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/kubegpu/nvidia"
mkdir -p "$dest"
# Tracked and new (not ignored) files: what a clean checkout of this change holds.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
echo "== ansible-test $* (ansible-core $core)"
# Keep the log readable: drop pip's chatter while ansible-test builds its venvs.
set -o pipefail
PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" "$@" --venv --python 3.11 --color no 2>&1 |
  grep --line-buffered -vE '^(Looking in |WARNING: Location |Collecting |Requirement already|  Downloading |  Using cached|Installing collected|Successfully installed|Processing |  Attempting |    Found existing|    Uninstalling|    Successfully uninstalled| +━|Using cached pip)'
