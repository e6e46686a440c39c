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

import errno
import hashlib
import json
import os
import posixpath
import shutil
import stat
import tempfile
import time

from ansible_collections.kubegpu.nvidia.plugins.module_utils._bounded_read import FileRefused, read_regular_file
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


def _read(path, what):
    """Bytes of a regular file (no link followed, bounded, never blocking); None when it does not exist."""
    message = None
    try:
        return read_regular_file(path, follow=False)
    except FileRefused as exc:
        message = (
            "%s (%s) %s. This module reads and replaces only regular files there: remove %s (or move it away), "
            "then run the task again" % (path, what, exc, path)
        )
    except IsADirectoryError:
        message = "%s (%s) is a directory, not a file. Remove it or set path to another file" % (path, what)
    except OSError as exc:
        message = "cannot read %s (%s): %s" % (path, what, exc.strerror or exc)
    raise CdiError(message)


def ownership(path):
    """(current bytes or None, owned): owned when our record matches the file's bytes."""
    current = _read(path, "the CDI spec")
    if current is None:
        return None, False
    record = _read(owner_path(path), "the ownership record of %s" % path)
    try:
        data = json.loads(record.decode("utf-8")) if record else {}
    except ValueError:
        data = {}
    owned = data.get("owner") == OWNER and data.get("sha256") == hashlib.sha256(current).hexdigest()
    return current, owned


# errno -> (what it means, what to do); {dir} is the spec's directory.
_CAUSES = {
    errno.EACCES: (
        "permission denied",
        "run the task with become: true (the CDI directories belong to root), or set path to a directory "
        "this user can write",
    ),
    errno.EPERM: (
        "operation not permitted",
        "run the task with become: true, and check that {dir} is not immutable (lsattr -d {dir})",
    ),
    errno.ENOSPC: ("no space left on the file system", "free space on the file system of {dir} (df -h {dir})"),
    errno.EDQUOT: ("disk quota exceeded", "free space within the quota on the file system of {dir}"),
    errno.EROFS: (
        "read-only file system",
        "remount the file system of {dir} read-write, or set path to a directory on a writable file system "
        "that the runtime reads (/var/run/cdi is the other default)",
    ),
    errno.ENOTDIR: ("a part of the path is not a directory", "set path below a directory"),
    errno.EEXIST: (
        "a file of that name appeared while the task ran",
        "look at what else writes to {dir}, move the file away",
    ),
}


def _existing_parent(path):
    directory = posixpath.dirname(path) or "/"
    while directory != "/" and not os.path.isdir(directory):
        directory = posixpath.dirname(directory)
    return directory


def os_failure(path, task, doing, exc, outcome):
    """A CdiError naming the file, what failed, the cause, the fix and what was left on the node.

    ``doing`` may hold {dir} (the spec's directory) and {name} (the file the
    system call named).
    """
    directory = _existing_parent(path)
    cause, fix = _CAUSES.get(exc.errno, (exc.strerror or str(exc), "remove the cause"))
    return CdiError(
        "cannot %s %s: %s failed: %s (%s). %s. Fix: %s, then run the task again"
        % (
            task,
            path,
            doing.format(dir=posixpath.dirname(path), name=getattr(exc, "filename", None) or path),
            cause,
            errno.errorcode.get(exc.errno, exc.errno),
            outcome,
            fix.format(dir=directory),
        )
    )


