# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Add (or remove) an NVIDIA runtime in containerd's configuration, as text.

Controller side only (needs tomlkit). Pure: TOML text in, TOML text out, plus a
summary; no file system, no node. The action plugin
``kubegpu.nvidia.containerd_runtime`` does the I/O around it.

Where the runtime goes depends on how the node's containerd merges imported
files (proven with ``containerd -c FILE config dump`` of 1.6.20, 1.7.24 and
2.1.9 in tests/integration/containerd):

* containerd < 2.1 (and an unknown version): a table of ``plugins`` in an
  imported file replaces that whole plugin's table from config.toml, so a
  drop-in holding only the runtime wipes the CRI settings of config.toml (runc,
  sandbox image, registry); a drop-in holding a copy of the CRI section
  silently shadows every later edit of config.toml. So the runtime is written
  into config.toml itself ("in_place").
  Decoding a ``runtimes`` table also replaces containerd's built-in runtimes
  there, so when config.toml names no runtime yet, ``runc`` (the built-in
  default) is written next to the new one, or the CRI plugin would lose it.
* containerd >= 2.1: imported files merge key by key, so the runtime goes into
  the module's own drop-in ("drop_in"), config.toml only gains the import, and
  later edits of config.toml keep taking effect.

What the module changes in a file it does not own whole is marked with a
trailing comment (``# added by kubegpu.nvidia.containerd_runtime (nvidia)`` or
``# set by ... (nvidia), was: <the original value and comment>``), so that
``state=absent`` gives back the original bytes; everything else is left as it
was, comments and formatting included (tomlkit).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import posixpath
import re
from fnmatch import fnmatchcase
from typing import Any

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import CONTAINERD_ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_flow import (
    FileChange,
    Plan,
    Runtime,
    StagedFile,
    Validation,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    Marks,
    RuntimeConfigError,
    TomlFile,
    check_absolute,
    check_runtime_name,
    check_state,
    dotted,
    finished_text,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import add_key as _add_key
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import body as _body
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import delete_table as _delete_table
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import is_table as _is_table
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import parse_value_text as _parse_value_text
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import plain as _plain
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import put as _put
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import raw as _raw
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import type_name as _type_name
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import value_text as _value_text

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit
    from tomlkit.container import OutOfOrderTableProxy
    from tomlkit.items import AoT, InlineTable, Table, Whitespace


MARK = "kubegpu.nvidia.containerd_runtime"
DROP_IN_HEADER = (
    f"Managed by {MARK}: container runtimes for NVIDIA GPUs.\n"
    "containerd >= 2.1 merges this file into config.toml key by key; "
    "edit config.toml for everything else."
)
#: CRI plugin holding the runtimes, per config schema version.
CRI_PLUGINS = {1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}
RUNC_SHIM = "io.containerd.runc.v2"
_RUNC_SHIMS = ("io.containerd.runc.v2", "io.containerd.runc.v1")
#: First containerd release whose imports merge key by key (proven on 2.1.9;
#: 2.0 is not available to test here, so it keeps the in-place strategy,
#: which is correct on every version).
DEEP_MERGE_SINCE = (2, 1)
CDI_SINCE = (1, 7)
SCHEMA_3_SINCE = (2, 0)
_VERSION_RE = re.compile(r"(?:^|[\s/])v?(\d+)\.(\d+)(?:\.(\d+))?")

STRATEGY_IN_PLACE = "in_place"
STRATEGY_DROP_IN = "drop_in"


class ContainerdConfigError(RuntimeConfigError):
    """A configuration the module must not edit: names the file, the key and the fix."""


MARKS = Marks(MARK)
_mark = MARKS.put
_marker = MARKS.read
_unmark = MARKS.remove


class _File(TomlFile):
    """One of containerd's files (config.toml or the drop-in), parsed."""

    def __init__(self, text: str | None, name: str):
        super().__init__(text, name, runtime="containerd", error=ContainerdConfigError)


@dataclasses.dataclass(frozen=True)
class RuntimeOptions:
    """The module's options that shape the files (see the module's DOCUMENTATION)."""

    path: str = "/etc/containerd/config.toml"
    drop_in: str = "/etc/containerd/conf.d/99-nvidia.toml"
    runtime_name: str = "nvidia"
    runtime_path: str = "/usr/bin/nvidia-container-runtime"
    set_as_default: bool = False
    enable_cdi: bool = False
    state: str = "present"
    # The CRI's sandbox (pause) image; empty: left as it is.
    sandbox_image: str = ""


@dataclasses.dataclass
class ContainerdConfigResult:
    """New texts of the two files and what the change means.

    ``config_text`` / ``drop_in_text`` are None when that file does not exist
    and must not (for the drop-in: must be removed).
    """

    config_text: str | None
    drop_in_text: str | None
    config_version: int
    cri_plugin: str
    strategy: str
    strategy_reason: str
    config_changed: bool
    drop_in_changed: bool
    runtime: dict | None
    containerd_version: str | None
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.config_changed or self.drop_in_changed

    @property
    def files(self) -> list:
        """Paths of the files whose content changes (or which appear or go away)."""
        return [p for p, c in ((self.config_path, self.config_changed), (self.drop_in_path, self.drop_in_changed)) if c]

    config_path: str = ""
    drop_in_path: str = ""


# --------------------------------------------------------------------------- helpers


def parse_containerd_version(text: str | None) -> tuple | None:
    """(major, minor, patch) from ``containerd --version`` output or a bare version; None if absent."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    match = _VERSION_RE.search(" " + text)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def _fmt_version(version: tuple | None) -> str | None:
    return None if version is None else ".".join(str(p) for p in version)


# --------------------------------------------------------------------------- schema


def detect_config_version(file: _File) -> int:
    """containerd's rules: no file or no keys = 2 (what is written), no `version` = 1, else the number."""
    if file.empty:
        return 2
    if "version" not in file.doc:
        return 1
    value = _plain(file.doc["version"])
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContainerdConfigError(
            file.name,
            "version",
            f"is a {_type_name(value)}, but containerd expects an integer (1, 2 or 3)",
            "write the number without quotes, e.g. version = 2",
        )
    if value not in CRI_PLUGINS:
        raise ContainerdConfigError(
            file.name,
            "version",
            f"is {value}; this module knows config versions 1, 2 and 3",
            "use a containerd config version this collection supports, or update the collection",
        )
    return value


def _check_schema_against_containerd(name: str, schema: int, version: tuple | None) -> None:
    if version is None:
        return
    if schema == 3 and version < SCHEMA_3_SINCE:
        raise ContainerdConfigError(
            name,
            "version",
            f"is 3, which containerd {_fmt_version(version)} cannot read (version 3 needs containerd >= 2.0)",
            "write a version 2 config for this containerd",
        )
    if schema == 1 and version >= SCHEMA_3_SINCE:
        raise ContainerdConfigError(
            name,
            "version",
            f"is missing (a version 1 config), whose CRI section containerd {_fmt_version(version)} ignores",
            "convert it with `containerd config migrate` and set version = 3",
        )


# --------------------------------------------------------------------------- the edit


def _build_table(data: dict, file: _File) -> Table:
    """A new table (keys first, then sub-tables) in the file's string style."""
    table = tomlkit.table()
    for key, value in data.items():
        if not isinstance(value, dict):
            table.add(key, file.string(value) if isinstance(value, str) else tomlkit.item(value))
    for key, value in data.items():
        if isinstance(value, dict):
            table.add(key, _build_table(value, file))
    return table


class _Editor:
    def __init__(self, options: RuntimeOptions, schema: int, version: tuple | None):
        self.o = options
        self.schema = schema
        self.version = version
        self.cri = CRI_PLUGINS[schema]
        self.cri_path = ("plugins", self.cri)
        self.containerd_path = (*self.cri_path, "containerd")
        self.runtimes_path = (*self.containerd_path, "runtimes")
        self.runtime_path = (*self.runtimes_path, options.runtime_name)
        # containerd 2.x moved the sandbox image to the CRI image plugin's pinned images.
        self.sandbox_table, self.sandbox_key = (
            (("plugins", "io.containerd.cri.v1.images", "pinned_images"), "sandbox")
            if schema == 3
            else (self.cri_path, "sandbox_image")
        )
        self.warnings: list = []
        self.copied_from: str | None = None

    # -- reading ------------------------------------------------------------
    def runtimes(self, file: _File) -> Any:
        table = file.table(self.runtimes_path)
        if table is None:
            return None
        for key in list(table.keys()):
            if not _is_table(table[key]):
                raise file.not_a_table((*self.runtimes_path, key), table[key])
            options = table[key].get("options") if "options" in table[key] else None
            if options is not None and not _is_table(options):
                raise file.not_a_table((*self.runtimes_path, key, "options"), options)
        return table

    def default_name(self, file: _File) -> str | None:
        containerd = file.table(self.containerd_path)
        if containerd is None or "default_runtime_name" not in containerd:
            return None
        value = containerd["default_runtime_name"]
        file.expect((*self.containerd_path, "default_runtime_name"), value, str, "string")
        return str(value)

    @staticmethod
    def _is_nvidia(name: str, table: Any) -> bool:
        options = table.get("options") if "options" in table else None
        binary = str(_plain(options.get("BinaryName", ""))) if options is not None else ""
        return name.startswith("nvidia") or posixpath.basename(binary).startswith("nvidia-container-runtime")

    def copy_source(self, files) -> tuple:
        """(name, table) to copy: the default runtime unless NVIDIA's, else runc, else crun; (None, None)."""
        default = None
        for file in files:
            default = self.default_name(file) or default
        candidates = [default or "runc", "runc", "crun"]
        for name in candidates:
            if name == self.o.runtime_name:
                continue
            for file in files:
                runtimes = self.runtimes(file)
                if runtimes is None or name not in runtimes:
                    continue
                table = runtimes[name]
                runtime_type = _plain(table.get("runtime_type", RUNC_SHIM)) if "runtime_type" in table else RUNC_SHIM
                if runtime_type not in _RUNC_SHIMS or self._is_nvidia(name, table):
                    continue
                return name, table
        return None, None

    # -- present ------------------------------------------------------------
    def ensure_runtime(self, target: _File, sources, fresh_layout: bool = False) -> Any:
        had_runtimes = target.table(self.runtimes_path) is not None
        self.runtimes(target)  # type checks before anything is created
        name = self.o.runtime_name
        runtimes = target.table(self.runtimes_path, create=True)
        created = name not in runtimes
        if created:
            src_name, src = self.copy_source(sources)
            if src is None:
                new = self._fresh(target)
            elif fresh_layout:
                new = _build_table(_plain(src), target)
            else:
                new = self._copy(src)
            if isinstance(runtimes, InlineTable):
                raise target.inline_table(self.runtimes_path)
            siblings = [v for dummy, v in _body(runtimes) if isinstance(v, Table)]
            runtimes[name] = new
            target.created.append(runtimes[name])
            if siblings:
                last_body = _body(siblings[-1])
                ends_blank = bool(last_body) and isinstance(last_body[-1][1], Whitespace)
                # An indented header right after a table's last line does not survive a
                # tomlkit round trip; unindented it does (and needs no blank line of ours).
                runtimes[name].trivia.indent = siblings[0].trivia.indent if ends_blank else ""
            self.copied_from = src_name
        table = runtimes[name]
        self._match_default_cgroup(target, sources, table, created)
        if "runtime_type" not in table:
            _add_key(table, "runtime_type", target.string(RUNC_SHIM))
        runtime_type = table["runtime_type"]
        target.expect((*self.runtime_path, "runtime_type"), runtime_type, str, "string")
        if str(runtime_type) not in _RUNC_SHIMS:
            raise ContainerdConfigError(
                target.name,
                dotted((*self.runtime_path, "runtime_type")),
                f'is "{runtime_type}"; BinaryName (the NVIDIA runtime binary) only applies to the runc shim '
                f'"{RUNC_SHIM}"',
                "choose another runtime_name, or remove that runtime",
            )
        options = target.table((*self.runtime_path, "options"), create=True)
        current = options.get("BinaryName") if "BinaryName" in options else None
        if current is not None:
            target.expect((*self.runtime_path, "options", "BinaryName"), current, str, "string")
        if current is None:
            _add_key(options, "BinaryName", target.string(self.o.runtime_path))
        elif str(current) != self.o.runtime_path:
            options["BinaryName"] = target.string(self.o.runtime_path, current)
        return had_runtimes

    def default_runtime(self, files) -> tuple:
        """(name, table) of the runtime the node uses by default, as these files define it; (name, None) if none."""
        default = None
        for file in files:
            default = self.default_name(file) or default
        default = default or "runc"
        for file in files:
            runtimes = self.runtimes(file)
            if runtimes is not None and default in runtimes:
                return default, runtimes[default]
        return default, None

    def _match_default_cgroup(self, target: _File, sources, table: Any, created: bool) -> None:
        """SystemdCgroup as the default runtime has it: one node, one cgroup driver (mixed ones break pods)."""
        default, default_table = self.default_runtime(sources)
        if default == self.o.runtime_name or default_table is None:
            return
        default_options = default_table.get("options") if "options" in default_table else None
        if default_options is None or "SystemdCgroup" not in default_options:
            return
        wanted = _plain(default_options["SystemdCgroup"])
        options = table.get("options") if "options" in table else None
        current = _plain(options["SystemdCgroup"]) if options is not None and "SystemdCgroup" in options else None
        if current == wanted:
            return
        key = dotted((*self.runtime_path, "options", "SystemdCgroup"))
        if created:
            options = target.table((*self.runtime_path, "options"), create=True)
            if current is None:
                _add_key(options, "SystemdCgroup", tomlkit.item(wanted))
            else:
                options["SystemdCgroup"] = wanted
            return
        self.warnings.append(
            f"{target.name}: {key} is {json.dumps(current)} but the default runtime {default!r} has SystemdCgroup = "
            f"{json.dumps(wanted)}; pods of the two runtimes would use different cgroup drivers, which breaks them. "
            f"Set {key} = {json.dumps(wanted)} (left as it is: the runtime was not created by this run)"
        )

    @staticmethod
    def _copy(src: Any) -> Any:
        if isinstance(src, OutOfOrderTableProxy):
            return tomlkit.item(src.unwrap())
        new = copy.deepcopy(src)
        if isinstance(new, Table):
            new.trivia.comment = ""
            new.trivia.comment_ws = ""
        return new

    @staticmethod
    def _fresh(target: _File) -> Table:
        new = tomlkit.table()
        new["runtime_type"] = target.string(RUNC_SHIM)
        return new

    def ensure_builtin_runc(self, target: _File) -> None:
        """containerd < 2.1 replaces its built-in runtimes with the file's: keep runc (see module docstring)."""
        default = self.default_name(target) or "runc"
        if default != "runc":
            self.warnings.append(
                f"{target.name}: {dotted((*self.containerd_path, 'default_runtime_name'))} is {default!r} but no "
                "runtime is defined there; containerd will not find it"
            )
            return
        runtimes = target.table(self.runtimes_path, create=True)
        if "runc" in runtimes:
            return
        if isinstance(runtimes, InlineTable):
            raise target.inline_table(self.runtimes_path)
        runc = self._fresh(target)
        _mark(runc, "added", None)
        runtimes["runc"] = runc
        target.created.append(runtimes["runc"])

    def set_owned(self, target: _File, table_path, key: str, value: Any) -> None:
        """Set `key` to `value`, marking the line with what it was (so absent can give it back)."""
        table = target.table(table_path, create=True)
        current = _raw(table, key) if key in table else None
        if current is not None:
            # Ansible hands over str subclasses (tagged strings): compare with the plain type.
            kind = str if isinstance(value, str) else type(value)
            target.expect((*table_path, key), current, kind, _type_name(value))
            if _plain(current) == value:
                return
        new = target.string(value, current) if isinstance(value, str) else tomlkit.item(value)
        if current is None:
            implicit = isinstance(table, Table) and table.is_super_table()
            _mark(new, "added", self.o.runtime_name, header=implicit)
            _add_key(table, key, new)
        else:
            _mark(new, "set", self.o.runtime_name, _value_text(current))
            table[key] = new

    # -- absent -------------------------------------------------------------
    def remove_runtime(self, target: _File) -> None:
        runtimes = self.runtimes(target)
        if runtimes is None or self.o.runtime_name not in runtimes:
            return
        _delete_table(runtimes, self.o.runtime_name)
        # A runc the module added only so that containerd < 2.1 keeps it goes when it is alone again.
        if list(runtimes.keys()) == ["runc"] and (_marker(runtimes["runc"]) or {}).get("kind") == "added":
            _delete_table(runtimes, "runc")
        target.prune(self.runtime_path)
        target.prune((*self.runtimes_path, "runc"))

    def restore_owned(self, target: _File, table_path, key: str, value_set: Any, drop_unmarked: bool) -> None:
        """Undo set_owned: give back the marked original, or drop the key the module added.

        When the value is no longer what the module set (someone changed it since), only
        the marker goes. `drop_unmarked`: remove the key even without a marker when it
        holds value_set (a default pointing at the runtime being removed).
        """
        table = target.table(table_path)
        if table is None or key not in table:
            return
        current = _raw(table, key)
        marker = _marker(current)
        if marker is None or (marker["name"] or "") != self.o.runtime_name:
            if drop_unmarked and _plain(current) == value_set:
                del table[key]
                target.prune(table_path)
                self.warnings.append(
                    f"{target.name}: removed {dotted((*table_path, key))} = {value_set!r}, which pointed at the "
                    "removed runtime; containerd falls back to runc"
                )
            return
        if _plain(current) != value_set:
            _unmark(current, marker)
            return
        if marker["kind"] == "added":
            del table[key]
            if marker["header"] and isinstance(table, Table):
                if len(table) == 0:
                    parent = target.lookup(table_path[:-1]) if len(table_path) > 1 else target.doc
                    _delete_table(parent, table_path[-1])
                elif all(isinstance(_raw(table, k), (Table, AoT)) for k in table):
                    table._is_super_table = True  # the [header] line goes again, as before
            target.prune(table_path)
        else:
            _put(table, key, _parse_value_text(marker["was"]))


# --------------------------------------------------------------------------- imports


def _import_covers(entry: str, drop_in: str, config_path: str) -> bool:
    if not posixpath.isabs(entry):
        entry = posixpath.join(posixpath.dirname(config_path), entry)
    entry = posixpath.normpath(entry)
    if entry == drop_in:
        return True
    if any(c in entry for c in "*?["):
        return posixpath.dirname(entry) == posixpath.dirname(drop_in) and fnmatchcase(
            posixpath.basename(drop_in), posixpath.basename(entry)
        )
    return False


def _imports(file: _File) -> list:
    if "imports" not in file.doc:
        return []
    value = file.doc["imports"]
    plain = _plain(value)
    if not isinstance(plain, list) or not all(isinstance(x, str) for x in plain):
        raise ContainerdConfigError(
            file.name,
            "imports",
            f"is a {_type_name(plain)}" + (" with non-string items" if isinstance(plain, list) else ""),
            'write it as an array of file paths, e.g. imports = ["/etc/containerd/conf.d/*.toml"]',
        )
    return plain


def _ensure_import(file: _File, drop_in: str, config_path: str) -> None:
    entries = _imports(file)
    if any(_import_covers(e, drop_in, config_path) for e in entries):
        return
    if "imports" not in file.doc:
        new = tomlkit.array()
        new.append(file.string(drop_in))
        _mark(new, "added", None)
        _add_key(file.doc, "imports", new)
        return
    current = file.doc["imports"]
    was = _value_text(current)
    current.append(file.string(drop_in))
    _mark(current, "set", None, was)


def _remove_import(file: _File, drop_in: str) -> None:
    if "imports" not in file.doc:
        return
    entries = _imports(file)
    if drop_in not in entries:
        return
    current = file.doc["imports"]
    marker = _marker(current)
    if marker is not None and marker["name"] is None:
        if marker["kind"] == "added" and entries == [drop_in]:
            del file.doc["imports"]
            return
        if marker["kind"] == "set":
            original = _parse_value_text(marker["was"])
            if [*_plain(original), drop_in] == entries:
                _put(file.doc, "imports", original)
                return
    # Someone edited the list since, or added this path themselves: drop the entry only
    # (an import of a missing file stops containerd from starting).
    index = entries.index(drop_in)
    del current[index]
    if marker is not None:
        _unmark(current, marker)


# --------------------------------------------------------------------------- entry point


def _check_options(options: RuntimeOptions) -> None:
    check_state(options.state, ContainerdConfigError)
    if options.runtime_name == "" and options.set_as_default:
        raise ContainerdConfigError(
            "(options)", "runtime_name", "is empty (no runtime) while set_as_default is true", "name the runtime"
        )
    if options.runtime_name != "":
        check_runtime_name(options.runtime_name, ContainerdConfigError)
    check_absolute("path", options.path, error=ContainerdConfigError)
    if options.drop_in and (not posixpath.isabs(options.drop_in) or options.drop_in == options.path):
        raise ContainerdConfigError(
            "(options)", "drop_in", f"is {options.drop_in!r}", "give an absolute path other than path, or ''"
        )
    if options.state == "present" and options.runtime_name:
        fix = "give the absolute path of the binary"
        check_absolute("runtime_path", options.runtime_path, fix, ContainerdConfigError)


def _choose_strategy(options, schema, version, config: _File, editor: _Editor) -> tuple:
    if not options.drop_in:
        return STRATEGY_IN_PLACE, "drop_in is empty: editing path in place"
    if version is None:
        return STRATEGY_IN_PLACE, (
            "containerd's version is unknown: editing config.toml in place, which is right on every version"
        )
    if version < DEEP_MERGE_SINCE:
        return STRATEGY_IN_PLACE, (
            f"containerd {_fmt_version(version)} lets an imported file replace the whole CRI plugin table, so a "
            "drop-in would drop or shadow config.toml's CRI settings: editing config.toml in place"
        )
    runtimes = editor.runtimes(config)
    if runtimes is not None and options.runtime_name in runtimes:
        return STRATEGY_IN_PLACE, f"the runtime is already defined in {options.path}: keeping it there"
    return STRATEGY_DROP_IN, (
        f"containerd {_fmt_version(version)} merges imported files key by key: the runtime lives in the drop-in"
    )


def _drop_in_conflict(options, config: _File, drop: _File, editor: _Editor, version) -> None:
    """On containerd < 2.1 a drop-in with a CRI table shadows config.toml: editing config.toml would not work."""
    if drop is None or drop.empty:
        return
    if not any(_import_covers(e, options.drop_in, options.path) for e in _imports(config)):
        return
    plugins = drop.doc.get("plugins") if "plugins" in drop.doc else None
    cri_names = set(CRI_PLUGINS.values())
    shadowing = sorted(k for k in (plugins.keys() if _is_table(plugins) else []) if k in cri_names)
    if not shadowing:
        return
    message = (
        f"defines [plugins.{json.dumps(shadowing[0])}] and is imported by {options.path}; containerd "
        f"{_fmt_version(version) or '< 2.1'} replaces config.toml's whole CRI table with it, so edits of "
        f"{options.path} (this module's included) do not take effect"
    )
    fix = "move what it holds into config.toml and delete it (or pass drop_in: '' to leave it alone)"
    if version is None:
        editor.warnings.append(f"{options.drop_in}: {message}. {fix}")
        return
    raise ContainerdConfigError(options.drop_in, f"plugins.{json.dumps(shadowing[0])}", message, fix)


def _effective_runtime(files, editor: _Editor) -> dict | None:
    merged: dict | None = None
    for file in files:
        table = file.table(editor.runtime_path) if file is not None else None
        if table is None:
            continue
        merged = _deep_merge(merged or {}, _plain(table))
    return merged


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _present(options, config: _File, drop: _File | None, editor: _Editor, strategy: str) -> _File | None:
    """Add the runtime (and what was asked for) to the file the strategy names; returns the drop-in."""
    version, schema, name = editor.version, editor.schema, options.runtime_name
    cdi_path = (*editor.cri_path, "enable_cdi")
    config_was_empty = config.empty
    if options.enable_cdi and version is not None and version < CDI_SINCE:
        raise ContainerdConfigError(
            options.path,
            dotted(cdi_path),
            f"containerd {_fmt_version(version)} has no CDI support (it came with containerd 1.7)",
            "upgrade containerd to 1.7 or later, or use enable_cdi: false (runtime mode)",
        )
    if options.enable_cdi and version is None:
        editor.warnings.append("containerd's version is unknown: enable_cdi needs containerd >= 1.7")
    if strategy == STRATEGY_IN_PLACE:
        if options.drop_in:
            _drop_in_conflict(options, config, drop, editor, version)
        target, sources = config, [config]
    else:
        if drop is None:
            drop = _File(None, options.drop_in)
        if drop.empty:
            drop.literal = config.literal
            for line in DROP_IN_HEADER.splitlines():
                drop.doc.add(tomlkit.comment(line))
            drop.doc.add("version", schema)
            drop.doc.add(tomlkit.nl())
        target, sources = drop, [drop, config]
        _ensure_import(config, options.drop_in, options.path)
    if config_was_empty:
        version_item = tomlkit.item(2)
        _mark(version_item, "added", None)
        config.doc.add("version", version_item)
        if "imports" in config.doc:  # keep `version` first, as containerd writes it
            imports = config.doc["imports"]
            del config.doc["imports"]
            config.doc.add("imports", imports)
    # Plain keys before tables, so that new tables come out in containerd's own order.
    if options.enable_cdi:
        editor.set_owned(target, editor.cri_path, "enable_cdi", True)
    if options.sandbox_image:
        editor.set_owned(target, editor.sandbox_table, editor.sandbox_key, options.sandbox_image)
    if options.set_as_default:
        editor.set_owned(target, editor.containerd_path, "default_runtime_name", name)
    if not name:  # no runtime (CDI mode): only the keys above
        target.settle_new_tables()
        return drop
    had_runtimes = editor.runtimes(target) is not None and len(editor.runtimes(target)) > 0
    if not had_runtimes and strategy == STRATEGY_IN_PLACE and (version is None or version < DEEP_MERGE_SINCE):
        editor.ensure_builtin_runc(target)
    editor.ensure_runtime(target, sources, fresh_layout=target is not config)
    target.settle_new_tables()
    return drop


def _absent(options, config: _File, drop: _File | None, editor: _Editor) -> _File | None:
    """Remove the runtime and give back what the module marked; returns the drop-in (None: it goes)."""
    name = options.runtime_name
    # The kubernetes stage's call sets the sandbox image alone: its absent takes back that alone.
    sandbox_only = bool(options.sandbox_image) and not name and not options.enable_cdi
    for file in (config, drop):
        if file is None:
            continue
        if not sandbox_only:
            editor.remove_runtime(file)
            editor.restore_owned(file, editor.containerd_path, "default_runtime_name", name, drop_unmarked=True)
            editor.restore_owned(file, editor.cri_path, "enable_cdi", True, drop_unmarked=False)
        if options.sandbox_image:
            editor.restore_owned(file, editor.sandbox_table, editor.sandbox_key, options.sandbox_image,
                                 drop_unmarked=False)
        for path in (editor.runtime_path, editor.containerd_path, editor.sandbox_table, editor.cri_path):
            file.prune(path, force=file is drop)
    if drop is not None and set(drop.doc.keys()) <= {"version"}:
        drop = None  # nothing left in the module's own file: it goes
    if drop is None and options.drop_in:
        _remove_import(config, options.drop_in)
    if set(config.doc.keys()) == {"version"} and (_marker(config.doc["version"]) or {}).get("kind") == "added":
        del config.doc["version"]
    return drop


def _same_ending(before: str | None, after: str) -> str:
    """A file without a final newline keeps having none, so that absent after present gives back its bytes."""
    if before and not before.endswith("\n") and after.strip():
        return after.rstrip("\n")
    return after


def configure(
    config_text: str | None,
    drop_in_text: str | None,
    options: RuntimeOptions,
    containerd_version: str | tuple | None = None,
) -> ContainerdConfigResult:
    """Compute the new texts of config.toml (`options.path`) and of the drop-in.

    config_text / drop_in_text: the files' current content, None when missing.
    containerd_version: ``containerd --version`` output, "1.7.24", a tuple, or None (unknown).
    Raises ContainerdConfigError for input the module must not edit.
    """
    _check_options(options)
    warnings = []
    version = (
        containerd_version if isinstance(containerd_version, tuple) else parse_containerd_version(containerd_version)
    )
    config = _File(config_text, options.path)
    schema = detect_config_version(config)
    if not config.stable:
        warnings.append(
            f"{options.path}: tomlkit cannot write this file's layout back byte for byte (indented table headers "
            "after a blank first line?); the diff shows whitespace changes outside the module's keys"
        )
    _check_schema_against_containerd(options.path, schema, version)
    editor = _Editor(options, schema, version)
    editor.warnings.extend(warnings)
    editor.runtimes(config)  # type checks of what is there, in both states
    editor.default_name(config)
    drop = _File(drop_in_text, options.drop_in) if options.drop_in and drop_in_text is not None else None
    if drop is not None and not drop.empty:
        drop_schema = detect_config_version(drop)
        if drop_schema != schema:
            raise ContainerdConfigError(
                options.drop_in,
                "version",
                f"is {drop_schema} while {options.path} has version {schema}",
                "give both files the same config version (or delete the drop-in, which the module rewrites)",
            )
        editor.runtimes(drop)
        editor.default_name(drop)
    if "imports" in config.doc:
        _imports(config)

    strategy, reason = _choose_strategy(options, schema, version, config, editor)
    default_path = (*editor.containerd_path, "default_runtime_name")
    cdi_path = (*editor.cri_path, "enable_cdi")

    if options.state == "present":
        drop = _present(options, config, drop, editor, strategy)
    else:
        drop = _absent(options, config, drop, editor)

    owned = [
        ("version",),
        ("imports",),
        editor.runtime_path,
        (*editor.runtimes_path, "runc"),
        default_path,
        cdi_path,
        (*editor.sandbox_table, editor.sandbox_key),
    ]
    new_config: str | None = _same_ending(config_text, finished_text(config, owned))
    if not config.existed and not new_config.strip():
        new_config = None
    new_drop = _same_ending(drop_in_text, finished_text(drop, owned)) if drop is not None else None
    wants_runtime = options.state == "present" and bool(options.runtime_name)
    runtime = _effective_runtime([config, drop], editor) if wants_runtime else None
    if wants_runtime and runtime is None:  # pragma: no cover - guarded by the steps above
        raise ContainerdConfigError(options.path, dotted(editor.runtime_path), "was not written", "please report")
    return ContainerdConfigResult(
        config_text=new_config,
        drop_in_text=new_drop,
        config_version=schema,
        cri_plugin=editor.cri,
        strategy=strategy,
        strategy_reason=reason,
        config_changed=new_config != config_text,
        drop_in_changed=bool(options.drop_in) and new_drop != drop_in_text,
        runtime=runtime,
        containerd_version=_fmt_version(version),
        warnings=editor.warnings,
        config_path=options.path,
        drop_in_path=options.drop_in,
    )


# --------------------------------------------------------------------------- hooks of plugin_utils._runtime_flow


def decide_version(given: str | None, node: dict) -> tuple | None:
    """The version the strategy rests on: the node's binary wins; a given one must agree with it, and parse."""
    wanted = None
    if given:
        wanted = parse_containerd_version(given)
        if wanted is None:
            raise ContainerdConfigError(
                "(options)",
                "containerd_version",
                f"is {given!r}, which is not a containerd version",
                "give a version such as 1.7.24, or leave it out and the node's containerd is asked",
            )
    found = parse_containerd_version(node.get("version")) if node.get("version") else None
    if wanted is not None and found is not None:
        precision = len(re.findall(r"\d+", _VERSION_RE.search(" " + str(given).strip()).group(0)))
        if wanted[:precision] != found[:precision]:
            raise ContainerdConfigError(
                "(options)",
                "containerd_version",
                f"is {given!r}, but the node's containerd ({node.get('path')}) is {_fmt_version(found)}; where the "
                "runtime goes depends on the version, so a wrong one breaks containerd",
                "leave containerd_version out (the node's binary is asked), or correct it",
            )
    return found or wanted


def options_of(args: dict) -> RuntimeOptions:
    return RuntimeOptions(
        path=args["path"],
        drop_in=args["drop_in"] or "",
        runtime_name=args["runtime_name"],
        runtime_path=args["runtime_path"],
        set_as_default=args["set_as_default"],
        enable_cdi=args["enable_cdi"],
        state=args["state"],
        sandbox_image=str(args.get("sandbox_image") or ""),
    )


def compute(args: dict, node: dict) -> Plan:
    """The module's plan from its arguments and what the node module read (both files, containerd)."""
    options = options_of(args)
    config, drop_in = node["config"], node["drop_in"]
    version = decide_version(args.get("containerd_version"), node["containerd"])
    computed = configure(config["text"] if config else None, drop_in["text"] if drop_in else None, options, version)
    result = {
        "config_version": computed.config_version,
        "cri_plugin": computed.cri_plugin,
        "strategy": computed.strategy,
        "strategy_reason": computed.strategy_reason,
        "containerd_version": computed.containerd_version,
        "runtime": computed.runtime,
        "files": computed.files,
    }
    # The drop-in first: config.toml may import it.
    files = [FileChange(options.drop_in, drop_in, computed.drop_in_text)] if options.drop_in else []
    files.append(FileChange(options.path, config, computed.config_text))
    return Plan(files=files, result=result, warnings=list(computed.warnings))


def validator(args: dict, node: dict, plan: Plan) -> Validation | str:
    """`containerd -c config.toml config dump` on the candidates, config.toml importing the candidate drop-in."""
    binary = node["containerd"]["path"]
    if not binary:
        return (
            f"{args['path']}: not validated: the node has no containerd binary (on its PATH or in an sbin "
            "directory), so containerd's own parser has not read the result (validated: false)"
        )
    config_change, drop_change = plan.files[-1], plan.files[0] if len(plan.files) > 1 else None
    config_text = config_change.after or ""
    files = []
    if drop_change is not None and drop_change.after is not None:
        staged_drop = f"conf.d/{posixpath.basename(drop_change.path)}"
        files.append(StagedFile(drop_change.path, staged_drop, drop_change.after))
        config_text = _import_staged(config_text, args["path"], drop_change.path, "{stage}/" + staged_drop)
    files.append(StagedFile(config_change.path, "config.toml", config_text))
    return Validation(
        argv=(binary, "-c", "{stage}/config.toml", "config", "dump"),
        files=tuple(files),
        fix="fix that value in the file named (containerd refuses it at start too), or remove it",
    )


def _import_staged(text: str, config_path: str, drop_in: str, staged: str) -> str:
    """config.toml for validation: imports made absolute, and the drop-in's entry pointing at the staged copy."""
    doc = tomlkit.parse(text)
    if "imports" not in doc:
        return text
    entries = []
    for entry in _plain(doc["imports"]):
        absolute = entry if posixpath.isabs(entry) else posixpath.join(posixpath.dirname(config_path), entry)
        if posixpath.normpath(absolute) == drop_in:
            entries.append(staged)
            continue
        entries.append(absolute)
        if _import_covers(entry, drop_in, config_path):  # a glob: the candidate is read after the current one
            entries.append(staged)
    doc["imports"] = entries
    return doc.as_string()


RUNTIME = Runtime(
    name="containerd",
    module="kubegpu.nvidia.containerd_runtime",
    argument_spec=CONTAINERD_ARGUMENT_SPEC,
    compute=compute,
    validator=validator,
    lock_path=lambda args: args["path"],
)
