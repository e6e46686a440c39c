# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd's ``imports``: where the runtime goes (config.toml or the module's drop-in), and the import line.

Controller side only (needs tomlkit). Pure. How a node's containerd merges
imported files decides the strategy (proven with ``containerd -c FILE config
dump`` of 1.6.20, 1.7.24 and 2.1.9 in tests/integration/containerd):

* containerd < 2.1 (and an unknown version): a table of ``plugins`` in an
  imported file replaces that whole plugin's table from config.toml, so a
  drop-in holding only the runtime wipes the CRI settings of config.toml (runc,
  sandbox image, registry); a drop-in holding a copy of the CRI section
  silently shadows every later edit of config.toml. So the runtime is written
  into config.toml itself ("in_place"), and an imported drop-in with a CRI
  table is refused.
* containerd >= 2.1: imported files merge key by key, so the runtime goes into
  the module's own drop-in ("drop_in"), config.toml only gains the import, and
  later edits of config.toml keep taking effect.
"""

from __future__ import annotations

import json
import posixpath
from fnmatch import fnmatchcase

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONTAINERD_CRI_PLUGINS,
    CONTAINERD_DEEP_MERGE_SINCE,
    format_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import (
    MARK,
    MARKS,
    ContainerdConfigError,
    ContainerdFile,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    add_key,
    is_table,
    parse_value_text,
    plain,
    put,
    type_name,
    value_text,
)

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit

STRATEGY_IN_PLACE = "in_place"
STRATEGY_DROP_IN = "drop_in"
DROP_IN_HEADER = (
    f"Managed by {MARK}: container runtimes for NVIDIA GPUs.\n"
    "containerd >= 2.1 merges this file into config.toml key by key; "
    "edit config.toml for everything else."
)


# --------------------------------------------------------------------------- the strategy


def choose_strategy(options, version: tuple | None, config_runtimes) -> tuple:
    """(strategy, reason in words). `config_runtimes`: config.toml's runtimes table (None when absent)."""
    if not options.drop_in:
        return STRATEGY_IN_PLACE, "drop_in is empty: editing path in place"
    if version is None:
        return STRATEGY_IN_PLACE, (
            "containerd's version is unknown: editing config.toml in place, which is right on every version"
        )
    if version < CONTAINERD_DEEP_MERGE_SINCE:
        return STRATEGY_IN_PLACE, (
            f"containerd {format_version(version)} lets an imported file replace the whole CRI plugin table, so a "
            "drop-in would drop or shadow config.toml's CRI settings: editing config.toml in place"
        )
    if config_runtimes is not None and options.runtime_name in config_runtimes:
        return STRATEGY_IN_PLACE, f"the runtime is already defined in {options.path}: keeping it there"
    return STRATEGY_DROP_IN, (
        f"containerd {format_version(version)} merges imported files key by key: the runtime lives in the drop-in"
    )


def check_drop_in_conflict(options, config: ContainerdFile, drop, version, warnings: list) -> None:
    """On containerd < 2.1 a drop-in with a CRI table shadows config.toml: editing config.toml would not work."""
    if drop is None or drop.empty:
        return
    if not any(import_covers(e, options.drop_in, options.path) for e in read_imports(config)):
        return
    plugins = drop.doc.get("plugins") if "plugins" in drop.doc else None
    cri_names = set(CONTAINERD_CRI_PLUGINS.values())
    shadowing = sorted(k for k in (plugins.keys() if is_table(plugins) else []) if k in cri_names)
    if not shadowing:
        return
    message = (
        f"defines [plugins.{json.dumps(shadowing[0])}] and is imported by {options.path}; containerd "
        f"{format_version(version) or '< 2.1'} replaces config.toml's whole CRI table with it, so edits of "
        f"{options.path} (this module's included) do not take effect"
    )
    fix = "move what it holds into config.toml and delete it (or pass drop_in: '' to leave it alone)"
    if version is None:
        warnings.append(f"{options.drop_in}: {message}. {fix}")
        return
    raise ContainerdConfigError(options.drop_in, f"plugins.{json.dumps(shadowing[0])}", message, fix)


def start_drop_in(drop: ContainerdFile, config: ContainerdFile, schema: int) -> None:
    """A new drop-in: the header that says whose it is, the schema of config.toml, and its string style."""
    drop.literal = config.literal
    for line in DROP_IN_HEADER.splitlines():
        drop.doc.add(tomlkit.comment(line))
    drop.doc.add("version", schema)
    drop.doc.add(tomlkit.nl())


# --------------------------------------------------------------------------- the import line


def import_covers(entry: str, drop_in: str, config_path: str) -> bool:
    """Whether an `imports` entry (a path or a glob, relative to config.toml's directory) reads the drop-in."""
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


def read_imports(file: ContainerdFile) -> list:
    if "imports" not in file.doc:
        return []
    value = file.doc["imports"]
    entries = plain(value)
    if not isinstance(entries, list) or not all(isinstance(x, str) for x in entries):
        raise ContainerdConfigError(
            file.name,
            "imports",
            f"is a {type_name(entries)}" + (" with non-string items" if isinstance(entries, list) else ""),
            'write it as an array of file paths, e.g. imports = ["/etc/containerd/conf.d/*.toml"]',
        )
    return entries


def ensure_import(file: ContainerdFile, drop_in: str, config_path: str) -> None:
    """config.toml imports the drop-in (marked), unless an entry, such as a glob, already reads it."""
    entries = read_imports(file)
    if any(import_covers(e, drop_in, config_path) for e in entries):
        return
    if "imports" not in file.doc:
        new = tomlkit.array()
        new.append(file.string(drop_in))
        MARKS.put(new, "added", None)
        add_key(file.doc, "imports", new)
        return
    current = file.doc["imports"]
    was = value_text(current)
    current.append(file.string(drop_in))
    MARKS.put(current, "set", None, was)


def remove_import(file: ContainerdFile, drop_in: str) -> None:
    """Take back the drop-in's import: the marked original line, else only the entry."""
    if "imports" not in file.doc:
        return
    entries = read_imports(file)
    if drop_in not in entries:
        return
    current = file.doc["imports"]
    marker = MARKS.read(current)
    if marker is not None and marker["name"] is None:
        if marker["kind"] == "added" and entries == [drop_in]:
            del file.doc["imports"]
            return
        if marker["kind"] == "set":
            original = parse_value_text(marker["was"])
            if [*plain(original), drop_in] == entries:
                put(file.doc, "imports", original)
                return
    # Someone edited the list since, or added this path themselves: drop the entry only
    # (an import of a missing file stops containerd from starting).
    index = entries.index(drop_in)
    del current[index]
    if marker is not None:
        MARKS.remove(current, marker)


def import_staged(text: str, config_path: str, drop_in: str, staged: str) -> str:
    """config.toml for validation: imports made absolute, and the drop-in's entry pointing at the staged copy."""
    doc = tomlkit.parse(text)
    if "imports" not in doc:
        return text
    entries = []
    for entry in plain(doc["imports"]):
        absolute = entry if posixpath.isabs(entry) else posixpath.join(posixpath.dirname(config_path), entry)
        if posixpath.normpath(absolute) == drop_in:
            entries.append(staged)
            continue
        entries.append(absolute)
        if import_covers(entry, drop_in, config_path):  # a glob: the candidate is read after the current one
            entries.append(staged)
    doc["imports"] = entries
    return doc.as_string()
