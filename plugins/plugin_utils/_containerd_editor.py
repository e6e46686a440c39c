# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CRI plugin's runtimes in containerd's files: read them, add or remove the NVIDIA runtime.

Controller side only (needs tomlkit). Pure: works on parsed files
(`ContainerdFile`); which file the runtime goes to is the caller's decision
(the strategy, _containerd_imports).

* A new runtime is a copy of the default runtime's table (else runc's, else
  crun's; only runtimes of the runc shim), with ``options.BinaryName`` set.
* containerd before 2.1 replaces its built-in runtimes with a file's
  ``runtimes`` table, so runc is written beside the first runtime there
  (marked, and removed again with the last one).
* Keys set elsewhere go through `OwnedKeys` (_containerd_owned), which marks them.
"""

from __future__ import annotations

import copy
import posixpath
from typing import Any

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_RUNC_SHIMS
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_owned import OwnedKeys, unmark_all
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import (
    MARKS,
    ContainerdConfigError,
    ContainerdFile,
    CriLayout,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    add_key,
    body,
    delete_table,
    dotted,
    is_table,
    plain,
)

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit
    from tomlkit.container import OutOfOrderTableProxy
    from tomlkit.items import InlineTable, Table, Whitespace

RUNC_SHIMS = CONTAINERD_RUNC_SHIMS
RUNC_SHIM = RUNC_SHIMS[0]


def build_table(data: dict, file: ContainerdFile) -> Table:
    """A new table (keys first, then sub-tables) in the file's string style."""
    table = tomlkit.table()
    for key, value in data.items():
        if not isinstance(value, dict):
            table.add(key, file.string(value) if isinstance(value, str) else tomlkit.item(value))
    for key, value in data.items():
        if isinstance(value, dict):
            table.add(key, build_table(value, file))
    return table


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class RuntimeEditor:
    """The module's edits in one schema's layout. `options`: the module's options (RuntimeOptions).

    `warnings` collects what it noticed but left; `owned` the key paths it set or gave back,
    for the check that nothing else changed.
    """

    def __init__(self, options, layout: CriLayout, version: tuple | None):
        self.o = options
        self.layout = layout
        self.version = version
        self.warnings: list = []
        self.owned: list = []
        self.keys = OwnedKeys(options.runtime_name, self.owned, self.warnings)
        self.copied_from: str | None = None

    # -- reading ------------------------------------------------------------
    def runtimes(self, file: ContainerdFile) -> Any:
        """The file's runtimes table (None when absent), each runtime and its options checked to be tables."""
        path = self.layout.runtimes_path
        table = file.table(path)
        if table is None:
            return None
        for key in list(table.keys()):
            if not is_table(table[key]):
                raise file.not_a_table((*path, key), table[key])
            options = table[key].get("options") if "options" in table[key] else None
            if options is not None and not is_table(options):
                raise file.not_a_table((*path, key, "options"), options)
        return table

    def default_name(self, file: ContainerdFile) -> str | None:
        containerd = file.table(self.layout.containerd_path)
        if containerd is None or "default_runtime_name" not in containerd:
            return None
        value = containerd["default_runtime_name"]
        file.expect(self.layout.default_runtime_key, value, str, "string")
        return str(value)

    def default_of(self, files) -> str:
        """The default runtime's name as these files set it (the first file wins), else runc."""
        default = None
        for file in files:
            default = self.default_name(file) or default
        return default or "runc"

    def defining(self, name: str, files) -> tuple:
        """(file, table) of the first file that defines runtime `name`; (None, None)."""
        for file in files:
            runtimes = self.runtimes(file)
            if runtimes is not None and name in runtimes:
                return file, runtimes[name]
        return None, None

    @staticmethod
    def _is_nvidia(name: str, table: Any) -> bool:
        options = table.get("options") if "options" in table else None
        binary = str(plain(options.get("BinaryName", ""))) if options is not None else ""
        return name.startswith("nvidia") or posixpath.basename(binary).startswith("nvidia-container-runtime")

    @staticmethod
    def runtime_type(table: Any) -> Any:
        return plain(table.get("runtime_type", RUNC_SHIM)) if "runtime_type" in table else RUNC_SHIM

    def copy_source(self, files) -> tuple:
        """(name, table) to copy: the default runtime unless NVIDIA's, else runc, else crun; (None, None)."""
        for name in (self.default_of(files), "runc", "crun"):
            if name == self.o.runtime_name:
                continue
            for file in files:
                runtimes = self.runtimes(file)
                if runtimes is None or name not in runtimes:
                    continue
                table = runtimes[name]
                if self.runtime_type(table) not in RUNC_SHIMS or self._is_nvidia(name, table):
                    continue
                return name, table
        return None, None

    def effective_runtime(self, files) -> dict | None:
        """The managed runtime as containerd merges it from these files (in their order), plain; None."""
        merged: dict | None = None
        for file in files:
            table = file.table(self.layout.runtime_path) if file is not None else None
            if table is None:
                continue
            merged = deep_merge(merged or {}, plain(table))
        return merged

    # -- present ------------------------------------------------------------
    def ensure_runtime(self, target: ContainerdFile, sources, fresh_layout: bool = False, align=None) -> bool:
        """The runtime in `target`, copied from `sources` when new; returns whether a runtimes table was there.

        `align(target, sources, table, created)`: what else the runtime must agree on with the node's
        other runtimes (the cgroup driver), before its binary is set.
        """
        runtime_path = self.layout.runtime_path
        had_runtimes = target.table(self.layout.runtimes_path) is not None
        self.runtimes(target)  # type checks before anything is created
        name = self.o.runtime_name
        runtimes = target.table(self.layout.runtimes_path, create=True)
        created = name not in runtimes
        if created:
            src_name, src = self.copy_source(sources)
            if src is None:
                new = self._fresh(target)
            elif fresh_layout:
                new = build_table(plain(src), target)
            else:
                new = self._copy(src)
            if isinstance(runtimes, InlineTable):
                raise target.inline_table(self.layout.runtimes_path)
            siblings = [v for dummy, v in body(runtimes) if isinstance(v, Table)]
            runtimes[name] = new
            target.created.append(runtimes[name])
            if siblings:
                last_body = body(siblings[-1])
                ends_blank = bool(last_body) and isinstance(last_body[-1][1], Whitespace)
                # An indented header right after a table's last line does not survive a
                # tomlkit round trip; unindented it does (and needs no blank line of ours).
                runtimes[name].trivia.indent = siblings[0].trivia.indent if ends_blank else ""
            self.copied_from = src_name
        table = runtimes[name]
        if align is not None:
            align(target, sources, table, created)
        if "runtime_type" not in table:
            add_key(table, "runtime_type", target.string(RUNC_SHIM))
        runtime_type = table["runtime_type"]
        target.expect((*runtime_path, "runtime_type"), runtime_type, str, "string")
        if str(runtime_type) not in RUNC_SHIMS:
            raise ContainerdConfigError(
                target.name,
                dotted((*runtime_path, "runtime_type")),
                f'is "{runtime_type}"; BinaryName (the NVIDIA runtime binary) only applies to the runc shim '
                f'"{RUNC_SHIM}"',
                "choose another runtime_name, or remove that runtime",
            )
        options = target.table((*runtime_path, "options"), create=True)
        current = options.get("BinaryName") if "BinaryName" in options else None
        if current is not None:
            target.expect((*runtime_path, "options", "BinaryName"), current, str, "string")
        if current is None:
            add_key(options, "BinaryName", target.string(self.o.runtime_path))
        elif str(current) != self.o.runtime_path:
            options["BinaryName"] = target.string(self.o.runtime_path, current)
        return had_runtimes

    @staticmethod
    def _copy(src: Any) -> Any:
        if isinstance(src, OutOfOrderTableProxy):
            return tomlkit.item(src.unwrap())
        new = copy.deepcopy(src)
        if isinstance(new, Table):
            new.trivia.comment = ""
            new.trivia.comment_ws = ""
            unmark_all(new)
        return new

    @staticmethod
    def _fresh(target: ContainerdFile) -> Table:
        new = tomlkit.table()
        new["runtime_type"] = target.string(RUNC_SHIM)
        return new

    def ensure_builtin_runc(self, target: ContainerdFile) -> None:
        """containerd < 2.1 replaces its built-in runtimes with the file's: keep runc (see the module docstring)."""
        default = self.default_name(target) or "runc"
        if default != "runc":
            self.warnings.append(
                f"{target.name}: {dotted(self.layout.default_runtime_key)} is {default!r} but no "
                "runtime is defined there; containerd will not find it"
            )
            return
        runtimes = target.table(self.layout.runtimes_path, create=True)
        if "runc" in runtimes:
            return
        if isinstance(runtimes, InlineTable):
            raise target.inline_table(self.layout.runtimes_path)
        runc = self._fresh(target)
        MARKS.put(runc, "added", None)
        runtimes["runc"] = runc
        target.created.append(runtimes["runc"])

    # -- absent -------------------------------------------------------------
    def remove_runtime(self, target: ContainerdFile) -> None:
        runtimes = self.runtimes(target)
        if runtimes is None or self.o.runtime_name not in runtimes:
            return
        delete_table(runtimes, self.o.runtime_name)
        self.drop_added_runc(target)
        target.prune(self.layout.runtime_path)

    def drop_added_runc(self, target: ContainerdFile) -> None:
        """A runc the module added only so that containerd < 2.1 keeps it goes when it is alone and bare again."""
        runtimes = self.runtimes(target)
        if runtimes is None or list(runtimes.keys()) != ["runc"]:
            return
        runc = runtimes["runc"]
        if (MARKS.read(runc) or {}).get("kind") != "added" or set(plain(runc)) - {"runtime_type"}:
            return
        delete_table(runtimes, "runc")
        target.prune(self.layout.runtime_of("runc"))
