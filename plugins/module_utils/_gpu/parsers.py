# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for what gpu_facts reads: text or bytes in, plain data out.

Private to this collection. Nothing here touches the file system or runs a
command, so every function is tested with literal strings. A parser that
cannot make sense of its input raises ParseError with a reason that names what
was expected; the caller records it against the file it read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import xml.etree.ElementTree as ET

try:
    import tomllib  # Python 3.11+
except ImportError:  # the regex below reads containerd's version; runtime_cgroups sends texts to the controller
    tomllib = None


class ParseError(ValueError):
    """Input that does not have the expected shape; the message says why."""


_HEX_RE = re.compile(r"^(?:0x)?([0-9a-fA-F]+)$")


def parse_hex(text, what="value"):
    """Parse a sysfs hexadecimal attribute such as ``0x10de\\n`` into an int."""
    value = (text or "").strip()
    match = _HEX_RE.match(value)
    if not match:
        raise ParseError("expected a hexadecimal %s such as 0x10de, found %r" % (what, value[:40]))
    return int(match.group(1), 16)


def parse_numa_node(text):
    """sysfs numa_node: an integer, -1 when the platform has no NUMA affinity (None)."""
    value = (text or "").strip()
    try:
        node = int(value)
    except ValueError:
        raise ParseError("expected an integer NUMA node such as 0 or -1, found %r" % value[:40]) from None
    return None if node < 0 else node


_PCI_ADDRESS_RE = re.compile(r"^([0-9a-fA-F]+):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$")


def normalize_pci_address(address):
    """Bring a PCI address to sysfs form ``dddd:bb:dd.f`` (lower case).

    nvidia-smi writes an 8-digit domain (``00000000:18:00.0``), /proc and sysfs
    a 4-digit one (``0000:18:00.0``); joins must ignore the difference. Returns
    None for anything that is not a PCI address.
    """
    match = _PCI_ADDRESS_RE.match((address or "").strip())
    if not match:
        return None
    domain, bus, device, function = match.groups()
    return "%04x:%02x:%02x.%s" % (int(domain, 16), int(bus, 16), int(device, 16), function)


def parse_key_value_lines(text):
    """``Key: value`` lines (as /proc/driver/nvidia/gpus/*/information) into a dict."""
    result = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            result[key.strip()] = value.strip()
    return result


def nvswitch_bios_version(text):
    """The ``BIOS Version:`` of /proc/driver/nvidia-nvswitch/devices/<address>/information; None for N/A or absent."""
    value = parse_key_value_lines(text).get("BIOS Version")
    return value if value and value != "N/A" else None


def parse_gpu_information(text):
    """/proc/driver/nvidia/gpus/<bus>/information -> GPU identity as the driver sees it."""
    fields = parse_key_value_lines(text)
    if not fields:
        raise ParseError("expected 'Key: value' lines such as 'GPU UUID: GPU-...', found none")
    minor = fields.get("Device Minor")
    try:
        minor_number = int(minor) if minor not in (None, "") else None
    except ValueError:
        raise ParseError("expected an integer 'Device Minor', found %r" % minor) from None
    uuid = fields.get("GPU UUID")
    return {
        "model": fields.get("Model") or None,
        "uuid": uuid if uuid and uuid.startswith(("GPU-", "MIG-")) else None,
        "bus_location": normalize_pci_address(fields.get("Bus Location", "")),
        "minor_number": minor_number,
        "firmware": fields.get("GPU Firmware") or None,
        "excluded": _yes_no(fields.get("GPU Excluded")),
    }


_NVRM_RE = re.compile(r"^NVRM version:\s*(?P<text>.*)$", re.MULTILINE)
_VERSION_RE = re.compile(r"(?<![\w.])(\d+\.\d+(?:\.\d+)*)(?![\w.])")


def parse_nvrm_version(text):
    """/proc/driver/nvidia/version -> (version, 'open'|'proprietary').

    The first line names the kernel module flavour, e.g.
    ``NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build``
    or ``NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ...``.
    """
    match = _NVRM_RE.search(text or "")
    if not match:
        raise ParseError("expected a line starting with 'NVRM version:', found none")
    line = match.group("text")
    module_type = "open" if "open kernel module" in line.lower() else "proprietary"
    # The version follows "Kernel Module"; "x86_64" in between holds no dotted number.
    tail = line.split("Kernel Module", 1)[-1]
    version = _VERSION_RE.search(tail) or _VERSION_RE.search(line)
    return (version.group(1) if version else None), module_type


