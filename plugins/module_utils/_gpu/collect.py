# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather the ``ansible_facts.nvidia`` dict of a node (or of a root file system).

Private to this collection. All reads go through RootReader, which resolves
paths inside ``root`` (following symlinks there, not on the host), reads each
file at most once and records, instead of raising, every file that exists but
cannot be read or understood. Commands run only when ``root`` is ``/``, through
the ``run_command`` callable the caller passes in (AnsibleModule.run_command).

Paths in the returned facts are as seen on the inspected system, without the
``root`` prefix, so roles can use them as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import platform
import posixpath
import re
import shutil
import stat

# MAX_FILE_BYTES: a name the tests use from here.
from ansible_collections.kubegpu.nvidia.plugins.module_utils._bounded_read import (  # noqa: F401  # pylint: disable=unused-import
    MAX_FILE_BYTES,
    FileRefused,
    read_regular_file,
)
from ansible_collections.kubegpu.nvidia.plugins.module_utils._bounded_read import (
    file_type as _file_type,
)
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import devices, parsers, runtime_cgroups
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.findings import FABRIC_MANAGER_UNIT, compute_findings
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONFIGS

BIN_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin", "/bin", "/sbin", "/opt/bin")
SYSTEMD_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
MODPROBE_DIRS = ("/etc/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d")
CDI_DIRS = ("/etc/cdi", "/var/run/cdi", "/run/cdi")
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/local/nvidia/lib64",
    "/usr/local/nvidia/lib",
    "/run/nvidia/driver/usr/lib/x86_64-linux-gnu",
    "/run/nvidia/driver/usr/lib64",
    "/run/nvidia/driver/usr/lib/aarch64-linux-gnu",
)
NVIDIA_SMI_DIRS = ("/usr/bin", "/usr/local/nvidia/bin", "/run/nvidia/driver/usr/bin", "/usr/sbin", "/bin")
# Where distributions and DKMS put nvidia.ko below /lib/modules/<release>.
MODULE_SUBDIRS = (
    "updates/dkms",
    "updates",
    "extra",
    "extra/nvidia",
    "kernel/drivers/video",
    "kernel/drivers/video/nvidia",
)
CONTAINER_TOOLKIT_BINARIES = (
    "nvidia-ctk",
    "nvidia-container-runtime",
    "nvidia-cdi-hook",
    "nvidia-container-cli",
)
SECURE_BOOT_GUID = "8be4df61-93ca-11d2-aa0d-e0a9e5b8cf8c"
NVSWITCH_PROC_DEVICES = "/proc/driver/nvidia-nvswitch/devices"
# What `systemctl is-active` prints (systemd's unit active states).
SYSTEMD_ACTIVE_STATES = ("active", "reloading", "inactive", "failed", "activating", "deactivating", "maintenance")
CONTAINERD_CONFIG = CONFIGS["containerd"]
CRIO_CONFIG = CONFIGS["crio"]

# Debian's packages name the module nvidia-current.ko (the module itself is still "nvidia").
_MODULE_FILE_RE = re.compile(r"^nvidia(?:-current)?\.ko(?:\.(?:xz|zst|gz))?$")
_MODULES_DEP_RE = re.compile(r"^(\S*/nvidia(?:-current)?\.ko(?:\.(?:xz|zst|gz))?):", re.MULTILINE)


# Bounds on what a hostile or broken root can make the module do. No real node comes near them: a
# large server lists a few thousand PCI functions (SR-IOV included) and a library directory a few
# thousand files.
MAX_DIR_ENTRIES = 65536
MAX_PCI_DEVICES = 8192
MAX_READ_ERRORS = 100


class GatherError(Exception):
    """The inspection cannot start (a root that does not exist); the message says what to pass instead."""


def check_command_timeout(seconds):
    """Refuse a command_timeout that would let a hanging nvidia-smi hold the task for ever."""
    if seconds is None or seconds < 1:
        raise GatherError(
            "command_timeout is %s: it must be at least 1 (seconds). It bounds each command the module runs "
            "(nvidia-smi, ldconfig, containerd), and 0 or less would wait for ever on a GPU that fell off the bus. "
            "Leave it out for the default of 60, or give the number of seconds a command may take" % seconds
        )