def _write_all(fd, data, mode):
    """Write all of ``data`` to ``fd``, give it ``mode``, sync and close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _missing_dirs(directory):
    """The directories makedirs would create for ``directory``, outermost first."""
    missing = []
    while directory and directory != "/" and not os.path.lexists(directory):
        missing.append(directory)
        directory = posixpath.dirname(directory)
    return list(reversed(missing))


class _Transaction:
    """Every new file is staged next to its destination first; nothing lands until all are staged.

    Staging is where a full disk, a read-only file system or a missing permission
    shows: the failure leaves the directory as it was. The renames that follow
    are atomic; should one fail, the ones before it are put back, so the spec
    and its ownership record never disagree.
    """

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.directory = posixpath.dirname(path)
        self.created_dirs = []
        self.created = []  # files created under their final name (backups)
        self.staged = []  # (tmp, destination)
        self.done = []  # (destination, saved copy of what was there or None)

    def make_directory(self):
        for directory in _missing_dirs(self.directory):
            os.mkdir(directory, 0o755)
            self.created_dirs.append(directory)

    def stage(self, destination, data, mode=SPEC_MODE):
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix="." + posixpath.basename(destination) + ".")
        self.staged.append((tmp, destination))
        _write_all(fd, data, mode)
        if self.module.selinux_enabled():
            context = self.module.selinux_default_context(destination)
            self.module.set_context_if_different(tmp, context, False)

    def create_exclusive(self, destination, data, mode):
        """A new file under its final name, never through or over an existing name (a planted link)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(destination, flags, 0o600)
        self.created.append(destination)
        _write_all(fd, data, mode)

    def commit(self):
        for tmp, destination in self.staged:
            saved = None
            if os.path.lexists(destination):
                saved = "%s.prev" % tmp
                self._keep(destination, saved)
            os.replace(tmp, destination)
            self.done.append((destination, saved))
        for _destination, saved in self.done:
            if saved:
                os.unlink(saved)
        self.staged, self.done, self.created_dirs, self.created = [], [], [], []

    @staticmethod
    def _keep(destination, saved):
        # A hard link keeps the previous bytes without needing space for them;
        # where links are not supported, a copy.
        try:
            os.link(destination, saved)
            return
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
        with open(destination, "rb") as source, open(saved, "xb") as copy:
            copy.write(source.read())
        shutil.copymode(destination, saved)

    def roll_back(self):
        """Put back what commit replaced and remove what was staged; True when the node is as before."""
        clean = True
        for destination, saved in reversed(self.done):
            try:
                if saved:
                    os.replace(saved, destination)
                else:
                    os.unlink(destination)
            except OSError:
                clean = False
        for leftover in self.created:
            try:
                os.unlink(leftover)
            except OSError:
                clean = False
        for tmp, _destination in self.staged:
            for leftover in (tmp, "%s.prev" % tmp):
                try:
                    if os.path.lexists(leftover):
                        os.unlink(leftover)
                except OSError:
                    clean = False
        for directory in reversed(self.created_dirs):
            try:
                os.rmdir(directory)
            except OSError:
                clean = False
        return clean


def backup_name(path):
    """The name AnsibleModule.backup_local gives a copy: <path>.<pid>.<timestamp>~."""
    return "%s.%s.%s" % (path, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(time.time())))


def write_spec(module, path, text, current, backup):
    """Write the spec and its ownership record together, or neither; returns the backup's path or None.

    The backup is a new file of its own, staged like the others, so a full disk
    leaves no empty copy behind.
    """
    transaction = _Transaction(module, path)
    backup_file = backup_name(path) if backup and current is not None else None
    if backup_file:
        _check_backup_name(backup_file)
    doing = "creating the directory {name}"
    try:
        transaction.make_directory()
        doing = "writing the new files in {dir}"
        if backup_file:
            transaction.create_exclusive(backup_file, current, stat.S_IMODE(os.lstat(path).st_mode))
        transaction.stage(path, text)
        transaction.stage(owner_path(path), _record(text))
        doing = "moving the new files into place in {dir}"
        transaction.commit()
    except OSError as exc:
        if transaction.roll_back():
            outcome = "Nothing was changed: %s is as it was" % path
        else:
            outcome = "Putting back the previous files failed too: check %s and its .owner record by hand" % path
        raise os_failure(path, "write the CDI spec", doing, exc, outcome) from None
    return backup_file


def remove_spec(module, path, backup):
    """Remove the spec and its ownership record; returns the backup's path or None."""
    record = owner_path(path)
    backup_file = backup_name(path) if backup else None
    if backup_file:
        _check_backup_name(backup_file)
    linked = False
    try:
        if backup_file:
            os.link(path, backup_file)  # the same bytes, no space needed; link(2) never replaces a name
            linked = True
        os.unlink(path)
    except OSError as exc:
        if linked and os.path.lexists(path):
            os.unlink(backup_file)
        raise os_failure(
            path, "remove the CDI spec", "removing it", exc, "Nothing was changed: %s is still there" % path
        ) from None
    try:
        if os.path.lexists(record):
            os.unlink(record)
    except OSError as exc:
        # The spec is gone; the stale record alone is harmless (the next run removes it).
        module.warn("%s was removed, but its record %s could not be: %s" % (path, record, exc.strerror or exc))
    return backup_file


def _check_backup_name(backup_file):
    if os.path.lexists(backup_file):
        raise CdiError(
            "the backup %s already exists (%s); a backup is only ever a new file, never written through or over "
            "an existing name. Nothing was changed. Move it away, then run the task again"
            % (backup_file, "a symbolic link" if os.path.islink(backup_file) else "a file")
        )


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
    backup_file = write_spec(module, path, text, current, params["backup"])
    if backup_file:
        result["backup_file"] = backup_file
    return result


def _absent(module, path, current, owned, result):
    record = owner_path(path)
    result["spec"] = None
    if current is None:
        if os.path.exists(record):
            result["changed"] = True
            if not module.check_mode:
                try:
                    os.unlink(record)
                except OSError as exc:
                    raise os_failure(
                        path, "remove the ownership record of", "removing {name}", exc, "Nothing was changed"
                    ) from None
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
    backup_file = remove_spec(module, path, module.params["backup"])
    if backup_file:
        result["backup_file"] = backup_file
    return result
