# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find what a CDI spec of a node's NVIDIA GPUs must hand to containers.

Private to this collection. Reads the node only: device nodes below ``dev_root``,
the driver's user-space files below ``driver_root``. The GPUs, the running
driver version and the driver root come from the caller when it knows them
(gpu_facts' ``ansible_facts.nvidia``), else from the same readers gpu_facts
uses (plugins/module_utils/_gpu/collect.py). Returns an inventory dict for
spec.build_spec and a list of warnings; raises CdiError when no usable spec
can be made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re
import shutil

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.spec import CdiError
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import parsers
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import (
    RootReader,
    find_driver_root,
    read_driver,
    read_kernel,
    read_proc_gpus,
)

# Library directories below a driver root, most specific first.
LIBRARY_SUBDIRS = (
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "lib64",
    "usr/lib",
    "lib/x86_64-linux-gnu",
    "lib/aarch64-linux-gnu",
    "lib",
)
BIN_SUBDIRS = ("usr/bin", "bin", "usr/sbin", "sbin")
BINARIES = (
    "nvidia-smi",
    "nvidia-debugdump",
    "nvidia-persistenced",
    "nvidia-cuda-mps-control",
    "nvidia-cuda-mps-server",
)
REQUIRED_LIBRARIES = ("libcuda.so", "libnvidia-ml.so")
# Links that are not SONAMEs but that programs open by name; nvidia-ctk creates
# the same ones with its create-symlinks hook.
DEV_LINKS = ("libcuda.so",)
CONTROL_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")
IPC_PATHS = (
    "/run/nvidia-persistenced/socket",
    "/run/nvidia-fabricmanager/socket",
    "/tmp/nvidia-mps",
)
HOOK_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/local/nvidia/toolkit", "/usr/sbin")

_VERSIONED_RE = re.compile(r"^(lib.+\.so)\.(\d+\.\d+(?:\.\d+)?)$")
# What an NVIDIA driver library is called (lib*.so.<driver version> beyond these is not ours).
_NVIDIA_LIB_RE = re.compile(r"^lib(nvidia-|cuda|nvcuvid|nvoptix|.*_nvidia)")


def _realpath_in(host_dir, name):
    """The regular file a directory entry ends at, when it stays in the same directory."""
    path = os.path.join(host_dir, name)
    real = os.path.realpath(path)
    if os.path.dirname(real) != os.path.realpath(host_dir) or not os.path.isfile(real):
        return None
    return os.path.basename(real)


def find_library_dir(driver_root, run_command):
    """(driver_root, library_dir) as host paths: detected like gpu_facts, or below the given root."""
    if driver_root is None:
        found = find_driver_root(RootReader("/"), run_command)
        if not found["found"]:
            raise CdiError(
                "no NVIDIA driver libraries found (no libnvidia-ml in the ldconfig cache or the usual "
                "directories): install the driver, or set driver_root to where it lives"
            )
        return found["root"], found["library_dir"]
    root = os.path.abspath(driver_root)
    if not os.path.isdir(root):
        raise CdiError("driver_root %s does not exist or is not a directory" % root)
    for subdir in LIBRARY_SUBDIRS:
        directory = posixpath.join(root, subdir)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        if any(n.startswith(("libnvidia-ml.so", "libcuda.so")) for n in names):
            return root, directory
    raise CdiError(
        "driver_root %s has no NVIDIA libraries (no libnvidia-ml.so* or libcuda.so* in %s): "
        "point driver_root at the prefix that holds the driver's lib directory (such as /usr/local/nvidia "
        "or /run/nvidia/driver)" % (root, ", ".join(LIBRARY_SUBDIRS))
    )


def find_libraries(library_dir, version, warnings):
    """The driver's libraries of ``version`` in library_dir (and its vdpau/), with their links."""
    libraries, other_versions = [], {}
    for subdir in ("", "vdpau"):
        directory = posixpath.join(library_dir, subdir) if subdir else library_dir
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        real = {}
        for name in names:
            match = _VERSIONED_RE.match(name)
            if not match or os.path.islink(posixpath.join(directory, name)):
                continue
            if not os.path.isfile(posixpath.join(directory, name)):
                continue
            if match.group(2) != version:
                if _NVIDIA_LIB_RE.match(name):
                    other_versions.setdefault(match.group(2), []).append(name)
                continue
            real[name] = {
                "name": name,
                "stem": match.group(1),
                "subdir": subdir,
                "path": posixpath.join(directory, name),
                "host_path": posixpath.join(directory, name),
                "links": [],
                "dev_links": [],
            }
        for name in names:
            if not os.path.islink(posixpath.join(directory, name)):
                continue
            target = _realpath_in(directory, name)
            if target not in real:
                continue
            lib = real[target]
            if name.startswith(lib["stem"] + ".") and name[len(lib["stem"]) + 1:].isdigit():
                lib["links"].append(name)  # the SONAME link: libcuda.so.1
            elif name == lib["stem"] and name in DEV_LINKS:
                lib["dev_links"].append(name)  # libcuda.so
        libraries += [real[n] for n in sorted(real)]

    if other_versions:
        found = ", ".join("%s (%d files)" % (v, len(n)) for v, n in sorted(other_versions.items()))
        if libraries:
            warnings.append(
                "%s also holds NVIDIA libraries of other driver versions: %s; only %s (the running driver) "
                "goes into the spec. Remove the leftovers of the old driver" % (library_dir, found, version)
            )
        else:
            raise CdiError(
                "%s holds NVIDIA libraries of driver %s, but the running driver is %s: the user-space "
                "driver and the kernel module differ (reboot after a driver upgrade, or reinstall the driver)"
                % (library_dir, found, version)
            )
    present = {lib["stem"] for lib in libraries}
    missing = [stem for stem in REQUIRED_LIBRARIES if stem not in present]
    if not libraries or missing:
        raise CdiError(
            "%s has no %s for driver %s: CUDA and nvidia-smi cannot work in a container without them; "
            "(re)install the driver's user-space libraries"
            % (library_dir, " or ".join("%s.%s" % (m, version) for m in (missing or REQUIRED_LIBRARIES)), version)
        )
    return libraries


def find_binaries(driver_root):
    found, seen = [], set()
    dirs = [posixpath.join(driver_root, d) for d in BIN_SUBDIRS]
    for name in BINARIES:
        for directory in dirs:
            path = posixpath.join(directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK) and name not in seen:
                seen.add(name)
                found.append({"name": name, "path": path, "host_path": os.path.realpath(path)})
    return found


def find_firmware(driver_root, version):
    roots = [driver_root] if driver_root == "/" else [driver_root, "/"]
    for root in roots:
        for subdir in ("lib/firmware/nvidia", "usr/lib/firmware/nvidia"):
            directory = posixpath.join(root, subdir, version)
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            files = [n for n in names if os.path.isfile(posixpath.join(directory, n))]
            if files:
                return [
                    {
                        "path": posixpath.join("/lib/firmware/nvidia", version, n),
                        "host_path": os.path.realpath(posixpath.join(directory, n)),
                    }
                    for n in files
                ]
    return []


def _on_dev_root(dev_root, path):
    return path if dev_root in ("", "/") else posixpath.join(dev_root, path.lstrip("/"))


def find_hook(driver_root):
    dirs = list(HOOK_DIRS)
    if driver_root != "/":
        dirs += [posixpath.join(driver_root, d) for d in BIN_SUBDIRS]
    for directory in dirs:
        path = posixpath.join(directory, "nvidia-cdi-hook")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which("nvidia-cdi-hook")


def _gpu_list(gpus, reader):
    """GPUs as [{index, uuid, minor_number, pci_address, mig}] in PCI order (NVML's default order)."""
    if gpus is None:
        gpus = [
            {"pci_address": address, "uuid": info["uuid"], "minor_number": info["minor_number"]}
            for address, info in read_proc_gpus(reader).items()
        ]
    result = []
    for gpu in gpus:
        if not isinstance(gpu, dict):
            raise CdiError("gpus: expected a list of dicts (ansible_facts.nvidia.gpus), found %r" % (gpu,))
        minor = gpu.get("minor_number")
        try:
            minor = int(minor) if minor is not None else None
        except (TypeError, ValueError):
            raise CdiError(
                "gpus: minor_number %r of GPU %s is not a number" % (minor, gpu.get("pci_address"))
            ) from None
        result.append(
            {
                "pci_address": parsers.normalize_pci_address(gpu.get("pci_address") or "") or gpu.get("pci_address"),
                "uuid": gpu.get("uuid"),
                "minor_number": minor,
                "mig_enabled": gpu.get("mig_mode_current") == "enabled",
            }
        )
    result.sort(key=lambda g: (g["pci_address"] or "", g["minor_number"] if g["minor_number"] is not None else -1))
    return result


def discover(driver_root=None, dev_root="/", driver_version=None, gpus=None, run_command=None, layout="auto"):  # noqa: PLR0917
    """The inventory of a node for spec.build_spec, and warnings.

    ``gpus``: a list shaped like ansible_facts.nvidia.gpus (pci_address, uuid,
    minor_number; mig_mode_current when known), or None to read
    /proc/driver/nvidia/gpus. ``driver_version``: the running driver, or None
    to read /sys/module/nvidia/version (or /proc/driver/nvidia/version).
    """
    warnings = []
    reader = RootReader("/")
    dev_root = os.path.abspath(dev_root or "/")
    gpu_list = _gpu_list(gpus, reader)
    if not gpu_list:
        return None, ["no NVIDIA GPU found (none in /proc/driver/nvidia/gpus or in the gpus option)"]
    if not driver_version:
        driver_version = read_driver(reader, read_kernel(reader)["release"])["version"]
    if not driver_version:
        raise CdiError(
            "the NVIDIA kernel module is not loaded (no /sys/module/nvidia/version or /proc/driver/nvidia/version): "
            "load it (modprobe nvidia) or reboot into the driver, then run again"
        )

    usable = []
    for index, gpu in enumerate(gpu_list):
        label = gpu["uuid"] or gpu["pci_address"] or "#%d" % index
        if gpu["minor_number"] is None:
            warnings.append("GPU %s has no device minor number; it is left out of the spec" % label)
            continue
        path = "/dev/nvidia%d" % gpu["minor_number"]
        host_path = _on_dev_root(dev_root, path)
        if not os.path.exists(host_path):
            warnings.append(
                "GPU %s: its device node %s is missing, so it is left out of the spec; create it with "
                "`nvidia-modprobe -c %d` (or run nvidia-smi once as root)" % (label, host_path, gpu["minor_number"])
            )
            continue
        usable.append(dict(gpu, index=index, device_path=path, device_host_path=host_path))
    if not usable:
        raise CdiError(
            "none of the %d GPU(s) has its device node under %s/dev: load the driver and create the nodes "
            "(nvidia-modprobe, or nvidia-smi once as root)" % (len(gpu_list), dev_root.rstrip("/"))
        )

    control = []
    for path in CONTROL_NODES:
        host_path = _on_dev_root(dev_root, path)
        if os.path.exists(host_path):
            control.append({"path": path, "host_path": host_path})
        elif path == "/dev/nvidiactl":
            raise CdiError("%s is missing: the NVIDIA driver is not set up (nvidia-modprobe creates it)" % host_path)
        elif path == "/dev/nvidia-uvm":
            warnings.append(
                "%s is missing: CUDA programs will fail in containers; load nvidia-uvm "
                "(modprobe nvidia-uvm && nvidia-modprobe -u -c 0)" % host_path
            )
    if any(g["mig_enabled"] for g in usable):
        caps_dir = _on_dev_root(dev_root, "/dev/nvidia-caps")
        for name in sorted(os.listdir(caps_dir)) if os.path.isdir(caps_dir) else []:
            control.append({"path": "/dev/nvidia-caps/" + name, "host_path": posixpath.join(caps_dir, name)})

    root, library_dir = find_library_dir(driver_root, run_command)
    libraries = find_libraries(library_dir, driver_version, warnings)
    binaries = find_binaries(root)
    if not any(b["name"] == "nvidia-smi" for b in binaries):
        warnings.append("nvidia-smi not found in %s: containers will not have it" % ", ".join(
            posixpath.join(root, d) for d in BIN_SUBDIRS))
    ipc = []
    for path in IPC_PATHS:
        host_path = _on_dev_root(dev_root, path)
        if os.path.exists(host_path):
            ipc.append({"path": path, "host_path": host_path})

    hook_path = find_hook(root) if layout in ("auto", "hooks") else None
    if layout == "hooks" and not hook_path:
        raise CdiError(
            "layout=hooks needs nvidia-cdi-hook (NVIDIA Container Toolkit) on the node, and none was found in %s "
            "or PATH: install the toolkit, or use layout=hook_free" % ", ".join(HOOK_DIRS)
        )
    chosen = layout if layout != "auto" else ("hooks" if hook_path else "hook_free")
    inventory = {
        "driver_version": driver_version,
        "driver_root": root,
        "library_dir": library_dir,
        "dev_root": dev_root,
        "gpus": usable,
        "control_nodes": control,
        "libraries": libraries,
        "binaries": binaries,
        "firmware": find_firmware(root, driver_version),
        "ipc": ipc,
        "hook_path": hook_path if chosen == "hooks" else None,
        "layout": chosen,
    }
    return inventory, warnings