class RootReader:
    """Reads files below a root; absence is an answer, any other failure a recorded error."""

    def __init__(self, root="/"):
        self.root = os.path.abspath(root or "/")
        self.errors = []
        self._dropped = 0
        self._resolved = {}

    @property
    def is_live(self):
        return self.root == "/"

    def host(self, path):
        """The path to open on this machine for ``path`` on the inspected system."""
        if self.is_live:
            return path
        return self.root + self._resolve(path, 0)

    def _resolve(self, path, depth):
        # Follow symlinks inside the root, as chroot would: an absolute link
        # such as /lib/modules/6.1.0/build -> /usr/src/linux-headers-6.1.0
        # must not be followed on the host.
        path = posixpath.normpath("/" + path)
        cached = self._resolved.get(path)
        if cached is not None:
            return cached
        current = "/"
        for part in path.strip("/").split("/"):
            if not part:
                continue
            candidate = posixpath.join(current, part)
            on_host = self.root + candidate
            if depth < 40 and os.path.islink(on_host):
                try:
                    target = os.readlink(on_host)
                except OSError:
                    current = candidate
                    continue
                joined = target if target.startswith("/") else posixpath.join(current, target)
                current = self._resolve(joined, depth + 1)
            else:
                current = candidate
        self._resolved[path] = current
        return current

    def error(self, path, reason):
        """Record a file that could not be read; past MAX_READ_ERRORS, one last entry counts the rest."""
        if len(self.errors) < MAX_READ_ERRORS:
            self.errors.append({"path": path, "reason": reason})
            return
        self._dropped += 1
        summary = {
            "path": path,
            "reason": "and %d more files that could not be read or understood (the last one is this path); "
            "only the first %d are listed" % (self._dropped, MAX_READ_ERRORS),
        }
        if len(self.errors) == MAX_READ_ERRORS:
            self.errors.append(summary)
        else:
            self.errors[-1] = summary

    def _os_error(self, path, exc):
        if isinstance(exc, IsADirectoryError):
            reason = "is a directory, expected a file"
        elif isinstance(exc, PermissionError):
            reason = "permission denied"
        else:
            reason = exc.strerror or str(exc)
        self.error(path, reason)

    def data(self, path):
        """File contents as bytes; None when the file does not exist."""
        try:
            return read_regular_file(self.host(path))
        except FileNotFoundError:
            return None  # removed between the stat and the open
        except FileRefused as exc:
            self.error(path, str(exc))
            return None
        except OSError as exc:
            self._os_error(path, exc)
            return None

    def text(self, path):
        """File contents as text (undecodable bytes replaced); None when absent or unreadable."""
        data = self.data(path)
        if data is None:
            return None
        return data.decode("utf-8", "replace")

    def listdir(self, path, limit=MAX_DIR_ENTRIES):
        """Sorted entries of a directory, at most ``limit`` of them; None when it does not exist.

        Past the limit the listing stops (the first ``limit`` entries the file system gives, sorted)
        and the directory is recorded once as a read error naming the bound.
        """
        names = []
        try:
            with os.scandir(self.host(path)) as entries:
                for entry in entries:
                    if len(names) == limit:
                        self.error(
                            path,
                            "has more than %d entries, more than any real node has there; only %d were read"
                            % (limit, limit),
                        )
                        break
                    names.append(entry.name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if isinstance(exc, NotADirectoryError):
                self.error(path, "is not a directory")
            else:
                self._os_error(path, exc)
            return None
        return sorted(names)

    def exists(self, path):
        return os.path.exists(self.host(path))

    def isdir(self, path):
        return os.path.isdir(self.host(path))

    def isfile(self, path):
        return os.path.isfile(self.host(path))

    def link_basename(self, path):
        # Resolve the parent only: the link itself is what is read.
        parent, name = posixpath.split(path)
        try:
            return posixpath.basename(os.readlink(posixpath.join(self.host(parent), name)).rstrip("/")) or None
        except OSError:
            return None

    def parse(self, path, parser, text, *args):
        """parser(text, *args), recording a ParseError against ``path``; None on error."""
        try:
            return parser(text, *args)
        except parsers.ParseError as exc:
            self.error(path, str(exc))
            return None

    def find_binary(self, name, dirs=BIN_DIRS, use_path=True):
        if self.is_live and use_path:
            found = shutil.which(name)
            if found:
                return found
        for directory in dirs:
            path = posixpath.join(directory, name)
            host = self.host(path)
            if os.path.isfile(host) and os.access(host, os.X_OK):
                return path
        return None

    def find_file(self, name, dirs):
        for directory in dirs:
            path = posixpath.join(directory, name)
            if self.isfile(path):
                return path
        return None


def _empty_gpu(address):
    return {
        "pci_address": address,
        "vendor_id": devices.NVIDIA_VENDOR_ID,
        "device_id": None,
        "subsystem_vendor_id": None,
        "subsystem_device_id": None,
        "class_code": None,
        "kind": None,
        "name": None,
        "product_name": None,
        "architecture": None,
        "driver": None,
        "numa_node": None,
        "uuid": None,
        "minor_number": None,
        "vbios_version": None,
        "firmware_version": None,
        "memory_total_mib": None,
        "compute_capability": None,
        "mig_mode_current": None,
        "mig_mode_pending": None,
        "mig_device_count": None,
        "persistence_mode": None,
    }


def scan_pci(reader):
    """NVIDIA GPUs and NVSwitches from sysfs: (gpus, nvswitches)."""
    gpus, nvswitches = [], []
    base = "/sys/bus/pci/devices"
    for address in reader.listdir(base, MAX_PCI_DEVICES) or []:
        device_dir = posixpath.join(base, address)
        vendor_path = device_dir + "/vendor"
        vendor_text = reader.text(vendor_path)
        if vendor_text is None:
            continue
        vendor = reader.parse(vendor_path, parsers.parse_hex, vendor_text, "PCI vendor id")
        if vendor != 0x10DE:
            continue
        class_path = device_dir + "/class"
        class_code = reader.parse(class_path, parsers.parse_hex, reader.text(class_path) or "", "PCI class")
        if class_code is None:
            continue
        prefix = class_code >> 8
        if prefix not in (devices.PCI_CLASS_VGA, devices.PCI_CLASS_3D, devices.PCI_CLASS_BRIDGE_OTHER):
            continue  # the HDMI audio function of a graphics card, a USB-C controller, ...
        device_path = device_dir + "/device"
        device_id = reader.parse(device_path, parsers.parse_hex, reader.text(device_path) or "", "PCI device id")
        device_id = "0x%04x" % device_id if device_id is not None else None
        numa_text = reader.text(device_dir + "/numa_node")
        numa_node = (
            reader.parse(device_dir + "/numa_node", parsers.parse_numa_node, numa_text) if numa_text else None
        )
        driver = reader.link_basename(device_dir + "/driver")
        normalized = parsers.normalize_pci_address(address) or address
        if prefix == devices.PCI_CLASS_BRIDGE_OTHER:
            nvswitches.append(
                {
                    "pci_address": normalized,
                    "device_id": device_id,
                    "name": devices.nvswitch_name(device_id),
                    "driver": driver,
                    "numa_node": numa_node,
                }
            )
            continue
        gpu = _empty_gpu(normalized)
        gpu.update(
            {
                "device_id": device_id,
                "subsystem_vendor_id": _hex_attr(reader, device_dir + "/subsystem_vendor"),
                "subsystem_device_id": _hex_attr(reader, device_dir + "/subsystem_device"),
                "class_code": "0x%06x" % class_code,
                "kind": "vga" if prefix == devices.PCI_CLASS_VGA else "3d",
                "name": devices.gpu_name(device_id),
                "compute_capability": devices.gpu_compute_capability(device_id),
                "driver": driver,
                "numa_node": numa_node,
            }
        )
        gpus.append(gpu)
    return gpus, nvswitches


def _hex_attr(reader, path):
    text = reader.text(path)
    if text is None:
        return None
    value = reader.parse(path, parsers.parse_hex, text, "PCI id")
    return "0x%04x" % value if value is not None else None


def read_driver(reader, release):
    sys_version_path = "/sys/module/nvidia/version"
    proc_version_path = "/proc/driver/nvidia/version"
    sys_loaded = reader.isdir("/sys/module/nvidia")
    sys_text = reader.text(sys_version_path) if sys_loaded else None
    sys_version = reader.parse(sys_version_path, parsers.parse_module_version, sys_text) if sys_text else None
    proc_text = reader.text(proc_version_path)
    proc_version, module_type = None, None
    if proc_text is not None:
        parsed = reader.parse(proc_version_path, parsers.parse_nvrm_version, proc_text)
        if parsed:
            proc_version, module_type = parsed
    loaded = bool(sys_loaded or proc_text is not None)
    module_path = find_installed_module(reader, release)
    return {
        "loaded": loaded,
        "version": sys_version or proc_version,
        "kernel_module_type": module_type,
        "source": "sysfs" if sys_version else ("procfs" if proc_version else None),
        "installed": module_path is not None,
        "installed_not_loaded": bool(module_path) and not loaded,
        "module_path": module_path,
    }


def find_installed_module(reader, release):
    """Path of nvidia.ko* (Debian: nvidia-current.ko*) for the running kernel: modules.dep, then usual dirs."""
    if not release:
        return None
    base = "/lib/modules/%s" % release
    dep = reader.text(base + "/modules.dep")
    if dep:
        match = _MODULES_DEP_RE.search(dep)
        if match:
            relative = match.group(1)
            path = relative if relative.startswith("/") else posixpath.join(base, relative)
            if reader.isfile(path):
                return path
    subdirs = list(MODULE_SUBDIRS)
    for entry in reader.listdir(base + "/kernel") or []:
        if entry.startswith("nvidia"):  # Ubuntu's precompiled kernel/nvidia-<branch>srv
            subdirs.append("kernel/" + entry)
    for subdir in subdirs:
        directory = posixpath.join(base, subdir)
        for entry in reader.listdir(directory) or []:
            if _MODULE_FILE_RE.match(entry):
                return posixpath.join(directory, entry)
    return None


def read_proc_gpus(reader):
    """GPU identities from /proc/driver/nvidia/gpus/*/information, keyed by PCI address."""
    base = "/proc/driver/nvidia/gpus"
    result = {}
    for entry in reader.listdir(base) or []:
        path = posixpath.join(base, entry, "information")
        text = reader.text(path)
        if text is None:
            continue
        info = reader.parse(path, parsers.parse_gpu_information, text)
        if info is None:
            continue
        address = info["bus_location"] or parsers.normalize_pci_address(entry)
        if address:
            result[address] = info
    return result


def find_driver_root(reader, run_command):
    """Where libnvidia-ml lives: the ldconfig cache, then the usual directories, then ld.so.conf.d."""
    candidates, source_of = [], {}

    def add(directory, source):
        if directory not in source_of:
            candidates.append(directory)
            source_of[directory] = source

    if reader.is_live and run_command is not None:
        ldconfig = reader.find_binary("ldconfig", ("/sbin", "/usr/sbin", "/usr/bin", "/bin"))
        if ldconfig:
            try:
                rc, out, _err = run_command([ldconfig, "-p"])
            except OSError:
                rc, out = 1, ""
            if rc == 0:
                for directory in parsers.parse_ldconfig_nvml(out):
                    add(directory, "ldconfig")
    for directory in LIBRARY_DIRS:
        add(directory, "search")
    for conf in reader.listdir("/etc/ld.so.conf.d") or []:
        if conf.endswith(".conf"):
            for line in (reader.text("/etc/ld.so.conf.d/" + conf) or "").splitlines():
                entry = line.split("#", 1)[0].strip()
                if entry.startswith("/"):
                    add(entry.rstrip("/") or "/", "ld.so.conf.d")
    for directory in candidates:
        names = reader.listdir(directory)
        if not names or not any(n.startswith("libnvidia-ml.so") for n in names):
            continue
        return {
            "found": True,
            "library_dir": directory,
            "root": parsers.driver_root_of(directory),
            "nvml_version": parsers.nvml_version_from_names(names),
            "source": source_of[directory],
        }
    return {"found": False, "library_dir": None, "root": None, "nvml_version": None, "source": None}


def find_nvidia_smi(reader, driver_root):
    dirs = []
    if driver_root.get("root"):
        dirs.append(posixpath.join(driver_root["root"], "usr/bin"))
        dirs.append(posixpath.join(driver_root["root"], "bin"))
    dirs.extend(NVIDIA_SMI_DIRS)
    seen = []
    for directory in dirs:
        if directory not in seen:
            seen.append(directory)
    return reader.find_binary("nvidia-smi", seen)


def read_nvidia_smi(reader, path, run_command, enabled, xml_path):
    result = {
        "path": path,
        "ran": False,
        "source": None,
        "error": None,
        "driver_version": None,
        "cuda_version": None,
    }
    parsed = None
    if xml_path:
        result["source"] = "file"
        try:
            data = read_regular_file(xml_path)
            if data is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), xml_path)
            text = data.decode("utf-8", "replace")
        except (OSError, FileRefused) as exc:
            reason = str(exc) if isinstance(exc, FileRefused) else exc.strerror or str(exc)
            reader.error(xml_path, reason)
            result["error"] = "cannot read the saved nvidia-smi XML %s: %s" % (xml_path, reason)
            return result, None
        try:
            parsed = parsers.parse_nvidia_smi_xml(text)
        except parsers.ParseError as exc:
            reader.error(xml_path, str(exc))
            result["error"] = "the saved nvidia-smi XML %s is unusable: %s" % (xml_path, exc)
            return result, None
    elif enabled and path and reader.is_live and run_command is not None:
        result["source"] = "command"
        result["ran"] = True
        try:
            rc, out, err = run_command([path, "-q", "-x"])
        except OSError as exc:
            result["error"] = "%s -q -x could not be run: %s" % (path, exc)
            return result, None
        if rc == 124:
            result["error"] = "%s -q -x did not answer in time and was stopped (command_timeout)" % path
            return result, None
        if rc != 0:
            result["error"] = "%s -q -x exited with %d: %s" % (
                path,
                rc,
                parsers.first_line(out, err) or "no output",
            )
            return result, None
        try:
            parsed = parsers.parse_nvidia_smi_xml(out)
        except parsers.ParseError as exc:
            result["error"] = "%s -q -x printed output that is unusable: %s" % (path, exc)
            return result, None
    if parsed is not None:
        result["driver_version"] = parsed["driver_version"]
        result["cuda_version"] = parsed["cuda_version"]
    return result, parsed


