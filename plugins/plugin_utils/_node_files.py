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

import hashlib
import json
import pathlib
import posixpath
import shlex
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.kubegpu.nvidia.plugins.module_utils import _node_lock
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import TOMLKIT_IMPORT_ERROR, RuntimeConfigError

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
            self._ensure_directory(directory, NEW_DIR_MODE, f"the directory for {path}", task_vars)
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
            cause, fix = _cause(path, res)
            raise AnsibleError(f"{path}: not written ({cause}), the file on the node is unchanged. Fix: {fix}")
        return res.get("backup_file")

    def _ensure_directory(self, directory, mode, what, task_vars):
        """Create directory (and missing parents) with mode; an existing one is left exactly as it is.

        ansible.builtin.file with a mode would also chmod a directory that exists: a drop-in
        directory its owner keeps at 0700 would become world-readable.
        """
        if self._low_level_execute_command("test -d " + shlex.quote(directory))["rc"] == 0:
            return
        made = self._module("ansible.legacy.file", {"path": directory, "state": "directory", "mode": mode}, task_vars)
        if made.get("failed"):
            raise AnsibleError(f"{directory}: cannot create {what}: {made.get('msg')}")

    def _remove(self, path, task_vars):
        res = self._module("ansible.legacy.file", {"path": path, "state": "absent"}, task_vars)
        if res.get("failed"):
            cause, fix = _cause(path, res)
            raise AnsibleError(f"{path}: cannot remove it ({cause}). Fix: {fix}")


# --------------------------------------------------------------------------- the runtime configuration flow

#: How long a second task on the same files waits for the first one's lock.
LOCK_WAIT_S = 120
#: The longest a lock is held: a run killed on the controller leaves its holder on the node until then.
LOCK_LEASE_S = 900
# The node side of the lock (module_utils/_node_lock.py), run with the node's Python.
LOCK_SOURCE = pathlib.Path(_node_lock.__file__).read_text(encoding="utf-8")
# Python on the node: the task's interpreter where the inventory names one, else the usual places.
NODE_PYTHONS = ("python3", "/usr/bin/python3", "/usr/libexec/platform-python")
BACKUP_DIR_MODE = "0700"
# A backup is always a new file: copied to a fresh temporary name, then hard-linked to its
# own name (link(2) never replaces nor writes through an existing name, a planted link say);
# a name that is taken gets the next number. Prints the name used.
BACKUP_SCRIPT = (
    "src={src}; base={dst}; tmp=$(mktemp -- \"$base.XXXXXX\") || exit 1; "
    'trap \'rm -f -- "$tmp"\' EXIT; cp -p -- "$src" "$tmp" || exit $?; n=1; dst=$base; '
    'until ln -T -- "$tmp" "$dst" 2>/dev/null; do '
    '[ -e "$dst" ] || [ -L "$dst" ] || {{ ln -T -- "$tmp" "$dst"; exit $?; }}; n=$((n + 1)); '
    '[ "$n" -le 20 ] || {{ echo "$base: File exists (and 19 numbered names after it)" >&2; exit 1; }}; '
    'dst="${{base%~}}.$n~"; done; echo "$dst"'
)

_CAUSES = (
    ("No space left on device", "the file system is full", "free space on the file system that holds {path}"),
    ("Errno 28", "the file system is full", "free space on the file system that holds {path}"),
    ("Read-only file system", "the file system is read-only", "remount it read-write, or manage the file elsewhere"),
    ("Errno 30", "the file system is read-only", "remount it read-write, or manage the file elsewhere"),
    ("Permission denied", "permission denied", "run the task with become, or fix the directory's permissions"),
    ("Errno 13", "permission denied", "run the task with become, or fix the directory's permissions"),
    ("File exists", "a file of that name is already there", "move {path} away"),
    (
        " not writable",
        "its directory is not writable (a read-only file system?)",
        "make the directory of {path} writable, or manage the file elsewhere",
    ),
)


def _cause(path, res):
    """(cause, fix) of a failed write, from the module's message, exception or stderr."""
    words = " ".join(to_text(res.get(k) or "") for k in ("msg", "exception", "stderr", "module_stderr"))
    for needle, cause, fix in _CAUSES:
        if needle in words:
            return cause, fix.format(path=path)
    msg = to_text(res.get("msg") or "").strip()
    if not msg:
        lines = to_text(res.get("exception") or res.get("stderr") or "").strip().splitlines()
        msg = lines[-1] if lines else "the write failed without a message"
    return msg, f"correct what the cause names for {path}, then run the task again"


