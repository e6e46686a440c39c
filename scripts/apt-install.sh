#!/usr/bin/env bash
# Install the named Debian packages on this (build) machine where missing, for
# the test scripts that need them. Idempotent and quiet when all are there.
#   scripts/apt-install.sh WHO PACKAGE...   (WHO names the caller in errors)
set -euo pipefail
who=${1:?usage: scripts/apt-install.sh WHO PACKAGE...}
shift
missing=()
for package in "$@"; do
  dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "::: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "$who: could not install ${missing[*]}" >&2
  exit 1
fi