def merge_gpus(gpus, proc_gpus, smi):
    """Join /proc and nvidia-smi data to the sysfs GPUs by PCI address; keep GPUs only they see."""
    by_address = {g["pci_address"]: g for g in gpus}

    def entry(address):
        gpu = by_address.get(address)
        if gpu is None:
            # Seen by the driver but not in sysfs (sysfs not mounted in a container, say).
            gpu = _empty_gpu(address)
            gpu["driver"] = "nvidia"
            gpus.append(gpu)
            by_address[address] = gpu
        return gpu

    for address, info in sorted(proc_gpus.items()):
        gpu = entry(address)
        gpu["uuid"] = info["uuid"]
        gpu["minor_number"] = info["minor_number"]
        gpu["product_name"] = info["model"]
        gpu["firmware_version"] = info["firmware"]
    for smi_gpu in (smi or {}).get("gpus", []):
        if not smi_gpu["pci_address"]:
            continue
        gpu = entry(smi_gpu["pci_address"])
        for key in (
            "product_name",
            "architecture",
            "uuid",
            "minor_number",
            "vbios_version",
            "memory_total_mib",
            "compute_capability",
            "mig_mode_current",
            "mig_mode_pending",
            "mig_device_count",
            "persistence_mode",
        ):
            if smi_gpu.get(key) is not None:
                gpu[key] = smi_gpu[key]
    for gpu in gpus:
        if gpu["name"] is None:
            gpu["name"] = gpu["product_name"]
    gpus.sort(key=lambda g: g["pci_address"])
    return gpus