def parse_module_version(text):
    """/sys/module/nvidia/version: the version string alone."""
    value = (text or "").strip()
    if not _VERSION_RE.fullmatch(value):
        raise ParseError("expected a driver version such as 580.159.04, found %r" % value[:40])
    return value


def parse_efivar_bool(data):
    """An efivars boolean variable: 4 bytes of attributes, then one byte of value."""
    if data is None or len(data) < 5:
        raise ParseError("expected at least 5 bytes (4 attribute bytes and the value), found %d" % len(data or b""))
    return bool(bytearray(data)[4])


_BLACKLIST_RE = re.compile(r"^\s*blacklist\s+nouveau\s*(?:#.*)?$", re.MULTILINE)
_INSTALL_FALSE_RE = re.compile(r"^\s*install\s+nouveau\s+/(?:usr/)?bin/(?:false|true)\b", re.MULTILINE)


def modprobe_blacklists_nouveau(text):
    """True when a modprobe.d file keeps nouveau from loading."""
    text = text or ""
    return bool(_BLACKLIST_RE.search(text) or _INSTALL_FALSE_RE.search(text))


def cmdline_blacklists_nouveau(text):
    """True when the kernel command line keeps nouveau from loading or binding."""
    for arg in (text or "").split():
        key, dummy, value = arg.partition("=")
        if key in ("modprobe.blacklist", "rd.driver.blacklist", "module_blacklist"):
            if "nouveau" in value.split(","):
                return True
        elif key == "nouveau.modeset" and value == "0":
            return True
    return False


def parse_os_release(text):
    """/etc/os-release -> {'id': ..., 'id_like': [...], 'family': 'debian'|'redhat'|'suse'|None}."""
    values = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    os_id = values.get("ID") or None
    id_like = values.get("ID_LIKE", "").split()
    return {"id": os_id, "id_like": id_like, "version_id": values.get("VERSION_ID") or None,
            "family": os_family([os_id or "", *id_like])}


def os_family(ids):
    ids = set(ids)
    if ids & {"debian", "ubuntu"}:
        return "debian"
    if ids & {"rhel", "fedora", "centos", "rocky", "almalinux", "ol", "amzn"}:
        return "redhat"
    if ids & {"suse", "opensuse", "sles", "sle"}:
        return "suse"
    return None


_LDCONFIG_RE = re.compile(r"^\s*(libnvidia-ml\.so[.\d]*)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$")


def parse_ldconfig_nvml(text):
    """``ldconfig -p`` -> directories holding libnvidia-ml, 64-bit entries first."""
    wide, narrow = [], []
    for line in (text or "").splitlines():
        match = _LDCONFIG_RE.match(line)
        if not match:
            continue
        flags, path = match.group(2), match.group(3)
        directory = path.rsplit("/", 1)[0] or "/"
        target = wide if ("64" in flags) else narrow
        if directory not in target:
            target.append(directory)
    return wide + [d for d in narrow if d not in wide]


_NVML_FILE_RE = re.compile(r"^libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)*)$")


def nvml_version_from_names(names):
    """The libnvidia-ml version from a directory listing (``libnvidia-ml.so.580.159.04``)."""
    versions = []
    for name in names:
        match = _NVML_FILE_RE.match(name)
        if match:
            versions.append(match.group(1))
    if not versions:
        return None
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


# Library directories relative to a driver root, longest first.
_LIB_SUFFIXES = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/lib64",
    "/lib",
)


def driver_root_of(library_dir):
    """The driver root (prefix) of a library directory.

    /usr/lib64 -> /, /usr/local/nvidia/lib64 -> /usr/local/nvidia.
    """
    path = library_dir.rstrip("/") or "/"
    for suffix in _LIB_SUFFIXES:
        if path == suffix:
            return "/"
        if path.endswith(suffix):
            return path[: -len(suffix)] or "/"
    return path.rsplit("/", 1)[0] or "/"


_RUNTIME_VERSION_RE = re.compile(r"\bv?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")


def parse_runtime_version(text):
    """``containerd --version`` / ``crio --version`` -> 'X.Y.Z' (None when absent).

    containerd: ``containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7...``,
    Debian: ``containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-5``.
    CRI-O: ``crio version 1.30.4`` or a ``Version:  1.30.4`` line.
    """
    for line in (text or "").splitlines():
        if line.strip().lower().startswith("version:"):
            match = _RUNTIME_VERSION_RE.search(line)
            if match:
                return match.group(1)
    # The module path may carry /v2: skip tokens that are paths.
    for token in (text or "").split():
        if "/" in token:
            continue
        match = _RUNTIME_VERSION_RE.match(token)
        if match:
            return match.group(1)
    return None


