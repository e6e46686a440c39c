# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.crio_runtime: read from the node, compute here, write with copy.

crio.conf and every file under the drop-in's directory (CRI-O reads them all) are
read by one run of the module of the same name, the drop-in is computed on the controller by
plugin_utils._crio_config (tomlkit), and written back by ansible.builtin.copy.
Backups go to backup_dir, never next to the drop-in: CRI-O would read them.
"""

from __future__ import annotations

import posixpath
import time

from ansible.errors import AnsibleError

from ansible_collections.kubegpu.nvidia.plugins.modules.crio_runtime import ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._crio_config import (
    TOMLKIT_IMPORT_ERROR as IMPORT_ERROR,  # tomlkit missing on the controller
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._crio_config import (
    CrioConfigError,
    CrioRuntimeOptions,
    configure,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import NodeFileError, NodeFiles

BACKUP_DIR_MODE = "0700"


class ActionModule(NodeFiles):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            return self._run(result, task_vars or {})
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run(self, result, task_vars):
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        if IMPORT_ERROR is not None:
            result.update(
                failed=True,
                msg=f"crio_runtime needs the Python package tomlkit on the controller (pip install tomlkit): "
                f"{IMPORT_ERROR}",
            )
            return result
        # The node lists the drop-in directory with normalised paths: the module's own file must match its entry.
        args = dict(args, drop_in=posixpath.normpath(args["drop_in"]), config=posixpath.normpath(args["config"]))
        options = CrioRuntimeOptions(
            drop_in=args["drop_in"],
            config=args["config"],
            runtime_name=args["runtime_name"],
            runtime_path=args["runtime_path"],
            set_as_default=args["set_as_default"],
            state=args["state"],
        )
        drop_dir = posixpath.dirname(options.drop_in)
        backup_dir = posixpath.normpath(args["backup_dir"] or "")
        if args["backup"] and (backup_dir == drop_dir or backup_dir.startswith(drop_dir.rstrip("/") + "/")):
            result.update(
                failed=True,
                changed=False,
                msg=f"backup_dir {backup_dir} is inside {drop_dir}, which CRI-O reads whole (every file, whatever "
                "its name): a backup there would be applied as configuration. Choose a directory outside it",
            )
            return result
        try:
            node = self._read_node("kubegpu.nvidia.crio_runtime", args, task_vars)
        except NodeFileError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        config, drop_ins = node["config"], node["drop_ins"]
        runtime_path_exists = node["runtime_path_exists"]
        own = drop_ins.get(options.drop_in)
        try:
            computed = configure(
                config["text"] if config else None,
                {path: file["text"] for path, file in drop_ins.items()},
                options,
                runtime_path_exists,
            )
        except CrioConfigError as exc:
            result.update(failed=True, changed=False, msg=str(exc), file=exc.file, key=exc.key)
            return result

        result.update(
            changed=computed.changed,
            restart_required=computed.changed,
            drop_in=options.drop_in,
            runtime=computed.runtime,
            default_runtime=computed.default_runtime,
            copied_from=computed.copied_from,
            files=[options.drop_in] if computed.changed else [],
        )
        if options.state == "present":
            result["runtime_path_exists"] = runtime_path_exists
        if computed.warnings:
            result["warnings"] = list(computed.warnings)
        if computed.changed:
            result["diff"] = [
                {
                    "before_header": options.drop_in if own else f"{options.drop_in} (absent)",
                    "after_header": options.drop_in
                    if computed.drop_in_text is not None
                    else f"{options.drop_in} (absent)",
                    "before": own["text"] if own else "",
                    "after": computed.drop_in_text or "",
                }
            ]
        if self._task.check_mode or not computed.changed:
            return result

        try:
            if args["backup"] and own is not None:
                result["backup_file"] = self._backup(options.drop_in, backup_dir, task_vars)
            if computed.drop_in_text is None:
                self._remove(options.drop_in, task_vars)
            else:
                self._write(
                    options.drop_in, own, computed.drop_in_text, backup=False, validate=None, task_vars=task_vars
                )
        except AnsibleError as exc:
            result.update(failed=True, msg=str(exc))
            result["changed"] = result["restart_required"] = False
        return result

    # ------------------------------------------------------------------ node I/O
    def _backup(self, path, backup_dir, task_vars):
        made = self._module(
            "ansible.legacy.file", {"path": backup_dir, "state": "directory", "mode": BACKUP_DIR_MODE}, task_vars
        )
        if made.get("failed"):
            raise AnsibleError(f"{backup_dir}: cannot create the backup directory: {made.get('msg')}")
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S")
        dest = posixpath.join(backup_dir, f"{posixpath.basename(path)}.{stamp}~")
        res = self._module(
            "ansible.legacy.copy", {"src": path, "dest": dest, "remote_src": True, "mode": "preserve"}, task_vars
        )
        if res.get("failed"):
            raise AnsibleError(f"{path}: not changed, its backup to {dest} failed: {res.get('msg')}")
        return dest