def mig_summary(gpus, known):
    enabled = [g["pci_address"] for g in gpus if g["mig_mode_current"] == "enabled"]
    pending = [
        g["pci_address"]
        for g in gpus
        if g["mig_mode_current"] and g["mig_mode_pending"] and g["mig_mode_current"] != g["mig_mode_pending"]
    ]
    return {
        "known": known,
        "capable_count": sum(1 for g in gpus if g["mig_mode_current"] is not None),
        "enabled_count": len(enabled),
        "enabled_gpus": enabled,
        "pending_change_count": len(pending),
        "pending_change_gpus": pending,
    }


def read_nouveau(reader, gpus):
    sources = []
    for directory in MODPROBE_DIRS:
        for name in reader.listdir(directory) or []:
            if not name.endswith(".conf"):
                continue
            path = posixpath.join(directory, name)
            if parsers.modprobe_blacklists_nouveau(reader.text(path)):
                sources.append(path)
    if parsers.cmdline_blacklists_nouveau(reader.text("/proc/cmdline")):
        sources.append("/proc/cmdline")
    return {
        "loaded": reader.isdir("/sys/module/nouveau") or any(g["driver"] == "nouveau" for g in gpus),
        "blacklisted": bool(sources),
        "blacklist_sources": sources,
    }


