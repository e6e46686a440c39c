# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build, check and render the CDI spec of a node's NVIDIA GPUs: pure, no I/O.

Private to this collection. ``build_spec`` turns what discover.py found (an
inventory: GPUs, device nodes, libraries, binaries, firmware, sockets) into a
CDI spec dict; ``validate_spec`` checks a spec against the CDI specification
(the structure of its JSON schema plus the name rules of the reference
parser), so a spec that containerd or CRI-O would reject is never written;
``render`` gives the exact bytes written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import posixpath
import re

KIND = "nvidia.com/gpu"
# Options NVIDIA's nvidia-ctk gives its read-only bind mounts.
MOUNT_OPTIONS = ["ro", "nosuid", "nodev", "rbind", "rprivate"]
IPC_MOUNT_OPTIONS = ["ro", "nosuid", "nodev", "rbind", "rprivate", "noexec"]
# Where the hook-free layout puts the driver's libraries in a container. NVIDIA's
# CUDA images already set LD_LIBRARY_PATH to exactly this value.
HOOK_FREE_LIBRARY_DIR = "/usr/local/nvidia/lib64"
HOOK_FREE_LD_LIBRARY_PATH = "/usr/local/nvidia/lib:/usr/local/nvidia/lib64"
CONTAINER_BIN_DIR = "/usr/bin"
LAYOUTS = ("hooks", "hook_free")

# Versions of the CDI specification, oldest first, and what each one added
# that this module can use (see requires_version).
CDI_VERSIONS = ("0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0")
HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")

_VENDOR_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_CLASS_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_DEVICE_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class CdiError(Exception):
    """Something the module cannot do; the message says what, where, and what to do."""


# --------------------------------------------------------------------- build
def _mount(host_path, container_path, options=None):
    return {
        "hostPath": host_path,
        "containerPath": container_path,
        "options": list(options or MOUNT_OPTIONS),
    }


def _device_node(path, host_path):
    node = {"path": path}
    if host_path != path:
        node["hostPath"] = host_path
    return node


def library_mounts(libraries, layout, driver_root):
    """Mounts of the driver's libraries in a container, for a layout.

    hooks: each file at its own path below the driver root, as nvidia-ctk does;
    the hooks make the SONAME links and the loader cache.
    hook_free: each file in HOOK_FREE_LIBRARY_DIR under its own name, and again
    under each of its SONAME names (a link cannot be made without a hook, a
    second bind mount of the same file can), so a loader that searches
    LD_LIBRARY_PATH finds ``libcuda.so.1`` without any cache.
    """
    mounts = []
    for lib in libraries:
        if layout == "hooks":
            mounts.append(_mount(lib["host_path"], strip_root(lib["path"], driver_root)))
            continue
        directory = HOOK_FREE_LIBRARY_DIR
        if lib.get("subdir"):
            directory = posixpath.join(directory, lib["subdir"])
        mounts.append(_mount(lib["host_path"], posixpath.join(directory, lib["name"])))
        for alias in lib.get("links", []) + lib.get("dev_links", []):
            mounts.append(_mount(lib["host_path"], posixpath.join(directory, alias)))
    return mounts


def strip_root(path, root):
    """``path`` as a container sees it: without the driver root prefix."""
    if root in ("", "/"):
        return path
    root = root.rstrip("/")
    if path == root:
        return "/"
    if path.startswith(root + "/"):
        return path[len(root):]
    return path


def hook_edits(inventory):
    """The createContainer hooks nvidia-ctk writes: the libcuda.so link, then the loader cache."""
    hook = inventory["hook_path"]
    root = inventory["driver_root"]
    hooks = []
    links = []
    for lib in inventory["libraries"]:
        for alias in lib.get("dev_links", []):
            directory = posixpath.dirname(strip_root(lib["path"], root))
            target = lib["links"][0] if lib.get("links") else lib["name"]
            links += ["--link", "%s::%s" % (target, posixpath.join(directory, alias))]
    if links:
        args = ["nvidia-cdi-hook", "create-symlinks"] + links
        hooks.append({"hookName": "createContainer", "path": hook, "args": args})
    folders = []
    for lib in inventory["libraries"]:
        directory = posixpath.dirname(strip_root(lib["path"], root))
        if directory not in folders:
            folders.append(directory)
    args = ["nvidia-cdi-hook", "update-ldcache"]
    for folder in folders:
        args += ["--folder", folder]
    hooks.append({"hookName": "createContainer", "path": hook, "args": args})
    return hooks


