# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys the module owns in tables it does not: set with a mark, given back from it.

Controller side only (needs tomlkit). Pure. A key the module adds carries
``# added by kubegpu.nvidia.containerd_runtime (<runtime_name>)``; a key it
changes carries ``# set by ... (<runtime_name>), was: <the original value and
comment>``. Giving back reads the mark: the original line returns, or the
added one goes; a value someone changed since is left, and only the mark goes.
The runtime name in the mark is the owner: a task gives back only its own.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import MARKS, ContainerdFile
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    add_key,
    delete_table,
    dotted,
    parse_value_text,
    plain,
    put,
    raw,
    type_name,
    value_text,
)

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit
    from tomlkit.items import AoT, Table


class OwnedKeys:
    """The keys one task (`owner`: its runtime_name) sets and gives back.

    `owned` collects the key paths touched, for the check that nothing else changed;
    `warnings` what was done beyond the marks.
    """

    def __init__(self, owner: str, owned: list, warnings: list):
        self.owner = owner
        self.owned = owned
        self.warnings = warnings

    def set(self, target: ContainerdFile, table_path, key: str, value: Any) -> None:
        """Set `key` to `value`, marking the line with what it was (so absent can give it back)."""
        self.owned.append((*table_path, key))
        table = target.table(table_path, create=True)
        current = raw(table, key) if key in table else None
        if current is not None:
            # Ansible hands over str subclasses (tagged strings): compare with the plain type.
            kind = str if isinstance(value, str) else type(value)
            target.expect((*table_path, key), current, kind, type_name(value))
            if plain(current) == value:
                return
        new = target.string(value, current) if isinstance(value, str) else tomlkit.item(value)
        if current is None:
            implicit = isinstance(table, Table) and table.is_super_table()
            MARKS.put(new, "added", self.owner, header=implicit)
            add_key(table, key, new)
        else:
            MARKS.put(new, "set", self.owner, value_text(current))
            table[key] = new

    def restore(self, target: ContainerdFile, table_path, key: str, value_set: Any, drop_unmarked: bool) -> None:
        """Undo `set`: give back the marked original, or drop the key the module added.

        When the value is no longer what the module set (someone changed it since), only
        the marker goes. `drop_unmarked`: remove the key even without a marker when it
        holds value_set (a default pointing at the runtime being removed).
        """
        self.owned.append((*table_path, key))
        table = target.table(table_path)
        if table is None or key not in table:
            return
        current = raw(table, key)
        marker = MARKS.read(current)
        if marker is None or (marker["name"] or "") != self.owner:
            if drop_unmarked and plain(current) == value_set:
                del table[key]
                target.prune(table_path)
                self.warnings.append(
                    f"{target.name}: removed {dotted((*table_path, key))} = {value_set!r}, which pointed at the "
                    "removed runtime; containerd falls back to runc"
                )
            return
        if plain(current) != value_set:
            MARKS.remove(current, marker)
            return
        if marker["kind"] == "added":
            del table[key]
            if marker["header"] and isinstance(table, Table):
                if len(table) == 0:
                    parent = target.lookup(table_path[:-1]) if len(table_path) > 1 else target.doc
                    delete_table(parent, table_path[-1])
                elif all(isinstance(raw(table, k), (Table, AoT)) for k in table):
                    table._is_super_table = True  # the [header] line goes again, as before
            target.prune(table_path)
        else:
            put(table, key, parse_value_text(marker["was"]))


def unmark_all(table: Table) -> None:
    """A copied table's lines as they were before the module marked them: the marks belong to the original."""
    for key in list(table.keys()):
        item = raw(table, key)
        if isinstance(item, Table):
            unmark_all(item)
            continue
        marker = MARKS.read(item)
        if marker is not None:
            MARKS.remove(item, marker)