def read_secure_boot(reader):
    result = {"state": "unknown", "enabled": None, "setup_mode": None, "efi": None}
    if not reader.isdir("/sys/firmware"):
        return result  # sysfs firmware not visible here: say nothing
    efi = reader.isdir("/sys/firmware/efi")
    result["efi"] = efi
    if not efi:
        result.update(state="not_supported", enabled=False)  # legacy BIOS boot
        return result
    efivars = "/sys/firmware/efi/efivars"
    names = reader.listdir(efivars)
    if not names:
        return result  # efivarfs not mounted
    secure_name = "SecureBoot-" + SECURE_BOOT_GUID
    setup_name = "SetupMode-" + SECURE_BOOT_GUID
    if setup_name in names:
        path = posixpath.join(efivars, setup_name)
        result["setup_mode"] = reader.parse(path, parsers.parse_efivar_bool, reader.data(path))
    if secure_name not in names:
        result.update(state="not_supported", enabled=False)
        return result
    path = posixpath.join(efivars, secure_name)
    enabled = reader.parse(path, parsers.parse_efivar_bool, reader.data(path))
    if enabled is not None:
        result.update(state="enabled" if enabled else "disabled", enabled=enabled)
    return result


def read_kernel(reader):
    release_text = reader.text("/proc/sys/kernel/osrelease")
    release = release_text.strip() if release_text and release_text.strip() else None
    if release is None and reader.is_live:
        release = platform.release() or None
    headers_path = None
    if release:
        build = "/lib/modules/%s/build" % release
        rhel = "/usr/src/kernels/%s" % release
        if reader.isfile(build + "/Makefile"):
            headers_path = build
        elif reader.isfile(rhel + "/Makefile"):
            headers_path = rhel
    return {
        "release": release,
        "headers_installed": (headers_path is not None) if release else None,
        "headers_path": headers_path,
    }


