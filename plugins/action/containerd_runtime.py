# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.containerd_runtime: read from the node, compute here, write with copy.

The TOML work needs tomlkit, which nodes do not have; so the files are read with
slurp, transformed on the controller by plugin_utils._containerd_config, and
written back by ansible.builtin.copy (atomic move, backup, validate).
"""

from __future__ import annotations

import base64
import posixpath

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.kubegpu.nvidia.plugins.modules.containerd_runtime import ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    TOMLKIT_IMPORT_ERROR as IMPORT_ERROR,  # tomlkit missing on the controller
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    ContainerdConfigError,
    RuntimeOptions,
    configure,
)

NEW_FILE_MODE = "0644"
NEW_DIR_MODE = "0755"
VALIDATE = "containerd -c %s config dump"


class _NodeFileError(Exception):
    """A file on the node the module cannot use as it is."""


class ActionModule(ActionBase):
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
            config = self._read(options.path, task_vars)
            drop_in = self._read(options.drop_in, task_vars) if options.drop_in else None
        except _NodeFileError as exc:
            result.update(failed=True, msg=str(exc), changed=False)
            return result

        probe = self._containerd_probe(task_vars) if (args["validate"] or not args["containerd_version"]) else None
        version = args["containerd_version"] or probe
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
        validate = probe is not None and args["validate"]
        for path, before, after, changed in plan:
            if not changed:
                continue
            try:
                if after is None:
                    self._remove(path, task_vars)
                else:
                    backup = self._write(
                        path, before, after, backup=args["backup"], validate=validate, task_vars=task_vars
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

    # ------------------------------------------------------------------ node I/O
    def _module(self, name, module_args, task_vars):
        return self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)

    def _read(self, path, task_vars):
        """{'text', 'mode'} of a regular file on the node; None when it does not exist."""
        stat = self._module("ansible.legacy.stat", {"path": path, "follow": False, "get_checksum": False}, task_vars)
        if stat.get("failed"):
            raise _NodeFileError(f"{path}: cannot stat it: {stat.get('msg')}")
        info = stat.get("stat", {})
        if not info.get("exists"):
            return None
        if info.get("islnk"):
            raise _NodeFileError(
                f"{path}: is a symbolic link (to {info.get('lnk_source')}); this module does not edit through "
                "links, so that the file that changes is the one named. Pass the link's target as the path"
            )
        if not info.get("isreg"):
            raise _NodeFileError(f"{path}: is not a regular file. Pass the path of containerd's TOML file")
        slurp = self._module("ansible.legacy.slurp", {"src": path}, task_vars)
        if slurp.get("failed"):
            raise _NodeFileError(
                f"{path}: cannot be read ({slurp.get('msg')}). Run the task with become, or fix the file's permissions"
            )
        try:
            text = base64.b64decode(slurp["content"]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _NodeFileError(f"{path}: is not UTF-8 text ({exc}); containerd reads UTF-8 TOML") from exc
        return {"text": text, "mode": info.get("mode")}

    def _containerd_probe(self, task_vars):
        """`containerd --version` output, or None when containerd is not there (tolerated)."""
        # Read-only, so it runs in check mode too: the decision (and the diff) depend on it.
        check_mode, self._task.check_mode = self._task.check_mode, False
        try:
            res = self._module("ansible.legacy.command", {"argv": ["containerd", "--version"]}, task_vars)
        except AnsibleError:
            return None
        finally:
            self._task.check_mode = check_mode
        if res.get("failed") or res.get("rc"):
            return None
        return to_text(res.get("stdout", "")).strip() or None

    def _write(self, path, before, text, *, backup, validate, task_vars):
        directory = posixpath.dirname(path)
        if before is None and directory:
            made = self._module(
                "ansible.legacy.file", {"path": directory, "state": "directory", "mode": NEW_DIR_MODE}, task_vars
            )
            if made.get("failed"):
                raise AnsibleError(f"{directory}: cannot create the directory for {path}: {made.get('msg')}")
        tmpdir = self._connection._shell.tmpdir
        source = self._connection._shell.join_path(tmpdir, posixpath.basename(path) or "containerd.toml")
        self._transfer_data(source, text)
        self._fixup_perms2((tmpdir, source))
        copy_args = {
            "src": source,
            "dest": path,
            "backup": backup,
            "follow": False,
            "_original_basename": posixpath.basename(path),
        }
        if before is None:
            copy_args["mode"] = NEW_FILE_MODE
        if validate:
            copy_args["validate"] = VALIDATE
        res = self._module("ansible.legacy.copy", copy_args, task_vars)
        if res.get("failed"):
            raise AnsibleError(
                f"{path}: not written, the file on the node is unchanged: {res.get('msg')} "
                f"{to_text(res.get('stderr', '')).strip()}".strip()
            )
        return res.get("backup_file")

    def _remove(self, path, task_vars):
        res = self._module("ansible.legacy.file", {"path": path, "state": "absent"}, task_vars)
        if res.get("failed"):
            raise AnsibleError(f"{path}: cannot remove it: {res.get('msg')}")
