# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kubegpu.nvidia.cdi_spec does with its parameters: discover, build, check, write or remove.

Private to this collection. The file work goes through AnsibleModule
(atomic_move, backup_local, check mode); discovery and the spec itself live in
discover.py and spec.py. Ownership: next to each spec it writes, the module
keeps ``.<name>.owner`` with the SHA-256 of the bytes it wrote. A spec is the
module's own only when that record exists and still matches, so a spec another
tool wrote (nvidia-ctk writes the same path) or a hand edit is never replaced
without ``force``. CDI runtimes read only ``*.json`` and ``*.yaml`` files, so
the record is invisible to them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import posixpath
import tempfile

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi import discover as discovery
from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.spec import (
    CdiError,
    build_spec,
    render,
    validate_spec,
)

OWNER = "kubegpu.nvidia.cdi_spec"
SPEC_MODE = 0o644


def owner_path(path):
    directory, name = posixpath.split(path)
    return posixpath.join(directory, "." + name + ".owner")


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CdiError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


def ownership(path):
    """(current bytes or None, owned): owned when our record matches the file's bytes."""
    current = _read(path)
    if current is None:
        return None, False
    record = _read(owner_path(path))
    try:
        data = json.loads(record.decode("utf-8")) if record else {}
    except ValueError:
        data = {}
    owned = data.get("owner") == OWNER and data.get("sha256") == hashlib.sha256(current).hexdigest()
    return current, owned


def _write_atomic(module, path, data):
    directory = posixpath.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + posixpath.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, SPEC_MODE)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chmod(path, SPEC_MODE)


def _record(text):
    return (json.dumps({"owner": OWNER, "sha256": hashlib.sha256(text).hexdigest()}, indent=2) + "\n").encode()


def _not_owned_message(path, verb, doing):
    return (
        "%s exists and was not written by %s (or was edited since): it may be NVIDIA's (nvidia-ctk cdi generate "
        "writes that path too) or written by hand. Not %s it. Move it away, or set force: true to %s it "
        "(backup: true keeps a copy)" % (path, OWNER, doing, verb)
    )


def _check_path(path):
    if not path.startswith("/"):
        raise CdiError("path %r must be absolute" % path)
    if not path.endswith((".json", ".yaml")):
        raise CdiError("path %s must end in .json (or .yaml): CDI runtimes ignore other files" % path)
    if os.path.islink(path):
        raise CdiError("path %s is a symbolic link; pass the file it points to" % path)


def run_module(module):
    params = module.params
    path = params["path"]
    _check_path(path)
    # AnsibleModule adds the file's attributes (owner, mode, state, ...) to a result with ``path``.
    result = {"changed": False, "path": path, "owner_file": owner_path(path)}
    current, owned = ownership(path)

    if params["state"] == "absent":
        return _absent(module, path, current, owned, result)

    def run_command(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"}, handle_exceptions=False)

    inventory, warnings = discovery.discover(
        driver_root=params["driver_root"],
        dev_root=params["dev_root"],
        driver_version=params["driver_version"],
        gpus=params["gpus"],
        run_command=run_command,
        layout=params["layout"],
    )
    for warning in warnings:
        module.warn(warning)
    if inventory is None:
        result.update(spec=None, gpu_count=0, devices=[], msg="; ".join(warnings) + ": no CDI spec written")
        return result

    spec = build_spec(inventory, inventory["layout"])
    spec["kind"] = params.get("kind") or spec["kind"]
    errors = validate_spec(spec)
    if errors:
        raise CdiError(
            "the spec built for this node is not a valid CDI spec, so it was not written: " + "; ".join(errors)
        )
    text = render(spec).encode("utf-8")
    result.update(
        spec=spec,
        cdi_version=spec["cdiVersion"],
        kind=spec["kind"],
        layout=inventory["layout"],
        devices=[d["name"] for d in spec["devices"]],
        gpu_count=len(inventory["gpus"]),
        driver_version=inventory["driver_version"],
        driver_root=inventory["driver_root"],
        library_dir=inventory["library_dir"],
        mount_count=len(spec["containerEdits"]["mounts"]),
    )

    if current == text and owned:
        return result
    if current is not None and not owned and not params["force"]:
        raise CdiError(_not_owned_message(path, "replace", "replacing"))

    result["changed"] = True
    if module._diff:
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": current.decode("utf-8", "replace") if current is not None else "",
            "after": text.decode("utf-8"),
        }
    if module.check_mode:
        return result
    directory = posixpath.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    if current is not None and params["backup"]:
        result["backup_file"] = module.backup_local(path)
    _write_atomic(module, path, text)
    _write_atomic(module, owner_path(path), _record(text))
    return result


def _absent(module, path, current, owned, result):
    record = owner_path(path)
    result["spec"] = None
    if current is None:
        if os.path.exists(record):
            result["changed"] = True
            if not module.check_mode:
                os.unlink(record)
        return result
    if not owned and not module.params["force"]:
        module.warn(_not_owned_message(path, "remove", "removing"))
        return result
    result["changed"] = True
    if module._diff:
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": current.decode("utf-8", "replace"),
            "after": "",
        }
    if module.check_mode:
        return result
    if module.params["backup"]:
        result["backup_file"] = module.backup_local(path)
    os.unlink(path)
    if os.path.exists(record):
        os.unlink(record)
    return result
