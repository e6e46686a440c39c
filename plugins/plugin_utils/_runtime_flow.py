# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a container runtime plugs into the one configuration flow (plugin_utils._node_files.RuntimeConfigAction).

Pure types, no I/O. A runtime is a `Runtime`: the node-side module that reads
its files, a pure `compute(args, node) -> Plan` (the new texts and the result
keys), and a pure `validator(args, node, plan)` that says how the runtime's
own parser checks the candidate files (a `Validation`), or why it cannot
(a string). The flow does the rest, the same way for every runtime: lock,
read, diff, check mode, validation, checksum re-check, backups, writes and,
on a failure after a write, putting back what was there.
"""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class FileChange:
    """One file the plan may change. `before`: as the node read it ({'text', 'mode'}), None when missing;
    `after`: the new text, None when the file must not exist."""

    path: str
    before: dict | None
    after: str | None

    @property
    def before_text(self) -> str | None:
        return None if self.before is None else self.before["text"]

    @property
    def changed(self) -> bool:
        return self.before_text != self.after


@dataclasses.dataclass
class Plan:
    """The files in the order they are written (a file another one imports first), and the result keys."""

    files: list
    result: dict
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def changes(self) -> list:
        return [f for f in self.files if f.changed]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclasses.dataclass(frozen=True)
class StagedFile:
    """A candidate file copied into the validation directory: `path` is the real one, `staged` relative."""

    path: str
    staged: str
    text: str


@dataclasses.dataclass(frozen=True)
class Validation:
    """How the runtime's own parser reads the candidate files, in a private directory on the node.

    `argv`: the command; "{stage}" in an argument is replaced by that directory. Exit status 0: accepted.
    """

    argv: tuple
    files: tuple
    fix: str = "fix the value the message names, in the file it names, or remove it"


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One container runtime, as the flow sees it."""

    name: str
    module: str
    argument_spec: dict
    compute: Callable
    validator: Callable
    #: args -> the path that names the read-modify-write (two tasks on it take turns).
    lock_path: Callable
    #: args -> args, checked and normalised before the node is read (raises the runtime's error).
    prepare: Callable = staticmethod(lambda args: args)
    #: args -> where backups go (None: next to the file, as ansible.builtin.copy keeps them).
    backup_dir: Callable = staticmethod(lambda args: None)