def read_os(reader):
    text = reader.text("/etc/os-release")
    if text is None:
        text = reader.text("/usr/lib/os-release")
    return parsers.parse_os_release(text)


def read_cdi(reader):
    specs, dirs, seen = [], [], set()
    for directory in CDI_DIRS:
        names = reader.listdir(directory)
        if names is None:
            continue
        real = reader.host(directory)
        real = os.path.realpath(real) if reader.is_live else real
        if real in seen:
            continue  # /var/run is usually a link to /run
        seen.add(real)
        dirs.append(directory)
        for name in names:
            is_json = name.endswith(".json")
            if not (is_json or name.endswith((".yaml", ".yml"))):
                continue
            path = posixpath.join(directory, name)
            text = reader.text(path)
            if text is None:
                continue
            specs.append({"path": path, "kind": reader.parse(path, parsers.cdi_spec_kind, text, is_json)})
    return {
        "dirs": dirs,
        "spec_count": len(specs),
        "specs": specs,
        "kinds": sorted({s["kind"] for s in specs if s["kind"]}),
    }


def _runtime_version(reader, path, run_command):
    if not (path and reader.is_live and run_command is not None):
        return None
    try:
        rc, out, err = run_command([path, "--version"])
    except OSError:
        return None
    return parsers.parse_runtime_version(out or err) if rc == 0 else None


