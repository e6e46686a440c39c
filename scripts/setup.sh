#!/usr/bin/env bash
# Prepare this checkout to run and test the collection. Idempotent: a second
# run only checks that the pinned requirements are installed.
#   scripts/setup.sh          controller venv (.venv) for ansible-playbook
#   scripts/setup.sh test     also the test tools, and the oldest supported `ansible` (10, core 2.17) in .venv-oldest
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
want=${1:-run}

python=${KUBEGPU_PYTHON:-}
if [ -z "$python" ]; then
  # ansible-core 2.19 needs Python >= 3.11; prefer a real interpreter over a
  # pyenv shim that may point at a version that is not installed.
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      python=$(command -v "$candidate"); break
    fi
  done
fi
[ -n "$python" ] || { echo "setup: need Python >= 3.11 (set KUBEGPU_PYTHON=/path/to/python3.11)" >&2; exit 1; }

make_venv() {  # make_venv DIR REQUIREMENTS
  local dir=$1 req=$2 stamp
  stamp="$dir/.requirements.$(sha256sum "$req" requirements/run.txt | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "setup: installing $req into $dir with pip (only when the requirements change; the first time takes about 1 to 2 minutes)"
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  # (This machine's pip configuration names local indexes that may be absent: drop those warnings.)
  { "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
    "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req"; } 2>&1 |
    { grep -v '^WARNING: Location .* is ignored' || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "setup: pip install -r $req failed" >&2; exit 1; }
  rm -f "$dir"/.requirements.*; touch "$stamp"
}

if [ "$want" = test ]; then
  # Both at once: pip unpacking one venv keeps one core busy.
  make_venv .venv requirements/test.txt & main=$!
  make_venv .venv-oldest requirements/ansible-oldest.txt & oldest=$!
  wait "$main" || exit 1
  wait "$oldest" || exit 1
  # ansible-test --venv fetches pip's bootstrap from the internet; use a local stand-in.
  scripts/ansible-test-offline-bootstrap.sh >/dev/null
else
  make_venv .venv requirements/run.txt
fi

# The collection resolves from this checkout (ansible.cfg collections_path).
mkdir -p .venv/collections/ansible_collections/kubegpu
ln -sfn ../../../.. .venv/collections/ansible_collections/kubegpu/nvidia
# Read the whole output, then keep its first line: `| head -1` closes the pipe
# early and ansible may die of it with a "Broken pipe" traceback.
version=$("$top/.venv/bin/ansible" --version 2>/dev/null) || version="ansible (--version failed)"
echo "setup: ready ($want) with ${version%%$'\n'*}"
