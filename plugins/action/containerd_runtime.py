# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.containerd_runtime: read from the node, compute here, write with copy.

The TOML work needs tomlkit, which nodes do not have; so the files are read by
one run of the module of the same name (the node side: both files and
containerd's version), transformed on the controller by
plugin_utils._containerd_config, and written back by ansible.builtin.copy
(atomic move, backup, validate).
"""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.kubegpu.nvidia.plugins.modules.containerd_runtime import ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    TOMLKIT_IMPORT_ERROR as IMPORT_ERROR,  # tomlkit missing on the controller
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    ContainerdConfigError,
    RuntimeOptions,
    configure,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import NodeFileError, NodeFiles

#: copy's validate command: the node's own containerd parses the new file before it replaces the old one.
VALIDATE = "{containerd} -c %s config dump"
MODULE = "kubegpu.nvidia.containerd_runtime"


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

    # ------------------------------------------------------------------ flow
    def _run(self, result, task_vars):
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        if IMPORT_ERROR is not None:
            result.update(
                failed=True,
                msg=f"containerd_runtime needs the Python package tomlkit on the controller "
                f"(pip install tomlkit): {IMPORT_ERROR}",
            )
            return result
        options = RuntimeOptions(
            path=args["path"],
            drop_in=args["drop_in"] or "",
            runtime_name=args["runtime_name"],
            runtime_path=args["runtime_path"],
            set_as_default=args["set_as_default"],
            enable_cdi=args["enable_cdi"],
            state=args["state"],
        )
        try:
            node = self._read_node(MODULE, args, task_vars)
        except NodeFileError as exc:
            result.update(failed=True, msg=str(exc), changed=False)
            return result
        config, drop_in = node["config"], node["drop_in"]
        version = args["containerd_version"] or node["containerd"]["version"]
        try:
            computed = configure(
                config["text"] if config else None,
                drop_in["text"] if drop_in else None,
                options,
                version,
            )
        except ContainerdConfigError as exc:
            result.update(failed=True, changed=False, msg=str(exc), file=exc.file, key=exc.key)
            return result

        result.update(
            changed=computed.changed,
            restart_required=computed.changed,
            config_version=computed.config_version,
            cri_plugin=computed.cri_plugin,
            strategy=computed.strategy,
            strategy_reason=computed.strategy_reason,
            containerd_version=computed.containerd_version,
            runtime=computed.runtime,
            files=computed.files,
        )
        if computed.warnings:
            result["warnings"] = list(computed.warnings)

        # The drop-in first: config.toml may import it, and validating config.toml reads it.
        plan = [
            (options.drop_in, drop_in, computed.drop_in_text, computed.drop_in_changed),
            (options.path, config, computed.config_text, computed.config_changed),
        ]
        diffs = []
        for path, before, after, changed in plan:
            if changed:
                diffs.append(
                    {
                        "before_header": path if before else f"{path} (absent)",
                        "after_header": path if after is not None else f"{path} (absent)",
                        "before": before["text"] if before else "",
                        "after": after if after is not None else "",
                    }
                )
        if diffs:
            result["diff"] = diffs
        if self._task.check_mode or not computed.changed:
            return result

        backups = {}
        written = []
        # Validation needs the node's containerd; without it (a node being prepared) the file is written as is.
        containerd = node["containerd"]["path"]
        validate = VALIDATE.format(containerd=containerd) if containerd and args["validate"] else None
        for path, before, after, changed in plan:
            if not changed:
                continue
            try:
                if after is None:
                    self._remove(path, task_vars)
                else:
                    backup = self._write(
                        path,
                        before,
                        after,
                        backup=args["backup"],
                        validate=validate,
                        task_vars=task_vars,
                    )
                    if backup:
                        backups[path] = backup
            except AnsibleError as exc:
                result.update(failed=True, msg=str(exc), files_written=written)
                result["changed"] = result["restart_required"] = bool(written)
                return result
            written.append(path)
        if backups:
            result["backup_files"] = backups
            if options.path in backups:
                result["backup_file"] = backups[options.path]
        return result