def read_runtimes(reader, run_command):
    containerd = reader.find_binary("containerd")
    config_text = reader.text(CONTAINERD_CONFIG)
    config_exists = reader.exists(CONTAINERD_CONFIG)
    try:
        config_version = parsers.containerd_config_version(config_text)
    except parsers.ParseError as exc:
        reader.error(CONTAINERD_CONFIG, str(exc))
        config_version = parsers.containerd_config_version_by_regex(config_text)
    containerd_version = _runtime_version(reader, containerd, run_command)
    containerd_cgroup = runtime_cgroups.containerd_cgroup_driver(
        reader, containerd, run_command, CONTAINERD_CONFIG, config_text
    )
    crio = reader.find_binary("crio")
    crio_version = _runtime_version(reader, crio, run_command)
    crio_cgroup = (
        runtime_cgroups.crio_cgroup_driver(reader, CRIO_CONFIG) if crio else {"cgroup_driver": None, "config_texts": []}
    )
    return {
        "containerd": dict(
            {
                "installed": containerd is not None,
                "path": containerd,
                "version": containerd_version,
                "config_path": CONTAINERD_CONFIG,
                "config_exists": config_exists,
                "config_version": config_version,
            },
            **containerd_cgroup
        ),
        "crio": dict(
            {
                "installed": crio is not None,
                "path": crio,
                "version": crio_version,
                "config_path": CRIO_CONFIG,
            },
            **crio_cgroup
        ),
    }


def read_container_toolkit(reader):
    binaries = {}
    for name in CONTAINER_TOOLKIT_BINARIES:
        binaries[name.replace("-", "_")] = reader.find_binary(name, use_path=False)
    return {
        "installed": bool(binaries["nvidia_ctk"] or binaries["nvidia_container_runtime"]),
        "binaries": binaries,
    }


def read_nvswitch_driver(reader, nvswitches):
    """What the nvidia-nvswitch driver made of the NVSwitches: its /proc entries and /dev nodes.

    Adds ``registered`` and ``bios_version`` (from /proc/driver/nvidia-nvswitch/devices/<address>/information)
    to each NVSwitch entry; returns the sorted /dev/nvidia-nvswitch* node names (``nvidia-nvswitchctl`` and one
    ``nvidia-nvswitch<N>`` per switch, made by nvidia-modprobe).
    """
    registered = set()
    for entry in reader.listdir(NVSWITCH_PROC_DEVICES) or []:
        address = parsers.normalize_pci_address(entry)
        if address:
            registered.add(address)
    for switch in nvswitches:
        address = switch["pci_address"]
        switch["registered"] = address in registered
        switch["bios_version"] = None
        if switch["registered"]:
            path = posixpath.join(NVSWITCH_PROC_DEVICES, address, "information")
            switch["bios_version"] = parsers.nvswitch_bios_version(reader.text(path))
    if not nvswitches:
        return []
    return [name for name in reader.listdir("/dev") or [] if name.startswith("nvidia-nvswitch")]


