#!/usr/bin/env bash
# Inside a node container whose init is systemd (tests/gpu/cluster.sh's node): does a container that runc
# runs under systemd's cgroup driver keep an NVIDIA device node through `systemctl daemon-reload`, and
# does it need a /dev/char link for that? (NVIDIA/nvidia-container-toolkit issue 48: runc 1.1.3 to 1.1.6
# left a device without a /dev/char/MAJOR:MINOR link out of the unit's DeviceAllow, and systemd before
# v240 cannot take one without the link; systemd then dropped the device at the next reload.)
#   tests/gpu/systemd-device-reload.sh FILE
# Runs the node's own runc with --systemd-cgroup on a container whose root is the node's root (read-only),
# given /dev/nvidia0 (the GPU's where there is one; else a node with the driver's numbers, 195:0, which
# opens with ENXIO for want of a driver, and EPERM where the device cgroup denies it). Twice: without
# the link /dev/char/195:0, then with it (kubegpu.nvidia.dev_char_links). Each time it opens the device
# from inside the container before and after a daemon-reload, and shows the unit's DeviceAllow and,
# on cgroup v1, the kernel's device list. Fails if an open is denied (EPERM) while the rule allows it.
set -uo pipefail
file=${1:?usage: tests/gpu/systemd-device-reload.sh FILE}
exec >>"$file" 2>&1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=/run/kubegpu-device-reload
name=kubegpu-device-reload
status=0
fail() { echo "FAILED: $*"; status=1; }

made_node=0
if [ ! -c /dev/nvidia0 ]; then
    mknod -m 0666 /dev/nvidia0 c 195 0 || { echo "could not make /dev/nvidia0"; exit 1; }
    made_node=1
fi
echo "systemd $(systemctl --version | awk 'NR == 1 {print $2}'), $(runc --version | head -n 1)," \
    "cgroup $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/v2/; s/tmpfs/v1 (hybrid)/'), /dev/nvidia0 $((0x$(stat -c %t /dev/nvidia0))):$((0x$(stat -c %T /dev/nvidia0)))"

cleanup() {
    runc delete --force "$name" >/dev/null 2>&1
    umount "$work/rootfs" 2>/dev/null
    rm -rf "$work"
}

# probe: open /dev/nvidia0 read-write in the container; prints ok or the errno's name.
probe() {
    runc exec "$name" python3 -c '
import errno, os
try:
    os.close(os.open("/dev/nvidia0", os.O_RDWR))
    print("ok")
except OSError as exc:
    print(errno.errorcode.get(exc.errno, exc.errno))'
}

run_once() {
    local label=$1 allow=${2:-allow} before after unit
    cleanup
    mkdir -p "$work/rootfs"
    if ! { mount --bind / "$work/rootfs" && mount -o remount,bind,ro "$work/rootfs"; }; then
        fail "could not bind the node's root"; return
    fi
    (cd "$work" && runc spec) || { fail "runc spec"; return; }
    python3 - "$work/config.json" "$name" "$allow" <<'PY' || { fail "could not write the container's config"; return; }
import json, os, sys
path, name, allow = sys.argv[1:]
config = json.load(open(path))
config["process"].update(terminal=False, args=["sleep", "600"])
config["root"] = {"path": "rootfs", "readonly": True}
config["hostname"] = name
linux = config["linux"]
linux["cgroupsPath"] = "system.slice:kubegpu:" + name
rdev = os.stat("/dev/nvidia0").st_rdev
major, minor = os.major(rdev), os.minor(rdev)
# As a runtime passes a GPU: the node and an allow rule for its numbers (what a CDI spec or a device plugin asks).
linux.setdefault("devices", []).append({"path": "/dev/nvidia0", "type": "c", "major": major, "minor": minor,
                                        "fileMode": 0o666, "uid": 0, "gid": 0})
if allow == "allow":
    linux["resources"]["devices"].append({"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"})
linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "network"]
json.dump(config, open(path, "w"))
PY
    runc --systemd-cgroup run -d --bundle "$work" "$name" </dev/null >"$work/run.log" 2>&1 ||
        { cat "$work/run.log"; fail "runc could not start the container"; return; }
    unit=kubegpu-$name.scope
    echo "--- $label"
    systemctl show "$unit" -p DeviceAllow | grep -E '195:|nvidia' | sed "s|^|$unit: |" || echo "$unit: no DeviceAllow for the device"
    before=$(probe)
    echo "open before the daemon-reload: $before"
    systemctl daemon-reload
    sleep 1
    after=$(probe)
    echo "open after the daemon-reload: $after"
    local cg
    cg=$(systemctl show "$unit" -p ControlGroup --value)
    if [ -r "/sys/fs/cgroup/devices$cg/devices.list" ]; then
        echo "devices.list after: $(grep -c . "/sys/fs/cgroup/devices$cg/devices.list") rules, $(grep -E '^c 195:' "/sys/fs/cgroup/devices$cg/devices.list" || echo 'none for 195')"
    fi
    if [ "$allow" = deny ]; then
        # The control: without an allow rule the open must be denied, else the probe could not see a denial.
        [ "$before" = EPERM ] || fail "$label: the device was not denied without an allow rule ($before)"
    else
        [ "$before" = EPERM ] && fail "$label: the device was denied before the daemon-reload"
        [ "$after" = EPERM ] && fail "$label: the device was denied after the daemon-reload"
    fi
    runc delete --force "$name" >/dev/null 2>&1
}

links=(ansible localhost -m kubegpu.nvidia.dev_char_links)
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-/root/.ansible/collections:/opt/kubegpu/collections}
mkdir -p /root/.ansible/collections/ansible_collections/kubegpu
[ -e /root/.ansible/collections/ansible_collections/kubegpu/nvidia ] ||
    ln -sfn "$repo" /root/.ansible/collections/ansible_collections/kubegpu/nvidia
"${links[@]}" -a state=absent >/dev/null
run_once "control: the device node without an allow rule" deny
if [ -e /dev/char/195:0 ]; then
    echo "/dev/char/195:0 exists and is not ours (udev's?): the run without a link is not possible here"
else
    run_once "without /dev/char/195:0"
fi
"${links[@]}" >"$work.links.log" 2>&1 || { cat "$work.links.log"; fail "dev_char_links failed"; }
rm -f "$work.links.log"
[ -L /dev/char/195:0 ] || fail "dev_char_links made no /dev/char/195:0"
run_once "with /dev/char/195:0 -> $(readlink /dev/char/195:0)"
"${links[@]}" -a state=absent >/dev/null
cleanup
[ "$made_node" = 1 ] && rm -f /dev/nvidia0
[ "$status" = 0 ] && echo "passed: the device stayed open to the container through each daemon-reload"
exit "$status"