def build_spec(inventory, layout):
    """The CDI spec for an inventory (see discover.discover) in a layout (LAYOUTS)."""
    if layout not in LAYOUTS:
        raise CdiError("unknown layout %r, expected one of %s" % (layout, ", ".join(LAYOUTS)))
    gpus = inventory["gpus"]
    if not gpus:
        raise CdiError("no GPU with a device node to describe")
    devices = []
    all_nodes = []
    for gpu in gpus:
        node = _device_node(gpu["device_path"], gpu["device_host_path"])
        all_nodes.append(node)
        edits = {"deviceNodes": [node]}
        devices.append({"name": str(gpu["index"]), "containerEdits": edits})
        if gpu.get("uuid"):
            devices.append({"name": gpu["uuid"], "containerEdits": {"deviceNodes": [dict(node)]}})
    devices.append({"name": "all", "containerEdits": {"deviceNodes": [dict(n) for n in all_nodes]}})

    env = ["NVIDIA_VISIBLE_DEVICES=void"]
    if layout == "hook_free":
        env.append("LD_LIBRARY_PATH=" + HOOK_FREE_LD_LIBRARY_PATH)
    mounts = library_mounts(inventory["libraries"], layout, inventory["driver_root"])
    for binary in inventory["binaries"]:
        mounts.append(_mount(binary["host_path"], posixpath.join(CONTAINER_BIN_DIR, binary["name"])))
    for firmware in inventory["firmware"]:
        mounts.append(_mount(firmware["host_path"], firmware["path"]))
    for socket in inventory["ipc"]:
        mounts.append(_mount(socket["host_path"], socket["path"], IPC_MOUNT_OPTIONS))
    edits = {
        "env": env,
        "deviceNodes": [_device_node(n["path"], n["host_path"]) for n in inventory["control_nodes"]],
        "mounts": mounts,
    }
    if layout == "hooks":
        edits["hooks"] = hook_edits(inventory)
    spec = {"cdiVersion": None, "kind": KIND, "devices": devices, "containerEdits": edits}
    spec["cdiVersion"] = minimum_version(spec)
    return spec


# ------------------------------------------------------------------ versions
def _all_edits(spec):
    edits = [spec.get("containerEdits") or {}]
    edits += [d.get("containerEdits") or {} for d in spec.get("devices") or []]
    return edits


def minimum_version(spec):
    """The oldest cdiVersion that allows everything the spec uses.

    Older runtimes (containerd 1.7.0 ships a CDI parser that stops at 0.5.0)
    reject a version they do not know, so the spec claims no more than it needs.
    """
    edits = _all_edits(spec)
    if any(e.get("netDevices") for e in edits):
        return "1.0.0"
    if any(e.get("additionalGids") or e.get("intelRdt") for e in edits):
        return "0.7.0"
    kind_class = spec.get("kind", "").partition("/")[2]
    if spec.get("annotations") or any(d.get("annotations") for d in spec.get("devices") or []) or "." in kind_class:
        return "0.6.0"
    names = [d.get("name", "") for d in spec.get("devices") or []]
    host_paths = any(n.get("hostPath") for e in edits for n in e.get("deviceNodes") or [])
    if host_paths or any(n[:1].isdigit() for n in names):
        return "0.5.0"
    if any(m.get("type") for e in edits for m in e.get("mounts") or []):
        return "0.4.0"
    return "0.3.0"


def _version_key(version):
    return tuple(int(p) for p in version.split("."))


# ---------------------------------------------------------------- validation
_EDIT_KEYS = ("env", "deviceNodes", "hooks", "mounts", "intelRdt", "additionalGids", "netDevices")
_NODE_KEYS = ("path", "hostPath", "type", "major", "minor", "fileMode", "permissions", "uid", "gid")
_MOUNT_KEYS = ("hostPath", "containerPath", "type", "options")
_HOOK_KEYS = ("hookName", "path", "args", "env", "timeout")


def _unknown(where, value, allowed):
    extra = sorted(set(value) - set(allowed))
    if extra:
        return ["%s: unknown key(s) %s (a CDI parser reads specs strictly)" % (where, ", ".join(extra))]
    return []


