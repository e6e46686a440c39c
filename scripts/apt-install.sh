#!/usr/bin/env bash
# Install the named Debian packages on this (build) machine where missing, for
# the test scripts that need them. Idempotent and quiet when all are there.
#   scripts/apt-install.sh WHO PACKAGE...   (WHO names the caller in errors)
set -euo pipefail
who=${1:?usage: scripts/apt-install.sh WHO PACKAGE...}
shift
find_missing() {
  missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
  done
}
find_missing "$@"
[ ${#missing[@]} -gt 0 ] || exit 0
# Test steps run side by side (scripts/test.sh a+b) and both may install on a
# fresh machine: one apt at a time, and wait for any other dpkg user too.
exec 9>/run/lock/kubegpu-apt-install.lock
flock -w 1200 9 || { echo "$who: another apt-get install held the lock for 20 minutes" >&2; exit 1; }
find_missing "$@"
[ ${#missing[@]} -gt 0 ] || exit 0
echo "::: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
wait_lock=(-o DPkg::Lock::Timeout=600)
if ! { apt-get "${wait_lock[@]}" update -qq && apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "$who: could not install ${missing[*]}" >&2
  exit 1
fi
