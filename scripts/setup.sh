#!/usr/bin/env bash
# Prepare this checkout to run and test the collection. Idempotent: a second
# run only checks that the pinned requirements are installed.
#   scripts/setup.sh          controller venv (.venv) for ansible-playbook
#   scripts/setup.sh test     also the test tools, and the oldest supported `ansible` (10, core 2.17) in .venv-oldest
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
want=${1:-run}

# The virtualenvs are built once per set of requirements, outside this checkout, and linked here
# (scripts/venv.sh: ~/.cache/kubegpu/venvs, KUBEGPU_VENV_CACHE=none keeps them in the checkout).
if [ "$want" = test ]; then
  # Both at once: pip unpacking one venv keeps one core busy.
  scripts/venv.sh .venv requirements/test.txt requirements/run.txt & main=$!
  scripts/venv.sh .venv-oldest requirements/ansible-oldest.txt & oldest=$!
  wait "$main" || exit 1
  wait "$oldest" || exit 1
  # ansible-test --venv fetches pip's bootstrap from the internet; use a local stand-in.
  scripts/ansible-test-offline-bootstrap.sh >/dev/null
else
  scripts/venv.sh .venv requirements/run.txt
fi

# The collection resolves from this checkout (ansible.cfg collections_path), not from the shared virtualenv.
mkdir -p .cache/collections/ansible_collections/kubegpu
ln -sfn ../../../.. .cache/collections/ansible_collections/kubegpu/nvidia
# Read the whole output, then keep its first line: `| head -1` closes the pipe
# early and ansible may die of it with a "Broken pipe" traceback.
version=$("$top/.venv/bin/ansible" --version 2>/dev/null) || version="ansible (--version failed)"
echo "setup: ready ($want) with ${version%%$'\n'*}"
