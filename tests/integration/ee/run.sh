#!/usr/bin/env bash
# The execution environment of execution-environment.yml, built and run here:
#   tests/integration/ee/run.sh
# 1. `ansible-builder create` writes the build context from the shipped file,
#    unchanged (ansible-builder 3.1 in .venv-ee, requirements/ee.txt).
# 2. What cannot come from where the file says, since no registry but PyPI and
#    Debian's mirrors is reachable here, comes from this machine, all as build
#    arguments or in the context: the base image is Debian 13 made locally
#    (scripts/podman-image.sh) with a virtualenv as its Python (Debian disables
#    ensurepip, which ansible-builder runs, for the system Python), this
#    machine's CA bundle for PyPI and a
#    stand-in for dnf that calls apt-get (PKGMGR); ansible-core comes with the
#    pinned `ansible` package (requirements/run.txt), which also brings
#    kubernetes.core and community.general, so the collection's tarball (built
#    here, in place of Galaxy) installs with its dependencies resolved, offline.
#    Python and system packages come from the collection's
#    meta/execution-environment.yml, as for any user.
# 3. `podman build` of the context, tagged by a hash of every input, so a
#    second run with the same inputs builds nothing.
# 4. `ansible-playbook kubegpu.nvidia.site --check` inside the image against
#    localhost (no GPU, no cluster: it reports so and succeeds).
# Needs root, podman, debootstrap (installed with apt when missing).
set -euo pipefail
cd "$(dirname "$0")/../../.."
top=$PWD
start=$SECONDS
say() { echo "ee: $*"; }

scripts/apt-install.sh "ee tests" podman debootstrap runc uidmap slirp4netns >/dev/null
export CONTAINERS_CONF=$top/tests/integration/containers.conf

venv=$top/.venv-ee
scripts/venv.sh "$venv" requirements/ee.txt

work=$(mktemp -d "${TMPDIR:-/tmp}/kubegpu-ee.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The collection, as a user gets it.
.venv/bin/ansible-galaxy collection build --output-path "$work" . >/dev/null
tarball=$(cd "$work" && ls kubegpu-nvidia-*.tar.gz)

# 1. The build context, from the shipped file.
"$venv/bin/ansible-builder" create -f execution-environment.yml -c "$work/context" --output-filename Containerfile >/dev/null
cp "$work/$tarball" "$work/context/_build/"
printf 'collections:\n  - name: %s\n    type: file\n' "$tarball" >"$work/context/_build/requirements.yml"

# 2. The local base image: Debian 13 with python3 (ensurepip from python3-venv).
debian=$(scripts/podman-image.sh trixie python3-venv ca-certificates)
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
mkdir -p "$work/base"
cp "$ca" "$work/base/ca.crt"
cat >"$work/base/apt-dnf" <<'SHIM'
#!/bin/sh
# dnf's "install -y PKG..." and "clean all", as ansible-builder's scripts call them, done with apt-get.
set -e
case $1 in
  install) shift; [ "$1" = -y ] && shift; apt-get update -qq; exec apt-get install -y -qq --no-install-recommends "$@" ;;
  clean) exec apt-get clean ;;
  *) echo "apt-dnf: $* is not supported" >&2; exit 1 ;;
esac
SHIM
cat >"$work/base/Containerfile" <<BASE
FROM $debian
COPY ca.crt /usr/local/share/ca-certificates/build-machine.crt
COPY apt-dnf /usr/local/bin/apt-dnf
RUN chmod 0755 /usr/local/bin/apt-dnf && update-ca-certificates >/dev/null && python3 -m venv /opt/ee
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/ee/bin:\$PATH
BASE
base_tag=$(cat "$work/base/Containerfile" "$work/base/apt-dnf" "$work/base/ca.crt" | sha256sum | cut -c1-16)
base=localhost/kubegpu-ee-base:$base_tag
if ! podman image exists "$base"; then
  say "base image $base"
  podman build -q -t "$base" "$work/base" >/dev/null
fi
ansible_pins=$(grep -E '^(ansible|ansible-core)==' requirements/run.txt | paste -sd' ' -)
build_args=(
  --build-arg "EE_BASE_IMAGE=$base"
  --build-arg PYCMD=/opt/ee/bin/python3
  --build-arg PYPKG=python3
  --build-arg PKGMGR=/usr/local/bin/apt-dnf
  --build-arg "ANSIBLE_INSTALL_REFS=$ansible_pins ansible-runner"
  --build-arg ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline
)

# 3. Tagged by a hash of its inputs: the context (the collection by its file checksums,
#    not the tarball's bytes, which carry build times) and the build arguments.
inputs=$( { cd "$work/context" && find . -type f ! -name '*.tar.gz' -print0 | sort -z | xargs -0 sha256sum
  tar -xzOf "_build/$tarball" FILES.json | sha256sum
  printf '%s\n' "${build_args[@]}"; } | sha256sum | cut -c1-16)
image=localhost/kubegpu-ee:$inputs
if podman image exists "$image"; then
  say "image $image is built already (same inputs)"
else
  say "building $image (about 5 minutes on a machine without earlier builds; under a minute when only the collection changed)"
  podman build --layers -f "$work/context/Containerfile" "${build_args[@]}" -t "$image" "$work/context" \
    >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; say "podman build failed (log above)"; exit 1; }
fi
# Earlier builds' images (other inputs) are of no further use; their build cache stays.
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference=localhost/kubegpu-ee |
  grep -vxF "$image" | xargs -r podman rmi >/dev/null 2>&1 || true

# 4. The site playbook in check mode, inside the image, against localhost.
out=$(podman run --rm --user root "$image" ansible-playbook kubegpu.nvidia.site --check \
  -i localhost, -c local -e ansible_python_interpreter=/opt/ee/bin/python3 2>&1) || {
  echo "$out" | tail -n 40; say "kubegpu.nvidia.site --check failed in $image"; exit 1; }
echo "$out" | tail -n 4
grep -qE 'localhost +: ok=[0-9]+ .*unreachable=0 +failed=0' <<<"$out" ||
  { say "the recap shows a failed or unreachable host"; exit 1; }
say "passed in $((SECONDS - start)) s ($image)"