def _string_list(where, value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return ["%s: expected a list of strings" % where]
    return []


def _validate_edits(where, edits):
    if not isinstance(edits, dict):
        return ["%s: expected an object" % where]
    errors = _unknown(where, edits, _EDIT_KEYS)
    for i, env in enumerate(edits.get("env") or []):
        if not isinstance(env, str) or not _ENV_RE.match(env):
            errors.append("%s.env[%d]: expected NAME=VALUE, found %r" % (where, i, env))
    for i, node in enumerate(edits.get("deviceNodes") or []):
        here = "%s.deviceNodes[%d]" % (where, i)
        if not isinstance(node, dict):
            errors.append(here + ": expected an object")
            continue
        errors += _unknown(here, node, _NODE_KEYS)
        if not isinstance(node.get("path"), str) or not node["path"].startswith("/"):
            errors.append(here + ".path: expected an absolute path")
        if "hostPath" in node and not (isinstance(node["hostPath"], str) and node["hostPath"].startswith("/")):
            errors.append(here + ".hostPath: expected an absolute path")
        if node.get("type", "") not in ("", "b", "c", "u", "p"):
            errors.append(here + ".type: expected b, c, u or p")
        if set(node.get("permissions", "")) - set("rwm"):
            errors.append(here + ".permissions: expected letters of rwm")
    for i, mount in enumerate(edits.get("mounts") or []):
        here = "%s.mounts[%d]" % (where, i)
        if not isinstance(mount, dict):
            errors.append(here + ": expected an object")
            continue
        errors += _unknown(here, mount, _MOUNT_KEYS)
        for key in ("hostPath", "containerPath"):
            if not isinstance(mount.get(key), str) or not mount[key].startswith("/"):
                errors.append("%s.%s: expected an absolute path" % (here, key))
        if "options" in mount:
            errors += _string_list(here + ".options", mount["options"])
    for i, hook in enumerate(edits.get("hooks") or []):
        here = "%s.hooks[%d]" % (where, i)
        if not isinstance(hook, dict):
            errors.append(here + ": expected an object")
            continue
        errors += _unknown(here, hook, _HOOK_KEYS)
        if hook.get("hookName") not in HOOK_NAMES:
            errors.append("%s.hookName: expected one of %s" % (here, ", ".join(HOOK_NAMES)))
        if not isinstance(hook.get("path"), str) or not hook["path"].startswith("/"):
            errors.append(here + ".path: expected an absolute path")
        if "args" in hook:
            errors += _string_list(here + ".args", hook["args"])
    return errors


def validate_spec(spec):
    """Problems that would make a CDI runtime reject the spec; an empty list when none."""
    if not isinstance(spec, dict):
        return ["spec: expected an object"]
    errors = _unknown("spec", spec, ("cdiVersion", "kind", "annotations", "devices", "containerEdits"))
    version = spec.get("cdiVersion")
    if version not in CDI_VERSIONS:
        errors.append("cdiVersion: %r is not a released CDI version (%s)" % (version, ", ".join(CDI_VERSIONS)))
    vendor, slash, klass = (spec.get("kind") or "").partition("/")
    if not (slash and _VENDOR_RE.match(vendor) and _CLASS_RE.match(klass)):
        errors.append("kind: expected vendor/class such as nvidia.com/gpu, found %r" % spec.get("kind"))
    devices = spec.get("devices")
    if not isinstance(devices, list) or not devices:
        errors.append("devices: a spec needs at least one device")
        devices = []
    seen = set()
    for i, device in enumerate(devices):
        here = "devices[%d]" % i
        if not isinstance(device, dict):
            errors.append(here + ": expected an object")
            continue
        errors += _unknown(here, device, ("name", "annotations", "containerEdits"))
        name = device.get("name")
        if not isinstance(name, str) or not _DEVICE_NAME_RE.match(name):
            errors.append("%s.name: %r is not a valid CDI device name" % (here, name))
        elif name in seen:
            errors.append("%s.name: %r is used twice" % (here, name))
        seen.add(name)
        edits = device.get("containerEdits")
        errors += _validate_edits(here + ".containerEdits", edits)
        if isinstance(edits, dict) and not any(edits.get(k) for k in _EDIT_KEYS):
            errors.append(here + ".containerEdits: a device needs at least one edit")
    if "containerEdits" in spec:
        errors += _validate_edits("containerEdits", spec["containerEdits"])
    if version in CDI_VERSIONS and not errors:
        needed = minimum_version(spec)
        if _version_key(needed) > _version_key(version):
            errors.append("cdiVersion: %s is too old for what the spec uses (needs %s)" % (version, needed))
    return errors


def render(spec):
    """The exact text written: stable key order, so an unchanged node gives unchanged bytes."""
    return json.dumps(spec, indent=2) + "\n"
