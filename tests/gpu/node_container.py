# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the OCI runtime config (config.json) of a systemd "node" container for runc.

The lent GPU host runs no systemd (its PID 1 is the sandbox's own init), and
kubeadm, kubelet and containerd are systemd services on a real node. So the
node is a system container on that host, as a privileged podman container is
on the build machine: its own PID, mount, UTS, IPC, cgroup and network
namespaces, systemd as PID 1, all capabilities, no seccomp filter, a cgroup v2
tree of its own, the host's kernel and the host's GPU device nodes, and the
host's read-only driver root at the same path. With the standard library only.

    python3 tests/gpu/node_container.py BUNDLE_DIR --hostname NAME \
        [--bind HOST:CONTAINER[:ro]]... [--device PATH]...

BUNDLE_DIR holds rootfs/; config.json is written beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys

# Every capability of a current kernel, in the order of their numbers.
CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

# Device nodes every container has, and /dev/kmsg, which kubelet's OOM watcher reads.
BASE_DEVICES = [
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/kmsg", "/dev/fuse",
]


def device_entry(path):
    """The config's linux.devices entry for the host's device node ``path``, or None if absent."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISCHR(info.st_mode):
        kind = "c"
    elif stat.S_ISBLK(info.st_mode):
        kind = "b"
    else:
        raise SystemExit("node_container: %s is not a device node" % path)
    return {
        "path": path,
        "type": kind,
        "major": os.major(info.st_rdev),
        "minor": os.minor(info.st_rdev),
        "fileMode": stat.S_IMODE(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
    }


def bind_mount(spec):
    """HOST:CONTAINER[:ro] -> a recursive bind mount."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "ro"):
        raise SystemExit("node_container: --bind wants HOST:CONTAINER[:ro], not %r" % spec)
    source, dest = parts[0], parts[1]
    if not os.path.exists(source):
        raise SystemExit("node_container: --bind source %s does not exist" % source)
    options = ["rbind", "rprivate", "ro" if len(parts) == 3 else "rw"]
    return {"destination": dest, "type": "bind", "source": os.path.abspath(source), "options": options}


def host_capabilities(status="/proc/self/status"):
    """The capabilities of this process's bounding set (a privileged container gets them all)."""
    with open(status, encoding="ascii") as handle:
        mask = next(int(line.split()[1], 16) for line in handle if line.startswith("CapBnd:"))
    return [name for number, name in enumerate(CAPABILITIES) if mask >> number & 1]


def _mount(destination, kind, source, options):
    return {"destination": destination, "type": kind, "source": source, "options": options.split(",")}


def config(hostname, binds, devices, cgroups_path):
    """The whole config.json document."""
    mounts = [
        _mount("/proc", "proc", "proc", "nosuid,noexec,nodev"),
        _mount("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
        _mount("/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"),
        _mount("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=1g"),
        _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
        _mount("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,rw"),
        # The container's own cgroup v2 tree (cgroup namespace): systemd and kubelet manage it.
        _mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,rw"),
        _mount("/run", "tmpfs", "tmpfs", "nosuid,nodev,mode=755,size=1g"),
        _mount("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777,size=8g"),
    ]
    mounts += [bind_mount(spec) for spec in binds]
    paths = list(dict.fromkeys(BASE_DEVICES + list(devices)))
    entries = [entry for entry in (device_entry(path) for path in paths) if entry]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["/sbin/init"],
            # systemd reads $container to know it runs in one (no udev, no getty on a console).
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=runc", "TERM=dumb"],
            "cwd": "/",
            "capabilities": dict.fromkeys(("bounding", "effective", "permitted", "ambient"), host_capabilities()),
            "noNewPrivileges": False,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": kind} for kind in ("pid", "mount", "ipc", "uts", "cgroup", "network")],
            "cgroupsPath": cgroups_path,
            "devices": entries,
            # Every device may be opened (containerd hands GPU nodes on to pods).
            "resources": {"devices": [{"allow": True, "access": "rwm"}]},
            "maskedPaths": [],
            "readonlyPaths": [],
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("bundle")
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--bind", action="append", default=[])
    parser.add_argument("--device", action="append", default=[])
    parser.add_argument("--cgroups-path", default="/kubegpu-node")
    args = parser.parse_args(argv)
    if not os.path.isdir(os.path.join(args.bundle, "rootfs")):
        raise SystemExit("node_container: %s has no rootfs/" % args.bundle)
    document = config(args.hostname, args.bind, args.device, args.cgroups_path)
    with open(os.path.join(args.bundle, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    counts = (args.bundle, len(document["mounts"]), len(document["linux"]["devices"]))
    print("node_container: %s/config.json: %d mounts, %d devices" % counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