def _fabric_manager_state(reader, service, run_command):
    """``systemctl is-active`` of the unit: live nodes with the unit installed only, bounded like every command."""
    if not (service and reader.is_live and run_command is not None):
        return None
    try:
        out = run_command(["systemctl", "is-active", FABRIC_MANAGER_UNIT])[1]
    except OSError:
        return None
    # is-active exits 3 for inactive and failed units: the word it prints is the answer, whatever the rc.
    word = parsers.first_line(out)
    return word if word in SYSTEMD_ACTIVE_STATES else None


def read_fabric_manager(reader, nvswitch_count, run_command=None):
    binary = reader.find_binary("nv-fabricmanager", use_path=False)
    service = reader.find_file(FABRIC_MANAGER_UNIT, SYSTEMD_DIRS)
    enabled = None
    if service:
        # `systemctl enable` links the unit into the wants directory of its WantedBy target.
        enabled = any(
            reader.exists("/etc/systemd/system/%s.wants/%s" % (target, FABRIC_MANAGER_UNIT))
            for target in ("multi-user.target", "default.target")
        )
    return {
        "needed": nvswitch_count > 0,
        "installed": bool(binary or service),
        "binary_path": binary,
        "service_path": service,
        "enabled": enabled,
        "active_state": _fabric_manager_state(reader, service, run_command),
    }


def check_root(root):
    """Refuse a root that is not a directory: read as-is it would look like a host without a GPU."""
    try:
        info = os.stat(root)
    except FileNotFoundError:
        raise GatherError(
            "root %s does not exist; pass the directory of the mounted image or chroot to inspect, "
            "or leave root out to inspect this node (/)" % root
        ) from None
    except OSError as exc:
        raise GatherError(
            "root %s cannot be inspected: %s; run the task with become, or pass a readable directory"
            % (root, exc.strerror or exc)
        ) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise GatherError(
            "root %s is %s, not a directory; pass the directory of the mounted image or chroot to inspect"
            % (root, _file_type(info.st_mode))
        )


def gather_facts(root="/", run_command=None, nvidia_smi=True, nvidia_smi_xml=None):
    """Everything gpu_facts returns under ansible_facts.nvidia.

    run_command(argv) -> (rc, stdout, stderr) runs a command on the node; it is
    used only when root is '/'. Missing files are answers; unreadable or
    malformed ones end up in ``read_errors``; nothing here raises for them.
    """
    reader = RootReader(root)
    check_root(reader.root)
    kernel = read_kernel(reader)
    os_info = read_os(reader)
    gpus, nvswitches = scan_pci(reader)
    nvswitch_nodes = read_nvswitch_driver(reader, nvswitches)
    driver = read_driver(reader, kernel["release"])
    proc_gpus = read_proc_gpus(reader)
    driver_root = find_driver_root(reader, run_command)
    smi_path = find_nvidia_smi(reader, driver_root)
    smi, smi_data = read_nvidia_smi(reader, smi_path, run_command, nvidia_smi, nvidia_smi_xml)
    gpus = merge_gpus(gpus, proc_gpus, smi_data)
    if driver["loaded"] and driver["version"] is None and smi["driver_version"]:
        driver["version"] = smi["driver_version"]
        driver["source"] = "nvidia-smi"
    facts = {
        "root": reader.root,
        "gpu_count": len(gpus),
        "gpus": gpus,
        "nvswitch_count": len(nvswitches),
        "nvswitches": nvswitches,
        "nvswitch_device_nodes": nvswitch_nodes,
        "driver": driver,
        "driver_root": driver_root,
        "nvidia_smi": smi,
        "kernel": kernel,
        "os": os_info,
        "init_systemd": runtime_cgroups.init_is_systemd(reader),
        "nouveau": read_nouveau(reader, gpus),
        "secure_boot": read_secure_boot(reader),
        "fabric_manager": read_fabric_manager(reader, len(nvswitches), run_command),
        "container_toolkit": read_container_toolkit(reader),
        "cdi": read_cdi(reader),
        "runtimes": read_runtimes(reader, run_command),
        "mig": mig_summary(gpus, smi_data is not None),
        "read_errors": reader.errors,
    }
    facts["findings"] = compute_findings(facts)
    return facts
