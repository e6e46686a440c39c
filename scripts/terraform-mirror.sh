#!/usr/bin/env bash
# Find the local Terraform provider mirror (a directory holding
# registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*)
# and print its path. Machines without internet access ship such a mirror;
# where it lives differs per machine, so it is searched for, never assumed.
#
#   scripts/terraform-mirror.sh                      print the mirror directory
#   scripts/terraform-mirror.sh --cli-config FILE    also write a Terraform CLI
#                                                    config that installs providers
#                                                    from it only (use it with
#                                                    TF_CLI_CONFIG_FILE=FILE)
#
# TF_PROVIDER_MIRROR, when set, is used as is (after a check).
# Exit status 1: no mirror found (the caller may then use the public registry).
set -euo pipefail

cli_config=""
if [[ "${1:-}" == "--cli-config" ]]; then
  cli_config="${2:?--cli-config needs a file name}"
fi

is_mirror() {
  compgen -G "$1/registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*" >/dev/null
}

find_in() {
  # Print the mirror root above the first provider binary under the given roots.
  local binary
  binary=$(find "$@" \( -path /proc -o -path /sys -o -path /dev -o -name .terraform -o -name .git \) -prune \
    -o -type f -name 'terraform-provider-aws_*' -path '*/registry.terraform.io/hashicorp/aws/*' -print 2>/dev/null | head -n 1 || true)
  [[ -n "$binary" ]] || return 1
  # <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/<binary>
  dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$binary")")")")")"
}

mirror=""
if [[ -n "${TF_PROVIDER_MIRROR:-}" ]]; then
  is_mirror "$TF_PROVIDER_MIRROR" || { echo "TF_PROVIDER_MIRROR=$TF_PROVIDER_MIRROR holds no hashicorp/aws provider" >&2; exit 1; }
  mirror="$TF_PROVIDER_MIRROR"
else
  # Usual places first (fast), then the whole file system.
  likely=()
  for d in /opt /usr/local /usr/share /usr/lib "$HOME/.terraform.d" "$HOME/.local/share/terraform" /var/lib; do
    [[ -d "$d" ]] && likely+=("$d")
  done
  mirror=$( { [[ ${#likely[@]} -gt 0 ]] && find_in "${likely[@]}"; } || find_in / || true)
fi

if [[ -z "$mirror" ]]; then
  echo "no Terraform provider mirror with hashicorp/aws found on this machine" >&2
  exit 1
fi

if [[ -n "$cli_config" ]]; then
  cat >"$cli_config" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
}
CONFIG
fi
echo "$mirror"