class RuntimeConfigAction(NodeFiles):  # pylint: disable=abstract-method
    """An action plugin that patches a runtime's configuration: set RUNTIME (a _runtime_flow.Runtime)."""

    TRANSFERS_FILES = True
    RUNTIME = None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            return self._flow(result, task_vars or {})
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _flow(self, result, task_vars):
        runtime = self.RUNTIME
        dummy, args = self.validate_argument_spec(argument_spec=runtime.argument_spec)
        if TOMLKIT_IMPORT_ERROR is not None:
            result.update(
                failed=True,
                changed=False,
                msg=f"{runtime.module.rpartition('.')[2]} needs the Python package tomlkit on the controller "
                f"(pip install tomlkit): {TOMLKIT_IMPORT_ERROR}",
            )
            return result
        lock = None
        try:
            args = runtime.prepare(args)
            if not self._task.check_mode:
                lock = self._lock(runtime.lock_path(args), task_vars)
            node = self._read_node(runtime.module, args, task_vars)
            plan = runtime.compute(args, node)
            self._report(result, plan)
            if not plan.changed:
                return result
            self._validate(result, runtime, args, node, plan)
            if self._task.check_mode:
                return result
            if self._read_node(runtime.module, args, task_vars) != node:
                raise NodeFileError(
                    f"{plan.changes[0].path}: changed on the node while this task ran (another tool or task wrote "
                    "it between the read and the write); nothing was written. Run the task again"
                )
            self._apply(result, runtime, args, plan, task_vars)
        except RuntimeConfigError as exc:
            result.update(failed=True, changed=False, msg=str(exc), file=exc.file, key=exc.key)
            result["restart_required"] = False
        except NodeFileError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            result["restart_required"] = False
        finally:
            if lock:
                self._unlock(lock)
        return result

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _report(result, plan):
        result.update(plan.result)
        result["changed"] = result["restart_required"] = plan.changed
        if plan.warnings:
            result["warnings"] = list(plan.warnings)
        diffs = [
            {
                "before_header": f.path if f.before is not None else f"{f.path} (absent)",
                "after_header": f.path if f.after is not None else f"{f.path} (absent)",
                "before": f.before_text or "",
                "after": f.after or "",
            }
            for f in plan.changes
        ]
        if diffs:
            result["diff"] = diffs

    def _validate(self, result, runtime, args, node, plan):
        """The runtime's own parser reads every candidate file, in check mode too, before anything is written."""
        if not args.get("validate", True):
            result["validated"] = False
            return
        validation = runtime.validator(args, node, plan)
        if isinstance(validation, str):
            result["validated"] = False
            result.setdefault("warnings", []).append(validation)
            return
        rc, out, err, stage = self._run_staged(validation)
        if rc != 0:
            text = (err or out or "").strip()
            for staged in validation.files:
                text = text.replace(f"{stage}/{staged.staged}", staged.path)
            text = text.replace(stage + "/", "")
            lines = [line for line in text.splitlines() if "level=info" not in line][-5:]
            command = " ".join(validation.argv).replace("{stage}/", "")
            names = ", ".join(f.path for f in plan.changes)
            raise NodeFileError(
                f"{names}: not written, the files on the node are unchanged: {runtime.name}'s own "
                f"parser refuses the result ({command}): {' '.join(lines) or f'exit status {rc}'}. {validation.fix}"
            )
        result["validated"] = True

    def _run_staged(self, validation):
        if self._connection._shell.tmpdir is None:
            self._make_tmp_path()
        tmpdir = self._connection._shell.tmpdir
        stage = self._connection._shell.join_path(tmpdir, "validate")
        dirs = sorted({posixpath.dirname(posixpath.join(stage, f.staged)) for f in validation.files} | {stage})
        made = self._low_level_execute_command("mkdir -p " + " ".join(shlex.quote(d) for d in dirs))
        if made["rc"] != 0:
            raise NodeFileError(f"{stage}: cannot create the validation directory: {made['stderr']}")
        for staged in validation.files:
            self._transfer_data(posixpath.join(stage, staged.staged), staged.text)
        self._fixup_perms2([tmpdir, stage, *dirs, *(posixpath.join(stage, f.staged) for f in validation.files)])
        argv = [a.replace("{stage}", stage) for a in validation.argv]
        res = self._low_level_execute_command(" ".join(shlex.quote(a) for a in argv))
        return res["rc"], to_text(res.get("stdout", "")), to_text(res.get("stderr", "")), stage

    def _apply(self, result, runtime, args, plan, task_vars):
        """Write the changed files in order; when one fails, put back those already written."""
        backup_dir = runtime.backup_dir(args)
        backups = {}
        written = []
        for change in plan.changes:
            try:
                if args["backup"] and change.before is not None:
                    backups[change.path] = self._backup(change.path, backup_dir, task_vars)
                if change.after is None:
                    self._remove(change.path, task_vars)
                else:
                    self._write(
                        change.path, change.before, change.after, backup=False, validate=None, task_vars=task_vars
                    )
            except AnsibleError as exc:
                restored, lost = self._put_back(written, task_vars)
                message = str(exc)
                if restored:
                    message += f"; put back as they were: {', '.join(restored)}"
                if lost:
                    message += f"; COULD NOT put back {', '.join(lost)} (its backup, if any, is in backup_files)"
                result.update(failed=True, msg=message, files_written=lost)
                result["changed"] = result["restart_required"] = bool(lost)
                if backups:
                    result["backup_files"] = backups
                return
            written.append(change)
        if backups:
            result["backup_files"] = backups
            first = plan.files[0].path
            result["backup_file"] = backups.get(first, next(iter(backups.values())))

    def _put_back(self, written, task_vars):
        restored, lost = [], []
        for change in reversed(written):
            try:
                if change.before is None:
                    self._remove(change.path, task_vars)
                else:
                    self._write(
                        change.path,
                        change.before,
                        change.before["text"],
                        backup=False,
                        validate=None,
                        task_vars=task_vars,
                    )
                restored.append(change.path)
            except AnsibleError:
                lost.append(change.path)
        return restored, lost

    # ------------------------------------------------------------------ node I/O
    def _lock(self, path, task_vars):
        """Hold the node-wide lock named after `path` (module_utils._node_lock); returns what _unlock needs."""
        name = "runtime-config-" + hashlib.sha256(path.encode()).hexdigest()[:16] + ".lock"
        res = self._run_lock_script(task_vars, "take", name, LOCK_WAIT_S, LOCK_LEASE_S)
        said = _last_json(res)
        if res["rc"] == 0 and "pid" in said:
            return name, said["pid"], task_vars
        if res["rc"] == _node_lock.BUSY:
            holder = said.get("holder") or {}
            since = holder.get("since")
            held = f", for {int(time.time() - since)} s" if isinstance(since, (int, float)) else ""
            raise NodeFileError(
                f"{path}: another task has been changing it for over {LOCK_WAIT_S} s (process "
                f"{holder.get('pid', '?')} on the node holds the lock {said.get('path')}{held}); nothing was "
                f"written. Run this task again when that one is done; a holder left by a killed run ends itself "
                f"{LOCK_LEASE_S} s after it took the lock"
            )
        reason = said.get("msg") or to_text(res.get("stderr", "")).strip() or f"exit status {res['rc']}"
        raise NodeFileError(f"{path}: cannot take the lock for changing it: {reason}")

    def _unlock(self, lock):
        name, pid, task_vars = lock
        self._run_lock_script(task_vars, "release", name, pid)

    def _run_lock_script(self, task_vars, *args):
        pythons = [p for p in (self._node_python(task_vars), *NODE_PYTHONS) if p]
        quoted = " ".join(shlex.quote(str(a)) for a in args)
        script = (
            f"for py in {' '.join(shlex.quote(p) for p in pythons)}; do "
            f'command -v "$py" >/dev/null 2>&1 && exec "$py" -c {shlex.quote(LOCK_SOURCE)} {quoted}; done; '
            "echo 'no Python found on the node (tried: " + ", ".join(pythons) + ")' >&2; exit 127"
        )
        return self._low_level_execute_command(script)

    def _node_python(self, task_vars):
        """The interpreter the task's modules use on this node, where the inventory or discovery named it."""
        for given in (
            task_vars.get("ansible_python_interpreter"),
            (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python"),
        ):
            try:
                value = self._templar.template(given) if isinstance(given, str) else given
            except Exception:  # pylint: disable=broad-exception-caught
                continue  # an inventory value that does not template: the usual places remain
            if isinstance(value, str) and value.startswith("/"):
                return value
        return None

    def _backup(self, path, backup_dir, task_vars):
        """Copy path to a new timestamped backup (in backup_dir, else next to it); a partial copy is removed."""
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S")
        if backup_dir:
            self._ensure_directory(backup_dir, BACKUP_DIR_MODE, "the backup directory", task_vars)
            dest = posixpath.join(backup_dir, f"{posixpath.basename(path)}.{stamp}~")
        else:
            dest = f"{path}.{stamp}~"
        # cp and ln, not copy with remote_src: copy leaves its temporary file behind when the disk is
        # full, and writes through a link planted at the backup's name.
        res = self._low_level_execute_command(BACKUP_SCRIPT.format(src=shlex.quote(path), dst=shlex.quote(dest)))
        if res["rc"] != 0:
            cause, fix = _cause(dest, {"stderr": to_text(res.get("stderr", "")), "msg": to_text(res.get("stdout", ""))})
            raise AnsibleError(
                f"{path}: not changed, its backup to {dest} failed ({cause}; the partial backup is removed). Fix: {fix}"
            )
        return to_text(res.get("stdout", "")).strip().splitlines()[-1]


def _last_json(res):
    """The JSON object on the last line of a command's output ({} when there is none)."""
    for line in reversed(to_text(res.get("stdout", "")).strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else {}
    return {}
