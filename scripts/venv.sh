#!/usr/bin/env bash
# A virtualenv of the project's tools, built once per set of requirements and shared by every checkout.
#   scripts/venv.sh LINK REQUIREMENTS...
# Makes LINK (.venv, .venv-cluster, ...) a link to $KUBEGPU_VENV_CACHE/NAME-KEY, a virtualenv with
# `pip install -r` of each REQUIREMENTS file. KEY hashes the interpreter and the files' contents (name the
# files that one includes with -r too): a change to either builds a new virtualenv, the same requirements in
# another checkout reuse the built one. Builders of one virtualenv take turns (flock); one that failed halfway
# is built again. Virtualenvs unused for 30 days are removed.
# Environment:
#   KUBEGPU_PYTHON      the interpreter (default: the first of python3.11, 3.12, 3.13, python3 that is >= 3.11)
#   KUBEGPU_VENV_CACHE  where the virtualenvs live (default: ${XDG_CACHE_HOME:-~/.cache}/kubegpu/venvs);
#                       `none` builds the virtualenv in LINK itself, as a directory of this checkout
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/venv.sh LINK REQUIREMENTS..." >&2; exit 2; }
link=$1; shift
for req in "$@"; do
  [ -f "$req" ] || { echo "venv: $req: no such requirements file" >&2; exit 2; }
done

python=${KUBEGPU_PYTHON:-}
if [ -z "$python" ]; then
  # ansible-core 2.19 needs Python >= 3.11; prefer a real interpreter over a pyenv shim that may point at a
  # version that is not installed.
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      python=$(command -v "$candidate"); break
    fi
  done
fi
[ -n "$python" ] || { echo "venv: need Python >= 3.11 (set KUBEGPU_PYTHON=/path/to/python3.11)" >&2; exit 1; }

key=$({ echo "venv.sh 1"; "$python" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version)'
        cat "$@"; } | sha256sum | cut -c1-16)
cache=${KUBEGPU_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegpu/venvs}
name=$(basename "$link"); name=${name#.}
if [ "$cache" = none ]; then
  dir=$link lockfile=$(dirname "$link")/.cache/venv-$name.lock
  # In place of a link made before: the shared virtualenv stays as it is.
  [ -L "$link" ] && rm -f "$link"
else dir=$cache/$name-$key; lockfile=$dir.lock
fi
done_stamp=$dir/.kubegpu-requirements-$key

# LINK may be a link (made here before) or a virtualenv an earlier setup built in place; anything else there is
# not ours to replace.
if [ -e "$link" ] && [ ! -L "$link" ] && [ ! -f "$link/pyvenv.cfg" ]; then
  echo "venv: $link exists and is not a virtualenv: move it away" >&2; exit 1
fi

mkdir -p "$(dirname "$lockfile")"
exec {lock}>"$lockfile"
flock "$lock"
if [ ! -f "$done_stamp" ]; then
  echo "venv: installing $* into $dir with pip (once per set of requirements: a minute or two)"
  if [ "$dir" != "$link" ] || [ ! -x "$dir/bin/python" ]; then rm -rf "$dir"; "$python" -m venv "$dir"; fi
  args=()
  for req in "$@"; do args+=(-r "$req"); done
  # (This machine's pip configuration names local indexes that may be absent: drop those warnings.)
  { "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "${args[@]}"; } 2>&1 |
    { grep -v '^WARNING: Location .* is ignored' || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "venv: pip install ${args[*]} into $dir failed" >&2; exit 1; }
  rm -f "$dir"/.kubegpu-requirements-*
fi
touch "$done_stamp"
if [ "$dir" = "$link" ]; then exit 0; fi

# LINK: a link to the shared virtualenv, in place of one an earlier setup built there (still under the lock: steps
# that run at the same time link the same LINK).
if [ "$(readlink "$link" || true)" != "$dir" ]; then
  [ -L "$link" ] || rm -rf "$link"
  ln -sfn "$dir" "$link"
fi
exec {lock}>&-

# Virtualenvs of this name that no checkout used for 30 days (each use touches its stamp), when no one holds them.
for old in "$cache/$name"-*/; do
  old=${old%/}
  [ "$old" = "$dir" ] || [ ! -d "$old" ] && continue
  if [ -z "$(find "$old" -maxdepth 1 -name '.kubegpu-requirements-*' -mtime -30)" ]; then
    ( exec {old_lock}>"$old.lock" && flock -n "$old_lock" && rm -rf "$old" "$old.lock" ) || true
  fi
done