def toml(text):
    """The TOML document ``text`` as plain data. Needs tomllib (Python 3.11+): callers check ``tomllib`` first."""
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ParseError("not valid TOML: %s" % exc) from None


_TOML_TABLE_RE = re.compile(r"^\s*\[")
_TOML_VERSION_RE = re.compile(r"^\s*version\s*=\s*(\d+)\s*(?:#.*)?$")


def containerd_config_version(text):
    """Schema version of a containerd config.toml.

    An empty file (or none) means containerd's built-in default, version 2; a
    file without a top-level ``version`` is version 1. Only the top level
    counts: a ``version`` key inside a table is something else.
    """
    if text is None or not text.strip():
        return 2
    if tomllib is not None:
        version = toml(text).get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ParseError("expected an integer top-level 'version', found %r" % (version,))
        return version
    return containerd_config_version_by_regex(text)


def containerd_config_version_by_regex(text):
    """The top-level ``version = N`` of a config.toml, read line by line (no TOML parser)."""
    if text is None or not text.strip():
        return 2
    for line in text.splitlines():
        if _TOML_TABLE_RE.match(line):
            break
        match = _TOML_VERSION_RE.match(line)
        if match:
            return int(match.group(1))
    return 1


_YAML_KIND_RE = re.compile(r"""^kind:\s*["']?([^"'\s#]+)""", re.MULTILINE)


def cdi_spec_kind(text, is_json):
    """The ``kind`` of a CDI spec (``nvidia.com/gpu``), JSON parsed, YAML by a top-level line."""
    if is_json:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ParseError("not valid JSON: %s" % exc) from None
        kind = data.get("kind") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) else None
    match = _YAML_KIND_RE.search(text or "")
    return match.group(1) if match else None


def _yes_no(value):
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("yes", "enabled", "on"):
        return True
    if lowered in ("no", "disabled", "off"):
        return False
    return None


def _mode(value):
    """nvidia-smi mode strings -> 'enabled' / 'disabled' / None (N/A, absent)."""
    if value is None:
        return None
    lowered = value.strip().lower()
    return lowered if lowered in ("enabled", "disabled") else None


def _text(element, path):
    found = element.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value if value and value != "N/A" else None


def _mib(value):
    if value is None:
        return None
    match = re.match(r"^(\d+)\s*MiB$", value)
    return int(match.group(1)) if match else None


def parse_nvidia_smi_xml(text):
    """``nvidia-smi -q -x`` -> {'driver_version', 'cuda_version', 'gpus': [...]}.

    Field names follow the XML of driver branches 470 to 580. ``compute_cap``
    is read when the XML has it (the 580 XML does not; the caller then falls
    back to the device table).
    """
    if not (text or "").strip():
        raise ParseError("expected nvidia-smi XML output, found nothing")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError("not valid XML: %s" % exc) from None
    if root.tag != "nvidia_smi_log":
        raise ParseError("expected a <nvidia_smi_log> document, found <%s>" % root.tag)
    gpus = []
    for gpu in root.findall("gpu"):
        mig_devices = gpu.find("mig_devices")
        gpus.append(
            {
                "pci_address": normalize_pci_address(gpu.get("id") or _text(gpu, "pci/pci_bus_id") or ""),
                "product_name": _text(gpu, "product_name"),
                "architecture": _text(gpu, "product_architecture"),
                "uuid": _text(gpu, "uuid"),
                "minor_number": _int_or_none(_text(gpu, "minor_number")),
                "vbios_version": _text(gpu, "vbios_version"),
                "memory_total_mib": _mib(_text(gpu, "fb_memory_usage/total")),
                "compute_capability": _text(gpu, "compute_cap"),
                "mig_mode_current": _mode(_text(gpu, "mig_mode/current_mig")),
                "mig_mode_pending": _mode(_text(gpu, "mig_mode/pending_mig")),
                "mig_device_count": len(mig_devices.findall("mig_device")) if mig_devices is not None else 0,
                "persistence_mode": _yes_no(_text(gpu, "persistence_mode")),
            }
        )
    return {
        "driver_version": _text(root, "driver_version"),
        "cuda_version": _text(root, "cuda_version"),
        "gpus": gpus,
    }


def _int_or_none(value):
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def first_line(*texts):
    """The first non-blank line of the given outputs (nvidia-smi's error is on stdout)."""
    for text in texts:
        for line in (text or "").splitlines():
            if line.strip():
                return line.strip()
    return None
