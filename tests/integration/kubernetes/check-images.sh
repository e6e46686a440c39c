#!/usr/bin/env bash
# Check the images of bundle.sh and nvidia-images.sh in a real containerd:
# Debian trixie's containerd 1.7 and runc, run in a privileged podman
# container (scripts/podman-image.sh trixie containerd runc). It imports every
# archive with `ctr -n k8s.io images import`, compares `ctr images ls` with
# the names the scripts list, and runs each image's programs with `ctr run`:
# --version of the control-plane binaries, kube-proxy, iptables (rules added
# and listed, nft backend), conntrack, etcd (started, its /livez and /readyz
# probed as kubeadm's static pod probes them), pause (started and stopped),
# the device plugin, GPU feature discovery, the operator and the validator.
#
# Builds the bundles first when they are not cached (see those scripts for
# their environment). Nothing is cached here; containerd's state lives in a
# temporary directory removed at the end. Prints what it runs and sees.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/images-lib.sh
. "$here/images-lib.sh"

kg_need podman
bundle=$("$here/bundle.sh")
nvidia=$("$here/nvidia-images.sh")
image=$(kg_base_image containerd runc)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kubegpu-containerd.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/state"

# The checks, run inside the container (a file: ctr run reads stdin).
cat >"$work/check.sh" <<'CHECK'
say() { printf '\n$ %s\n' "$*"; }
ctr_run() { say "ctr run $*"; ctr -n k8s.io run --rm "$@"; }

containerd >/tmp/containerd.log 2>&1 &
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
say "containerd --version"; containerd --version

for f in /bundle/images/*.tar /nvidia/images/*.tar; do
    say "ctr -n k8s.io images import $f"
    ctr -n k8s.io images import "$f"
done
say "ctr -n k8s.io images ls"
ctr -n k8s.io images ls
# (the sha256:<id> references are the CRI plugin's own, one per image)
ctr -n k8s.io images ls -q | grep -v '^sha256:' | sort >/tmp/got
sort /bundle/images.txt /nvidia/images.txt >/tmp/want
diff -u /tmp/want /tmp/got
echo "images: exactly the listed names"
say "cat /bundle/images/etcd.tag"; cat /bundle/images/etcd.tag

k=registry.k8s.io
v=v1.36.2
ctr_run "$k/kube-apiserver:$v" c1 kube-apiserver --version
ctr_run "$k/kube-controller-manager:$v" c2 kube-controller-manager --version
ctr_run "$k/kube-scheduler:$v" c3 kube-scheduler --version
ctr_run "$k/kube-proxy:$v" c4 /usr/local/bin/kube-proxy --version
ctr_run --privileged "$k/kube-proxy:$v" c5 sh -euc '
    iptables --version; ip6tables --version; conntrack --version
    iptables -t nat -N KUBE-SERVICES
    iptables -t nat -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination 10.0.0.10:6443
    ip6tables -t nat -N KUBE-SERVICES
    printf "*filter\n:KUBE-FORWARD - [0:0]\n-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n" | iptables-restore --noflush
    iptables-save -t nat | grep KUBE; iptables-save -t filter | grep KUBE'

etcd=$k/etcd:$(cat /bundle/images/etcd.tag)
ctr_run "$etcd" c6 etcd --version
say "ctr run -d --net-host $etcd (etcd with kubeadm's probe port), GET /livez and /readyz"
ctr -n k8s.io run -d --net-host "$etcd" c7 etcd --data-dir=/var/lib/etcd \
    --listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
    --listen-metrics-urls=http://127.0.0.1:2381 >/dev/null
python3 - <<'PY'
import time
import urllib.request
for path in ("/livez", "/readyz"):
    for _ in range(100):
        try:
            with urllib.request.urlopen("http://127.0.0.1:2381" + path, timeout=1) as r:
                print(path, r.status, r.read().decode().strip())
                break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(path + " never answered")
PY
ctr -n k8s.io task kill -s KILL c7; sleep 0.5; ctr -n k8s.io container rm c7

pause=$(grep /pause: /bundle/images.txt)
say "ctr run -d $pause (runs as upstream's, until killed)"
ctr -n k8s.io run -d "$pause" c8 >/dev/null
sleep 0.5; ctr -n k8s.io task ls | grep c8
ctr -n k8s.io task kill c8; sleep 0.5; ctr -n k8s.io container rm c8

n=nvcr.io/nvidia
ctr_run "$n/k8s-device-plugin:v0.20.0" c9 nvidia-device-plugin --version
ctr_run "$n/k8s-device-plugin:v0.20.0" c10 gpu-feature-discovery --version
ctr_run "$n/gpu-operator:v26.7.0" c11 gpu-operator --help 2>&1 | head -n 5
ctr_run "$n/gpu-operator:v26.7.0" c12 sh -c 'id; nvidia-validator --version; ls /opt/gpu-operator | head -n 40; ls /opt/validator/manifests'
CHECK

podman run --rm --privileged --cgroupns host --network none \
    -v "$work/state:/var/lib/containerd" -v "$work/check.sh:/check.sh:ro" \
    -v "$bundle:/bundle:ro" -v "$nvidia:/nvidia:ro" \
    "$image" bash -euo pipefail /check.sh </dev/null
