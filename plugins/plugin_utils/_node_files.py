# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing a node's configuration files from an action plugin, through Ansible's own modules.

Shared by the action plugins that compute a file on the controller (tomlkit) and
write it on the node: one run of the task's own module reads everything
(module_utils._node_read), ansible.builtin.copy writes (atomic move, backup,
validate), ansible.builtin.file removes. The node needs nothing beyond
Python's standard library.
"""

from __future__ import annotations

import posixpath

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

NEW_FILE_MODE = "0644"
NEW_DIR_MODE = "0755"


class NodeFileError(Exception):
    """A file on the node the module cannot use as it is."""


# A base, not an action plugin: each action plugin that derives from it defines run().
class NodeFiles(ActionBase):  # pylint: disable=abstract-method
    """Base of an action plugin: file I/O on the node through ansible.legacy modules."""

    def _module(self, name, module_args, task_vars):
        return self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)

    def _read_node(self, module_name, module_args, task_vars):
        """The `node` dict that the task's own module returns (one module run reads every file it needs).

        The module only reads, so it runs in check mode too: the decision, and the diff, depend on it.
        Raises NodeFileError with the module's message when it cannot read what it must.
        """
        res = self._module(module_name, module_args, task_vars)
        if res.get("failed") or "node" not in res:
            raise NodeFileError(res.get("msg") or f"{module_name}: reading the node's files failed: {res}")
        return res["node"]

    def _write(self, path, before, text, *, backup, validate, task_vars):
        """Write text to path with copy (atomic); returns copy's backup_file. `validate`: copy's validate command."""
        directory = posixpath.dirname(path)
        if before is None and directory:
            made = self._module(
                "ansible.legacy.file", {"path": directory, "state": "directory", "mode": NEW_DIR_MODE}, task_vars
            )
            if made.get("failed"):
                raise AnsibleError(f"{directory}: cannot create the directory for {path}: {made.get('msg')}")
        tmpdir = self._connection._shell.tmpdir
        source = self._connection._shell.join_path(tmpdir, posixpath.basename(path) or "config.toml")
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
            copy_args["validate"] = validate
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
