# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing a node's configuration files from an action plugin, through Ansible's own modules.

Shared by the action plugins that compute a file on the controller (tomlkit) and
write it on the node: stat + slurp to read, ansible.builtin.copy to write
(atomic move, backup, validate), ansible.builtin.file to remove. The node needs
nothing beyond what those modules need.
"""

from __future__ import annotations

import base64
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

    def _read_only(self, name, module_args, task_vars):
        """Run a read-only module also in check mode (the decision, and the diff, depend on what it reads)."""
        check_mode, self._task.check_mode = self._task.check_mode, False
        try:
            return self._module(name, module_args, task_vars)
        finally:
            self._task.check_mode = check_mode

    def _stat(self, path, task_vars, follow=False):
        """stat's dict for path ({'exists': False} when missing); raises NodeFileError when stat fails."""
        res = self._module("ansible.legacy.stat", {"path": path, "follow": follow, "get_checksum": False}, task_vars)
        if res.get("failed"):
            raise NodeFileError(f"{path}: cannot stat it: {res.get('msg')}")
        return res.get("stat", {})

    def _read(self, path, task_vars, what="the TOML file", links=False):
        """{'text', 'mode'} of a regular file on the node; None when it does not exist.

        `links`: follow a symbolic link (for files read only); else a link is refused.
        """
        info = self._stat(path, task_vars)
        if not info.get("exists"):
            return None
        if info.get("islnk") and links:
            info = self._stat(path, task_vars, follow=True)
            if not info.get("exists"):
                return None  # a dangling link: nothing is read from it
        elif info.get("islnk"):
            raise NodeFileError(
                f"{path}: is a symbolic link (to {info.get('lnk_source')}); this module does not edit through "
                "links, so that the file that changes is the one named. Pass the link's target as the path"
            )
        if not info.get("isreg"):
            raise NodeFileError(f"{path}: is not a regular file. Pass the path of {what}")
        slurp = self._module("ansible.legacy.slurp", {"src": path}, task_vars)
        if slurp.get("failed"):
            raise NodeFileError(
                f"{path}: cannot be read ({slurp.get('msg')}). Run the task with become, or fix the file's permissions"
            )
        try:
            text = base64.b64decode(slurp["content"]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NodeFileError(f"{path}: is not UTF-8 text ({exc}); {what} must be UTF-8 TOML") from exc
        return {"text": text, "mode": info.get("mode")}

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
